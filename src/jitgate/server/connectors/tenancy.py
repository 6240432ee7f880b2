"""Tenant scopes: which identities a connector may speak for (DESIGN.md invariant 12).

A connector reaches one Entra tenant. The server pins that tenant id on the connector's record the
first time the connector reports one (``tenant_id`` in its instance metadata, its self-check or a
discover result); a later report of another tenant is refused, and so is a tenant another
connector already holds (delete that connector first to move a tenant to a new one).

Every identity a connector reports is stored under its **scope** (``Identity.tenant_id``): the
pinned tenant id, or ``connector:<connector id>`` while the connector has reported none. When a
connector pins its tenant, the identities of its placeholder scope move to the tenant (unless the
tenant already holds that object id: a deleted connector's identities are kept as they were).

Invariants: a connector's discovery, membership and guest results only ever read or change
identities of its own scope; an identity of another scope is never matched, by object id or by
UPN. A local account (no scope) is adopted only while one connector serves every live
integration, so that no second tenant can claim (and disable) an account of the first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import or_, select, update

from jitgate.core.errors import Conflict
from jitgate.server.audit.operations import record_event
from jitgate.server.connectors.models import Connector
from jitgate.server.identities.models import Identity

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement
    from sqlalchemy.orm import Session

    from jitgate.core.clock import Clock
    from jitgate.server.actor import Actor

PLACEHOLDER = "connector:"
MAX_TENANT_ID = 64


@dataclass(frozen=True, slots=True)
class TenantScope:  # built by ``integrations.service.tenant_scope`` (it counts integrations)
    """Where one connector's reports land: its scope and whether it may adopt local accounts."""

    tenant: str
    adopt_local: bool


def owned(scope: TenantScope) -> ColumnElement[bool]:
    """The identities a scope may read and change: its own, and local ones it may adopt."""
    if scope.adopt_local:
        return or_(Identity.tenant_id == scope.tenant, Identity.tenant_id.is_(None))
    return Identity.tenant_id == scope.tenant


def scope_of(connector: Connector) -> str:
    """The identity scope of a connector: its pinned tenant id, or its placeholder."""
    return connector.tenant_id or f"{PLACEHOLDER}{connector.id}"


def _normalised(reported: str) -> str:
    tenant = reported.strip().lower()
    if not tenant or len(tenant) > MAX_TENANT_ID or tenant.startswith(PLACEHOLDER):
        raise Conflict(f"the connector reported an invalid tenant id {reported[:80]!r}")
    return tenant


def pin_tenant(
    *, session: Session, clock: Clock, actor: Actor, connector: Connector, reported: str | None
) -> None:
    """Pin the tenant a connector reports on its record, or raise ``Conflict`` if it may not."""
    if reported is None:
        return
    tenant = _normalised(reported)
    if connector.tenant_id == tenant:
        return
    if connector.tenant_id is not None:
        raise Conflict(
            f"the connector reports tenant {tenant!r} but reaches tenant {connector.tenant_id!r}"
        )
    holder = session.scalars(select(Connector).where(Connector.tenant_id == tenant)).first()
    if holder is not None:
        raise Conflict(f"tenant {tenant!r} is reached through connector {holder.name!r}")
    placeholder = scope_of(connector)
    connector.tenant_id = tenant
    session.flush()
    taken = select(Identity.object_id).where(
        Identity.tenant_id == tenant, Identity.object_id.is_not(None)
    )
    session.execute(
        update(Identity)
        .where(Identity.tenant_id == placeholder, Identity.object_id.not_in(taken))
        .values(tenant_id=tenant)
        .execution_options(synchronize_session="fetch")
    )
    record_event(
        session=session,
        clock=clock,
        actor=actor,
        action="connector.tenant_pin",
        target_type="connector",
        target_id=connector.id,
        before={"tenant_id": None},
        after={"tenant_id": tenant},
    )
