"""Batched results (``POST /api/connector/v1/jobs:report``) and request completion with many grants.

A batch is applied in one transaction, item by item: the same jobs, grants, requests and audit
events as reporting each result on its own; a duplicate changes nothing twice; an item with a
lost lease is refused alone; a malformed or oversized body is a 422 problem that changes nothing.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import select

from engine_world import Directory, approved, engine_world, event_count, run_connector, tick
from factories import BOOTSTRAP, actor_for, make_resource
from jitgate.protocol.v1 import MAX_REPORT_ITEMS
from jitgate.server.audit.models import AuditEvent
from jitgate.server.connectors.operations import rotate_connector_token
from jitgate.server.grants.models import Grant
from jitgate.server.grants.states import GrantStatus
from jitgate.server.jobs.models import Job, JobStatus
from jitgate.server.requests.granting import activate_grant, begin_granting, revoke_grant
from jitgate.server.requests.lifecycle import revoke_request
from jitgate.server.requests.models import AccessRequest
from jitgate.server.requests.states import RequestStatus

if TYPE_CHECKING:
    from fastapi.testclient import TestClient
    from sqlalchemy.orm import Session, sessionmaker

    from jitgate.core.clock import ManualClock
    from request_world import World

V1 = "/api/connector/v1"
KEY = "vm-1"
Headers = dict[str, str]


def _connector_headers(session: Session, clock: ManualClock, w: World) -> Headers:
    _, token = rotate_connector_token(
        session=session, clock=clock, actor=BOOTSTRAP, connector_id=w.integration.connector_id
    )
    session.commit()
    return {"Authorization": f"Bearer {token}"}


def _claim(client: TestClient, headers: Headers) -> list[dict[str, Any]]:
    body = {"instance_key": KEY, "wait_s": 0, "max_jobs": 50}
    response = client.post(f"{V1}/jobs:claim", json=body, headers=headers)
    assert response.status_code == 200, response.text
    jobs: list[dict[str, Any]] = response.json()["jobs"]
    return jobs


def _items(session: Session, specs: list[dict[str, Any]], directory: Directory) -> list[Any]:
    """What the agent would report for each claimed job (the stand-in tenant's answers)."""
    items = []
    for spec in specs:
        job = session.get(Job, spec["id"])
        assert job is not None
        result = directory.respond(job).model_dump(mode="json")
        items.append({"job_id": spec["id"], "lease_token": spec["lease_token"], "result": result})
    return items


def _report(client: TestClient, headers: Headers, items: object) -> Any:
    body = {"instance_key": KEY, "items": items}
    return client.post(f"{V1}/jobs:report", json=body, headers=headers)


def _status(session: Session, request: AccessRequest) -> RequestStatus:
    session.expire_all()
    row = session.get(AccessRequest, request.id)
    assert row is not None
    return row.status


def _grant_statuses(session: Session, request: AccessRequest) -> list[GrantStatus]:
    session.expire_all()
    query = select(Grant.status).where(Grant.request_id == request.id).order_by(Grant.id)
    return list(session.scalars(query))


def _job_status(session: Session, job_id: str) -> JobStatus:
    session.expire_all()
    job = session.get(Job, job_id)
    assert job is not None
    return job.status


def _actions_since(session: Session, seq: int) -> Counter[str]:
    query = select(AuditEvent.action).where(AuditEvent.seq > seq)
    return Counter(session.scalars(query))


@pytest.fixture
def w(session: Session, clock: ManualClock) -> World:
    return engine_world(session, clock)


@pytest.fixture
def headers(session: Session, clock: ManualClock, w: World) -> Headers:
    return _connector_headers(session, clock, w)


def test_grants_and_a_revocation_in_one_call(
    client: TestClient,
    session: Session,
    sessions: sessionmaker[Session],
    *,
    clock: ManualClock,
    w: World,
    headers: Headers,
) -> None:
    directory = Directory()
    leaving = approved(session, clock, w, who=w.bob)
    tick(sessions, clock)
    run_connector(sessions, clock, w.integration.connector_id, directory.respond)
    assert _status(session, leaving) is RequestStatus.ACTIVE
    revoke_request(session=session, clock=clock, actor=actor_for(w.bob), request_id=leaving.id)
    session.commit()
    arriving = approved(session, clock, w, resources=[w.finance, w.payroll])
    tick(sessions, clock)
    specs = _claim(client, headers)
    assert sorted(spec["kind"] for spec in specs) == ["grant", "grant", "revoke"]
    seq = event_count(session)

    response = _report(client, headers, _items(session, specs, directory))

    assert response.status_code == 200, response.text
    acks = response.json()["items"]
    assert [ack["job_id"] for ack in acks] == [spec["id"] for spec in specs], "in request order"
    assert all(
        (ack["status"], ack["duplicate"], ack["lease_lost"], ack["problem"])
        == ("succeeded", False, False, None)
        for ack in acks
    )
    assert all(_job_status(session, spec["id"]) is JobStatus.SUCCEEDED for spec in specs)
    assert _status(session, arriving) is RequestStatus.ACTIVE
    assert _grant_statuses(session, arriving) == [GrantStatus.ACTIVE, GrantStatus.ACTIVE]
    assert _status(session, leaving) is RequestStatus.REVOKED
    assert _grant_statuses(session, leaving) == [GrantStatus.ENDED]
    assert directory.holders(w.finance.external_id) == {"oid-alice"}
    # What three single reports would have written: one event per job and per grant change.
    assert _actions_since(session, seq) == Counter(
        {"job.succeeded": 3, "grant.activate": 2, "grant.remove": 1}
    )


def test_a_duplicate_item_changes_nothing_twice(
    client: TestClient,
    session: Session,
    sessions: sessionmaker[Session],
    *,
    clock: ManualClock,
    w: World,
    headers: Headers,
) -> None:
    directory = Directory()
    request = approved(session, clock, w, resources=[w.finance, w.payroll])
    tick(sessions, clock)
    first, second = _items(session, _claim(client, headers), directory)
    seq = event_count(session)
    once = _report(client, headers, [first, first])
    assert once.status_code == 200, once.text
    assert [(a["status"], a["duplicate"]) for a in once.json()["items"]] == [
        ("succeeded", False),
        ("succeeded", True),
    ]
    assert _status(session, request) is RequestStatus.GRANTING
    again = _report(client, headers, [second, first])
    assert again.status_code == 200, again.text
    assert [(a["job_id"], a["duplicate"]) for a in again.json()["items"]] == [
        (second["job_id"], False),
        (first["job_id"], True),
    ]
    assert _status(session, request) is RequestStatus.ACTIVE
    assert _actions_since(session, seq) == Counter({"job.succeeded": 2, "grant.activate": 2})


def test_a_lost_lease_refuses_that_item_only(
    client: TestClient,
    session: Session,
    sessions: sessionmaker[Session],
    *,
    clock: ManualClock,
    w: World,
    headers: Headers,
) -> None:
    directory = Directory()
    request = approved(session, clock, w, resources=[w.finance, w.payroll])
    tick(sessions, clock)
    first, second = _items(session, _claim(client, headers), directory)
    lost = {**first, "lease_token": "not-this-lease"}
    unknown = {**second, "job_id": "00000000-0000-0000-0000-000000000000"}
    seq = event_count(session)

    response = _report(client, headers, [lost, unknown, second])

    assert response.status_code == 200, response.text
    refused, missing, applied = response.json()["items"]
    assert (refused["job_id"], refused["status"], refused["lease_lost"]) == (
        first["job_id"],
        None,
        True,
    )
    assert refused["problem"]["status"] == 409
    assert "lease was lost" in refused["problem"]["detail"]
    assert (missing["lease_lost"], missing["problem"]["status"]) == (False, 404)
    assert (applied["status"], applied["problem"]) == ("succeeded", None)
    assert _job_status(session, first["job_id"]) is JobStatus.LEASED
    assert _job_status(session, second["job_id"]) is JobStatus.SUCCEEDED
    assert sorted(_grant_statuses(session, request)) == [GrantStatus.ACTIVE, GrantStatus.PENDING]
    assert _status(session, request) is RequestStatus.GRANTING
    assert _actions_since(session, seq) == Counter({"job.succeeded": 1, "grant.activate": 1})


@pytest.mark.parametrize(
    "items",
    [
        pytest.param("not a list", id="not-a-list"),
        pytest.param([], id="empty"),
        pytest.param([{"job_id": "x", "lease_token": "y"}], id="no-result"),
        pytest.param(
            [{"job_id": "x", "lease_token": "y", "result": {"outcome": "maybe"}}], id="bad-outcome"
        ),
        pytest.param(
            [{"job_id": "x", "lease_token": "y", "result": {"outcome": "succeeded"}}]
            * (MAX_REPORT_ITEMS + 1),
            id="too-many",
        ),
    ],
)
def test_a_malformed_body_is_a_422_problem_and_changes_nothing(
    client: TestClient,
    session: Session,
    sessions: sessionmaker[Session],
    *,
    clock: ManualClock,
    w: World,
    headers: Headers,
    items: object,
) -> None:
    directory = Directory()
    approved(session, clock, w)
    tick(sessions, clock)
    (spec,) = _claim(client, headers)
    good = _items(session, [spec], directory)
    body = [*items, *good] if isinstance(items, list) and items else items
    seq = event_count(session)

    response = _report(client, headers, body)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == 422
    assert _job_status(session, spec["id"]) is JobStatus.LEASED
    assert event_count(session) == seq


def test_a_request_moves_only_when_its_last_grant_does(
    session: Session, clock: ManualClock, w: World
) -> None:
    resources = [
        make_resource(session, clock, w.integration, name=f"Team {n}", external_id=f"team-{n}")
        for n in range(6)
    ]
    request = approved(session, clock, w, resources=resources)
    begin_granting(session=session, clock=clock, request_id=request.id)
    session.commit()
    grant_ids = session.scalars(select(Grant.id).where(Grant.request_id == request.id)).all()
    assert len(grant_ids) == 6

    for grant_id in grant_ids:
        assert _status(session, request) is RequestStatus.GRANTING
        activate_grant(session=session, clock=clock, grant_id=grant_id)
        session.commit()
    assert _status(session, request) is RequestStatus.ACTIVE

    revoke_request(session=session, clock=clock, actor=actor_for(w.alice), request_id=request.id)
    session.commit()
    for grant_id in grant_ids:
        assert _status(session, request) is RequestStatus.REVOKING
        revoke_grant(session=session, clock=clock, grant_id=grant_id)
        session.commit()
    assert _status(session, request) is RequestStatus.REVOKED
    assert set(_grant_statuses(session, request)) == {GrantStatus.ENDED}
