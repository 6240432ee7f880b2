"""Routes for access requests: submit, dry-run, list, get, decide, cancel, extend, revoke."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Query, status

from jitgate.server.pagination import LimitQuery, OffsetQuery, Page
from jitgate.server.requests import lifecycle, operations, service
from jitgate.server.requests.read import (
    dry_run_request,
    read_request,
    read_request_row,
    read_requests,
)
from jitgate.server.requests.schemas import (
    AccessRequestRead,
    DecisionBody,
    DryRunRead,
    RequestCreate,
)
from jitgate.server.requests.states import RequestStatus
from jitgate.server.web.deps import ActorDep, ClockDep, SessionDep

router = APIRouter(tags=["requests"])


class ListScope(StrEnum):
    """Which requests to list."""

    MINE = "mine"
    APPROVALS = "approvals"
    ALL = "all"


@router.post("/requests", status_code=status.HTTP_201_CREATED, summary="Request access")
def submit(
    session: SessionDep, clock: ClockDep, actor: ActorDep, body: RequestCreate
) -> AccessRequestRead:
    """File a request for yourself or, where the flow allows, for others or your reports.

    With no approvers needed (or under an automatic flow) it comes back approved, with grants.
    """
    request = operations.submit_request(session=session, clock=clock, actor=actor, data=body)
    return read_request_row(session=session, request=request, now=clock.now())


@router.post("/requests/dry-run", summary="Check a request without filing it")
def dry_run(
    session: SessionDep, clock: ClockDep, actor: ActorDep, body: RequestCreate
) -> DryRunRead:
    """Which flow would apply, its approvers and limits, or exactly why the request is refused."""
    return dry_run_request(session=session, actor=actor, data=body, now=clock.now())


@router.get("/requests", summary="List access requests")
def list_requests(  # noqa: PLR0917 - one query parameter per filter
    session: SessionDep,
    clock: ClockDep,
    actor: ActorDep,
    scope: Annotated[
        ListScope,
        Query(
            description="`mine`: as requester or grantee; `approvals`: awaiting my decision; "
            "`all`: every request (admins and auditors)."
        ),
    ] = ListScope.MINE,
    status: Annotated[list[RequestStatus] | None, Query()] = None,
    limit: LimitQuery = 50,
    offset: OffsetQuery = 0,
) -> Page[AccessRequestRead]:
    """Return a page of requests, newest first (oldest first for approvals)."""
    now = clock.now()
    contexts, total = service.list_requests(
        session=session,
        actor=actor,
        scope=scope.value,
        statuses=status or [],
        now=now,
        limit=limit,
        offset=offset,
    )
    items = read_requests(session=session, contexts=contexts, now=now)
    return Page(items=items, total=total, limit=limit, offset=offset)


@router.get("/requests/{request_id}", summary="Get an access request")
def get_request(
    session: SessionDep, clock: ClockDep, actor: ActorDep, request_id: str
) -> AccessRequestRead:
    """Return a request you made, receive, may approve, or (admins, auditors) any request."""
    now = clock.now()
    ctx = service.get_visible(session=session, actor=actor, request_id=request_id, now=now)
    return read_request(session=session, ctx=ctx, now=now)


@router.post("/requests/{request_id}/approve", summary="Approve an access request")
def approve(
    session: SessionDep,
    clock: ClockDep,
    actor: ActorDep,
    request_id: str,
    body: DecisionBody | None = None,
) -> AccessRequestRead:
    """Approve as an eligible approver; once the policy is met the grants are created."""
    request = operations.approve_request(
        session=session,
        clock=clock,
        actor=actor,
        request_id=request_id,
        reason=body.reason if body else None,
    )
    return read_request_row(session=session, request=request, now=clock.now())


@router.post("/requests/{request_id}/reject", summary="Reject an access request")
def reject(
    session: SessionDep,
    clock: ClockDep,
    actor: ActorDep,
    request_id: str,
    body: DecisionBody | None = None,
) -> AccessRequestRead:
    """Reject as an eligible approver; one rejection rejects the request."""
    request = operations.reject_request(
        session=session,
        clock=clock,
        actor=actor,
        request_id=request_id,
        reason=body.reason if body else None,
    )
    return read_request_row(session=session, request=request, now=clock.now())


@router.post("/requests/{request_id}/cancel", summary="Cancel your access request")
def cancel(
    session: SessionDep, clock: ClockDep, actor: ActorDep, request_id: str
) -> AccessRequestRead:
    """Withdraw a request that is pending, or approved but not yet being granted."""
    request = lifecycle.cancel_request(
        session=session, clock=clock, actor=actor, request_id=request_id
    )
    return read_request_row(session=session, request=request, now=clock.now())


@router.post("/requests/{request_id}/extend", summary="Extend access")
def extend(
    session: SessionDep, clock: ClockDep, actor: ActorDep, request_id: str
) -> AccessRequestRead:
    """Add the flow's extension length to the access (requester or admin)."""
    request = lifecycle.extend_request(
        session=session, clock=clock, actor=actor, request_id=request_id
    )
    return read_request_row(session=session, request=request, now=clock.now())


@router.post("/requests/{request_id}/revoke", summary="Revoke access")
def revoke(
    session: SessionDep,
    clock: ClockDep,
    actor: ActorDep,
    request_id: str,
    body: DecisionBody | None = None,
) -> AccessRequestRead:
    """End the access now (grantee, requester or admin)."""
    request = lifecycle.revoke_request(
        session=session,
        clock=clock,
        actor=actor,
        request_id=request_id,
        reason=body.reason if body else None,
    )
    return read_request_row(session=session, request=request, now=clock.now())
