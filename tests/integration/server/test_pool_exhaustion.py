"""An exhausted connection pool is load, not a fault: a 503 problem with Retry-After."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from factories import bearer, make_identity
from jitgate.core.clock import ManualClock
from jitgate.core.db import make_session_factory
from jitgate.core.migrate import upgrade
from jitgate.core.settings import Settings
from jitgate.server.app import create_app

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from sqlalchemy.engine import Engine


@pytest.fixture(params=["sqlite", "postgresql"])
def one_connection_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated database behind a pool of exactly one connection that waits 0.1 s for it."""
    if request.param == "postgresql":
        url = request.getfixturevalue("fresh_postgres_url")
    else:
        url = f"sqlite:///{tmp_path}/pool.db"
    engine = create_engine(url, pool_size=1, max_overflow=0, pool_timeout=0.1)
    upgrade(engine)
    yield engine
    engine.dispose()


def test_an_exhausted_pool_is_a_503_with_retry_after(
    one_connection_engine: Engine, tmp_path: Path
) -> None:
    clock = ManualClock()
    with Session(one_connection_engine) as session:
        person = make_identity(session, clock, "alice@contoso.example")
        headers = bearer(session, clock, person)
    app = create_app(
        Settings(data_dir=tmp_path, database_url="sqlite://", log_json=False),
        clock=clock,
        sessions=make_session_factory(one_connection_engine),
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/api/v1/me", headers=headers).status_code == 200
        held = one_connection_engine.connect()  # the pool's only connection, taken by the crowd
        try:
            busy = client.get("/api/v1/me", headers=headers)
        finally:
            held.close()
        assert busy.status_code == 503
        assert busy.headers["content-type"].startswith("application/problem+json")
        assert busy.headers["retry-after"] == "1"
        assert busy.json()["type"].endswith("/database-busy")
        assert client.get("/api/v1/me", headers=headers).status_code == 200


def test_an_exhausted_pool_while_a_token_is_checked_before_the_body_is_a_503(
    one_connection_engine: Engine, tmp_path: Path
) -> None:
    clock = ManualClock()
    with Session(one_connection_engine) as session:
        person = make_identity(session, clock, "alice@contoso.example")
        headers = bearer(session, clock, person)
    app = create_app(
        Settings(data_dir=tmp_path, database_url="sqlite://", log_json=False),
        clock=clock,
        sessions=make_session_factory(one_connection_engine),
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        held = one_connection_engine.connect()
        try:
            busy = client.post("/api/v1/tokens", json={"name": "laptop"}, headers=headers)
        finally:
            held.close()
        assert busy.status_code == 503, busy.text
        assert busy.headers["content-type"].startswith("application/problem+json")
        assert busy.headers["retry-after"] == "1"
        assert busy.headers["connection"] == "close"
        assert busy.json()["type"].endswith("/database-busy")
        created = client.post("/api/v1/tokens", json={"name": "laptop"}, headers=headers)
        assert created.status_code == 201, created.text
