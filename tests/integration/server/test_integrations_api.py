from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from factories import bearer, make_connector, make_identity, make_integration, make_resource
from jitgate.server.actor import UserRole
from jitgate.server.audit.models import AuditEvent
from jitgate.server.grants.models import Grant
from jitgate.server.grants.states import GrantStatus
from jitgate.server.integrations.models import Integration, IntegrationStatus
from jitgate.server.jobs.models import Job, JobKind, JobPriority, JobStatus
from jitgate.server.requests.models import AccessRequest, AccessRequestUnit
from jitgate.server.requests.states import RequestStatus

OWNERS = [{"attribute": "group", "values": ["Identity Admins"]}]


def _audit_count(session):
    return session.scalar(select(func.count()).select_from(AuditEvent))


def _snapshot(session):
    """Everything a refused change must leave alone."""
    session.expire_all()
    rows = session.scalars(select(Integration).order_by(Integration.id)).all()
    return _audit_count(session), [
        (r.id, r.name, r.updated_at, r.deleted_at, r.status, r.owners) for r in rows
    ]


@pytest.fixture
def admin(session, clock):
    person = make_identity(session, clock, "admin@contoso.example", role=UserRole.ADMIN)
    return bearer(session, clock, person)


@pytest.fixture
def user(session, clock):
    return bearer(session, clock, make_identity(session, clock, "user@contoso.example"))


@pytest.fixture
def connector(session, clock):
    return make_connector(session, clock, name="contoso-prod")[0]


def _body(connector, **changes):
    body = {
        "name": "Contoso Entra",
        "connector_id": connector.id,
        "resource_types": ["entra-group", "entra-role"],
        "credential_rotation_days": 90,
        "user_cleanup_days": 30,
        "custom_access_details": "Open https://myapps.microsoft.com after approval.",
        "owners": OWNERS,
        "resource_owner": {"key_name": "owner", "attribute": "user.upn"},
        "grant_mode": "pim",
        "membership_mode": "additive",
    }
    body.update(changes)
    return body


def test_create_stores_settings_queues_discovery_and_audits_once(client, session, admin, connector):
    before = _audit_count(session)
    response = client.post("/api/v1/integrations", json=_body(connector), headers=admin)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "initializing"
    assert body["custom_access_details"].startswith("Open https://")
    assert body["owners"] == OWNERS
    assert body["resource_owner"] == {"key_name": "owner", "attribute": "user.upn"}
    assert body["grant_mode"] == "pim"
    assert body["credential_rotation_days"] == 90
    assert body["user_cleanup_days"] == 30
    assert _audit_count(session) == before + 1
    job = session.scalars(select(Job).where(Job.integration_id == body["id"])).one()
    assert (job.kind, job.priority, job.connector_id) == (
        JobKind.DISCOVER,
        JobPriority.DISCOVER,
        connector.id,
    )


def test_defaults_apply(client, admin, connector):
    body = {"name": "Minimal", "connector_id": connector.id}
    response = client.post("/api/v1/integrations", json=body, headers=admin)
    assert response.status_code == 201, response.json()
    created = response.json()
    assert created["type"] == "entra-id"
    assert created["resource_types"] == ["entra-group", "entra-role"]
    assert created["grant_mode"] == "direct"
    assert created["membership_mode"] == "additive"
    assert created["owners"] == []
    assert created["resource_owner"] is None
    assert created["credential_rotation_due_at"] is None


BAD = [
    ("name", {"name": ""}),
    ("name", {"name": "x" * 65}),
    ("name", {"name": "-starts-with-dash"}),
    ("name", {"name": " leading space"}),
    ("name", {"name": "has/slash"}),
    ("name", {"name": "zero\u200bwidth"}),  # Unicode letters are fine, invisible ones are not
    ("custom_access_details", {"custom_access_details": "x" * 401}),
    ("resource_owner", {"owners": []}),
    ("credential_rotation_days", {"credential_rotation_days": 0}),
    ("credential_rotation_days", {"credential_rotation_days": 3651}),
    ("credential_rotation_days", {"credential_rotation_days": 1.5}),
    ("user_cleanup_days", {"user_cleanup_days": 0}),
    ("user_cleanup_days", {"user_cleanup_days": 3651}),
    ("user_cleanup_days", {"user_cleanup_days": -3}),
    ("resource_types", {"resource_types": []}),
    ("resource_types.0", {"resource_types": ["entra-app"]}),
    ("resource_types", {"resource_types": ["entra-group", "entra-group"]}),
    ("connector_id", {"connector_id": "no-such-connector"}),
    ("owners.0.attribute", {"owners": [{"attribute": "role", "values": ["x"]}]}),
    ("owners.0.values", {"owners": [{"attribute": "user", "values": []}]}),
    ("owners.0.values.0", {"owners": [{"attribute": "user", "values": [""]}]}),
    ("resource_owner.attribute", {"resource_owner": {"key_name": "o", "attribute": "user.phone"}}),
    ("resource_owner.key_name", {"resource_owner": {"key_name": "", "attribute": "user.upn"}}),
    ("grant_mode", {"grant_mode": "jit"}),
    ("membership_mode", {"membership_mode": "exclusive"}),
    ("type", {"type": "okta"}),
    ("unexpected", {"unexpected": True}),
]


@pytest.mark.parametrize(
    ("field", "changes"), BAD, ids=[f"{f}-{i}" for i, (f, _) in enumerate(BAD)]
)
def test_every_rule_is_a_422_and_changes_nothing(
    *, client, session, admin, connector, field, changes
):
    before = _snapshot(session)
    response = client.post("/api/v1/integrations", json=_body(connector, **changes), headers=admin)
    assert response.status_code == 422, response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert field in [e["field"] for e in response.json()["errors"]]
    assert _snapshot(session) == before


def test_name_is_unique_among_live_integrations_and_delete_frees_it(
    client, session, clock, admin, connector
):
    first = make_integration(session, clock, name="Contoso Entra", connector=connector)
    before = _snapshot(session)
    response = client.post(
        "/api/v1/integrations", json=_body(connector, name="contoso entra"), headers=admin
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "name"
    assert _snapshot(session) == before
    assert client.delete(f"/api/v1/integrations/{first.id}", headers=admin).status_code == 204
    response = client.post("/api/v1/integrations", json=_body(connector), headers=admin)
    assert response.status_code == 201
    assert client.get(f"/api/v1/integrations/{first.id}", headers=admin).status_code == 404


def test_writes_need_admin(client, session, clock, user, connector):
    integration = make_integration(session, clock, connector=connector)
    url = f"/api/v1/integrations/{integration.id}"
    before = _snapshot(session)
    assert (
        client.post("/api/v1/integrations", json=_body(connector), headers=user).status_code == 403
    )
    assert client.patch(url, json={"name": "Renamed"}, headers=user).status_code == 403
    assert client.delete(url, headers=user).status_code == 403
    assert client.post(f"{url}/refresh", headers=user).status_code == 403
    assert client.get(f"{url}/as-code", headers=user).status_code == 403
    assert _snapshot(session) == before


def test_update_changes_only_the_given_fields(client, session, clock, admin, connector):
    integration = make_integration(
        session,
        clock,
        connector=connector,
        owners=OWNERS,
        custom_access_details="Use the portal.",
        credential_rotation_days=30,
    )
    before = _audit_count(session)
    response = client.patch(
        f"/api/v1/integrations/{integration.id}",
        json={"name": "Renamed", "custom_access_details": None, "membership_mode": "authoritative"},
        headers=admin,
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["name"] == "Renamed"
    assert body["custom_access_details"] is None
    assert body["membership_mode"] == "authoritative"
    assert body["owners"] == OWNERS
    assert body["credential_rotation_days"] == 30
    assert _audit_count(session) == before + 1
    event = session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert event.action == "integration.update"
    assert event.before["name"] == "Contoso Entra"
    assert event.after["name"] == "Renamed"


BAD_UPDATES = [
    ("resource_owner", {"owners": []}),
    ("name", {"name": "Other"}),
    ("name", {"name": None}),
    ("resource_types", {"resource_types": []}),
    ("connector_id", {"connector_id": "missing"}),
    ("credential_rotation_days", {"credential_rotation_days": 4000}),
    ("custom_access_details", {"custom_access_details": "y" * 401}),
]


@pytest.mark.parametrize(("field", "changes"), BAD_UPDATES)
def test_bad_updates_are_422_and_change_nothing(*, client, session, clock, admin, field, changes):
    integration = make_integration(
        session,
        clock,
        owners=OWNERS,
        resource_owner={"key_name": "owner", "attribute": "group.name"},
    )
    make_integration(session, clock, name="Other")
    before = _snapshot(session)
    response = client.patch(f"/api/v1/integrations/{integration.id}", json=changes, headers=admin)
    assert response.status_code == 422, response.json()
    assert field in [e["field"] for e in response.json()["errors"]]
    assert _snapshot(session) == before


def test_list_filters(*, client, session, clock, admin, user, connector):
    other_connector, _ = make_connector(session, clock, name="fabrikam")
    make_integration(session, clock, name="Contoso Entra", connector=connector)
    fabrikam = make_integration(session, clock, name="Fabrikam", connector=other_connector)
    fabrikam.status = IntegrationStatus.ACTIVE
    session.commit()

    def names(**params):
        response = client.get("/api/v1/integrations", params=params, headers=user)
        assert response.status_code == 200
        return [i["name"] for i in response.json()]

    assert names() == ["Contoso Entra", "Fabrikam"]
    assert names(type="entra-id") == ["Contoso Entra", "Fabrikam"]
    assert names(type="okta") == []
    assert names(status="active") == ["Fabrikam"]
    assert names(connector_id=connector.id) == ["Contoso Entra"]
    assert names(name="ABRIK") == ["Fabrikam"]
    assert names(name="%") == []
    response = client.get("/api/v1/integrations", params={"status": "nope"}, headers=admin)
    assert response.status_code == 422


def test_get_exposes_custom_access_details_to_requesters(client, session, clock, user):
    integration = make_integration(session, clock, custom_access_details="Sign in at myapps.")
    response = client.get(f"/api/v1/integrations/{integration.id}", headers=user)
    assert response.status_code == 200
    assert response.json()["custom_access_details"] == "Sign in at myapps."
    assert client.get("/api/v1/integrations/nope", headers=user).status_code == 404


def test_refresh_queues_one_discovery_job(client, session, clock, admin):
    integration = make_integration(session, clock)
    integration.status = IntegrationStatus.ACTIVE
    session.query(Job).filter(Job.integration_id == integration.id).update(
        {Job.status: JobStatus.SUCCEEDED}
    )
    session.commit()
    before = _audit_count(session)
    url = f"/api/v1/integrations/{integration.id}/refresh"
    response = client.post(url, headers=admin)
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["integration"]["status"] == "refreshing"
    job = session.get(Job, body["job_id"])
    assert (job.kind, job.priority, job.status) == (
        JobKind.DISCOVER,
        JobPriority.DISCOVER,
        JobStatus.QUEUED,
    )
    assert job.connector_id == integration.connector_id
    assert job.payload["resource_types"] == ["entra-group", "entra-role"]
    assert _audit_count(session) == before + 1
    again = client.post(url, headers=admin)
    assert again.json()["job_id"] == body["job_id"]
    queued = select(func.count()).select_from(Job).where(Job.status == JobStatus.QUEUED)
    assert session.scalar(queued.where(Job.integration_id == integration.id)) == 1


def _live_request(session, clock, integration, resource, *, status, grant_status=None):
    person = make_identity(session, clock, f"req-{status}@contoso.example")
    now = clock.now()
    request = AccessRequest(
        requester_id=person.id,
        grantee_id=person.id,
        flow_name="flow",
        flow_snapshot={},
        status=status,
        created_at=now,
        updated_at=now,
    )
    session.add(request)
    session.flush()
    unit = AccessRequestUnit(
        request_id=request.id,
        integration_id=integration.id,
        resource_id=resource.id,
        permission="member",
    )
    session.add(unit)
    session.flush()
    if grant_status is not None:
        session.add(
            Grant(
                request_id=request.id,
                unit_id=unit.id,
                identity_id=person.id,
                integration_id=integration.id,
                resource_id=resource.id,
                permission="member",
                status=grant_status,
                starts_at=now,
                ends_at=now + timedelta(hours=1),
                created_at=now,
                updated_at=now,
            )
        )
    session.commit()
    return request


@pytest.mark.parametrize(
    ("request_status", "grant_status"),
    [
        (RequestStatus.PENDING, None),
        (RequestStatus.ACTIVE, GrantStatus.ACTIVE),
        (RequestStatus.REVOKED, GrantStatus.REVOKING),
    ],
)
def test_delete_is_refused_while_requests_or_grants_live(
    *, client, session, clock, admin, request_status, grant_status
):
    integration = make_integration(session, clock)
    resource = make_resource(session, clock, integration)
    _live_request(
        session, clock, integration, resource, status=request_status, grant_status=grant_status
    )
    before = _snapshot(session)
    response = client.delete(f"/api/v1/integrations/{integration.id}", headers=admin)
    assert response.status_code == 409
    assert _snapshot(session) == before


def test_delete_succeeds_once_requests_have_ended(client, session, clock, admin):
    integration = make_integration(session, clock)
    resource = make_resource(session, clock, integration)
    _live_request(
        session,
        clock,
        integration,
        resource,
        status=RequestStatus.EXPIRED,
        grant_status=GrantStatus.ENDED,
    )
    before = _audit_count(session)
    response = client.delete(f"/api/v1/integrations/{integration.id}", headers=admin)
    assert response.status_code == 204
    assert _audit_count(session) == before + 1
    session.expire_all()
    row = session.get(Integration, integration.id)
    assert row.deleted_at == clock.now()
    assert client.delete(f"/api/v1/integrations/{integration.id}", headers=admin).status_code == 404


def test_resources_search_filter_and_page(client, session, clock, user):
    integration = make_integration(session, clock)
    make_resource(session, clock, integration, name="Finance Readers", tags={"dept": "finance"})
    make_resource(session, clock, integration, name="Finance Writers", tags={"dept": "finance"})
    make_resource(session, clock, integration, name="HR Readers", tags={"dept": "hr"})
    make_resource(session, clock, integration, type="entra-role", name="Global Reader")
    url = f"/api/v1/integrations/{integration.id}/resources"

    def names(**params):
        response = client.get(url, params=params, headers=user)
        assert response.status_code == 200, response.json()
        return [r["name"] for r in response.json()["items"]], response.json()["total"]

    assert names() == (["Finance Readers", "Finance Writers", "Global Reader", "HR Readers"], 4)
    assert names(search="readers") == (["Finance Readers", "HR Readers"], 2)
    assert names(type="entra-role") == (["Global Reader"], 1)
    assert names(tag="dept=finance") == (["Finance Readers", "Finance Writers"], 2)
    assert names(tag="dept=finance", search="writ") == (["Finance Writers"], 1)
    assert names(limit=2, offset=1) == (["Finance Writers", "Global Reader"], 4)
    assert client.get(url, params={"tag": "no-equals"}, headers=user).status_code == 422
    missing = "/api/v1/integrations/nope/resources"
    assert client.get(missing, headers=user).status_code == 404


def test_as_code_returns_hcl_and_json(client, session, clock, admin):
    integration = make_integration(
        session,
        clock,
        name="Contoso Entra",
        owners=OWNERS,
        resource_owner={"key_name": "owner", "attribute": "user.upn"},
        custom_access_details='Say "hi" ${not_a_var}',
        credential_rotation_days=90,
    )
    response = client.get(f"/api/v1/integrations/{integration.id}/as-code", headers=admin)
    assert response.status_code == 200
    body = response.json()
    hcl = body["hcl"]
    assert hcl.startswith('resource "jitgate_integration" "contoso_entra" {')
    assert 'name                     = "Contoso Entra"' in hcl
    assert f'connector_id             = "{integration.connector_id}"' in hcl
    assert 'resource_types           = ["entra-group", "entra-role"]' in hcl
    assert "credential_rotation_days = 90" in hcl
    assert 'custom_access_details    = "Say \\"hi\\" $${not_a_var}"' in hcl
    assert 'values    = ["Identity Admins"]' in hcl
    assert "resource_owner {" in hcl
    resource = body["terraform_json"]["resource"]["jitgate_integration"]["contoso_entra"]
    assert resource["owner"] == OWNERS
    assert resource["resource_owner"] == [{"key_name": "owner", "attribute": "user.upn"}]


def test_credential_rotation_due_follows_the_connector_token(client, session, clock, admin):
    connector, _ = make_connector(session, clock, name="rotating")
    integration = make_integration(session, clock, connector=connector, credential_rotation_days=30)
    url = f"/api/v1/integrations/{integration.id}"
    created = clock.now()
    body = client.get(url, headers=admin).json()
    assert body["credential_rotation_due_at"] == (created + timedelta(days=30)).isoformat().replace(
        "+00:00", "Z"
    )
    assert body["credential_rotation_overdue"] is False
    clock.advance(timedelta(days=31))
    admin = bearer(
        session, clock, make_identity(session, clock, "later@contoso.example", role=UserRole.ADMIN)
    )
    assert client.get(url, headers=admin).json()["credential_rotation_overdue"] is True
    assert (
        client.post(f"/api/v1/connectors/{connector.id}/token:rotate", headers=admin).status_code
        == 200
    )
    assert client.get(url, headers=admin).json()["credential_rotation_overdue"] is False
