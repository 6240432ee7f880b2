"""The observed member set of a resource x permission x scope, kept current by delta reads.

Group member reads are delta rounds (``ReadMembershipData.full`` false: only the members added and
removed since the job's ``delta_link``), but drift is judged against the *whole* current member
set. So the broker keeps what the reads saw in ``observed_member`` and ``observe`` returns the set
a result amounts to:

* a full result with a ``delta_link`` (a group's first round, a restarted one, or a forced one)
  replaces the snapshot and stores the link and ``last_full_at``;
* a full result without one (owners, roles, a connector without delta reads) is used as it is;
  a snapshot kept for the key is dropped along with the link;
* a delta result applies its additions and removals to the snapshot and stores the new link;
  without a snapshot to apply to (dropped meanwhile) it is not judged (``None``) and the next
  read is a full round.

Once ``last_full_at`` is older than ``full_every`` (``drift_full_read_interval_s``, a day), the
link is not kept, so the next read is a full round: a safety net against a change a delta round
missed. Age, not a count of reads, since the number of reads per day depends on the drift
interval and on verification reads. Graph's delta tokens last 7 days; a refused one restarts a
full round on the connector's side anyway.

Rounds from the same link can overlap (a verification read queued while a drift read is open).
Each delta round reports the current state of every member that changed since its link, so
applying them in any order leaves each member either as a later round saw it or changed since
the stored link, which the next round reports again.

Why a table and not a JSON column on ``resource_sync``: a delta round changes a few members of a
set that can hold tens of thousands; rows make that a few inserts and deletes (a JSON document
is rewritten whole on every change), the key columns are the ones ``membership`` and
``standing_membership`` use, and the primary key keeps the set free of duplicates on both
databases. A full round writes only the difference from the snapshot, so an unchanged group
costs a read of its rows and no writes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import delete, insert, select

from jitgate.core.settings import default_interval
from jitgate.server.integrations.sync_models import ObservedMember

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import timedelta

    from sqlalchemy.orm import Session

    from jitgate.core.clock import Clock
    from jitgate.protocol.v1 import ReadMembershipData
    from jitgate.server.integrations.sync_models import ResourceSync

#: A snapshot older than this is replaced by a full round (``drift_full_read_interval_s``).
DEFAULT_FULL_EVERY = default_interval("drift_full_read_interval_s")
_CHUNK = 500  # principals per DELETE ... IN (...)


def observe(
    *,
    session: Session,
    clock: Clock,
    sync: ResourceSync | None,
    data: ReadMembershipData,
    full_every: timedelta = DEFAULT_FULL_EVERY,
) -> set[str] | None:
    """The whole member set ``data`` amounts to (the snapshot updated), or ``None`` if unknown.

    ``sync`` is the key's row, locked by the caller (``None``: no snapshot is kept).
    """
    now = clock.now()
    if data.full:
        members = {m.id for m in data.members}
        if sync is None:
            return members
        if data.delta_link is None:
            if sync.last_full_at is not None:
                _store(session, sync, members=set())
            sync.delta_link, sync.last_full_at = None, None
            return members
        _store(session, sync, members)
        sync.delta_link, sync.last_full_at = data.delta_link, now
        return members
    if sync is None or sync.last_full_at is None:
        if sync is not None:
            sync.delta_link = None
        return None
    current = snapshot(session, sync)
    members = (current - {m.id for m in data.removed}) | {m.id for m in data.members}
    _store(session, sync, members, current=current)
    fresh = now - sync.last_full_at < full_every
    sync.delta_link = data.delta_link if fresh else None
    return members


def snapshot(session: Session, sync: ResourceSync) -> set[str]:
    """The principals the snapshot of ``sync``'s key holds."""
    return set(
        session.scalars(
            select(ObservedMember.principal_id).where(
                ObservedMember.resource_id == sync.resource_id,
                ObservedMember.permission == sync.permission,
                ObservedMember.scope == sync.scope,
            )
        )
    )


def _store(
    session: Session,
    sync: ResourceSync,
    members: set[str],
    *,
    current: set[str] | None = None,
) -> None:
    """Make the snapshot ``members``, writing only the difference from ``current``."""
    if current is None:
        current = snapshot(session, sync)
    key = {"resource_id": sync.resource_id, "permission": sync.permission, "scope": sync.scope}
    gone = sorted(current - members)
    for chunk in _chunks(gone):
        session.execute(
            delete(ObservedMember).where(
                ObservedMember.resource_id == sync.resource_id,
                ObservedMember.permission == sync.permission,
                ObservedMember.scope == sync.scope,
                ObservedMember.principal_id.in_(chunk),
            )
        )
    new = sorted(members - current)
    if new:
        session.execute(insert(ObservedMember), [{**key, "principal_id": p} for p in new])


def _chunks(items: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]
