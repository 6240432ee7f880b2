"""A connector speaks only for its own tenant (DESIGN.md invariant 12), over ``/api/connector/v1``.

Two integrations on two tenants, each with its own connector token. The second tenant's connector
posts crafted discovery pages naming the first tenant's object ids and UPNs: it must not re-point
a manager (and so an approver), disable an account, or take over an identity by UPN.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import select

from engine_world import events
from factories import bearer, make_connector, make_flow, make_identity, make_integration
from jitgate.server.actor import UserRole
from jitgate.server.connectors.models import Connector
from jitgate.server.identities.models import Identity
from jitgate.server.integrations.models import IntegrationStatus, Resource
from request_world import MANAGER_POLICY

if TYPE_CHECKING:
    from fastapi.testclient import TestClient
    from sqlalchemy.orm import Session

    from jitgate.core.clock import ManualClock

V1 = "/api/connector/v1"
TENANT_A = "aaaaaaaa-0000-4000-8000-00000000000a"
TENANT_B = "bbbbbbbb-0000-4000-8000-00000000000b"
BOSS = {"type": "user", "id": "a-boss", "user_principal_name": "boss@contoso.example"}
ANN = {
    "type": "user",
    "id": "a-ann",
    "user_principal_name": "ann@contoso.example",
    "manager_id": "a-boss",
}
MALLORY = {"type": "user", "id": "a-mallory", "user_principal_name": "mallory@contoso.example"}
BOB = {"type": "user", "id": "a-bob", "user_principal_name": "bob@contoso.example"}
FINANCE = {"type": "group", "id": "g-fin", "display_name": "Finance"}


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _discover(
    client: TestClient, token: str, items: list[dict[str, Any]], tenant: str | None = None
) -> dict[str, Any]:
    """Claim the connector's discover job, post ``items`` as one page and report success."""
    claimed = client.post(
        f"{V1}/jobs:claim", json={"instance_key": "vm-1", "wait_s": 0}, headers=_auth(token)
    )
    assert claimed.status_code == 200, claimed.text
    [job] = [j for j in claimed.json()["jobs"] if j["payload"]["kind"] == "discover"]
    lease = {"instance_key": "vm-1", "lease_token": job["lease_token"]}
    page = client.post(
        f"{V1}/jobs/{job['id']}/items",
        json={**lease, "page": 0, "items": items},
        headers=_auth(token),
    )
    assert page.status_code == 200, page.text
    data: dict[str, Any] = {"kind": "discover", "pages": 1}
    if tenant is not None:
        data["tenant_id"] = tenant
    result = {**lease, "result": {"outcome": "succeeded", "data": data}}
    reported = client.post(f"{V1}/jobs/{job['id']}/result", json=result, headers=_auth(token))
    assert reported.status_code == 200, reported.text
    body: dict[str, Any] = reported.json()
    return body


def _person(session: Session, upn: str) -> Identity:
    session.expire_all()
    return session.scalars(select(Identity).where(Identity.upn == upn)).one()


class Tenants:
    """Tenant A (discovered, with a manager-approved flow) and tenant B with its own connector."""

    def __init__(self, client: TestClient, session: Session, clock: ManualClock) -> None:
        self.admin = make_identity(session, clock, "admin@contoso.example", role=UserRole.ADMIN)
        connector_a, self.token_a = make_connector(session, clock, "contoso")
        self.a = make_integration(session, clock, "Contoso Entra", connector=connector_a)
        _discover(client, self.token_a, [BOSS, ANN, MALLORY, BOB, FINANCE])
        connector_b, self.token_b = make_connector(session, clock, "fabrikam")
        self.b = make_integration(session, clock, "Fabrikam Entra", connector=connector_b)
        session.expire_all()


@pytest.fixture
def tenants(client: TestClient, session: Session, clock: ManualClock) -> Tenants:
    return Tenants(client, session, clock)


def test_another_tenants_connector_cannot_make_a_user_the_manager_and_approver(
    client: TestClient, session: Session, clock: ManualClock, tenants: Tenants
) -> None:
    make_flow(session, clock, tenants.a, approver_policy=MANAGER_POLICY)
    boss = _person(session, "boss@contoso.example")
    # the first tenant's object ids, under UPNs of the attacker's own and under the real ones
    forged = [
        {**ANN, "user_principal_name": "ann@fabrikam.example", "manager_id": "a-mallory"},
        {**MALLORY, "user_principal_name": "mallory@fabrikam.example"},
    ]
    _discover(client, tenants.token_b, forged)
    _discover_again_with_real_upns(client, session, clock, tenants)
    ann = _person(session, "ann@contoso.example")
    assert ann.manager_id == boss.id
    assert ann.object_id == "a-ann"
    # the approver of Ann's request on the first tenant's flow is still her manager
    finance = session.scalars(select(Resource).where(Resource.integration_id == tenants.a.id)).one()
    body = {"resource_ids": [finance.id], "permissions": ["member"]}
    created = client.post("/api/v1/requests", json=body, headers=bearer(session, clock, ann))
    assert created.status_code == 201, created.text
    assert [p["upn"] for p in created.json()["eligible_approvers"]] == ["boss@contoso.example"]
    mallory = _person(session, "mallory@contoso.example")
    approve = client.post(
        f"/api/v1/requests/{created.json()['id']}/approve",
        json={"reason": "ok"},
        headers=bearer(session, clock, mallory),
    )
    assert approve.status_code == 404, approve.text  # not an approver: the request is hidden


def _discover_again_with_real_upns(
    client: TestClient, session: Session, clock: ManualClock, tenants: Tenants
) -> None:
    """The same forgery with the first tenant's UPNs, in the second tenant's next round."""
    refresh = client.post(
        f"/api/v1/integrations/{tenants.b.id}/refresh",
        headers=bearer(session, clock, _person(session, "admin@contoso.example")),
    )
    assert refresh.status_code in {200, 202}, refresh.text
    _discover(client, tenants.token_b, [{**ANN, "manager_id": "a-mallory"}, MALLORY])


def test_another_tenants_connector_cannot_disable_accounts(
    client: TestClient, session: Session, clock: ManualClock, tenants: Tenants
) -> None:
    admin_headers = bearer(session, clock, tenants.admin)
    forged = [
        {"type": "removed", "id": "a-bob", "object_type": "user"},
        {
            "type": "user",
            "id": "b-admin",
            "user_principal_name": "admin@contoso.example",
            "account_enabled": False,
        },
        {**BOSS, "user_principal_name": "boss@fabrikam.example", "account_enabled": False},
    ]
    _discover(client, tenants.token_b, forged)
    assert _person(session, "bob@contoso.example").account_enabled is True
    assert _person(session, "boss@contoso.example").account_enabled is True
    admin = _person(session, "admin@contoso.example")
    assert (admin.account_enabled, admin.object_id) == (True, None)
    assert client.get("/api/v1/me", headers=admin_headers).status_code == 200


def test_a_upn_of_another_tenant_never_matches(
    client: TestClient, session: Session, clock: ManualClock, tenants: Tenants
) -> None:
    before = _person(session, "boss@contoso.example")
    boss_id = before.id
    collision = {
        "type": "user",
        "id": "b-boss",
        "user_principal_name": "BOSS@contoso.example",
        "display_name": "Not the boss",
    }
    _discover(client, tenants.token_b, [collision])
    boss = _person(session, "boss@contoso.example")
    assert (boss.id, boss.object_id, boss.display_name) == (
        boss_id,
        "a-boss",
        "boss@contoso.example",
    )
    assert session.scalars(select(Identity).where(Identity.object_id == "b-boss")).all() == []
    last = events(session, "integration.sync")[-1]
    assert (last.target_id, last.context["user.conflict"]) == (tenants.b.id, 1)


def test_a_connector_cannot_claim_the_tenant_another_connector_reaches(
    client: TestClient, session: Session, clock: ManualClock, tenants: Tenants
) -> None:
    register = {"instance_key": "vm-1", "version": "0.1.0", "metadata": {"tenant_id": TENANT_A}}
    mine = client.post(f"{V1}/instances", json=register, headers=_auth(tenants.token_a))
    assert mine.status_code == 200, mine.text
    stolen = client.post(f"{V1}/instances", json=register, headers=_auth(tenants.token_b))
    assert stolen.status_code == 409, stolen.text
    _discover(client, tenants.token_b, [{**ANN, "manager_id": "a-mallory"}], tenant=TENANT_A)
    session.expire_all()
    b = tenants.b
    assert b.status is IntegrationStatus.ERROR
    assert TENANT_A in (b.status_message or "")
    ann = _person(session, "ann@contoso.example")
    assert ann.manager_id == _person(session, "boss@contoso.example").id
    assert ann.tenant_id == TENANT_A  # moved from the placeholder scope when A pinned its tenant
    connector_b = session.get(Connector, b.connector_id)
    assert connector_b is not None
    assert connector_b.tenant_id is None


def test_the_connectors_own_tenant_is_pinned_and_another_refused(
    client: TestClient, session: Session, clock: ManualClock, tenants: Tenants
) -> None:
    fay = {"type": "user", "id": "b-fay", "user_principal_name": "fay@fabrikam.example"}
    forged = {**BOB, "user_principal_name": "bob@fabrikam.example"}
    _discover(client, tenants.token_b, [fay, forged], TENANT_B)
    session.expire_all()
    b = tenants.b
    assert b.status is IntegrationStatus.ACTIVE
    fab = _person(session, "fay@fabrikam.example")
    assert (fab.tenant_id, fab.object_id) == (TENANT_B, "b-fay")
    # the first tenant's object id under a UPN of its own: not a second person with that oid
    assert (
        session.scalars(select(Identity).where(Identity.upn == "bob@fabrikam.example")).all() == []
    )
    assert _person(session, "bob@contoso.example").tenant_id != TENANT_B
    self_check = {
        "instance_key": "vm-1",
        "result": {"kind": "self_check", "ok": True, "tenant_id": TENANT_A},
    }
    moved = client.post(f"{V1}/self-check", json=self_check, headers=_auth(tenants.token_b))
    assert moved.status_code == 409, moved.text
