from __future__ import annotations

from datetime import timedelta

from factories import bearer, make_flow, make_identity
from jitgate.server.requests.granting import activate_grant, begin_granting
from request_world import MANAGER_POLICY, audit_count, make_world, snapshot

PROBLEM = "application/problem+json"


def _submit(client, headers, *resources, **fields):
    body = {"resource_ids": [r.id for r in resources], "permissions": ["member"], **fields}
    return client.post("/api/v1/requests", json=body, headers=headers)


def test_request_approve_and_read_the_access_session(client, session, clock):
    w = make_world(session, clock)
    make_flow(session, clock, w.integration, approver_policy=MANAGER_POLICY)
    alice, boss = bearer(session, clock, w.alice), bearer(session, clock, w.boss)
    created = _submit(client, alice, w.finance)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["status"] == "pending"
    assert body["flow_name"] == "Finance groups"
    assert [p["upn"] for p in body["eligible_approvers"]] == [w.boss.upn]
    assert body["units"] == [
        {
            "id": body["units"][0]["id"],
            "integration_id": w.integration.id,
            "integration_name": w.integration.name,
            "resource_id": w.finance.id,
            "resource_name": "Finance",
            "resource_type": "entra-group",
            "permission": "member",
            "scope": "/",
        }
    ]
    assert body["access_details"][0]["custom_access_details"] == "Open https://myapps.microsoft.com"
    awaiting = client.get("/api/v1/requests", params={"scope": "approvals"}, headers=boss).json()
    assert [r["id"] for r in awaiting["items"]] == [body["id"]]
    approved = client.post(
        f"/api/v1/requests/{body['id']}/approve", json={"reason": "ok"}, headers=boss
    )
    assert approved.status_code == 200, approved.text
    result = approved.json()
    assert result["status"] == "approved"
    assert result["approvals"][0]["approver"]["upn"] == w.boss.upn
    assert result["eligible_approvers"] == []
    (grant,) = result["grants"]
    assert grant["status"] == "pending"
    assert grant["ends_at"] == result["ends_at"]
    assert (
        client.get("/api/v1/requests", params={"scope": "approvals"}, headers=boss).json()["total"]
        == 0
    )


def test_forbidden_api_actions_are_problems_and_change_nothing(client, session, clock):
    w = make_world(session, clock)
    make_flow(session, clock, w.integration, approver_policy=MANAGER_POLICY)
    alice, carol = bearer(session, clock, w.alice), bearer(session, clock, w.carol)
    boss = bearer(session, clock, w.boss)
    request_id = _submit(client, alice, w.finance).json()["id"]
    before = snapshot(session, request_id)
    for headers, action, status in [
        (alice, "approve", 403),
        (carol, "approve", 404),  # not an approver: the request is hidden from her
        (carol, "reject", 404),
        (carol, "cancel", 404),
        (carol, "revoke", 404),
        (alice, "extend", 409),
        (alice, "revoke", 409),
    ]:
        response = client.post(f"/api/v1/requests/{request_id}/{action}", headers=headers)
        assert (action, response.status_code) == (action, status), response.text
        assert response.headers["content-type"] == PROBLEM
    assert snapshot(session, request_id) == before
    long_reason = client.post(
        f"/api/v1/requests/{request_id}/reject",
        json={"reason": "x" * 501},
        headers=boss,
    )
    assert long_reason.status_code == 422
    assert snapshot(session, request_id) == before


def test_outside_window_via_api(client, session, clock):
    w = make_world(session, clock)
    make_flow(
        session,
        clock,
        w.integration,
        timeframe={
            "days_of_week": ["MON"],
            "start_time": "10:00",
            "end_time": "12:00",
            "time_zone": "UTC",
        },
    )
    alice = bearer(session, clock, w.alice)
    before = audit_count(session)
    refused = _submit(client, alice, w.finance)
    assert refused.status_code == 403
    assert refused.headers["content-type"] == PROBLEM
    assert audit_count(session) == before
    clock.advance(timedelta(hours=1))
    assert _submit(client, alice, w.finance).status_code == 201


def test_dry_run_route(client, session, clock):
    w = make_world(session, clock)
    make_flow(session, clock, w.integration, approver_policy=MANAGER_POLICY)
    alice = bearer(session, clock, w.alice)
    before = audit_count(session)
    response = client.post(
        "/api/v1/requests/dry-run",
        json={"resource_ids": [w.finance.id], "permissions": ["member"]},
        headers=alice,
    )
    assert response.status_code == 200, response.text
    assert response.json()["eligible"] is True
    assert [a["upn"] for a in response.json()["approvers"]] == [w.boss.upn]
    assert audit_count(session) == before


def test_visibility_and_list_scopes(client, session, clock):
    w = make_world(session, clock)
    make_flow(session, clock, w.integration, approver_policy=MANAGER_POLICY)
    auditor = make_identity(session, clock, "audit@contoso.example", role="auditor")
    request_id = _submit(client, bearer(session, clock, w.alice), w.finance).json()["id"]
    for person, status in [
        (w.alice, 200),
        (w.boss, 200),
        (w.admin, 200),
        (auditor, 200),
        (w.carol, 404),
    ]:
        response = client.get(
            f"/api/v1/requests/{request_id}", headers=bearer(session, clock, person)
        )
        assert (person.upn, response.status_code) == (person.upn, status)
    carol = bearer(session, clock, w.carol)
    assert client.get("/api/v1/requests", params={"scope": "all"}, headers=carol).status_code == 403
    assert client.get("/api/v1/requests", headers=carol).json()["total"] == 0
    admin = bearer(session, clock, w.admin)
    everything = client.get(
        "/api/v1/requests", params={"scope": "all", "status": "pending"}, headers=admin
    )
    assert everything.json()["total"] == 1
    none = client.get(
        "/api/v1/requests", params={"scope": "all", "status": "active"}, headers=admin
    )
    assert none.json()["total"] == 0


def test_grants_listing(client, session, clock):
    w = make_world(session, clock)
    make_flow(
        session, clock, w.integration, settings={"max_extensions": 1, "extension_duration_min": 30}
    )
    alice, bob = bearer(session, clock, w.alice), bearer(session, clock, w.bob)
    mine = _submit(client, alice, w.finance).json()
    _submit(client, bob, w.payroll)
    begin_granting(session=session, clock=clock, request_id=mine["id"])
    activate_grant(session=session, clock=clock, grant_id=mine["grants"][0]["id"])
    session.commit()
    assert [
        g["resource_id"] for g in client.get("/api/v1/grants", headers=alice).json()["items"]
    ] == [w.finance.id]
    spying = client.get("/api/v1/grants", params={"identity_id": w.bob.id}, headers=alice).json()
    assert spying["total"] == 1
    assert spying["items"][0]["identity_id"] == w.alice.id
    admin = bearer(session, clock, w.admin)
    assert client.get("/api/v1/grants", headers=admin).json()["total"] == 2
    assert (
        client.get("/api/v1/grants", params={"status": "active"}, headers=admin).json()["total"]
        == 1
    )
    later = (clock.now() + timedelta(hours=2)).isoformat()
    assert (
        client.get("/api/v1/grants", params={"active_at": later}, headers=admin).json()["total"]
        == 0
    )
    extended = client.post(f"/api/v1/requests/{mine['id']}/extend", headers=alice)
    assert extended.status_code == 200, extended.text
    assert extended.json()["extend_options"] == {
        "can_extend": False,
        "remaining_extensions": 0,
        "extension_duration_min": 30,
    }
    filtered = client.get(
        "/api/v1/grants",
        params={"resource_id": w.payroll.id, "integration_id": w.integration.id},
        headers=admin,
    )
    assert filtered.json()["total"] == 1
