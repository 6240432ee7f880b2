"""Database plumbing: the declarative base, column types, engines and sessions.

Invariants:
- every datetime column stores aware UTC (``UTCDateTime`` normalises on bind and on load);
- constraint names come from one naming convention, so SQLite and PostgreSQL match;
- SQLite runs with foreign keys on, WAL, and ``BEGIN IMMEDIATE`` so writers queue instead of
  failing half-way; PostgreSQL uses ``READ COMMITTED`` with explicit row locks, taken in one
  canonical order (``jitgate.server.requests.granting``; the audit head last, at commit);
- a transaction that lost a lock race (a lock wait timed out, a deadlock, a serialisation
  failure) is *busy*, not broken (``is_busy``): the API answers 503 with Retry-After, the
  reconciler tick runs again. So is an exhausted connection pool.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import time
import traceback
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import JSON, DateTime, MetaData, String, create_engine, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from jitgate.core.files import prepare_sqlite_file

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Iterator

    from sqlalchemy.engine import Connection, Dialect, Engine

log = logging.getLogger(__name__)

#: Connections a pool keeps when the caller does not say (the server sizes its own).
DEFAULT_POOL_SIZE = 10
#: Connections a pool may open beyond ``pool_size`` for a burst.
POOL_OVERFLOW = 4
#: How long a checkout waits for a free connection before it is busy (a 503).
POOL_TIMEOUT_S = 10.0

#: Transactions begun while this is true only read: on SQLite they start with a deferred ``BEGIN``
#: (a WAL snapshot that never takes the write lock) instead of ``BEGIN IMMEDIATE``. The server sets
#: it for GET/HEAD requests; code that writes inside such a request uses ``writing()``.
READ_ONLY: ContextVar[bool] = ContextVar("jitgate_db_read_only", default=False)


@contextlib.contextmanager
def read_only(*, flag: bool = True) -> Iterator[None]:
    """Mark the transactions begun inside as read-only (``False``: as writing)."""
    token = READ_ONLY.set(flag)
    try:
        yield
    finally:
        READ_ONLY.reset(token)


def writing() -> contextlib.AbstractContextManager[None]:
    """Transactions begun inside may write (they take SQLite's write lock up front)."""
    return read_only(flag=False)


#: Driver messages of a lock wait that timed out (SQLite's busy timeout, PostgreSQL's
#: ``lock_timeout``/``statement_timeout``).
LOCK_TIMEOUTS = ("database is locked", "database table is locked", "lock timeout")
#: SQLSTATEs of a transaction that lost a race and may simply be run again.
BUSY_SQLSTATES = {
    "55P03",  # lock_not_available
    "57014",  # query_canceled (statement_timeout)
    "40P01",  # deadlock_detected
    "40001",  # serialization_failure
}


def is_busy(exc: BaseException) -> bool:
    """Tell whether ``exc`` is a lost lock race (retrying the transaction later will work).

    An exhausted connection pool (every connection in use past the pool's timeout) is busy too:
    it is load, not a fault, and the same request succeeds once the crowd thins.
    """
    if isinstance(exc, PoolTimeout):
        return True
    if not isinstance(exc, OperationalError):
        return False
    sqlstate = getattr(exc.orig, "sqlstate", None)
    return sqlstate in BUSY_SQLSTATES or any(m in str(exc.orig).lower() for m in LOCK_TIMEOUTS)


NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every jitgate table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend; naive values are refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse naive datetimes and store UTC."""
        del dialect
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: jitgate stores aware UTC only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Return aware UTC (SQLite hands back naive values)."""
        del dialect
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


E = TypeVar("E", bound=enum.StrEnum)


class StrEnumType(TypeDecorator[E]):
    """A ``StrEnum`` stored as its value in a VARCHAR (no native enum to migrate)."""

    impl = String(32)
    cache_ok = True

    def __init__(self, enum_cls: type[E]) -> None:
        super().__init__()
        self.enum_cls = enum_cls

    def process_bind_param(self, value: E | str | None, dialect: Dialect) -> str | None:
        """Store the enum's value, checking that it is a member."""
        del dialect
        if value is None:
            return None
        return self.enum_cls(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> E | None:
        """Load the enum member."""
        del dialect
        return None if value is None else self.enum_cls(value)


JSONType = JSON().with_variant(JSONB(), "postgresql")


def make_engine(
    url: str,
    *,
    echo: bool = False,
    pool_size: int = DEFAULT_POOL_SIZE,
    slow_tx_s: float | None = None,
) -> Engine:
    """Create an engine with jitgate's per-backend settings.

    ``pool_size`` should cover every session that may be open at once (the server sizes it from
    its lanes: ``Settings.pool_size``); a checkout that still finds the pool empty waits at most
    ``POOL_TIMEOUT_S`` and is then *busy* (503), never a 30 s hang. ``slow_tx_s``
    (``Settings.db_slow_tx_s``) logs every transaction open longer than that many seconds, with
    where it began: on SQLite every writing transaction holds the one write lock, so a long one
    stalls everyone.
    """
    engine: Engine
    pool = {"pool_size": pool_size, "max_overflow": POOL_OVERFLOW, "pool_timeout": POOL_TIMEOUT_S}
    if url.startswith("sqlite"):
        prepare_sqlite_file(url)  # 0600 file in a 0700 directory, before SQLite creates it
        in_memory = url.rstrip("/") in {"sqlite:", "sqlite:/", "sqlite://"} or ":memory:" in url
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": 30},
            **({} if in_memory else pool),
        )
        _configure_sqlite(engine)
    else:
        engine = create_engine(url, echo=echo, pool_pre_ping=True, **pool)
    if slow_tx_s is not None:
        _log_slow_transactions(engine, slow_tx_s)
    return engine


def _log_slow_transactions(engine: Engine, threshold_s: float) -> None:
    """Diagnostics: warn about each transaction held open longer than ``threshold_s``."""

    @event.listens_for(engine, "begin")
    def _began(connection: Connection) -> None:
        connection.info["tx_began"] = time.monotonic()
        connection.info["tx_where"] = traceback.format_stack(limit=14)[:-1]

    def _ended(connection: Connection) -> None:
        began = connection.info.pop("tx_began", None)
        where = connection.info.pop("tx_where", [])
        if began is not None and time.monotonic() - began > threshold_s:
            held = round(time.monotonic() - began, 3)
            log.warning("slow transaction %.3f s, began at:\n%s", held, "".join(where))

    event.listen(engine, "commit", _ended)
    event.listen(engine, "rollback", _ended)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        # Let SQLAlchemy, not the driver, decide where transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # Take the write lock up front: a transaction that reads then writes never deadlocks.
        # A read-only one reads a WAL snapshot and never blocks (nor waits for) the writers.
        connection.exec_driver_sql("BEGIN" if READ_ONLY.get() else "BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Return the session factory used at the edges (requests, CLI commands, ticks)."""
    return sessionmaker(engine, expire_on_commit=False, autoflush=True)


def is_postgres(session: Session) -> bool:
    """Tell whether ``session`` talks to PostgreSQL."""
    return session.get_bind().dialect.name == "postgresql"
