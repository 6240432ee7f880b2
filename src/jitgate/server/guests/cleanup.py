"""The reconciler step that deletes the guests jitgate invited once their access is long over.

For every ``invited_guest`` row not yet deleted, of a live integration with ``user_cleanup_days``
set: when the identity holds no grant that is pending, active or being revoked (through *any*
integration) and the last grant through this integration ended at least that many days ago
(or, with none, the invitation was sent that long ago), the step queues one ``delete_user`` job.
The result (``guests.results``) marks the row deleted. Users without a row, members and guests
jitgate did not invite, are never deleted: nothing else in jitgate queues ``delete_user``.

A failed deletion (e.g. the connector lacks ``User.DeleteRestore.All``) is tried again a day
later, not every tick.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from jitgate.protocol.v1 import DeleteUserPayload
from jitgate.server.grants.models import Grant
from jitgate.server.grants.states import GrantStatus
from jitgate.server.guests.models import InvitedGuest
from jitgate.server.integrations.models import Integration
from jitgate.server.jobs.models import Job, JobStatus
from jitgate.server.jobs.operations import enqueue_job

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from jitgate.core.clock import Clock

OPEN_JOB = (JobStatus.QUEUED, JobStatus.LEASED)
NOT_ENDED = (GrantStatus.PENDING, GrantStatus.ACTIVE, GrantStatus.REVOKING)
RETRY_FAILED_AFTER = timedelta(days=1)


def cleanup_due(
    *,
    now: datetime,
    days: int,
    invited_at: datetime,
    last_ended_at: datetime | None,
    holds_grant: bool,
) -> bool:
    """Whether a guest is due for deletion (pure: the rule docs/integrations.md states)."""
    if holds_grant:
        return False
    since = max(invited_at, last_ended_at) if last_ended_at is not None else invited_at
    return now >= since + timedelta(days=days)


def _last_job_blocks(session: Session, guest: InvitedGuest, now: datetime) -> bool:
    if guest.delete_job_id is None:
        return False
    job = session.get(Job, guest.delete_job_id)
    if job is None:
        return False
    if job.status in OPEN_JOB:
        return True
    finished = job.finished_at or job.updated_at
    return job.status is not JobStatus.SUCCEEDED and now < finished + RETRY_FAILED_AFTER


def _holds_grant(session: Session, identity_id: str) -> bool:
    query = select(Grant.id).where(Grant.identity_id == identity_id, Grant.status.in_(NOT_ENDED))
    return session.scalars(query.limit(1)).first() is not None


def _last_ended(session: Session, guest: InvitedGuest) -> datetime | None:
    return session.scalar(
        select(func.max(Grant.ended_at)).where(
            Grant.identity_id == guest.identity_id, Grant.integration_id == guest.integration_id
        )
    )


def schedule_guest_cleanup(*, session: Session, clock: Clock, limit: int = 500) -> list[str]:
    """Queue ``delete_user`` for every invited guest that is due; return the job ids."""
    now = clock.now()
    rows = session.execute(
        select(InvitedGuest.id, Integration.user_cleanup_days, Integration.connector_id)
        .join(Integration, Integration.id == InvitedGuest.integration_id)
        .where(
            InvitedGuest.deleted_at.is_(None),
            Integration.user_cleanup_days.is_not(None),
            Integration.deleted_at.is_(None),
            Integration.connector_id.is_not(None),
        )
        .order_by(InvitedGuest.invited_at)
        .limit(limit)
    ).all()
    jobs: list[str] = []
    for guest_id, days, connector_id in rows:
        guest = session.get(InvitedGuest, guest_id, with_for_update=True)
        if guest is None or guest.deleted_at is not None or _last_job_blocks(session, guest, now):
            continue
        due = cleanup_due(
            now=now,
            days=int(days or 0),
            invited_at=guest.invited_at,
            last_ended_at=_last_ended(session, guest),
            holds_grant=_holds_grant(session, guest.identity_id),
        )
        if not due:
            continue
        job = enqueue_job(
            session=session,
            clock=clock,
            connector_id=str(connector_id),
            payload=DeleteUserPayload(user_id=guest.entra_user_id, identity_id=guest.identity_id),
            integration_id=guest.integration_id,
        )
        guest.delete_job_id = job.id
        jobs.append(job.id)
    return jobs
