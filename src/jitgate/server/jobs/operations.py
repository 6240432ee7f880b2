"""State changes on jobs: enqueue, claim (with leases), reclaim expired leases, extend, release.

What is audited, and why: claims, lease extensions, releases and re-queues are high-volume
bookkeeping that changes no access, so they are *not* audited (the job row itself records
attempts, lease owner and last error). A job that dies (dead letter) is audited here and in
``results``; so is the result of every Graph change (grant and revoke jobs) — see ``results``.
Enqueueing is part of the operation that wants the work (e.g. activating a grant), which audits
its own change.

Concurrency: claims lock rows with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so concurrent
claimers never get the same job; on SQLite the write lock taken by ``BEGIN IMMEDIATE`` serialises
them. Invariant 6: work lives only in these rows; invariant 7: claims come out revocations first.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from jitgate.core.db import is_postgres
from jitgate.core.errors import Conflict
from jitgate.core.ids import new_id
from jitgate.server.jobs.models import Job, JobKind, JobPriority, JobStatus
from jitgate.server.jobs.results import dead_letter
from jitgate.server.jobs.service import get_job

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy import Select
    from sqlalchemy.orm import Session

    from jitgate.core.clock import Clock
    from jitgate.protocol.v1 import JobPayload
    from jitgate.server.jobs.registry import HandlerRegistry

DEFAULT_LEASE = timedelta(seconds=60)
DEFAULT_MAX_ATTEMPTS = 8
#: ``session.info`` key: connector ids that got new jobs in this transaction (wakes long-polls).
ENQUEUED_KEY = "jitgate.jobs.enqueued"

KIND_PRIORITY = {
    JobKind.REVOKE: JobPriority.REVOKE,
    JobKind.GRANT: JobPriority.GRANT,
    JobKind.READ_MEMBERSHIP: JobPriority.READ,
    JobKind.SELF_CHECK: JobPriority.READ,
    JobKind.DISCOVER: JobPriority.DISCOVER,
    JobKind.INVITE_GUEST: JobPriority.GRANT,
    JobKind.DELETE_USER: JobPriority.GRANT,
}


def enqueue_job(
    *,
    session: Session,
    clock: Clock,
    connector_id: str,
    payload: JobPayload,
    integration_id: str | None = None,
    priority: JobPriority | None = None,
    run_after: datetime | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> Job:
    """Queue a job for a connector; its kind comes from the payload, its priority from the kind."""
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    kind = JobKind(payload.kind)
    now = clock.now()
    job = Job(
        connector_id=connector_id,
        integration_id=integration_id,
        kind=kind,
        priority=int(priority if priority is not None else KIND_PRIORITY[kind]),
        payload=payload.model_dump(mode="json", exclude={"kind"}),
        status=JobStatus.QUEUED,
        attempts=0,
        max_attempts=max_attempts,
        run_after=run_after or now,
        created_at=now,
        updated_at=now,
    )
    session.add(job)
    session.flush()
    session.info.setdefault(ENQUEUED_KEY, set()).add(connector_id)
    return job


def _lockable(session: Session, query: Select[Job]) -> Select[Job]:
    if is_postgres(session):
        return query.with_for_update(skip_locked=True)
    return query  # SQLite: the transaction already holds the database's write lock


def reclaim_expired_leases(
    *,
    session: Session,
    clock: Clock,
    handlers: HandlerRegistry,
    connector_id: str | None = None,
    limit: int = 100,
) -> list[Job]:
    """Re-queue jobs whose lease ran out (the holder died); dead-letter those out of attempts."""
    now = clock.now()
    query = (
        select(Job)
        .where(Job.status == JobStatus.LEASED, Job.lease_expires_at <= now)
        .order_by(Job.priority, Job.lease_expires_at)
        .limit(limit)
    )
    if connector_id is not None:
        query = query.where(Job.connector_id == connector_id)
    jobs = list(session.scalars(_lockable(session, query)))
    for job in jobs:
        reason = f"lease of instance {job.lease_owner!r} expired (attempt {job.attempts})"
        if job.attempts >= job.max_attempts:
            dead_letter(session=session, clock=clock, handlers=handlers, job=job, reason=reason)
            continue
        job.status = JobStatus.QUEUED
        job.last_error = reason
        job.lease_token = None
        job.lease_expires_at = None
        job.run_after = now
        job.updated_at = now
    session.flush()
    return jobs


def claim_jobs(
    *,
    session: Session,
    clock: Clock,
    handlers: HandlerRegistry,
    connector_id: str,
    instance_key: str,
    max_jobs: int,
    lease: timedelta = DEFAULT_LEASE,
) -> list[Job]:
    """Lease up to ``max_jobs`` due jobs of a connector, most urgent first (revocations first)."""
    reclaim_expired_leases(
        session=session, clock=clock, handlers=handlers, connector_id=connector_id
    )
    now = clock.now()
    query = (
        select(Job)
        .where(
            Job.connector_id == connector_id,
            Job.status == JobStatus.QUEUED,
            Job.run_after <= now,
        )
        .order_by(Job.priority, Job.run_after, Job.created_at, Job.id)
        .limit(max_jobs)
    )
    jobs = list(session.scalars(_lockable(session, query)))
    for job in jobs:
        job.status = JobStatus.LEASED
        job.attempts += 1
        job.lease_owner = instance_key
        job.lease_token = new_id()
        job.lease_expires_at = now + lease
        job.updated_at = now
    session.flush()
    return jobs


def _held(job: Job, instance_key: str, lease_token: str) -> bool:
    return (
        job.status is JobStatus.LEASED
        and job.lease_token == lease_token
        and job.lease_owner == instance_key
    )


def extend_leases(
    *,
    session: Session,
    clock: Clock,
    connector_id: str,
    instance_key: str,
    leases: list[tuple[str, str]],
    lease: timedelta = DEFAULT_LEASE,
) -> tuple[list[str], list[str]]:
    """Extend the ``(job_id, lease_token)`` leases still held; return (extended, lost) job ids."""
    extended: list[str] = []
    lost: list[str] = []
    now = clock.now()
    wanted = dict(leases)
    if not wanted:
        return extended, lost
    rows = session.scalars(
        select(Job)
        .where(Job.id.in_(wanted), Job.connector_id == connector_id)
        .with_for_update()
        .order_by(Job.id)
    )
    found = {job.id: job for job in rows}
    for job_id, token in wanted.items():
        job = found.get(job_id)
        if job is not None and _held(job, instance_key, token):
            job.lease_expires_at = now + lease
            job.updated_at = now
            extended.append(job_id)
        else:
            lost.append(job_id)
    session.flush()
    return extended, lost


def release_job(
    *,
    session: Session,
    clock: Clock,
    connector_id: str,
    instance_key: str,
    job_id: str,
    lease_token: str,
) -> Job:
    """Give a lease back unfinished (graceful stop): queued again, the attempt not counted."""
    job = get_job(session=session, job_id=job_id, connector_id=connector_id)
    session.refresh(job, with_for_update=True)
    if job.lease_token != lease_token or job.lease_owner != instance_key:
        raise Conflict(f"job {job_id} is not leased under this lease (it was reclaimed)")
    if job.status is not JobStatus.LEASED:
        return job  # already reported or released: nothing to give back
    now = clock.now()
    job.status = JobStatus.QUEUED
    job.attempts = max(0, job.attempts - 1)
    job.lease_token = None
    job.lease_expires_at = None
    job.run_after = now
    job.updated_at = now
    session.flush()
    return job
