"""State changes on access flows (admins only); each writes one audit event.

A flow's targets are checked against the catalog and the live integrations before it is stored:
the integration exists, offers the resource type, and the type has every named permission.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from jitgate.core.errors import Conflict, ValidationFailed
from jitgate.server.actor import require_admin
from jitgate.server.audit.operations import record_event
from jitgate.server.catalog.registry import ENTRA_ROLE, get_integration_type
from jitgate.server.flows.models import AccessFlow
from jitgate.server.flows.schemas import flow_document
from jitgate.server.integrations.models import Integration
from jitgate.server.locking import locked

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from jitgate.core.clock import Clock
    from jitgate.server.actor import Actor
    from jitgate.server.flows.schemas import AccessFlowCreate, Target

FLOW_FIELDS = (
    "name",
    "description",
    "active",
    "trigger",
    "requestors",
    "request_for",
    "targets",
    "approver_policy",
    "escalation_policy",
    "default_duration_min",
    "max_duration_min",
    "timeframe",
    "settings",
)


def _target_errors(session: Session, index: int, target: Target) -> list[dict[str, Any]]:
    path = f"targets[{index}]"
    integration = session.get(Integration, target.integration_id)
    if integration is None or integration.deleted_at is not None:
        return [{"field": f"{path}.integration_id", "message": "no such integration"}]
    spec = get_integration_type(integration.type).resource_type(target.resource_type)
    if spec is None or target.resource_type not in (integration.resource_types or []):
        offered = ", ".join(integration.resource_types or []) or "none"
        message = f"the integration does not offer {target.resource_type!r} (offers: {offered})"
        return [{"field": f"{path}.resource_type", "message": message}]
    errors = [
        {
            "field": f"{path}.permissions",
            "message": f"{permission!r} is not a permission of {spec.id} "
            f"(allowed: {', '.join(spec.permission_ids())})",
        }
        for permission in target.permissions
        if permission not in spec.permission_ids()
    ]
    if target.role_scopes is not None and spec.id != ENTRA_ROLE.id:
        errors.append(
            {"field": f"{path}.role_scopes", "message": "only entra-role targets take role scopes"}
        )
    return errors


def _validate(session: Session, data: AccessFlowCreate, flow_id: str | None) -> None:
    errors: list[dict[str, Any]] = []
    for index, target in enumerate(data.targets):
        errors.extend(_target_errors(session, index, target))
    if errors:
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        raise ValidationFailed(detail, errors=errors)
    clash = session.scalars(
        select(AccessFlow.id).where(func.lower(AccessFlow.name) == data.name.lower())
    ).first()
    if clash is not None and clash != flow_id:
        raise Conflict(f"an access flow named {data.name!r} exists")


def flow_summary(flow: AccessFlow) -> dict[str, Any]:
    """The audit form of a flow: every policy field."""
    return {name: _jsonable(getattr(flow, name)) for name in FLOW_FIELDS}


def _jsonable(value: object) -> object:
    return str(value) if hasattr(value, "value") else value


def create_flow(
    *, session: Session, clock: Clock, actor: Actor, data: AccessFlowCreate
) -> AccessFlow:
    """Add an access flow. An automatic flow grants nothing by being created."""
    require_admin(actor, "change access flows")
    _validate(session, data, None)
    now = clock.now()
    flow = AccessFlow(**flow_document(data), created_at=now, updated_at=now)
    session.add(flow)
    session.flush()
    record_event(
        session=session,
        clock=clock,
        actor=actor,
        action="flow.create",
        target_type="access_flow",
        target_id=flow.id,
        after=flow_summary(flow),
    )
    return flow


def update_flow(
    *, session: Session, clock: Clock, actor: Actor, flow_id: str, data: AccessFlowCreate
) -> AccessFlow:
    """Replace a flow's policy. Requests already submitted keep the snapshot they were judged by."""
    require_admin(actor, "change access flows")
    flow = locked(session, AccessFlow, flow_id, what="access flow")
    _validate(session, data, flow.id)
    before = flow_summary(flow)
    for name, value in flow_document(data).items():
        setattr(flow, name, value)
    flow.updated_at = clock.now()
    session.flush()
    record_event(
        session=session,
        clock=clock,
        actor=actor,
        action="flow.update",
        target_type="access_flow",
        target_id=flow.id,
        before=before,
        after=flow_summary(flow),
    )
    return flow


def delete_flow(*, session: Session, clock: Clock, actor: Actor, flow_id: str) -> None:
    """Delete a flow. Its requests keep their snapshot and flow name; their grants run on."""
    require_admin(actor, "change access flows")
    flow = locked(session, AccessFlow, flow_id, what="access flow")
    before = flow_summary(flow)
    session.delete(flow)
    session.flush()
    record_event(
        session=session,
        clock=clock,
        actor=actor,
        action="flow.delete",
        target_type="access_flow",
        target_id=flow_id,
        before=before,
    )
