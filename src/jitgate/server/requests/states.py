"""Access request statuses and the one table of allowed transitions."""

from __future__ import annotations

from enum import StrEnum

from jitgate.core.errors import Conflict


class RequestStatus(StrEnum):
    """Where an access request stands."""

    PENDING = "pending"
    APPROVED = "approved"
    GRANTING = "granting"
    ACTIVE = "active"
    REVOKING = "revoking"
    REVOKED = "revoked"
    EXPIRED = "expired"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    FAILED = "failed"


S = RequestStatus

TRANSITIONS: dict[RequestStatus, frozenset[RequestStatus]] = {
    S.PENDING: frozenset({S.APPROVED, S.REJECTED, S.CANCELLED}),
    S.APPROVED: frozenset({S.GRANTING, S.CANCELLED, S.REVOKING, S.FAILED}),
    S.GRANTING: frozenset({S.ACTIVE, S.FAILED, S.REVOKING}),
    S.ACTIVE: frozenset({S.REVOKING}),
    S.REVOKING: frozenset({S.REVOKED, S.EXPIRED, S.FAILED}),
    S.REVOKED: frozenset(),
    S.EXPIRED: frozenset(),
    S.REJECTED: frozenset(),
    S.CANCELLED: frozenset(),
    S.FAILED: frozenset(),
}

TERMINAL = frozenset(status for status, targets in TRANSITIONS.items() if not targets)
LIVE = frozenset({S.APPROVED, S.GRANTING, S.ACTIVE})


def check_transition(current: RequestStatus, target: RequestStatus) -> None:
    """Raise ``Conflict`` unless ``current -> target`` is in the table."""
    if target not in TRANSITIONS[current]:
        raise Conflict(f"an access request cannot go from {current} to {target}")


class Decision(StrEnum):
    """An approver's answer."""

    APPROVED = "approved"
    REJECTED = "rejected"
