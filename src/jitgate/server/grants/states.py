"""Grant statuses, why a grant ended, and the one table of allowed status moves.

A grant's status changes only through ``move_grant``, which checks the table (a test walks the
source and finds no other write). The operations check their own preconditions first and
answer a lost race with ``Conflict``; a move the table refuses is therefore a bug in the caller,
raised as ``GrantTransitionError``, never shown to a user as bad input.

The moves, as the operations in ``jitgate.server.requests.granting`` and
``jitgate.server.grants.operations`` make them:

* ``pending -> active``: the access was applied (``activate_grant``);
* ``pending -> ended``: the request was cancelled before granting began (``end_grants``);
* ``pending | active -> revoking``: the access ended (revoked, expired, or a sibling grant
  failed) and awaits removal (``end_grants``);
* ``pending | active -> failed``: the access could not be applied (``fail_grant``);
* ``revoking -> ended``: the removal was confirmed (``revoke_grant``).

``ended`` and ``failed`` are final.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from datetime import datetime


class GrantStatus(StrEnum):
    """Where one grant (one resource x permission for one identity) stands."""

    PENDING = "pending"
    ACTIVE = "active"
    REVOKING = "revoking"
    ENDED = "ended"
    FAILED = "failed"


class EndReason(StrEnum):
    """Why a grant (and its access request) ended."""

    EXPIRED = "expired"
    REVOKED = "revoked"
    CANCELLED = "cancelled"
    FAILED = "failed"


G = GrantStatus

GRANT_TRANSITIONS: dict[GrantStatus, frozenset[GrantStatus]] = {
    G.PENDING: frozenset({G.ACTIVE, G.REVOKING, G.ENDED, G.FAILED}),
    G.ACTIVE: frozenset({G.REVOKING, G.FAILED}),
    G.REVOKING: frozenset({G.ENDED}),
    G.ENDED: frozenset(),
    G.FAILED: frozenset(),
}

#: Statuses a grant can still leave: it holds, or may yet hold, access.
NOT_ENDED = frozenset(status for status, targets in GRANT_TRANSITIONS.items() if targets)


class GrantTransitionError(RuntimeError):
    """A caller asked for a status move the table does not allow (a programming error)."""


def check_grant_transition(current: GrantStatus, target: GrantStatus) -> None:
    """Raise ``GrantTransitionError`` unless ``current -> target`` is in the table."""
    if target not in GRANT_TRANSITIONS[current]:
        msg = f"a grant cannot go from {current} to {target}"
        raise GrantTransitionError(msg)


class _Moves(Protocol):
    """What ``move_grant`` changes: a ``grants.models.Grant`` (the model imports this module)."""

    status: GrantStatus
    updated_at: datetime


def move_grant(grant: _Moves, to: GrantStatus, *, now: datetime) -> None:
    """Change the grant's status through the table and stamp ``updated_at``."""
    check_grant_transition(grant.status, to)
    grant.status = to
    grant.updated_at = now
