"""Shared arrangements for the access-request tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from factories import make_identity, make_integration, make_resource
from jitgate.server.audit.models import AuditEvent
from jitgate.server.requests.models import AccessRequest

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from jitgate.server.identities.models import Identity
    from jitgate.server.integrations.models import Integration, Resource

MANAGER_POLICY = {"approver_groups": [{"approvers": [{"type": "manager"}]}]}


@dataclass
class World:
    """People, an integration and two groups."""

    admin: Identity
    boss: Identity
    alice: Identity
    bob: Identity
    carol: Identity
    integration: Integration
    finance: Resource
    payroll: Resource


def make_world(session: Session, clock) -> World:
    """Boss manages alice and bob; carol is in the approvers group."""
    admin = make_identity(session, clock, "admin@contoso.example", role="admin")
    boss = make_identity(session, clock, "boss@contoso.example")
    alice = make_identity(session, clock, "alice@contoso.example", manager=boss.id)
    bob = make_identity(session, clock, "bob@contoso.example", manager=boss.id)
    carol = make_identity(
        session, clock, "carol@contoso.example", groups=[{"id": "g-sec", "name": "Security"}]
    )
    integration = make_integration(
        session,
        clock,
        owners=[{"attribute": "user", "values": ["admin@contoso.example"]}],
        custom_access_details="Open https://myapps.microsoft.com",
    )
    finance = make_resource(session, clock, integration, name="Finance", owners=[carol.upn])
    payroll = make_resource(session, clock, integration, name="Payroll", tags={"env": "prod"})
    return World(admin, boss, alice, bob, carol, integration, finance, payroll)


def audit_count(session: Session) -> int:
    """How many audit events exist."""
    return session.scalar(select(func.count()).select_from(AuditEvent)) or 0


def snapshot(session: Session, request_id: str) -> tuple[object, ...]:
    """A request row's state, to show that a refusal changed nothing."""
    session.expire_all()
    row = session.get(AccessRequest, request_id)
    assert row is not None
    return (row.status, row.updated_at, row.extension_count, row.decided_at, audit_count(session))
