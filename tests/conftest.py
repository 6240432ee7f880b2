"""Shared fixtures: every database test runs on SQLite and on PostgreSQL, inside a rolled-back
transaction (SQLAlchemy's "join a session into an external transaction" recipe).

PostgreSQL comes from ``JITGATE_TEST_POSTGRES_URL`` (default: the local trust-auth server). Each
run creates its own throw-away database there. Where the server is missing the PostgreSQL half
skips with the reason, except under ``CI=true``, where it fails.
"""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from typing import TYPE_CHECKING

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from jitgate.core.clock import ManualClock
from jitgate.core.db import make_engine
from jitgate.core.migrate import upgrade
from jitgate.core.settings import Settings
from jitgate.server.app import create_app

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlalchemy.engine import Connection, Engine

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BACKENDS = ["sqlite", "postgresql"]


def _pg_base_url() -> str:
    return os.environ.get("JITGATE_TEST_POSTGRES_URL", DEFAULT_PG)


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[psycopg.Connection]:
    """An autocommit admin connection to the PostgreSQL server (skip or fail if missing)."""
    base = _pg_base_url()
    try:
        admin = psycopg.connect(_libpq(base), autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as err:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI but unreachable at {base}: {err}")
        pytest.skip(f"PostgreSQL not reachable at {base} (set JITGATE_TEST_POSTGRES_URL): {err}")
    yield admin
    admin.close()


@contextmanager
def _database(admin: psycopg.Connection) -> Iterator[str]:
    name = f"jitgate_test_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(_pg_base_url()).set(database=name).render_as_string(hide_password=False)
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_url(postgres_server: psycopg.Connection) -> Iterator[str]:
    """The run's shared PostgreSQL database (the ``engine`` fixture migrates it)."""
    with _database(postgres_server) as url:
        yield url


@pytest.fixture
def fresh_postgres_url(postgres_server: psycopg.Connection) -> Iterator[str]:
    """A PostgreSQL database of the test's own, for tests that commit for real."""
    with _database(postgres_server) as url:
        yield url


@pytest.fixture(params=BACKENDS)
def committed_url(request: pytest.FixtureRequest, tmp_path: os.PathLike[str]) -> str:
    """A database of the test's own that commits for real, not migrated: a SQLite file, or a
    fresh PostgreSQL database (dropped after the test)."""
    if request.param == "postgresql":
        return str(request.getfixturevalue("fresh_postgres_url"))
    return f"sqlite:///{tmp_path}/committed.db"


def _engine_for(backend: str, request: pytest.FixtureRequest, tmp_dir: str) -> Engine:
    if backend == "postgresql":
        return make_engine(request.getfixturevalue("postgres_url"))
    return make_engine(f"sqlite:///{tmp_dir}/jitgate.db")


@pytest.fixture(scope="session", params=BACKENDS)
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """A migrated database engine, once per backend per run."""
    eng = _engine_for(request.param, request, str(tmp_path_factory.mktemp(request.param)))
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    """A connection inside an outer transaction that is rolled back after the test."""
    conn = engine.connect()
    outer = conn.begin()
    try:
        yield conn
    finally:
        if outer.is_active:
            outer.rollback()
        conn.close()


@pytest.fixture
def sessions(connection: Connection) -> sessionmaker[Session]:
    """Sessions joined to the test's transaction: their commits become savepoints."""
    return sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


@pytest.fixture
def session(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A session for arranging and inspecting data."""
    with sessions() as sess:
        yield sess


@pytest.fixture
def clock() -> ManualClock:
    """A clock the test moves by hand (Monday 2026-01-05 09:00 UTC)."""
    return ManualClock()


@pytest.fixture
def settings(tmp_path: os.PathLike[str]) -> Settings:
    """Settings for an app under test."""
    return Settings(data_dir=tmp_path, database_url="sqlite://", log_json=False)


@pytest.fixture
def client(
    settings: Settings, clock: ManualClock, sessions: sessionmaker[Session]
) -> Iterator[TestClient]:
    """The API over the test's transaction, with the test's clock."""
    app = create_app(settings, clock=clock, sessions=sessions)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
