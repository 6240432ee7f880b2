"""Admission control: lanes bound the work in flight; a full lane is a quick 503, never a hang.

The app runs in the test's event loop (``httpx.ASGITransport``) so that a test can hold a lane
itself and send requests at the same time.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy import func, select

from factories import bearer, make_connector, make_identity
from jitgate.server.actor import UserRole
from jitgate.server.app import create_app
from jitgate.server.flows.models import AccessFlow
from jitgate.server.identities.models import ApiToken
from polling import wait_for_async

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from fastapi import FastAPI

    from jitgate.server.web.admission import Lanes

REGISTER = {"instance_key": "vm-1", "version": "0.1.0"}


def _app(settings, clock, sessions, **limits: Any) -> FastAPI:
    tuned = settings.model_copy(update=limits)
    return create_app(tuned, clock=clock, sessions=sessions)


def _drive(app: FastAPI, scenario: Callable[[httpx.AsyncClient, Lanes], Awaitable[None]]) -> None:
    async def main() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://jitgate") as client:
            await scenario(client, app.state.lanes)

    asyncio.run(main())


async def _until(condition: Callable[[], bool]) -> None:
    """Let the app's tasks run until ``condition`` holds (lane counters have no event)."""
    await wait_for_async(condition, timeout_s=10, interval_s=0.001, message="the lane counters")


def _people(session, clock) -> tuple[dict[str, str], dict[str, str]]:
    admin = make_identity(session, clock, "admin@contoso.example", role=UserRole.ADMIN)
    headers = bearer(session, clock, admin)
    _, token = make_connector(session, clock)
    session.commit()
    return headers, {"Authorization": f"Bearer {token}"}


def test_a_full_write_lane_is_a_503_with_retry_after_and_changes_nothing(
    settings, clock, sessions, session
):
    admin, _ = _people(session, clock)
    app = _app(settings, clock, sessions, admission_queue=0, metrics_open=True)

    async def scenario(client: httpx.AsyncClient, lanes: Lanes) -> None:
        async with lanes.write.hold():  # the one SQLite writer is busy
            response = await client.post(
                "/api/v1/flows", json={"name": "nope", "targets": []}, headers=admin
            )
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        assert int(response.headers["retry-after"]) >= 1
        problem = response.json()
        assert problem["type"] == "https://jitgate.dev/problems/server-busy"
        assert "write lane" in problem["detail"]
        assert lanes.write.refused == 1
        scraped = (await client.get("/metrics")).text
        assert 'jitgate_lane_refused_total{lane="write"} 1.0' in scraped
        assert 'jitgate_lane_in_use{lane="write"} 0.0' in scraped

    _drive(app, scenario)
    assert session.scalar(select(func.count()).select_from(AccessFlow)) == 0


def test_reads_and_healthz_are_served_while_the_write_lane_is_full(
    settings, clock, sessions, session
):
    admin, _ = _people(session, clock)
    app = _app(settings, clock, sessions, admission_queue=0)

    async def scenario(client: httpx.AsyncClient, lanes: Lanes) -> None:
        async with lanes.write.hold():
            me = await client.get("/api/v1/me", headers=admin)
            health = await client.get("/healthz")
        assert me.status_code == 200
        assert me.json()["upn"] == "admin@contoso.example"
        assert health.status_code == 200

    _drive(app, scenario)


def test_healthz_answers_with_every_lane_full(settings, clock, sessions, session):
    admin, connector = _people(session, clock)
    app = _app(
        settings,
        clock,
        sessions,
        admission_queue=0,
        read_concurrency=1,
        write_concurrency=1,
        protocol_concurrency=1,
    )

    async def scenario(client: httpx.AsyncClient, lanes: Lanes) -> None:
        async with lanes.read.hold(), lanes.write.hold(), lanes.connector.hold():
            health = await client.get("/healthz")
            me = await client.get("/api/v1/me", headers=admin)
            register = await client.post(
                "/api/connector/v1/instances", json=REGISTER, headers=connector
            )
        assert health.status_code == 200
        assert health.json() == {"status": "ok"}
        assert me.status_code == 503
        assert "read lane" in me.json()["detail"]
        assert register.status_code == 503
        assert "connector lane" in register.json()["detail"]

    _drive(app, scenario)


def test_the_connector_is_served_while_the_public_lanes_are_full(
    settings, clock, sessions, session
):
    _, connector = _people(session, clock)
    app = _app(settings, clock, sessions, admission_queue=0, read_concurrency=1)

    async def scenario(client: httpx.AsyncClient, lanes: Lanes) -> None:
        async with lanes.read.hold():
            register = await client.post(
                "/api/connector/v1/instances", json=REGISTER, headers=connector
            )
        assert register.status_code == 200, register.text

    _drive(app, scenario)


def test_connector_writes_go_before_queued_api_writes(settings, clock, sessions, session):
    admin, connector = _people(session, clock)
    app = _app(settings, clock, sessions, admission_queue=10, admission_wait_s=30)

    async def scenario(client: httpx.AsyncClient, lanes: Lanes) -> None:
        finished: list[str] = []

        async def call(name: str, path: str, body: dict[str, Any], headers: dict[str, str]):
            response = await client.post(path, json=body, headers=headers)
            finished.append(name)
            return response

        await lanes.write.acquire()
        api = asyncio.create_task(call("api", "/api/v1/connectors", {"name": "second"}, admin))
        await _until(lambda: lanes.write.waiting == 1)
        register = asyncio.create_task(
            call("connector", "/api/connector/v1/instances", REGISTER, connector)
        )
        await _until(lambda: lanes.write.waiting == 2)
        lanes.write.release()
        responses = await asyncio.gather(api, register)
        assert [r.status_code for r in responses] == [201, 200]
        assert finished == ["connector", "api"]  # it queued second and went first

    _drive(app, scenario)


def test_a_claim_long_poll_holds_no_lane_while_it_waits(settings, clock, sessions, session):
    _, connector = _people(session, clock)
    app = _app(settings, clock, sessions, admission_queue=0, protocol_concurrency=1)

    async def scenario(client: httpx.AsyncClient, lanes: Lanes) -> None:
        registered = await client.post(
            "/api/connector/v1/instances", json=REGISTER, headers=connector
        )
        assert registered.status_code == 200
        claim = asyncio.create_task(
            client.post(
                "/api/connector/v1/jobs:claim",
                json={"instance_key": "vm-1", "wait_s": 1.0},
                headers=connector,
            )
        )
        # the claim has looked once (the register was the first call served) and now sleeps
        await _until(lambda: not lanes.connector.holders and lanes.connector.served == 2)
        again = await client.post("/api/connector/v1/instances", json=REGISTER, headers=connector)
        assert again.status_code == 200, again.text  # the one connector slot was free
        claimed = await claim
        assert claimed.status_code == 200
        assert claimed.json() == {"jobs": []}

    _drive(app, scenario)


def test_a_read_records_a_tokens_use_at_most_once_a_minute(client, session, clock):
    admin = make_identity(session, clock, "admin@contoso.example", role=UserRole.ADMIN)
    headers = bearer(session, clock, admin)
    session.commit()

    def last_used():
        session.expire_all()
        return session.scalar(select(ApiToken.last_used_at).order_by(ApiToken.created_at))

    assert last_used() is None
    first = clock.now()
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert last_used() == first
    clock.advance(timedelta(seconds=30))
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert last_used() == first  # a read within the minute wrote nothing
    assert client.post("/api/v1/tokens", json={"name": "x"}, headers=headers).status_code == 201
    assert last_used() == first  # nor does a write: the recorded use is fresh enough
    clock.advance(timedelta(seconds=31))
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert last_used() == clock.now()
