"""Finishing jobs: results reported by a connector, retries with backoff, dead letters, pages.

Rules:
* a report names the lease it was claimed under; a report for a lease that is no longer the
  job's (it expired and was reclaimed, or was released) is a ``LeaseLost`` conflict and changes
  nothing;
* reporting the same lease twice is idempotent: the second report changes nothing and says
  ``duplicate``;
* ``retry`` re-queues the job after exponential backoff with jitter (Graph's Retry-After is a
  floor) until ``max_attempts``, then the job is dead-lettered;
* a finished job (succeeded, failed, dead) is handed to the kind's result handler in the same
  transaction, then its pages are deleted;
* a batch of results (``report_job_results``, one ``$batch`` run's) is applied in one
  transaction: its jobs are locked up front in id order (two batches never wait for each other
  crosswise), then each item is applied in id order under a savepoint of its own, so an item
  that is refused (lost lease, unknown job) rolls back alone and the others stand.

Audited: dead letters (``job.dead``), and the outcome of every Graph change — grant and revoke
jobs that succeed or fail (``job.succeeded`` / ``job.failed`` with Graph's request ids). Retries
and other kinds' results are bookkeeping on the job row, not audited.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select

from jitgate.core.errors import Conflict, JitgateError
from jitgate.protocol.v1 import JobError, JobResult, Outcome
from jitgate.server.actor import Actor
from jitgate.server.audit.operations import record_event
from jitgate.server.jobs.backoff import Backoff
from jitgate.server.jobs.models import Job, JobKind, JobPage, JobStatus
from jitgate.server.jobs.service import get_job

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.orm import Session

    from jitgate.core.clock import Clock
    from jitgate.protocol.v1 import DiscoveredItem, ResultItem
    from jitgate.server.jobs.registry import HandlerRegistry

log = logging.getLogger(__name__)

AUDITED_KINDS = frozenset({JobKind.GRANT, JobKind.REVOKE})
SYSTEM = Actor.system("jobs")


class LeaseLost(Conflict):
    """The lease a report names is no longer the job's: the report changes nothing."""


@dataclass(frozen=True, slots=True)
class ItemOutcome:
    """What one item of a batched report came to: the job's state, or the refusal."""

    job_id: str
    status: JobStatus | None = None
    duplicate: bool = False
    error: JitgateError | None = None

    @property
    def lease_lost(self) -> bool:
        """The item was refused because its lease was lost."""
        return isinstance(self.error, LeaseLost)


def _summary(job: Job) -> dict[str, Any]:
    return {
        "kind": str(job.kind),
        "status": str(job.status),
        "attempts": job.attempts,
        "connector_id": job.connector_id,
        "integration_id": job.integration_id,
    }


def _finish(
    *,
    session: Session,
    clock: Clock,
    handlers: HandlerRegistry,
    job: Job,
    status: JobStatus,
    result: JobResult,
) -> None:
    now = clock.now()
    job.status = status
    job.result = result.model_dump(mode="json")
    job.last_error = _error_text(result.error)
    job.lease_expires_at = None
    job.finished_at = now
    job.updated_at = now
    session.flush()
    handler = handlers.handler_for(job.kind)
    if handler is not None:
        handler(session=session, clock=clock, job=job, result=result)
    session.execute(delete(JobPage).where(JobPage.job_id == job.id))


def _error_text(error: JobError | None) -> str | None:
    return None if error is None else f"{error.code}: {error.message}"[:4000]


def dead_letter(
    *,
    session: Session,
    clock: Clock,
    handlers: HandlerRegistry,
    job: Job,
    reason: str,
    result: JobResult | None = None,
    actor: Actor = SYSTEM,
) -> None:
    """Give up on a job after its last attempt: mark it dead, audit it, hand it over."""
    result = result or JobResult(
        outcome=Outcome.FAILED, error=JobError(code="LeaseExpired", message=reason)
    )
    before = _summary(job)
    _finish(
        session=session,
        clock=clock,
        handlers=handlers,
        job=job,
        status=JobStatus.DEAD,
        result=result,
    )
    job.last_error = reason[:4000]
    log.error(
        "job dead-lettered",
        extra={"job_id": job.id, "kind": str(job.kind), "attempts": job.attempts, "reason": reason},
    )
    record_event(
        session=session,
        clock=clock,
        actor=actor,
        action="job.dead",
        target_type="job",
        target_id=job.id,
        before=before,
        after={**_summary(job), "last_error": job.last_error},
        context={"payload": job.payload},
    )


def _audit_write(session: Session, clock: Clock, actor: Actor, job: Job, result: JobResult) -> None:
    data = result.data.model_dump(mode="json") if result.data is not None else None
    error = result.error.model_dump(mode="json") if result.error is not None else None
    record_event(
        session=session,
        clock=clock,
        actor=actor,
        action=f"job.{job.status}",
        target_type="job",
        target_id=job.id,
        after={**_summary(job), "data": data, "error": error},
        context={"payload": job.payload},
    )


def report_job_result(
    *,
    session: Session,
    clock: Clock,
    actor: Actor,
    handlers: HandlerRegistry,
    connector_id: str,
    instance_key: str,
    job_id: str,
    lease_token: str,
    result: JobResult,
    backoff: Backoff | None = None,
) -> tuple[Job, bool]:
    """Apply a connector's result to the job; return it and whether the report was a duplicate."""
    job = _locked_lease(session, connector_id, instance_key, job_id, lease_token)
    if job.status is not JobStatus.LEASED:
        return job, True
    if result.outcome is Outcome.RETRY:
        _retry(
            session=session,
            clock=clock,
            actor=actor,
            handlers=handlers,
            job=job,
            result=result,
            backoff=backoff or Backoff(),
        )
        return job, False
    status = JobStatus.SUCCEEDED if result.outcome is Outcome.SUCCEEDED else JobStatus.FAILED
    _finish(session=session, clock=clock, handlers=handlers, job=job, status=status, result=result)
    if job.kind in AUDITED_KINDS:
        _audit_write(session, clock, actor, job, result)
    return job, False


def report_job_results(
    *,
    session: Session,
    clock: Clock,
    actor: Actor,
    handlers: HandlerRegistry,
    connector_id: str,
    instance_key: str,
    items: Sequence[ResultItem],
    backoff: Backoff | None = None,
) -> list[ItemOutcome]:
    """Apply several results in one transaction; return one outcome per item, in their order.

    Each item is applied as ``report_job_result`` would, under a savepoint of its own: a refused
    item (lost lease, a job that is not the connector's) rolls back alone.
    """
    ids = sorted({item.job_id for item in items})
    session.scalars(
        select(Job)
        .where(Job.id.in_(ids), Job.connector_id == connector_id)
        .order_by(Job.id)
        .with_for_update()
    ).all()
    outcomes: dict[int, ItemOutcome] = {}
    for index in sorted(range(len(items)), key=lambda i: (items[i].job_id, i)):
        item = items[index]
        try:
            with session.begin_nested():
                job, duplicate = report_job_result(
                    session=session,
                    clock=clock,
                    actor=actor,
                    handlers=handlers,
                    connector_id=connector_id,
                    instance_key=instance_key,
                    job_id=item.job_id,
                    lease_token=item.lease_token,
                    result=item.result,
                    backoff=backoff,
                )
        except JitgateError as err:
            log.info(
                "a batched result was refused", extra={"job_id": item.job_id, "error": str(err)}
            )
            outcomes[index] = ItemOutcome(job_id=item.job_id, error=err)
        else:
            outcomes[index] = ItemOutcome(job_id=job.id, status=job.status, duplicate=duplicate)
    return [outcomes[index] for index in range(len(items))]


def _locked_lease(
    session: Session, connector_id: str, instance_key: str, job_id: str, lease_token: str
) -> Job:
    job = get_job(session=session, job_id=job_id, connector_id=connector_id)
    session.refresh(job, with_for_update=True)
    if job.lease_token != lease_token or job.lease_owner != instance_key:
        raise LeaseLost(
            f"job {job_id}: this lease was lost (the job was reclaimed or released); "
            "the result is refused"
        )
    return job


def _retry(
    *,
    session: Session,
    clock: Clock,
    actor: Actor,
    handlers: HandlerRegistry,
    job: Job,
    result: JobResult,
    backoff: Backoff,
) -> None:
    if job.attempts >= job.max_attempts:
        reason = f"out of attempts ({job.attempts}): {_error_text(result.error) or 'retry'}"
        dead_letter(
            session=session,
            clock=clock,
            handlers=handlers,
            job=job,
            reason=reason,
            result=result,
            actor=actor,
        )
        return
    now = clock.now()
    job.status = JobStatus.QUEUED
    job.result = result.model_dump(mode="json")
    job.last_error = _error_text(result.error) or "retry requested"
    job.lease_expires_at = None  # the lease token stays: a repeated report is a duplicate
    job.run_after = now + backoff.delay(job.attempts, retry_after_s=result.retry_after_s)
    job.updated_at = now
    session.execute(delete(JobPage).where(JobPage.job_id == job.id))
    session.flush()


def store_job_page(
    *,
    session: Session,
    clock: Clock,
    connector_id: str,
    instance_key: str,
    job_id: str,
    lease_token: str,
    page: int,
    items: list[DiscoveredItem],
) -> bool:
    """Store one page of items for a leased job; ``False`` if this page was already stored."""
    job = _locked_lease(session, connector_id, instance_key, job_id, lease_token)
    if job.status is not JobStatus.LEASED:
        raise Conflict(f"job {job_id} already has its result; pages come before the result")
    existing = session.scalar(
        select(JobPage.id).where(
            JobPage.job_id == job.id, JobPage.lease_token == lease_token, JobPage.page == page
        )
    )
    if existing is not None:
        return False
    session.add(
        JobPage(
            job_id=job.id,
            lease_token=lease_token,
            page=page,
            items=[item.model_dump(mode="json") for item in items],
            created_at=clock.now(),
        )
    )
    session.flush()
    return True
