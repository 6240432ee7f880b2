"""Routes for grants and standing memberships.

People see their own grants; admins and auditors see all, and the standing memberships (access
found without a grant). Admins put a standing row on the allow-list (``allowed``) so that an
``authoritative`` integration keeps it, or take it off.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from jitgate.server.grants import service
from jitgate.server.grants.schemas import GrantRead, StandingRead, StandingUpdate
from jitgate.server.grants.standing import set_standing_allowed
from jitgate.server.grants.states import GrantStatus
from jitgate.server.pagination import LimitQuery, OffsetQuery, Page
from jitgate.server.web.deps import ActorDep, AdminActor, ClockDep, ReaderActor, SessionDep
from jitgate.server.web.params import AwareDateTime

router = APIRouter(tags=["grants"])


@router.get("/grants", summary="List grants")
def list_grants(  # noqa: PLR0917 - one query parameter per filter
    session: SessionDep,
    actor: ActorDep,
    identity_id: Annotated[str | None, Query(description="Admins and auditors only.")] = None,
    resource_id: str | None = None,
    integration_id: str | None = None,
    status: Annotated[list[GrantStatus] | None, Query()] = None,
    active_at: Annotated[
        AwareDateTime | None,
        Query(description="Only grants in force at this time (ISO 8601 with an offset)."),
    ] = None,
    limit: LimitQuery = 50,
    offset: OffsetQuery = 0,
) -> Page[GrantRead]:
    """Filter grants; people who are not admins or auditors see only their own."""
    if not actor.can_read_all:
        identity_id = actor.identity_id or ""
    rows, total = service.list_grants(
        session=session,
        identity_id=identity_id,
        resource_id=resource_id,
        integration_id=integration_id,
        statuses=status,
        active_at=active_at,
        limit=limit,
        offset=offset,
    )
    items = [GrantRead.model_validate(r) for r in rows]
    return Page(items=items, total=total, limit=limit, offset=offset)


@router.get("/standing-memberships", summary="List standing memberships")
def list_standing(  # noqa: PLR0917 - one query parameter per filter
    session: SessionDep,
    _reader: ReaderActor,
    integration_id: str | None = None,
    resource_id: str | None = None,
    principal_id: Annotated[str | None, Query(description="Entra object id.")] = None,
    allowed: Annotated[bool | None, Query(description="Only rows on (or off) the allow-list.")] = (
        None
    ),
    include_removed: Annotated[
        bool, Query(description="Also rows whose member is gone from Entra.")
    ] = False,
    limit: LimitQuery = 50,
    offset: OffsetQuery = 0,
) -> Page[StandingRead]:
    """Access found without a broker grant (admins and auditors)."""
    rows, total = service.list_standing(
        session=session,
        integration_id=integration_id,
        resource_id=resource_id,
        principal_id=principal_id,
        allowed=allowed,
        include_removed=include_removed,
        limit=limit,
        offset=offset,
    )
    items = [StandingRead.model_validate(r) for r in rows]
    return Page(items=items, total=total, limit=limit, offset=offset)


@router.patch("/standing-memberships/{standing_id}", summary="Allow-list a standing membership")
def update_standing(
    session: SessionDep, clock: ClockDep, actor: AdminActor, standing_id: str, body: StandingUpdate
) -> StandingRead:
    """Put the row on the allow-list (an authoritative integration keeps it) or take it off."""
    row = set_standing_allowed(
        session=session, clock=clock, actor=actor, standing_id=standing_id, allowed=body.allowed
    )
    return StandingRead.model_validate(row)
