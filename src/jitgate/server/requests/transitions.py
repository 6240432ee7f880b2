"""Helpers every request operation shares: lock the row, move it through the table, audit form."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from jitgate.core.errors import NotFound
from jitgate.server.requests.models import AccessRequest
from jitgate.server.requests.states import check_transition

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime

    from sqlalchemy.orm import Session

    from jitgate.server.requests.states import RequestStatus


def lock_request(session: Session, request_id: str) -> AccessRequest:
    """Load a request with ``SELECT ... FOR UPDATE`` (fresh from the database)."""
    request = session.get(AccessRequest, request_id, with_for_update=True, populate_existing=True)
    if request is None:
        raise NotFound(f"no access request {request_id!r}")
    return request


def lock_requests(session: Session, request_ids: Iterable[str]) -> list[AccessRequest]:
    """Lock several requests in id order (the lock order: ``jitgate.server.requests.granting``).

    A transaction that is about to touch several requests takes them all here first, so two
    such transactions queue on their first common request instead of deadlocking.
    """
    ids = sorted(set(request_ids))
    if not ids:
        return []
    query = (
        select(AccessRequest)
        .where(AccessRequest.id.in_(ids))
        .order_by(AccessRequest.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list(session.scalars(query))


def move(request: AccessRequest, target: RequestStatus, now: datetime) -> None:
    """Change the request's status through the transition table (``Conflict`` otherwise)."""
    check_transition(request.status, target)
    request.status = target
    request.updated_at = now


def request_summary(request: AccessRequest, **extra: object) -> dict[str, Any]:
    """The audit form of a request."""
    summary: dict[str, Any] = {
        "status": str(request.status),
        "flow": request.flow_name,
        "requester_id": request.requester_id,
        "grantee_id": request.grantee_id,
        "duration_min": request.duration_min,
        "extension_count": request.extension_count,
    }
    summary.update(extra)
    return summary
