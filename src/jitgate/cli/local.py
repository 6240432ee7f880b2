"""Commands that work on the database directly (server-side administration)."""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING

from jitgate.cli.errors import CliError
from jitgate.core.db import make_engine, make_session_factory
from jitgate.core.files import ensure_private_dir
from jitgate.core.migrate import pending_revisions
from jitgate.core.settings import Settings
from jitgate.server.audit.keys import AuditKeyError, bind_key_ring, load_ring

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session


def load_settings() -> Settings:
    """Build settings from the environment (``JITGATE_*``)."""
    return Settings()


def open_engine(settings: Settings, *, require_current: bool = True) -> Engine:
    """Create the engine; refuse to work on a database that needs migrating."""
    if settings.database_url is None:
        ensure_private_dir(settings.data_dir)
    engine = make_engine(settings.resolved_database_url(), slow_tx_s=settings.db_slow_tx_s)
    if require_current and pending_revisions(engine):
        engine.dispose()
        raise CliError("the database schema is out of date: run `jitgate db upgrade` first")
    try:
        bind_key_ring(engine, load_ring(settings))
    except AuditKeyError as err:
        engine.dispose()
        raise CliError(err.detail) from err
    return engine


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """A session committed on success and rolled back on error."""
    session = make_session_factory(engine)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
