"""Durable jobs on both databases: priority, leases, backoff, dead letters, idempotent reports."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from factories import BOOTSTRAP, make_connector
from jitgate.core.errors import Conflict
from jitgate.protocol.v1 import (
    DiscoveredUser,
    GrantData,
    GrantPayload,
    JobError,
    JobResult,
    Outcome,
    RevokePayload,
    SelfCheckData,
    SelfCheckPayload,
    WriteOutcome,
)
from jitgate.server.audit.models import AuditEvent
from jitgate.server.connectors.models import Connector
from jitgate.server.handlers import default_registry
from jitgate.server.jobs.backoff import Backoff
from jitgate.server.jobs.models import Job, JobKind, JobStatus
from jitgate.server.jobs.operations import claim_jobs, enqueue_job, release_job
from jitgate.server.jobs.registry import HandlerRegistry
from jitgate.server.jobs.results import report_job_result, store_job_page
from jitgate.server.jobs.service import count_dead_jobs, iter_job_items, queue_depth_by_kind

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from jitgate.core.clock import ManualClock

GROUP = "11111111-1111-1111-1111-111111111111"
USER = "22222222-2222-2222-2222-222222222222"


def _target(**extra: object) -> dict[str, object]:
    return {
        "principal_id": USER,
        "resource_type": "entra-group",
        "resource_external_id": GROUP,
        "permission": "member",
        **extra,
    }


def _grant() -> GrantPayload:
    return GrantPayload.model_validate(_target())


def _revoke() -> RevokePayload:
    return RevokePayload.model_validate(_target())


def _claim(session: Session, clock: ManualClock, connector: Connector, **kw: object) -> list[Job]:
    args: dict[str, object] = {"instance_key": "a", "max_jobs": 10, "handlers": HandlerRegistry()}
    args.update(kw)
    jobs = claim_jobs(session=session, clock=clock, connector_id=connector.id, **args)  # type: ignore[arg-type]
    session.commit()
    return jobs


def _report(
    session: Session, clock: ManualClock, job: Job, result: JobResult, **kw: object
) -> tuple[Job, bool]:
    args: dict[str, object] = {
        "instance_key": job.lease_owner,
        "lease_token": job.lease_token,
        "handlers": HandlerRegistry(),
        "backoff": Backoff(rng=random.Random(7)),  # noqa: S311 - seeded jitter
    }
    args.update(kw)
    out = report_job_result(
        session=session,
        clock=clock,
        actor=BOOTSTRAP,
        connector_id=job.connector_id,
        job_id=job.id,
        result=result,
        **args,  # type: ignore[arg-type]
    )
    session.commit()
    return out


SUCCESS = JobResult(
    outcome=Outcome.SUCCEEDED,
    data=GrantData(outcome=WriteOutcome.APPLIED, request_ids=["r-1"]),
)
RETRY = JobResult(
    outcome=Outcome.RETRY, error=JobError(code="TooManyRequests", message="429", retryable=True)
)


def test_claims_come_out_revocations_first(session: Session, clock: ManualClock) -> None:
    connector, _ = make_connector(session, clock)
    enqueue_job(session=session, clock=clock, connector_id=connector.id, payload=SelfCheckPayload())
    enqueue_job(session=session, clock=clock, connector_id=connector.id, payload=_grant())
    enqueue_job(session=session, clock=clock, connector_id=connector.id, payload=_revoke())
    session.commit()
    first = _claim(session, clock, connector, max_jobs=1)
    rest = _claim(session, clock, connector)
    assert [j.kind for j in first + rest] == [JobKind.REVOKE, JobKind.GRANT, JobKind.SELF_CHECK]
    assert all(j.status is JobStatus.LEASED and j.attempts == 1 for j in first + rest)
    assert _claim(session, clock, connector) == []


def test_other_connectors_jobs_and_future_jobs_are_not_claimed(
    session: Session, clock: ManualClock
) -> None:
    mine, _ = make_connector(session, clock, "mine")
    other, _ = make_connector(session, clock, "other")
    enqueue_job(session=session, clock=clock, connector_id=other.id, payload=_grant())
    enqueue_job(
        session=session,
        clock=clock,
        connector_id=mine.id,
        payload=_grant(),
        run_after=clock.now() + timedelta(minutes=5),
    )
    session.commit()
    assert _claim(session, clock, mine) == []
    clock.advance(timedelta(minutes=5))
    assert len(_claim(session, clock, mine)) == 1


def test_expired_lease_is_reclaimed_and_old_holder_refused(
    session: Session, clock: ManualClock
) -> None:
    connector, _ = make_connector(session, clock)
    enqueue_job(session=session, clock=clock, connector_id=connector.id, payload=_grant())
    session.commit()
    (job,) = _claim(session, clock, connector, instance_key="a", lease=timedelta(seconds=60))
    old_token = job.lease_token
    clock.advance(timedelta(seconds=59))
    assert _claim(session, clock, connector, instance_key="b") == []
    clock.advance(timedelta(seconds=2))
    (again,) = _claim(session, clock, connector, instance_key="b")
    assert again.id == job.id
    assert again.attempts == 2
    assert again.lease_owner == "b"
    assert again.lease_token != old_token
    with pytest.raises(Conflict):
        _report(session, clock, again, SUCCESS, instance_key="a", lease_token=old_token)
    session.rollback()
    session.refresh(again)
    assert again.status is JobStatus.LEASED
    assert again.lease_owner == "b"
    done, duplicate = _report(session, clock, again, SUCCESS)
    assert done.status is JobStatus.SUCCEEDED
    assert not duplicate


def test_double_report_is_idempotent_and_audited_once(session: Session, clock: ManualClock) -> None:
    connector, _ = make_connector(session, clock)
    job = enqueue_job(session=session, clock=clock, connector_id=connector.id, payload=_grant())
    session.commit()
    _claim(session, clock, connector)
    _, dup1 = _report(session, clock, job, SUCCESS)
    second, dup2 = _report(session, clock, job, SUCCESS)
    assert (dup1, dup2) == (False, True)
    assert second.status is JobStatus.SUCCEEDED
    assert second.result is not None
    assert second.result["data"]["outcome"] == "applied"
    events = session.scalars(
        select(AuditEvent).where(
            AuditEvent.target_id == job.id, AuditEvent.action == "job.succeeded"
        )
    ).all()
    assert len(events) == 1
    assert events[0].after is not None
    assert events[0].after["data"]["request_ids"] == ["r-1"]


def test_retry_backs_off_with_jitter_then_dead_letters(
    session: Session, clock: ManualClock
) -> None:
    connector, _ = make_connector(session, clock)
    job = enqueue_job(
        session=session, clock=clock, connector_id=connector.id, payload=_grant(), max_attempts=3
    )
    session.commit()
    backoff = Backoff(base=timedelta(seconds=10), rng=random.Random(1))  # noqa: S311 - seeded jitter
    for attempt in (1, 2):
        (claimed,) = _claim(session, clock, connector)
        assert claimed.attempts == attempt
        _report(session, clock, claimed, RETRY, backoff=backoff)
        assert claimed.status is JobStatus.QUEUED
        delay = claimed.run_after - clock.now()
        nominal = backoff.nominal(attempt)
        assert nominal / 2 <= delay < nominal
        assert _claim(session, clock, connector) == []  # not before run_after
        clock.advance(delay)
    assert count_dead_jobs(session=session) == 0
    (last,) = _claim(session, clock, connector)
    _report(session, clock, last, RETRY, backoff=backoff)
    assert last.status is JobStatus.DEAD
    assert count_dead_jobs(session=session) == 1
    assert session.scalars(
        select(AuditEvent).where(AuditEvent.target_id == job.id, AuditEvent.action == "job.dead")
    ).one()


def test_retry_after_hint_is_a_floor(session: Session, clock: ManualClock) -> None:
    connector, _ = make_connector(session, clock)
    enqueue_job(session=session, clock=clock, connector_id=connector.id, payload=_grant())
    session.commit()
    (job,) = _claim(session, clock, connector)
    hinted = RETRY.model_copy(update={"retry_after_s": 600.0})
    _report(session, clock, job, hinted)
    assert job.run_after - clock.now() >= timedelta(seconds=600)


def test_lease_expiry_on_the_last_attempt_dead_letters(
    session: Session, clock: ManualClock
) -> None:
    connector, _ = make_connector(session, clock)
    enqueue_job(
        session=session, clock=clock, connector_id=connector.id, payload=_grant(), max_attempts=1
    )
    session.commit()
    (job,) = _claim(session, clock, connector)
    clock.advance(timedelta(minutes=5))
    assert _claim(session, clock, connector) == []
    session.refresh(job)
    assert job.status is JobStatus.DEAD
    assert job.last_error is not None
    assert "expired" in job.last_error


def test_release_requeues_without_counting_the_attempt(
    session: Session, clock: ManualClock
) -> None:
    connector, _ = make_connector(session, clock)
    enqueue_job(session=session, clock=clock, connector_id=connector.id, payload=_grant())
    session.commit()
    (job,) = _claim(session, clock, connector)
    token = job.lease_token
    assert token is not None
    release_job(
        session=session,
        clock=clock,
        connector_id=connector.id,
        instance_key="a",
        job_id=job.id,
        lease_token=token,
    )
    session.commit()
    assert job.status is JobStatus.QUEUED
    assert job.attempts == 0
    with pytest.raises(Conflict):
        _report(session, clock, job, SUCCESS, lease_token=token, instance_key="a")
    session.rollback()
    (again,) = _claim(session, clock, connector)
    assert again.attempts == 1


def test_queue_depth_by_kind(session: Session, clock: ManualClock) -> None:
    connector, _ = make_connector(session, clock)
    enqueue_job(session=session, clock=clock, connector_id=connector.id, payload=_grant())
    enqueue_job(session=session, clock=clock, connector_id=connector.id, payload=_revoke())
    session.commit()
    _claim(session, clock, connector, max_jobs=1)
    depth = queue_depth_by_kind(session=session)
    assert depth[JobKind.REVOKE] == {JobStatus.QUEUED: 0, JobStatus.LEASED: 1}
    assert depth[JobKind.GRANT] == {JobStatus.QUEUED: 1, JobStatus.LEASED: 0}
    assert depth[JobKind.DISCOVER] == {JobStatus.QUEUED: 0, JobStatus.LEASED: 0}


def test_pages_are_idempotent_and_read_in_order(session: Session, clock: ManualClock) -> None:
    connector, _ = make_connector(session, clock)
    enqueue_job(session=session, clock=clock, connector_id=connector.id, payload=_grant())
    session.commit()
    (job,) = _claim(session, clock, connector)
    assert job.lease_token is not None
    for page, ids in ((1, ["u3"]), (0, ["u1", "u2"]), (1, ["u3"])):
        store_job_page(
            session=session,
            clock=clock,
            connector_id=connector.id,
            instance_key="a",
            job_id=job.id,
            lease_token=job.lease_token,
            page=page,
            items=[DiscoveredUser(id=i) for i in ids],
        )
    assert [i["id"] for i in iter_job_items(session=session, job=job)] == ["u1", "u2", "u3"]


def test_self_check_handler_stores_on_the_connector(session: Session, clock: ManualClock) -> None:
    connector, _ = make_connector(session, clock)
    enqueue_job(session=session, clock=clock, connector_id=connector.id, payload=SelfCheckPayload())
    session.commit()
    (job,) = _claim(session, clock, connector)
    data = SelfCheckData(ok=False, missing=["Grant GroupMember.ReadWrite.All"])
    result = JobResult(outcome=Outcome.SUCCEEDED, data=data)
    _report(session, clock, job, result, handlers=default_registry())
    stored = session.get(Connector, connector.id)
    assert stored is not None
    assert stored.self_check is not None
    assert stored.self_check["missing"] == ["Grant GroupMember.ReadWrite.All"]
    assert stored.self_checked_at == clock.now()
