"""Hardening of the API surface: headers, 405 Allow, the failed-auth throttle, /metrics,
escaped searches, query times, names, and what dry-run tells a person about other flows."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from factories import bearer, make_flow, make_identity
from jitgate.server.app import create_app
from request_world import make_world

WINDOW_S = 60


def _app_client(settings, clock, sessions, **changes):
    app = create_app(settings.model_copy(update=changes), clock=clock, sessions=sessions)
    return TestClient(app, raise_server_exceptions=False)


def test_token_responses_are_never_cached_or_sniffed(client, session, clock):
    alice = make_identity(session, clock, "alice@contoso.example")
    created = client.post(
        "/api/v1/tokens", headers=bearer(session, clock, alice), json={"name": "x"}
    )
    assert created.status_code == 201
    for response in (created, client.get("/api/v1/me"), client.get("/healthz")):
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["x-frame-options"] == "DENY"


def test_405_names_every_method_of_the_path(client):
    response = client.put("/api/v1/requests")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    assert client.delete("/api/v1/me").headers["allow"] == "GET"


def test_failed_authentication_is_throttled_per_address(settings, clock, sessions, session):
    alice = make_identity(session, clock, "alice@contoso.example")
    good = bearer(session, clock, alice)
    wrong = {"Authorization": "Bearer jg_at_wrong"}
    with _app_client(
        settings,
        clock,
        sessions,
        auth_failure_limit=3,
        auth_failure_window_s=WINDOW_S,
        metrics_open=True,
    ) as client:
        assert [client.get("/api/v1/me", headers=wrong).status_code for _ in range(3)] == [401] * 3
        clock.advance(timedelta(seconds=10))
        throttled = client.get("/api/v1/me", headers=wrong)
        assert throttled.status_code == 429
        assert throttled.headers["content-type"] == "application/problem+json"
        assert throttled.headers["retry-after"] == "50"
        assert client.post("/api/connector/v1/heartbeat", json={}).status_code == 429
        # A valid token is never throttled, even from the throttled address.
        assert all(client.get("/api/v1/me", headers=good).status_code == 200 for _ in range(10))
        clock.advance(timedelta(seconds=50))
        assert client.get("/api/v1/me", headers=wrong).status_code == 401
        metrics = client.get("/metrics").text
        assert "jitgate_auth_failures_total 6.0" in metrics
        assert "jitgate_auth_throttled_total 2.0" in metrics


def test_metrics_need_a_token_unless_opened(settings, clock, sessions):
    with _app_client(settings, clock, sessions) as client:
        refused = client.get("/metrics")
        assert refused.status_code == 401
        assert "JITGATE_METRICS_TOKEN" in refused.json()["detail"]
    with _app_client(settings, clock, sessions, metrics_open=True) as client:
        assert client.get("/metrics").status_code == 200


def test_identity_search_treats_percent_and_underscore_literally(client, session, clock):
    admin = make_identity(session, clock, "admin@contoso.example", role="admin")
    make_identity(session, clock, "a_b@contoso.example")
    make_identity(session, clock, "axb@contoso.example")
    headers = bearer(session, clock, admin)
    found = client.get("/api/v1/identities", params={"search": "a_b"}, headers=headers).json()
    assert [i["upn"] for i in found["items"]] == ["a_b@contoso.example"]
    none = client.get("/api/v1/identities", params={"search": "%"}, headers=headers).json()
    assert none["total"] == 0


def test_query_times_refuse_bare_numbers(client, session, clock):
    admin = make_identity(session, clock, "admin@contoso.example", role="admin")
    headers = bearer(session, clock, admin)
    for path, param in (
        ("/api/v1/grants", "active_at"),
        ("/api/v1/audit/events", "until"),
        ("/api/v1/audit/events", "since"),
    ):
        for bad in ("1700000000", "1700000000.5", "2026-01-31T09:00:00"):
            response = client.get(path, params={param: bad}, headers=headers)
            assert response.status_code == 422, (path, param, bad, response.text)
            assert "time zone offset" in response.json()["detail"]
        ok = client.get(path, params={param: "2026-01-31T09:00:00+01:00"}, headers=headers)
        assert ok.status_code == 200, ok.text


def test_dry_run_hides_flows_the_person_cannot_use(client, session, clock):
    w = make_world(session, clock)
    make_flow(
        session,
        clock,
        w.integration,
        name="Secret finance flow",
        requestors={"conditions": [{"type": "user", "values": ["bob@contoso.example"]}]},
    )
    headers = bearer(session, clock, w.alice)
    body = {"resource_ids": [w.finance.id], "permissions": ["member"], "justification": "x"}
    answer = client.post("/api/v1/requests/dry-run", headers=headers, json=body)
    assert answer.status_code == 200, answer.text
    assert "Secret finance flow" not in answer.text
    assert answer.json()["flows_considered"] == []
    refused = client.post("/api/v1/requests", headers=headers, json=body)
    assert refused.status_code == 403
    assert "Secret finance flow" not in refused.text
    flow_id = answer.json()["flow_id"]
    assert flow_id is None
    admin = client.post(
        "/api/v1/requests/dry-run", headers=bearer(session, clock, w.admin), json=body
    )
    assert "Secret finance flow" in admin.text


def test_names_take_unicode_letters_and_refuse_invisible_ones(client, session, clock):
    admin = make_identity(session, clock, "admin@contoso.example", role="admin")
    headers = bearer(session, clock, admin)
    ok = client.post("/api/v1/connectors", headers=headers, json={"name": "Zürich-東京 1"})
    assert ok.status_code == 201, ok.text
    for bad in (
        "pay\u200broll",
        "\u202eollyap",
        "   ",
        "P\u0430yroll",
        "\uff50\uff41\uff59",
        "a/b",
    ):
        refused = client.post("/api/v1/connectors", headers=headers, json={"name": bad})
        assert refused.status_code == 422, (bad, refused.text)
        assert "^" not in refused.json()["detail"]
        assert "[" not in refused.json()["detail"]
    token = client.post("/api/v1/tokens", headers=headers, json={"name": "laptop\u2066"})
    assert token.status_code == 422
    assert "invisible" in token.json()["detail"]


def test_malformed_json_is_a_400_naming_line_and_column(client, session, clock):
    alice = make_identity(session, clock, "alice@contoso.example")
    body = b'{\n  "name": "laptop",\n  "expires_in_days": 30,,\n}'
    response = client.post(
        "/api/v1/tokens",
        content=body,
        headers={**bearer(session, clock, alice), "Content-Type": "application/json"},
    )
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["title"] == "Malformed JSON"
    assert "line 3, column 25" in problem["detail"]
    assert problem["errors"] == [
        {
            "field": "body",
            "message": "Expecting property name enclosed in double quotes at line 3, column 25",
            "line": 3,
            "column": 25,
        }
    ]


def test_a_body_that_is_json_but_wrong_is_still_a_422(client, session, clock):
    alice = make_identity(session, clock, "alice@contoso.example")
    response = client.post(
        "/api/v1/tokens", json={"name": 22}, headers=bearer(session, clock, alice)
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "name"
