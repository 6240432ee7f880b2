"""A populated jitgate for whole-API tests: one of every kind of object, in realistic states.

Everything is built through the real operations (so the audit chain is whole) and committed; the
world's ``ids`` name the real objects by the API parameter names that refer to them
(``connector_id``, ``request_id``, ...), so a test can aim generated calls at objects that exist.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from engine_world import Directory, run_connector, tick
from factories import (
    BOOTSTRAP,
    actor_for,
    bearer,
    make_connector,
    make_flow,
    make_identity,
    make_integration,
    make_request,
    make_resource,
)
from jitgate.protocol.v1 import GrantPayload, SelfCheckData
from jitgate.server.actor import Actor, UserRole
from jitgate.server.audit.operations import write_checkpoint
from jitgate.server.connectors.protocol.instances import connector_actor_for, register_instance
from jitgate.server.connectors.protocol.selfcheck import record_self_check, self_check_dict
from jitgate.server.grants.keys import MembershipKey
from jitgate.server.grants.standing import record_standing
from jitgate.server.handlers import default_registry
from jitgate.server.identities.models import ApiToken
from jitgate.server.integrations.operations import refresh_integration
from jitgate.server.jobs.models import Job, JobKind, JobStatus
from jitgate.server.jobs.operations import claim_jobs, enqueue_job
from jitgate.server.requests.integration_uses import INTEGRATION_USES
from jitgate.server.requests.operations import approve_request, reject_request
from request_world import MANAGER_POLICY

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from jitgate.server.connectors.models import Connector
    from jitgate.server.identities.models import Identity
    from jitgate.server.requests.models import AccessRequest

INSTANCE = "vm-1"
STRANGER = "5e5e5e5e-0000-4000-8000-000000005e5e"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"


# A well-formed call: (path parameters, body or ``None`` for an operation without one).
Call = tuple[dict[str, str], dict[str, Any] | None]


@dataclass
class ApiWorld:
    """The tokens to call with, the real ids by parameter name, and well-formed calls.

    ``calls`` maps an operation ("POST /api/v1/flows") to calls that a person (or the connector)
    would make on this world: bodies that pass validation and name objects that exist.
    """

    admin: dict[str, str]
    requester: dict[str, str]
    approver: dict[str, str]
    connector: dict[str, str]
    ids: dict[str, list[str]] = field(default_factory=dict)
    calls: dict[str, list[Call]] = field(default_factory=dict)


def _people(session: Session, clock) -> dict[str, Identity]:
    admin = make_identity(session, clock, "world.admin@contoso.example", role=UserRole.ADMIN)
    auditor = make_identity(session, clock, "world.auditor@contoso.example", role=UserRole.AUDITOR)
    approver = make_identity(session, clock, "world.approver@contoso.example")
    requester = make_identity(
        session, clock, "world.requester@contoso.example", manager=approver.id
    )
    for person in (admin, auditor, approver, requester):
        person.object_id = f"oid-{person.upn.split('@')[0]}"
    session.commit()
    return {"admin": admin, "auditor": auditor, "approver": approver, "requester": requester}


def _connector(session: Session, clock) -> tuple[Connector, str]:
    connector, token = make_connector(session, clock, "world")
    register_instance(
        session=session,
        clock=clock,
        actor=connector_actor_for(connector.id, connector.name),
        connector_id=connector.id,
        instance_key=INSTANCE,
        version="0.1.0",
        metadata={"cloud": "AzureCloud"},
    )
    session.commit()
    return connector, token


def _connector_reports(session: Session, clock, connector: Connector) -> None:
    """The instance checks in again (now) and reports a self-check with a tenant."""
    actor = connector_actor_for(connector.id, connector.name)
    register_instance(
        session=session,
        clock=clock,
        actor=actor,
        connector_id=connector.id,
        instance_key=INSTANCE,
        version="0.2.0",
        metadata={"cloud": "AzureCloud", "tenant_id": TENANT},
    )
    check = SelfCheckData(
        ok=False,
        service_principal_id="sp-world",
        app_permissions=["GroupMember.ReadWrite.All"],
        missing=["RoleManagement.ReadWrite.Directory"],
        tenant_id=TENANT,
    )
    record_self_check(
        session=session,
        clock=clock,
        actor=actor,
        connector_id=connector.id,
        check=self_check_dict(check),
    )
    session.commit()


def _catalog(session: Session, clock, connector: Connector, people: dict[str, Identity]):
    """An integration (first discovery settled) with five groups and a role, and two flows
    (groups need the manager's approval; the role needs none and can be extended twice)."""
    integration = make_integration(
        session,
        clock,
        "World Entra",
        connector=connector,
        owners=[{"attribute": "user", "values": [people["admin"].upn]}],
    )
    for job in session.scalars(select(Job).where(Job.kind == JobKind.DISCOVER)):
        job.status = JobStatus.SUCCEEDED
    integration.last_sync_at = clock.now()
    session.commit()
    groups = [
        make_resource(session, clock, integration, name=name, owners=[people["approver"].upn])
        for name in ("Finance", "Payroll", "Sales", "Marketing", "Legal")
    ]
    role = make_resource(session, clock, integration, type="entra-role", name="Global Reader")
    flows = [
        make_flow(session, clock, integration, approver_policy=MANAGER_POLICY),
        make_flow(
            session,
            clock,
            integration,
            "Reader role",
            resource_type="entra-role",
            settings={"max_extensions": 2, "extension_duration_min": 60},
        ),
    ]
    return integration, groups, role, flows


def _requests(session: Session, sessions, clock, *, people, groups, role, connector):
    """Expired (an hour ago), pending, approved (and granted), rejected, and an active role (no
    approval needed); the connector stands in for Entra."""
    requester, approver = people["requester"], people["approver"]
    directory = Directory()

    def decided(resource, decide) -> AccessRequest:
        request = make_request(session, clock, requester, [resource])
        decide(session=session, clock=clock, actor=actor_for(approver), request_id=request.id)
        session.commit()
        return request

    def settle() -> list[Job]:
        tick(sessions, clock)
        done = run_connector(sessions, clock, connector.id, directory.respond)
        tick(sessions, clock)
        return done

    expired = decided(groups[4], approve_request)
    done = settle()
    clock.advance(timedelta(minutes=61))
    done += settle()
    pending = make_request(session, clock, requester, [groups[0]])
    approved = decided(groups[1], approve_request)
    rejected = decided(groups[2], reject_request)
    active = make_request(session, clock, requester, [role], permissions=["active"])
    done += settle()
    requests = {
        "pending": pending,
        "approved": approved,
        "rejected": rejected,
        "active": active,
        "expired": expired,
    }
    return requests, done


def _leased_jobs(session: Session, clock, integration, connector, group) -> dict[str, Job]:
    """A discovery and a grant, both leased to the registered instance."""
    _, discovery = refresh_integration(
        uses=INTEGRATION_USES,
        session=session,
        clock=clock,
        actor=BOOTSTRAP,
        integration_id=integration.id,
    )
    payload = GrantPayload(
        principal_id=STRANGER,
        resource_type="entra-group",
        resource_external_id=group.external_id,
        permission="member",
    )
    grant = enqueue_job(session=session, clock=clock, connector_id=connector.id, payload=payload)
    session.commit()
    claim_jobs(
        session=session,
        clock=clock,
        handlers=default_registry(),
        connector_id=connector.id,
        instance_key=INSTANCE,
        max_jobs=10,
    )
    session.commit()
    return {"discovery": discovery, "grant": grant}


def _calls(integration, groups, flows, requests, jobs) -> dict[str, list[Call]]:
    flow = {
        "name": "Marketing groups",
        "targets": [
            {
                "integration_id": integration.id,
                "resource_type": "entra-group",
                "permissions": ["member"],
            }
        ],
        "approver_policy": MANAGER_POLICY,
    }
    ask = {"resource_ids": [groups[3].id], "permissions": ["member"], "justification": "close"}
    decision = {"reason": "checked"}
    grant, discovery = jobs["grant"], jobs["discovery"]
    lease = {"instance_key": INSTANCE, "lease_token": grant.lease_token}
    applied = {"outcome": "succeeded", "data": {"kind": "grant", "outcome": "applied"}}
    page = {
        "instance_key": INSTANCE,
        "lease_token": discovery.lease_token,
        "page": 0,
        "items": [{"type": "group", "id": groups[0].external_id, "display_name": "Finance"}],
    }
    item = {"job_id": grant.id, "lease_token": grant.lease_token, "result": applied}
    integration_body = {
        "name": "Second Entra",
        "connector_id": integration.connector_id,
        "resource_types": ["entra-group"],
    }
    details = {"custom_access_details": "Open https://myapps.microsoft.com", "invite_guests": True}
    return {
        "POST /api/v1/integrations": [({}, integration_body)],
        "PATCH /api/v1/integrations/{integration_id}": [
            ({"integration_id": integration.id}, details)
        ],
        "POST /api/v1/flows": [({}, flow)],
        "PUT /api/v1/flows/{flow_id}": [({"flow_id": flows[0].id}, flow)],
        "POST /api/v1/requests": [({}, ask)],
        "POST /api/v1/requests/dry-run": [({}, ask)],
        "POST /api/v1/requests/{request_id}/approve": [
            ({"request_id": requests["pending"].id}, decision)
        ],
        "POST /api/v1/requests/{request_id}/reject": [
            ({"request_id": requests["pending"].id}, decision)
        ],
        "POST /api/v1/requests/{request_id}/cancel": [
            ({"request_id": requests["pending"].id}, None)
        ],
        "POST /api/v1/requests/{request_id}/extend": [
            ({"request_id": requests["active"].id}, None)
        ],
        "POST /api/v1/requests/{request_id}/revoke": [
            ({"request_id": requests["active"].id}, decision)
        ],
        "POST /api/connector/v1/jobs/{job_id}/items": [({"job_id": discovery.id}, page)],
        "POST /api/connector/v1/jobs/{job_id}/release": [({"job_id": grant.id}, lease)],
        "POST /api/connector/v1/jobs/{job_id}/result": [
            ({"job_id": grant.id}, {**lease, "result": applied})
        ],
        "POST /api/connector/v1/jobs:report": [({}, {"instance_key": INSTANCE, "items": [item]})],
    }


def make_api_world(session: Session, sessions: sessionmaker[Session], clock) -> ApiWorld:
    """An admin, an auditor, an approver and the requester they manage, each with a token; a
    connector with a registered instance and a self-check; an integration with groups and a role;
    two flows; requests pending, active, rejected and expired (with grants, done jobs and audit
    events); a discovery and a grant leased to the instance; a standing membership; a checkpoint."""
    people = _people(session, clock)
    connector, connector_token = _connector(session, clock)
    integration, groups, role, flows = _catalog(session, clock, connector, people)
    requests, done = _requests(
        session, sessions, clock, people=people, groups=groups, role=role, connector=connector
    )
    _connector_reports(session, clock, connector)
    jobs = _leased_jobs(session, clock, integration, connector, groups[0])
    standing = record_standing(
        session=session,
        clock=clock,
        actor=Actor.system(),
        key=MembershipKey(integration.id, groups[0].id, "member", "/", STRANGER),
        source="drift",
    )
    write_checkpoint(session=session, clock=clock)
    session.commit()
    headers = {name: bearer(session, clock, person) for name, person in people.items()}
    identity_ids = [p.id for p in people.values()]
    ids = {
        "identity_id": identity_ids,
        "ref": identity_ids + [p.upn for p in people.values()],
        "token_id": list(session.scalars(select(ApiToken.id).order_by(ApiToken.created_at))),
        "type_id": [integration.type],
        "connector_id": [connector.id],
        "integration_id": [integration.id],
        "resource_id": [r.id for r in (*groups, role)],
        "flow_id": [f.id for f in flows],
        "request_id": [r.id for r in requests.values()],
        "standing_id": [standing.id],
        "job_id": [*(j.id for j in jobs.values()), *(j.id for j in done)],
        "lease_token": [j.lease_token or "" for j in jobs.values()],
        "instance_key": [INSTANCE],
        "actor_id": identity_ids,
        "target_id": [connector.id, integration.id, *(r.id for r in requests.values())],
        "principal_id": [STRANGER, *(p.object_id or "" for p in people.values())],
    }
    return ApiWorld(
        admin=headers["admin"],
        requester=headers["requester"],
        approver=headers["approver"],
        connector={"Authorization": f"Bearer {connector_token}"},
        ids=ids,
        calls=_calls(integration, groups, flows, requests, jobs),
    )
