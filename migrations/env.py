"""Alembic environment: runs on a connection handed over by jitgate, or on the configured URL."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from alembic import context

from jitgate.core.db import StrEnumType, UTCDateTime, make_engine
from jitgate.core.settings import Settings
from jitgate.server.models import Base

if TYPE_CHECKING:
    from alembic.autogenerate.api import AutogenContext
    from sqlalchemy import Connection

config = context.config
target_metadata = Base.metadata


def _render_item(kind: str, obj: object, autogen_context: AutogenContext) -> str | Literal[False]:
    """Render jitgate's column types as the plain SQLAlchemy types they store."""
    del autogen_context
    if kind == "type" and isinstance(obj, StrEnumType):
        return "sa.String(length=32)"
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_item=_render_item,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run on the connection jitgate passed in, else on the configured database URL."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or Settings().resolved_database_url()
    engine = make_engine(url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
