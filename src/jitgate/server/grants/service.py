"""Reading grants (filters by person, resource, integration, status and time) and standing rows."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, or_, select

from jitgate.server.grants.models import Grant, StandingMembership

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.orm import Session

    from jitgate.server.grants.states import GrantStatus


def list_grants(
    *,
    session: Session,
    identity_id: str | None = None,
    resource_id: str | None = None,
    integration_id: str | None = None,
    statuses: list[GrantStatus] | None = None,
    active_at: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Grant], int]:
    """Return a page of grants, newest first; ``active_at`` keeps grants in force at that time."""
    query = select(Grant)
    if identity_id is not None:
        query = query.where(Grant.identity_id == identity_id)
    if resource_id is not None:
        query = query.where(Grant.resource_id == resource_id)
    if integration_id is not None:
        query = query.where(Grant.integration_id == integration_id)
    if statuses:
        query = query.where(Grant.status.in_(statuses))
    if active_at is not None:
        query = query.where(
            Grant.starts_at <= active_at,
            or_(Grant.ends_at.is_(None), Grant.ends_at > active_at),
            or_(Grant.ended_at.is_(None), Grant.ended_at > active_at),
        )
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(Grant.created_at.desc(), Grant.id).limit(limit).offset(offset)
    )
    return list(rows), total


def list_standing(
    *,
    session: Session,
    integration_id: str | None = None,
    resource_id: str | None = None,
    principal_id: str | None = None,
    allowed: bool | None = None,
    include_removed: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[StandingMembership], int]:
    """Return a page of standing memberships, newest first (present ones unless asked)."""
    query = select(StandingMembership)
    if integration_id is not None:
        query = query.where(StandingMembership.integration_id == integration_id)
    if resource_id is not None:
        query = query.where(StandingMembership.resource_id == resource_id)
    if principal_id is not None:
        query = query.where(StandingMembership.principal_id == principal_id)
    if allowed is not None:
        query = query.where(StandingMembership.allowed.is_(allowed))
    if not include_removed:
        query = query.where(StandingMembership.removed_at.is_(None))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(StandingMembership.recorded_at.desc(), StandingMembership.id)
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total
