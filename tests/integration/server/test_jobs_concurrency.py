"""Claims with real commits: SKIP LOCKED on PostgreSQL, and the long-poll waking on a new job."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import httpx
import pytest

from factories import make_connector
from jitgate.core.clock import ManualClock
from jitgate.core.db import make_engine, make_session_factory
from jitgate.core.migrate import upgrade
from jitgate.core.settings import Settings
from jitgate.protocol.v1 import GrantPayload, RevokePayload
from jitgate.server.app import create_app
from jitgate.server.jobs.operations import claim_jobs, enqueue_job
from jitgate.server.jobs.registry import HandlerRegistry

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from sqlalchemy.orm import Session, sessionmaker

PAYLOAD = {
    "principal_id": "22222222-2222-2222-2222-222222222222",
    "resource_type": "entra-group",
    "resource_external_id": "11111111-1111-1111-1111-111111111111",
    "permission": "member",
}


@pytest.fixture
def pg_sessions(fresh_postgres_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(fresh_postgres_url)
    upgrade(engine)
    yield make_session_factory(engine)
    engine.dispose()


def _enqueue(sessions: sessionmaker[Session], clock: ManualClock, count: int) -> str:
    with sessions() as session:
        connector, _ = make_connector(session, clock)
        for _ in range(count):
            enqueue_job(
                session=session,
                clock=clock,
                connector_id=connector.id,
                payload=GrantPayload.model_validate(PAYLOAD),
            )
        session.commit()
        return connector.id


def test_a_claim_in_flight_is_skipped_not_waited_for(pg_sessions: sessionmaker[Session]) -> None:
    clock = ManualClock()
    connector_id = _enqueue(pg_sessions, clock, 10)
    holding = threading.Event()
    release = threading.Event()

    def claim(key: str, hold: bool) -> set[str]:
        with pg_sessions() as session:
            jobs = claim_jobs(
                session=session,
                clock=clock,
                handlers=HandlerRegistry(),
                connector_id=connector_id,
                instance_key=key,
                max_jobs=4,
            )
            ids = {j.id for j in jobs}
            if hold:
                holding.set()
                release.wait(10)
            session.commit()
            return ids

    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(claim, "a", hold=True)
        assert holding.wait(10)
        second = pool.submit(claim, "b", hold=False)
        b_ids = second.result(timeout=10)  # would block without SKIP LOCKED
        release.set()
        a_ids = first.result(timeout=10)
    assert len(a_ids) == len(b_ids) == 4
    assert not a_ids & b_ids


def test_many_claimers_never_share_a_job(pg_sessions: sessionmaker[Session]) -> None:
    clock = ManualClock()
    connector_id = _enqueue(pg_sessions, clock, 60)

    def drain(key: str) -> list[str]:
        got: list[str] = []
        while True:
            with pg_sessions() as session:
                jobs = claim_jobs(
                    session=session,
                    clock=clock,
                    handlers=HandlerRegistry(),
                    connector_id=connector_id,
                    instance_key=key,
                    max_jobs=3,
                )
                got += [j.id for j in jobs]
                session.commit()
            if not jobs:
                return got

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(drain, [f"i{n}" for n in range(6)]))
    claimed = [job_id for ids in results for job_id in ids]
    assert len(claimed) == 60
    assert len(set(claimed)) == 60


@pytest.fixture
def file_sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(f"sqlite:///{tmp_path}/longpoll.db")
    upgrade(engine)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.mark.anyio
async def test_long_poll_returns_when_a_job_is_enqueued(
    file_sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    clock = ManualClock()
    with file_sessions() as session:
        connector, token = make_connector(session, clock)
        connector_id = connector.id
    app = create_app(
        Settings(data_dir=tmp_path, log_json=False), clock=clock, sessions=file_sessions
    )
    app.state.jobs.poll_interval_s = 30.0  # only the wake-up can end the wait early
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://server") as client:
        claim = asyncio.create_task(
            client.post(
                "/api/connector/v1/jobs:claim",
                json={"instance_key": "vm-1", "wait_s": 25},
                headers={"Authorization": f"Bearer {token}"},
                timeout=60,
            )
        )
        await asyncio.sleep(0.2)
        assert not claim.done()

        def enqueue() -> None:
            with file_sessions() as session:
                enqueue_job(
                    session=session,
                    clock=clock,
                    connector_id=connector_id,
                    payload=RevokePayload.model_validate(PAYLOAD),
                )
                session.commit()

        await asyncio.to_thread(enqueue)
        response = await asyncio.wait_for(claim, timeout=10)
    jobs = response.json()["jobs"]
    assert [j["kind"] for j in jobs] == ["revoke"]
