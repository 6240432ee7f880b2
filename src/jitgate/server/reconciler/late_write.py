"""Late writes: a grant write whose answer was lost may still land in Graph after we moved on.

A Graph write can time out on the client (or lose its connection after being sent) and still be
applied by Graph, seconds later. The connector reports such a write as ``ambiguous_write``. If
the broker removes the member before that write lands, the late write adds it back: access
outlives its grant (invariant 1), and a drift read in additive mode would take the member for
standing access (invariant 2 turned against invariant 1).

So the grant result handler records on the key's membership row until when a late landing is
possible (``late_write_until`` = now + ``late_write_window_s``). Then:

* a removal (or a failed grant) that completes inside the window queues a membership read that
  runs at the window's end (``verify_after_removal``);
* a read that finds such a member present with no live grant behind it removes it again
  (``membership.late_write``) and never records it as standing (``judge_late_writes``);
* a removal completed after the window, or a read run after it that finds the member gone,
  closes the window: from then on presence means what it usually means.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from jitgate.core.settings import default_interval
from jitgate.server.actor import RECONCILER
from jitgate.server.audit.operations import record_event
from jitgate.server.integrations.models import Resource
from jitgate.server.reconciler.apply import enqueue_read, enqueue_revoke
from jitgate.server.reconciler.state import key_of

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import timedelta

    from sqlalchemy.orm import Session

    from jitgate.core.clock import Clock
    from jitgate.server.grants.models import Membership
    from jitgate.server.jobs.models import Job

log = logging.getLogger(__name__)
#: How long a lost write may still land, unless the caller says (``late_write_window_s``).
DEFAULT_LATE_WRITE_WINDOW = default_interval("late_write_window_s")


def note_ambiguous_write(
    *, session: Session, clock: Clock, row: Membership, window: timedelta, job: Job
) -> None:
    """A grant write of ``row``'s key may land until now + ``window``: remember it (audited)."""
    until = clock.now() + window
    if row.late_write_until is not None and row.late_write_until >= until:
        return
    row.late_write_until = until
    session.flush()
    log.info("ambiguous grant write recorded", extra={"job_id": job.id, "membership_id": row.id})
    record_event(
        session=session,
        clock=clock,
        actor=RECONCILER,
        action="membership.ambiguous_write",
        target_type="membership",
        target_id=row.id,
        after={"principal_id": row.principal_id, "late_write_until": until.isoformat()},
        context={"job_id": job.id},
    )


def verify_after_removal(*, session: Session, clock: Clock, row: Membership) -> Job | None:
    """The key is (or stays) removed: read it again once no late write can land any more."""
    until = row.late_write_until
    if until is None:
        return None
    if clock.now() >= until:
        row.late_write_until = None  # removed after any late landing: the removal is final
        return None
    resource = session.get(Resource, row.resource_id)
    if resource is None or resource.removed_at is not None:
        return None
    job = enqueue_read(session, clock, resource, row.permission, row.scope, run_after=until)
    if job is not None:
        log.info("late-write verification read queued", extra={"job_id": job.id})
    return job


def judge_late_writes(
    *,
    session: Session,
    clock: Clock,
    job: Job,
    rows: Iterable[Membership],
    members: set[str],
    wanted: set[str],
    context: dict[str, object],
) -> set[str]:
    """Remove members a late write of ours added back; return the principals judged here."""
    judged: set[str] = set()
    for row in rows:
        until = row.late_write_until
        if until is None or row.applied or row.principal_id in wanted:
            continue
        if row.principal_id not in members:
            if job.run_after >= until:
                row.late_write_until = None  # read after the window: nothing landed
            continue
        judged.add(row.principal_id)
        revoke = enqueue_revoke(session, clock, key_of(row), [], direct=True)
        if revoke is None:
            continue  # a write on the key is in flight; the next read judges again
        log.warning(
            "a late Graph write re-added a removed member; removing it again",
            extra={"membership_id": row.id, "revoke_job_id": revoke.id},
        )
        record_event(
            session=session,
            clock=clock,
            actor=RECONCILER,
            action="membership.late_write",
            target_type="membership",
            target_id=row.id,
            after={"principal_id": row.principal_id, "late_write_until": until.isoformat()},
            context={**context, "revoke_job_id": revoke.id},
        )
    return judged
