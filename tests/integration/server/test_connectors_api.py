from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from factories import bearer, make_connector, make_identity, make_integration
from jitgate.core.errors import Unauthenticated
from jitgate.server.actor import UserRole
from jitgate.server.audit.models import AuditEvent
from jitgate.server.connectors.models import Connector, ConnectorInstance
from jitgate.server.connectors.service import authenticate_connector
from jitgate.server.integrations.models import Integration


def _audit_count(session):
    return session.scalar(select(func.count()).select_from(AuditEvent))


def _connector_count(session):
    return session.scalar(select(func.count()).select_from(Connector))


@pytest.fixture
def admin(session, clock):
    person = make_identity(session, clock, "admin@contoso.example", role=UserRole.ADMIN)
    return bearer(session, clock, person)


@pytest.fixture
def auditor(session, clock):
    person = make_identity(session, clock, "audit@contoso.example", role=UserRole.AUDITOR)
    return bearer(session, clock, person)


@pytest.fixture
def user(session, clock):
    return bearer(session, clock, make_identity(session, clock, "user@contoso.example"))


@pytest.fixture
def headers(admin, auditor, user):
    return {"admin": admin, "auditor": auditor, "user": user}


def test_create_shows_token_once_and_stores_only_its_hash(client, session, admin):
    before = _audit_count(session)
    response = client.post("/api/v1/connectors", json={"name": "contoso-prod"}, headers=admin)
    assert response.status_code == 201
    body = response.json()
    token = body["token"]
    assert token.startswith("jg_ct_")
    assert body["status"] == "DISCONNECTED"
    assert body["instances"] == []
    assert _audit_count(session) == before + 1
    row = session.get(Connector, body["id"])
    assert token not in {row.token_hash, row.token_prefix}
    assert token.startswith(row.token_prefix)
    listed = client.get("/api/v1/connectors", headers=admin).json()
    assert "token" not in listed[0]
    assert "token" not in client.get(f"/api/v1/connectors/{body['id']}", headers=admin).json()


@pytest.mark.parametrize(
    "name",
    ["", " leading-space", "-dash-first", "x" * 65, "bad/slash", "emoji😀"],
)
def test_bad_names_are_refused_and_nothing_changes(client, session, admin, name):
    before = (_audit_count(session), _connector_count(session))
    response = client.post("/api/v1/connectors", json={"name": name}, headers=admin)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "name"
    assert (_audit_count(session), _connector_count(session)) == before


def test_duplicate_name_is_refused(client, session, clock, admin):
    make_connector(session, clock, name="contoso")
    before = (_audit_count(session), _connector_count(session))
    response = client.post("/api/v1/connectors", json={"name": "contoso"}, headers=admin)
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "name", "message": "a connector named 'contoso' exists"}
    ]
    assert (_audit_count(session), _connector_count(session)) == before


def test_writes_need_admin(client, session, clock, user, auditor):
    connector, _ = make_connector(session, clock)
    before = _audit_count(session)
    for headers in (user, auditor):
        assert (
            client.post("/api/v1/connectors", json={"name": "x"}, headers=headers).status_code
            == 403
        )
        url = f"/api/v1/connectors/{connector.id}"
        assert client.post(f"{url}/token:rotate", headers=headers).status_code == 403
        assert client.delete(url, headers=headers).status_code == 403
    assert _audit_count(session) == before


def test_reads_are_for_admins_and_auditors(client, session, clock, headers):
    connector, _ = make_connector(session, clock)
    url = f"/api/v1/connectors/{connector.id}"
    assert client.get("/api/v1/connectors", headers=headers["user"]).status_code == 403
    assert client.get(url, headers=headers["user"]).status_code == 403
    for role in ("auditor", "admin"):
        assert client.get("/api/v1/connectors", headers=headers[role]).status_code == 200
        assert client.get(url, headers=headers[role]).status_code == 200
    assert client.get("/api/v1/connectors/nope", headers=headers["admin"]).status_code == 404


def test_status_is_derived_from_instances_last_seen(client, session, clock, admin):
    connector, _ = make_connector(session, clock)
    now = clock.now()
    session.add(
        ConnectorInstance(
            connector_id=connector.id,
            instance_key="aci-1",
            version="0.1.0",
            meta={"region": "westeurope"},
            first_seen_at=now,
            last_seen_at=now,
        )
    )
    connector.self_check = {"roles": ["Groups Administrator"], "ok": False}
    connector.self_checked_at = now
    session.commit()
    url = f"/api/v1/connectors/{connector.id}"
    body = client.get(url, headers=admin).json()
    assert body["status"] == "CONNECTED"
    assert body["instances"][0]["version"] == "0.1.0"
    assert body["instances"][0]["metadata"] == {"region": "westeurope"}
    assert body["instances"][0]["connected"] is True
    assert body["last_seen_at"] is not None
    assert body["self_check"] == {"roles": ["Groups Administrator"], "ok": False}
    clock.advance(timedelta(minutes=5))
    body = client.get(url, headers=admin).json()
    assert body["status"] == "DISCONNECTED"
    assert body["instances"][0]["connected"] is False


def test_rotation_invalidates_the_old_token(client, session, clock, admin):
    connector, old = make_connector(session, clock)
    assert authenticate_connector(session=session, token=old).id == connector.id
    before = _audit_count(session)
    response = client.post(f"/api/v1/connectors/{connector.id}/token:rotate", headers=admin)
    assert response.status_code == 200
    new = response.json()["token"]
    assert new.startswith("jg_ct_")
    assert new != old
    assert _audit_count(session) == before + 1
    session.expire_all()
    with pytest.raises(Unauthenticated):
        authenticate_connector(session=session, token=old)
    assert authenticate_connector(session=session, token=new).id == connector.id
    assert response.json()["token_rotated_at"] is not None


def test_authenticate_connector_refuses_unknown_tokens(session):
    with pytest.raises(Unauthenticated):
        authenticate_connector(session=session, token="jg_ct_nope")


def test_delete_is_refused_while_an_integration_uses_it(client, session, clock, admin):
    connector, _ = make_connector(session, clock)
    integration = make_integration(session, clock, connector=connector)
    connector_id, integration_id = connector.id, integration.id
    before = (_audit_count(session), _connector_count(session))
    response = client.delete(f"/api/v1/connectors/{connector_id}", headers=admin)
    assert response.status_code == 409
    assert (_audit_count(session), _connector_count(session)) == before
    assert client.delete(f"/api/v1/integrations/{integration_id}", headers=admin).status_code == 204
    before = _audit_count(session)
    response = client.delete(f"/api/v1/connectors/{connector_id}", headers=admin)
    assert response.status_code == 204
    assert _audit_count(session) == before + 1
    session.expire_all()
    assert session.get(Connector, connector_id) is None
    assert session.get(Integration, integration_id).connector_id is None
    assert client.get(f"/api/v1/connectors/{connector_id}", headers=admin).status_code == 404
