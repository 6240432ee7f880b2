"""Result handlers of grant and revoke jobs (registered in ``jitgate.server.handlers``).

Called inside the transaction that finishes the job (``jitgate.server.jobs.results``, which
also writes the ``job.succeeded`` / ``job.failed`` audit event with Graph's request ids). They
are idempotent: a handler finds the key's membership row by the job id it links, and a second
call finds nothing linked to clear and grants no longer pending.

``already_present`` on a grant write is standing membership (invariant 2) when no broker grant
had applied the key before *and* this was the job's first attempt. On a later attempt the
presence may be the broker's own earlier write whose report was lost (a crash or lease expiry),
so it is counted as the broker's: a membership the broker may have given must be removable at
expiry (invariant 1 wins over invariant 2 when the facts are ambiguous). The same holds when
the connector reports an ``ambiguous_write`` (a try whose answer was lost, then "already
exists"): and since such a write may also land *later*, the row remembers it
(``late_write.note_ambiguous_write``) so that a removal inside the window is verified by a read.

An *extend* (a grant payload with ``extend``, ``pim`` mode) moves the key's Entra expiry: on
success the row records the new ``applied_ends_at`` (``membership.extend``); ``already_absent``
means Entra no longer held the assignment, so the row is no longer applied and the next tick
grants it again, to the new end. A failed extend changes nothing: the next tick queues it again.

Lock order (``jitgate.server.requests.granting``): the caller holds the job row; a handler locks
the requests of the job's grants, then the key's membership row, then ``resource_sync`` and
standing rows.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy import select

from jitgate.protocol.v1 import (
    GrantData,
    GrantMode,
    GrantPayload,
    RevokeData,
    RevokePayload,
    WriteOutcome,
)
from jitgate.server.actor import RECONCILER
from jitgate.server.audit.operations import record_event
from jitgate.server.grants.keys import MembershipKey
from jitgate.server.grants.models import Grant, Membership
from jitgate.server.grants.standing import record_standing
from jitgate.server.grants.states import GrantStatus
from jitgate.server.jobs.models import JobStatus
from jitgate.server.jobs.service import parse_payload
from jitgate.server.reconciler.blocked import block_revocation, clear_block, is_permanent
from jitgate.server.reconciler.late_write import (
    DEFAULT_LATE_WRITE_WINDOW,
    note_ambiguous_write,
    verify_after_removal,
)
from jitgate.server.requests.granting import (
    activate_grant,
    fail_grant,
    lock_requests_of,
    revoke_grant,
)
from jitgate.server.requests.models import AccessRequest
from jitgate.server.requests.states import RequestStatus

if TYPE_CHECKING:
    from datetime import datetime, timedelta

    from sqlalchemy.orm import Session

    from jitgate.core.clock import Clock
    from jitgate.protocol.v1 import JobResult
    from jitgate.server.jobs.models import Job

log = logging.getLogger(__name__)


def _linked(session: Session, job: Job) -> Membership | None:
    row = session.scalars(
        select(Membership).where(Membership.job_id == job.id).with_for_update()
    ).one_or_none()
    if row is not None:
        row.job_id, row.job_kind = None, None
    return row


def _grants(session: Session, grant_ids: list[str]) -> list[Grant]:
    if not grant_ids:
        return []
    return list(session.scalars(select(Grant).where(Grant.id.in_(grant_ids)).order_by(Grant.id)))


def _error(result: JobResult) -> str:
    if result.error is None:
        return "the connector reported no result data"
    return f"{result.error.code}: {result.error.message}"


def _ambiguous(result: JobResult) -> bool:
    data, error = result.data, result.error
    if isinstance(data, GrantData) and data.ambiguous_write:
        return True
    return error is not None and error.ambiguous_write


def _grant_failed(
    session: Session, clock: Clock, row: Membership | None, grants: list[Grant], result: JobResult
) -> None:
    if row is not None and not row.applied:
        verify_after_removal(session=session, clock=clock, row=row)  # it may land anyway
    for grant in grants:
        if grant.status is GrantStatus.PENDING:
            fail_grant(
                session=session,
                clock=clock,
                grant_id=grant.id,
                error=_error(result),
                actor=RECONCILER,
            )


def handle_grant_result(
    *,
    session: Session,
    clock: Clock,
    job: Job,
    result: JobResult,
    late_write_window: timedelta = DEFAULT_LATE_WRITE_WINDOW,
) -> None:
    """A grant write ended: record what is applied or standing; activate or fail its grants."""
    payload = parse_payload(job.kind, job.payload)
    if not isinstance(payload, GrantPayload):
        return
    if payload.extend:
        handle_extend_result(session=session, clock=clock, job=job, result=result)
        return
    lock_requests_of(session, payload.grant_ids)
    row = _linked(session, job)
    grants = _grants(session, payload.grant_ids)
    data = result.data
    ambiguous = _ambiguous(result)
    if row is not None and ambiguous:
        note_ambiguous_write(
            session=session, clock=clock, row=row, window=late_write_window, job=job
        )
    if job.status is not JobStatus.SUCCEEDED or not isinstance(data, GrantData):
        _grant_failed(session, clock, row, grants, result)
        return
    if row is None:
        log.warning("grant result for a job no membership links", extra={"job_id": job.id})
        return
    now = clock.now()
    standing = (
        data.outcome is WriteOutcome.ALREADY_PRESENT
        and not row.applied
        and job.attempts <= 1
        and not ambiguous
    )
    if standing:
        key = MembershipKey(
            row.integration_id, row.resource_id, row.permission, row.scope, row.principal_id
        )
        record_standing(
            session=session,
            clock=clock,
            actor=RECONCILER,
            key=key,
            source="already_present",
            grant_id=grants[0].id if grants else None,
            context={"job_id": job.id, "request_ids": list(data.request_ids)},
        )
    else:
        row.applied, row.applied_at, row.removed_at = True, now, None
        row.assignment_id = data.object_id or row.assignment_id
        row.applied_ends_at = payload.ends_at if payload.grant_mode is GrantMode.PIM else None
    row.updated_at = now
    session.flush()
    for grant in grants:
        request = session.get(AccessRequest, grant.request_id)
        if (
            grant.status is GrantStatus.PENDING
            and request is not None
            and request.status is RequestStatus.GRANTING
        ):
            activate_grant(session=session, clock=clock, grant_id=grant.id, actor=RECONCILER)


def handle_extend_result(*, session: Session, clock: Clock, job: Job, result: JobResult) -> None:
    """A PIM extend ended: record the expiry Entra now holds (or that the assignment is gone)."""
    payload = parse_payload(job.kind, job.payload)
    if not isinstance(payload, GrantPayload) or not payload.extend:
        return
    row = _linked(session, job)
    data = result.data
    if job.status is not JobStatus.SUCCEEDED or not isinstance(data, GrantData):
        log.warning("extend failed; the next tick queues it again", extra={"job_id": job.id})
        return
    if row is None or payload.ends_at is None:
        log.warning("extend result for a job no membership links", extra={"job_id": job.id})
        return
    now = clock.now()
    before = {"applied": row.applied, "ends_at": _iso(row.applied_ends_at)}
    if data.outcome is WriteOutcome.ALREADY_ABSENT:
        row.applied, row.removed_at = False, now  # Entra let it go: the next tick grants again
    else:
        end = payload.ends_at
        row.applied_ends_at = max(end, row.applied_ends_at) if row.applied_ends_at else end
    row.updated_at = now
    session.flush()
    record_event(
        session=session,
        clock=clock,
        actor=RECONCILER,
        action="membership.extend",
        target_type="membership",
        target_id=row.id,
        before=before,
        after={
            "principal_id": row.principal_id,
            "resource_id": row.resource_id,
            "applied": row.applied,
            "ends_at": _iso(row.applied_ends_at),
            "outcome": str(data.outcome),
        },
        context={
            "job_id": job.id,
            "grant_ids": list(payload.grant_ids),
            "request_ids": list(data.request_ids),
        },
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def handle_revoke_result(*, session: Session, clock: Clock, job: Job, result: JobResult) -> None:
    """A revoke write ended: the membership is gone (``already_absent`` too); end its grants."""
    payload = parse_payload(job.kind, job.payload)
    if not isinstance(payload, RevokePayload):
        return
    lock_requests_of(session, payload.grant_ids)
    row = _linked(session, job)
    if job.status is not JobStatus.SUCCEEDED or not isinstance(result.data, RevokeData):
        if row is not None and job.status is JobStatus.FAILED and is_permanent(result):
            grants = _grants(session, payload.grant_ids)
            block_revocation(session=session, clock=clock, row=row, grants=grants, result=result)
            log.warning(
                "revoke refused for good; retried after the block",
                extra={"job_id": job.id, "code": result.error.code if result.error else None},
            )
            return
        log.warning("revoke failed; the next tick queues it again", extra={"job_id": job.id})
        return
    now = clock.now()
    if row is not None:
        clear_block(row)
        row.applied, row.removed_at, row.updated_at = False, now, now
        session.flush()
        verify_after_removal(session=session, clock=clock, row=row)
    for grant in _grants(session, payload.grant_ids):
        if grant.status is GrantStatus.REVOKING:
            revoke_grant(session=session, clock=clock, grant_id=grant.id, actor=RECONCILER)
