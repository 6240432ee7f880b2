"""Helpers every request operation shares: lock the row, move it through the table, audit form."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jitgate.core.errors import NotFound
from jitgate.server.requests.models import AccessRequest
from jitgate.server.requests.states import check_transition

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.orm import Session

    from jitgate.server.requests.states import RequestStatus


def lock_request(session: Session, request_id: str) -> AccessRequest:
    """Load a request with ``SELECT ... FOR UPDATE`` (fresh from the database)."""
    request = session.get(AccessRequest, request_id, with_for_update=True, populate_existing=True)
    if request is None:
        raise NotFound(f"no access request {request_id!r}")
    return request


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
