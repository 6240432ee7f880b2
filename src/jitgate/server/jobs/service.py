"""Reading jobs: the queue's depth, dead letters, pages posted for a lease, a job's claim spec.

``count_dead_jobs`` and ``queue_depth_by_kind`` are what ``/metrics`` and alerts read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from pydantic import TypeAdapter
from sqlalchemy import func, select

from jitgate.core.errors import NotFound
from jitgate.protocol.v1 import JobKindName, JobPayload, JobSpec, ResourceType
from jitgate.server.jobs.models import Job, JobKind, JobPage, JobStatus

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from sqlalchemy.orm import Session

PAYLOAD = TypeAdapter[JobPayload](JobPayload)


def get_job(*, session: Session, job_id: str, connector_id: str | None = None) -> Job:
    """Return a job (of ``connector_id`` when given) or raise ``NotFound``."""
    job = session.get(Job, job_id)
    if job is None or (connector_id is not None and job.connector_id != connector_id):
        raise NotFound(f"no job {job_id!r}")
    return job


def count_dead_jobs(*, session: Session, connector_id: str | None = None) -> int:
    """How many jobs are dead-lettered (an alert fires while this is above zero)."""
    query = select(func.count(Job.id)).where(Job.status == JobStatus.DEAD)
    if connector_id is not None:
        query = query.where(Job.connector_id == connector_id)
    return session.scalar(query) or 0


def queue_depth_by_kind(*, session: Session) -> dict[JobKind, dict[JobStatus, int]]:
    """Queued and leased jobs per kind (every kind present, zero when empty)."""
    depth = {kind: {JobStatus.QUEUED: 0, JobStatus.LEASED: 0} for kind in JobKind}
    rows = session.execute(
        select(Job.kind, Job.status, func.count(Job.id))
        .where(Job.status.in_((JobStatus.QUEUED, JobStatus.LEASED)))
        .group_by(Job.kind, Job.status)
    )
    for kind, status, count in rows:
        depth[JobKind(kind)][JobStatus(status)] = int(count)
    return depth


def iter_job_items(*, session: Session, job: Job) -> Iterator[dict[str, Any]]:
    """Yield the items posted under the job's current lease, page by page, in order."""
    if job.lease_token is None:
        return
    pages = session.scalars(
        select(JobPage)
        .where(JobPage.job_id == job.id, JobPage.lease_token == job.lease_token)
        .order_by(JobPage.page)
    )
    for page in pages:
        yield from page.items


def parse_payload(kind: JobKind, payload: dict[str, Any]) -> JobPayload:
    """Read a stored payload: exactly a protocol payload, or ``ValidationError``.

    Every payload is written by ``enqueue_job`` from a protocol model, so an unknown field is a
    bug to surface, not to drop: a claim dead-letters such a job with the reason
    (``connectors.protocol.api``).
    """
    return PAYLOAD.validate_python({**payload, "kind": str(kind)})


def job_spec(*, job: Job, resource_types: Sequence[str]) -> JobSpec:
    """The claim form of a leased job: payload, lease and its integration's resource types."""
    if job.lease_token is None or job.lease_expires_at is None:
        raise ValueError("only a leased job has a spec")
    enabled = [ResourceType(t) for t in resource_types if _known(t)]
    return JobSpec(
        id=job.id,
        kind=cast("JobKindName", str(job.kind)),
        integration_id=job.integration_id,
        attempt=job.attempts,
        max_attempts=job.max_attempts,
        lease_token=job.lease_token,
        lease_expires_at=job.lease_expires_at,
        payload=parse_payload(job.kind, job.payload),
        enabled_resource_types=enabled,
    )


def _known(resource_type: str) -> bool:
    return resource_type in {str(t) for t in ResourceType}
