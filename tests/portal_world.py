"""A small jitgate for the portal's tests, and the signed-in people who look at it.

Built through the real operations: a requester (managed by the approver), an approver, an
auditor and an admin; a connected connector and a disconnected one, an integration in error;
flows that need approval (the manager), that grant at once, that require a justification, and
that require MFA; the requester's pending request (waiting for the approver) and active access.
``portal_user`` turns a person into the ``PortalUser`` a portal session would give, and
``sign_in`` makes the app see that person (``dependency_overrides[signed_in_user]``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from factories import (
    make_connector,
    make_flow,
    make_identity,
    make_integration,
    make_request,
    make_resource,
)
from jitgate.server.actor import UserRole
from jitgate.server.connectors.protocol.instances import connector_actor_for, register_instance
from jitgate.server.integrations.models import IntegrationStatus
from jitgate.server.portal.deps import signed_in_user
from jitgate.server.portal.user import PortalUser
from request_world import MANAGER_POLICY

if TYPE_CHECKING:
    from datetime import datetime

    from fastapi import FastAPI
    from sqlalchemy.orm import Session

    from jitgate.core.clock import Clock
    from jitgate.server.flows.models import AccessFlow
    from jitgate.server.identities.models import Identity
    from jitgate.server.integrations.models import Integration, Resource
    from jitgate.server.requests.models import AccessRequest

ROLES = ("requester", "approver", "auditor", "admin")


@dataclass
class PortalWorld:
    """The people, objects and requests of the portal tests."""

    people: dict[str, Identity]
    integration: Integration
    broken: Integration
    finance: Resource
    payroll: Resource
    legal: Resource
    reader: Resource
    approval_flow: AccessFlow
    instant_flow: AccessFlow
    reasons_flow: AccessFlow
    mfa_flow: AccessFlow
    pending: AccessRequest
    active: AccessRequest


def _connectors(session: Session, clock: Clock):
    live, _ = make_connector(session, clock, "contoso-live")
    register_instance(
        session=session,
        clock=clock,
        actor=connector_actor_for(live.id, live.name),
        connector_id=live.id,
        instance_key="vm-1",
        version="0.1.0",
        metadata={},
    )
    session.commit()
    gone, _ = make_connector(session, clock, "fabrikam-gone")
    return live, gone


def make_portal_world(session: Session, clock: Clock) -> PortalWorld:
    """Arrange the world (committed) at the clock's time."""
    approver = make_identity(session, clock, "avery.approver@contoso.example")
    people = {
        "requester": make_identity(
            session, clock, "riley.requester@contoso.example", manager=approver.id
        ),
        "approver": approver,
        "auditor": make_identity(
            session, clock, "aude.auditor@contoso.example", role=UserRole.AUDITOR
        ),
        "admin": make_identity(session, clock, "ada.admin@contoso.example", role=UserRole.ADMIN),
    }
    live, gone = _connectors(session, clock)
    integration = make_integration(
        session, clock, "Contoso Entra", connector=live, custom_access_details="Sign in again."
    )
    integration.status, integration.last_sync_at = IntegrationStatus.ACTIVE, clock.now()
    broken = make_integration(session, clock, "Fabrikam Entra", connector=gone)
    broken.status, broken.status_message = IntegrationStatus.ERROR, "Graph answered 403"
    session.commit()
    finance = make_resource(session, clock, integration, name="Finance")
    payroll = make_resource(session, clock, integration, name="Payroll")
    legal = make_resource(session, clock, integration, name="Legal")
    reader = make_resource(session, clock, integration, type="entra-role", name="Global Reader")
    flows = {
        "approval": make_flow(
            session, clock, integration, "Finance groups", approver_policy=MANAGER_POLICY
        ),
        "instant": make_flow(
            session, clock, integration, "Reader role", resource_type="entra-role"
        ),
        "reasons": make_flow(
            session,
            clock,
            integration,
            "Groups with a reason",
            settings={"justification_required": True},
            max_duration_min=120,
        ),
        "mfa": make_flow(
            session,
            clock,
            integration,
            "Sensitive groups",
            approver_policy=MANAGER_POLICY,
            settings={"mfa_required": True},
        ),
    }
    requester = people["requester"]
    pending = make_request(session, clock, requester, [finance], flow_id=flows["approval"].id)
    active = make_request(
        session, clock, requester, [reader], permissions=["active"], flow_id=flows["instant"].id
    )
    return PortalWorld(
        people=people,
        integration=integration,
        broken=broken,
        finance=finance,
        payroll=payroll,
        legal=legal,
        reader=reader,
        approval_flow=flows["approval"],
        instant_flow=flows["instant"],
        reasons_flow=flows["reasons"],
        mfa_flow=flows["mfa"],
        pending=pending,
        active=active,
    )


def portal_user(
    identity: Identity, now: datetime, *, mfa_at: datetime | None = None, csrf: str = "csrf-1"
) -> PortalUser:
    """The ``PortalUser`` a sign-in of ``identity`` at ``now`` would give."""
    return PortalUser(
        session_id=f"session-{identity.id[:8]}",
        identity_id=identity.id,
        display_name=identity.display_name,
        upn=identity.upn,
        role=identity.role,
        csrf_token=csrf,
        auth_time=now - timedelta(minutes=5),
        mfa_at=mfa_at,
        amr=("pwd", "mfa") if mfa_at else ("pwd",),
    )


def sign_in(app: FastAPI, user: PortalUser | None) -> None:
    """Make ``app`` see ``user`` as the signed-in person (None: nobody)."""
    if user is None:
        app.dependency_overrides.pop(signed_in_user, None)
    else:
        app.dependency_overrides[signed_in_user] = lambda: user
