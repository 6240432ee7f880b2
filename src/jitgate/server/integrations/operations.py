"""State changes on integrations; each writes one audit event and refuses before writing.

Every rule on an integration's settings comes from its catalog type's config metadata
(``jitgate.server.catalog.validation``); the only rule added here is name uniqueness, which needs
the database.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jitgate.core.errors import Conflict, NotFound, ValidationFailed
from jitgate.protocol.v1 import GrantMode
from jitgate.server.actor import require_admin
from jitgate.server.audit.operations import record_event
from jitgate.server.catalog.registry import get_integration_type
from jitgate.server.catalog.validation import validate_config
from jitgate.server.connectors.models import Connector
from jitgate.server.integrations.guest_check import queue_guest_self_check
from jitgate.server.integrations.models import Integration, IntegrationStatus, MembershipMode
from jitgate.server.integrations.service import config_values, find_live_integration_by_name
from jitgate.server.integrations.sync import discovery_job
from jitgate.server.jobs.models import Job
from jitgate.server.locking import locked

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from jitgate.core.clock import Clock
    from jitgate.server.actor import Actor
    from jitgate.server.catalog.registry import IntegrationType
    from jitgate.server.integrations.schemas import IntegrationCreate, IntegrationUpdate
    from jitgate.server.integrations.uses import IntegrationUses
    from jitgate.server.jobs.models import Job


def _check(
    *,
    session: Session,
    itype: IntegrationType,
    values: dict[str, Any],
    exclude_id: str | None = None,
) -> None:
    """Raise one ``ValidationFailed`` listing every broken rule; change nothing."""
    errors = validate_config(
        itype, values, connector_exists=lambda cid: session.get(Connector, cid) is not None
    )
    name = values.get("name")
    if isinstance(name, str) and not any(e["field"] == "name" for e in errors):
        other = find_live_integration_by_name(session=session, name=name)
        if other is not None and other.id != exclude_id:
            errors.append({"field": "name", "message": f"an integration named {name!r} exists"})
    if errors:
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        raise ValidationFailed(detail, errors=errors)


def _apply(integration: Integration, values: dict[str, Any]) -> None:
    owner = values.get("resource_owner") or None
    integration.name = values["name"]
    integration.connector_id = values["connector_id"]
    integration.resource_types = list(values["resource_types"])
    integration.credential_rotation_days = values.get("credential_rotation_days")
    integration.user_cleanup_days = values.get("user_cleanup_days")
    integration.invite_guests = bool(values.get("invite_guests"))
    integration.invite_redirect_url = values.get("invite_redirect_url") or None
    integration.custom_access_details = values.get("custom_access_details") or None
    integration.owners = [
        {"attribute": o["attribute"], "values": list(o["values"])}
        for o in values.get("owners") or []
    ]
    integration.resource_owner_key = owner["key_name"] if owner else None
    integration.resource_owner_attribute = owner["attribute"] if owner else None
    integration.grant_mode = GrantMode(values["grant_mode"])
    integration.membership_mode = MembershipMode(values["membership_mode"])


def create_integration(
    *, session: Session, clock: Clock, actor: Actor, data: IntegrationCreate, uses: IntegrationUses
) -> Integration:
    """Add an integration and queue its first discovery."""
    require_admin(actor, "change integrations")
    try:
        itype = get_integration_type(data.type)
    except NotFound as err:
        raise ValidationFailed.field("type", err.detail) from err
    values = data.model_dump(mode="json", exclude={"type"})
    _check(session=session, itype=itype, values=values)
    now = clock.now()
    integration = Integration(
        type=itype.type, status=IntegrationStatus.INITIALIZING, created_at=now, updated_at=now
    )
    _apply(integration, values)
    session.add(integration)
    session.flush()
    job = discovery_job(session=session, clock=clock, integration=integration, uses=uses)
    _check_guest_permissions(session, clock, integration, before=None)
    record_event(
        session=session,
        clock=clock,
        actor=actor,
        action="integration.create",
        target_type="integration",
        target_id=integration.id,
        after=config_values(integration),
        context={"job_id": job.id},
    )
    return integration


def _check_guest_permissions(
    session: Session, clock: Clock, integration: Integration, *, before: dict[str, Any] | None
) -> None:
    """Turning guest invitation or cleanup on: have the connector check its permissions."""
    now = config_values(integration)
    guest_keys = ("invite_guests", "user_cleanup_days", "connector_id")
    if before is not None and all(before.get(k) == now[k] for k in guest_keys):
        return
    if integration.connector_id is not None:
        queue_guest_self_check(session, clock, integration.connector_id)


def update_integration(
    *,
    session: Session,
    clock: Clock,
    actor: Actor,
    integration_id: str,
    data: IntegrationUpdate,
) -> Integration:
    """Change the fields present in ``data``; the merged settings must pass every rule."""
    require_admin(actor, "change integrations")
    integration = locked(session, Integration, integration_id, what="integration")
    before = config_values(integration)
    values = {**before, **data.model_dump(mode="json", exclude_unset=True)}
    _check(
        session=session,
        itype=get_integration_type(integration.type),
        values=values,
        exclude_id=integration.id,
    )
    _apply(integration, values)
    integration.updated_at = clock.now()
    session.flush()
    _check_guest_permissions(session, clock, integration, before=before)
    record_event(
        session=session,
        clock=clock,
        actor=actor,
        action="integration.update",
        target_type="integration",
        target_id=integration.id,
        before=before,
        after=config_values(integration),
    )
    return integration


def delete_integration(
    *, session: Session, clock: Clock, actor: Actor, integration_id: str, uses: IntegrationUses
) -> Integration:
    """Soft-delete an integration that has no live requests or grants; its name becomes free."""
    require_admin(actor, "change integrations")
    integration = locked(session, Integration, integration_id, what="integration")
    requests, grants = uses.live_use(session, integration.id)
    if requests or grants:
        raise Conflict(
            f"the integration has {requests} open request(s) and {grants} live grant(s); "
            "end them first"
        )
    before = config_values(integration)
    now = clock.now()
    integration.deleted_at = now
    integration.updated_at = now
    integration.status = IntegrationStatus.DISABLED
    session.flush()
    record_event(
        session=session,
        clock=clock,
        actor=actor,
        action="integration.delete",
        target_type="integration",
        target_id=integration.id,
        before=before,
    )
    return integration


def refresh_integration(
    *, session: Session, clock: Clock, actor: Actor, integration_id: str, uses: IntegrationUses
) -> tuple[Integration, Job]:
    """Queue a discovery job for the integration's connector and mark it refreshing."""
    require_admin(actor, "change integrations")
    integration = locked(session, Integration, integration_id, what="integration")
    if integration.connector_id is None:
        raise Conflict("the integration has no connector")
    before_status = str(integration.status)
    job = discovery_job(session=session, clock=clock, integration=integration, full=True, uses=uses)
    integration.status = IntegrationStatus.REFRESHING
    integration.updated_at = clock.now()
    session.flush()
    record_event(
        session=session,
        clock=clock,
        actor=actor,
        action="integration.refresh",
        target_type="integration",
        target_id=integration.id,
        before={"status": before_status},
        after={"status": str(integration.status)},
        context={"job_id": job.id},
    )
    return integration, job
