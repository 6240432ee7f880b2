"""Applying discovery results: insert or refresh one discovered resource.

This is not a user-facing operation: a discovery job calls it once per resource found and writes
one audit event for the whole run (a tenant has thousands of groups; one event each would drown
the log). Tests use it, through ``tests.factories.make_resource``, to stand in for discovery.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from jitgate.core.errors import ValidationFailed
from jitgate.server.catalog.registry import get_integration_type
from jitgate.server.integrations.models import Integration, Resource

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from jitgate.core.clock import Clock


def upsert_resource(
    *,
    session: Session,
    clock: Clock,
    integration: Integration,
    type_: str,
    external_id: str,
    name: str,
    description: str | None = None,
    attributes: dict[str, Any] | None = None,
    tags: dict[str, str] | None = None,
    owners: list[str] | None = None,
) -> Resource:
    """Record a discovered resource (new, changed, or seen again after removal)."""
    itype = get_integration_type(integration.type)
    if itype.resource_type(type_) is None:
        raise ValidationFailed.field("type", f"{type_!r} is not a resource type of {itype.type}")
    now = clock.now()
    resource = session.scalars(
        select(Resource).where(
            Resource.integration_id == integration.id,
            Resource.type == type_,
            Resource.external_id == external_id,
        )
    ).one_or_none()
    if resource is None:
        resource = Resource(
            integration_id=integration.id,
            type=type_,
            external_id=external_id,
            discovered_at=now,
        )
        session.add(resource)
    resource.name = name
    resource.description = description
    resource.attributes = dict(attributes or {})
    resource.tags = dict(tags or {})
    resource.owners = list(owners or [])
    resource.last_seen_at = now
    resource.removed_at = None
    session.flush()
    return resource
