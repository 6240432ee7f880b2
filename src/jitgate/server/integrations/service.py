"""Reading integrations and resources, and the values derived from them on read."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from jitgate.core.errors import NotFound
from jitgate.server.connectors.models import Connector
from jitgate.server.connectors.tenancy import TenantScope, scope_of
from jitgate.server.integrations.models import Integration, IntegrationStatus, Resource
from jitgate.server.integrations.schemas import (
    IntegrationRead,
    OwnerRule,
    ResourceOwnerMapping,
)
from jitgate.server.search import contains

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from jitgate.core.clock import Clock


def get_integration(*, session: Session, integration_id: str) -> Integration:
    """Return a live integration or raise ``NotFound``."""
    integration = session.get(Integration, integration_id)
    if integration is None or integration.deleted_at is not None:
        raise NotFound(f"no integration {integration_id!r}")
    return integration


def find_live_integration_by_name(*, session: Session, name: str) -> Integration | None:
    """Return the live integration with this name (case-insensitive), if any."""
    return session.scalars(
        select(Integration).where(
            func.lower(Integration.name) == name.lower(), Integration.deleted_at.is_(None)
        )
    ).first()


def list_integrations(
    *,
    session: Session,
    type_: str | None = None,
    status: IntegrationStatus | None = None,
    connector_id: str | None = None,
    name: str | None = None,
) -> list[Integration]:
    """Return live integrations, filtered; ``name`` matches a case-insensitive substring."""
    query = select(Integration).where(Integration.deleted_at.is_(None))
    if type_:
        query = query.where(Integration.type == type_)
    if status:
        query = query.where(Integration.status == status)
    if connector_id:
        query = query.where(Integration.connector_id == connector_id)
    if name:
        query = query.where(contains(Integration.name, name))
    return list(session.scalars(query.order_by(Integration.name)))


def config_values(integration: Integration) -> dict[str, Any]:
    """Return an integration's settings keyed by the catalog's parameter ids."""
    resource_owner = None
    if integration.resource_owner_key is not None:
        resource_owner = {
            "key_name": integration.resource_owner_key,
            "attribute": integration.resource_owner_attribute,
        }
    return {
        "name": integration.name,
        "connector_id": integration.connector_id,
        "resource_types": list(integration.resource_types),
        "credential_rotation_days": integration.credential_rotation_days,
        "user_cleanup_days": integration.user_cleanup_days,
        "invite_guests": bool(integration.invite_guests),
        "invite_redirect_url": integration.invite_redirect_url,
        "custom_access_details": integration.custom_access_details,
        "owners": [dict(o) for o in integration.owners],
        "resource_owner": resource_owner,
        "grant_mode": str(integration.grant_mode),
        "membership_mode": str(integration.membership_mode),
    }


def rotation_due_at(*, session: Session, integration: Integration) -> datetime | None:
    """When the connector's token must next be rotated under this integration's policy."""
    if integration.credential_rotation_days is None or integration.connector_id is None:
        return None
    connector = session.get(Connector, integration.connector_id)
    if connector is None:
        return None
    issued = connector.token_rotated_at or connector.created_at
    return issued + timedelta(days=integration.credential_rotation_days)


def integration_read(
    *, session: Session, clock: Clock, integration: Integration
) -> IntegrationRead:
    """Build the read model, deriving the rotation deadline."""
    due = rotation_due_at(session=session, integration=integration)
    values = config_values(integration)
    return IntegrationRead(
        id=integration.id,
        type=integration.type,
        status=integration.status,
        status_message=integration.status_message,
        last_sync_at=integration.last_sync_at,
        credential_rotation_due_at=due,
        credential_rotation_overdue=due is not None and due <= clock.now(),
        created_at=integration.created_at,
        updated_at=integration.updated_at,
        name=values["name"],
        connector_id=values["connector_id"],
        resource_types=values["resource_types"],
        credential_rotation_days=values["credential_rotation_days"],
        user_cleanup_days=values["user_cleanup_days"],
        invite_guests=values["invite_guests"],
        invite_redirect_url=values["invite_redirect_url"],
        custom_access_details=values["custom_access_details"],
        owners=[OwnerRule.model_validate(o) for o in values["owners"]],
        resource_owner=(
            ResourceOwnerMapping.model_validate(values["resource_owner"])
            if values["resource_owner"]
            else None
        ),
        grant_mode=integration.grant_mode,
        membership_mode=integration.membership_mode,
    )


def search_resources(
    *,
    session: Session,
    integration_id: str,
    search: str | None = None,
    type_: str | None = None,
    tag: tuple[str, str] | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Resource], int]:
    """Return a page of an integration's current resources, and how many match in all."""
    query = select(Resource).where(
        Resource.integration_id == integration_id, Resource.removed_at.is_(None)
    )
    if search:
        query = query.where(contains(Resource.name, search))
    if type_:
        query = query.where(Resource.type == type_)
    if tag is not None:
        key, value = tag
        query = query.where(Resource.tags[key].as_string() == value)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Resource.name, Resource.id).limit(limit).offset(offset))
    return list(rows), total


def tenant_scope(session: Session, connector: Connector) -> TenantScope:
    """The connector's scope, and whether it is the only connector of the live integrations."""
    others = session.scalar(
        select(func.count(Integration.id)).where(
            Integration.deleted_at.is_(None),
            Integration.connector_id.is_not(None),
            Integration.connector_id != connector.id,
        )
    )
    return TenantScope(tenant=scope_of(connector), adopt_local=not others)


def live_integration_count(*, session: Session, connector_id: str) -> int:
    """Count the integrations (not deleted) that use a connector."""
    query = select(func.count(Integration.id)).where(
        Integration.connector_id == connector_id, Integration.deleted_at.is_(None)
    )
    return session.scalar(query) or 0


class IntegrationFactsOfConnectors:
    """``connectors.service.IntegrationFacts``: what the connectors area asks of integrations."""

    def integrations_using(self, *, session: Session, connector_id: str) -> int:
        """Count the integrations (not deleted) that use a connector."""
        return live_integration_count(session=session, connector_id=connector_id)

    def resource_types(self, *, session: Session, integration_id: str | None) -> list[str]:
        """The resource types an integration enables (none without one, or once it is gone)."""
        integration = None if integration_id is None else session.get(Integration, integration_id)
        return [] if integration is None else list(integration.resource_types)


INTEGRATION_FACTS = IntegrationFactsOfConnectors()
