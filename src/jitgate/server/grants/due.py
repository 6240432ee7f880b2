"""Which keys an operation just made due, so the reconciler plans them at once (no tick wait).

An approval (``create_grants``) or a revocation marks the session with the (resource, identity)
pairs it changed; after that session commits, the in-process reconciler loop runs a *focused*
tick on them (``ReconcilerLoop.attach``). The mark is only a hint to go early: the grant rows
are the durable record, and the periodic full tick plans them anyway (invariant 6), e.g. when
the server stops between the commit and the focused tick, or runs without the reconciler loop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

    from sqlalchemy.orm import Session

    from jitgate.server.grants.models import Grant

#: ``session.info`` key: (resource id, identity id) pairs made due in this transaction.
DUE_KEY = "jitgate.grants.due"


def mark_due(session: Session, grants: Iterable[Grant]) -> None:
    """Remember that these grants want the reconciler's attention once the session commits."""
    pairs = {(g.resource_id, g.identity_id) for g in grants}
    if pairs:
        session.info.setdefault(DUE_KEY, set()).update(pairs)


def take_due(session: Session) -> set[tuple[str, str]]:
    """Pop the pairs marked in this session (after its commit or rollback)."""
    pairs: set[tuple[str, str]] | None = session.info.pop(DUE_KEY, None)
    return pairs or set()
