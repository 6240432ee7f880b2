from __future__ import annotations

from factories import bearer, make_flow, make_identity, make_integration
from jitgate.server.actor import UserRole
from request_world import audit_count


def _flow_body(integration_id, **fields):
    return {
        "name": "Finance groups",
        "targets": [
            {
                "integration_id": integration_id,
                "resource_type": "entra-group",
                "permissions": ["member"],
            }
        ],
        **fields,
    }


def test_admin_creates_updates_deletes_with_one_event_each(client, session, clock):
    admin = make_identity(session, clock, "admin@contoso.example", role=UserRole.ADMIN)
    integration = make_integration(session, clock)
    headers = bearer(session, clock, admin)
    before = audit_count(session)
    created = client.post("/api/v1/flows", json=_flow_body(integration.id), headers=headers)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["settings"]["requester_cannot_approve_self"] is True
    assert body["settings"]["justification_required"] is True
    assert body["request_for"] == {"scopes": ["self"], "grantees": None}
    assert audit_count(session) == before + 1
    flow_id = body["id"]
    updated = client.put(
        f"/api/v1/flows/{flow_id}",
        json=_flow_body(integration.id, name="Renamed", max_duration_min=240),
        headers=headers,
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["max_duration_min"] == 240
    assert client.get(f"/api/v1/flows/{flow_id}", headers=headers).json()["name"] == "Renamed"
    assert client.delete(f"/api/v1/flows/{flow_id}", headers=headers).status_code == 204
    assert client.get(f"/api/v1/flows/{flow_id}", headers=headers).status_code == 404
    assert audit_count(session) == before + 3


def test_flow_rules_are_422_and_change_nothing(client, session, clock):
    admin = make_identity(session, clock, "admin@contoso.example", role=UserRole.ADMIN)
    integration = make_integration(session, clock, resource_types=["entra-group"])
    headers = bearer(session, clock, admin)
    before = audit_count(session)
    cases = [
        {
            "targets": [
                {
                    "integration_id": integration.id,
                    "resource_type": "entra-group",
                    "permissions": ["active"],
                }
            ]
        },
        {
            "targets": [
                {
                    "integration_id": integration.id,
                    "resource_type": "entra-role",
                    "permissions": ["active"],
                }
            ]
        },
        {
            "targets": [
                {
                    "integration_id": "nope",
                    "resource_type": "entra-group",
                    "permissions": ["member"],
                }
            ]
        },
        {"default_duration_min": 500, "max_duration_min": 60},
        {"max_duration_min": None},
        {"trigger": "automatic"},
        {
            "timeframe": {
                "days_of_week": ["MON"],
                "start_time": "08:00",
                "end_time": "09:00",
                "time_zone": "Nowhere/Land",
            }
        },
        {"settings": {"max_extensions": 2}},
        {
            "escalation_policy": {"tiers": [[{"approvers": [{"type": "manager"}]}]] * 6},
            "approver_policy": {"approver_groups": [{"approvers": [{"type": "manager"}]}]},
        },
        {"requestors": {"conditions": [{"type": "attribute", "values": ["x"]}]}},
    ]
    for case in cases:
        response = client.post(
            "/api/v1/flows", json={**_flow_body(integration.id), **case}, headers=headers
        )
        assert response.status_code == 422, (case, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    assert audit_count(session) == before
    indefinite = {
        "max_duration_min": None,
        "default_duration_min": None,
        "settings": {"allow_indefinite": True},
    }
    assert (
        client.post(
            "/api/v1/flows", json={**_flow_body(integration.id), **indefinite}, headers=headers
        ).status_code
        == 201
    )
    assert (
        client.post("/api/v1/flows", json=_flow_body(integration.id), headers=headers).status_code
        == 409
    )


def test_roles_and_available_flows(client, session, clock):
    integration = make_integration(session, clock)
    user = make_identity(
        session, clock, "alice@contoso.example", groups=[{"id": "g1", "name": "Finance"}]
    )
    auditor = make_identity(session, clock, "audit@contoso.example", role=UserRole.AUDITOR)
    make_flow(
        session,
        clock,
        integration,
        "Finance",
        requestors={"conditions": [{"type": "group", "values": ["Finance"]}]},
    )
    make_flow(
        session,
        clock,
        integration,
        "Ops",
        requestors={"conditions": [{"type": "group", "values": ["Ops"]}]},
    )
    make_flow(session, clock, integration, "Off", active=False)
    user_headers = bearer(session, clock, user)
    assert client.get("/api/v1/flows", headers=user_headers).status_code == 403
    assert (
        client.post(
            "/api/v1/flows", json=_flow_body(integration.id), headers=user_headers
        ).status_code
        == 403
    )
    auditor_headers = bearer(session, clock, auditor)
    assert len(client.get("/api/v1/flows", headers=auditor_headers).json()) == 3
    assert (
        client.post(
            "/api/v1/flows", json=_flow_body(integration.id), headers=auditor_headers
        ).status_code
        == 403
    )
    available = client.get("/api/v1/flows/available", headers=user_headers)
    assert available.status_code == 200
    assert [(f["name"], f["needs_approval"]) for f in available.json()] == [("Finance", False)]
    assert client.get("/api/v1/flows/available").status_code == 401
