"""Migrations go down and up again, on both databases, to the schema a fresh ``upgrade head`` makes.

Each test has a database of its own (a SQLite file or a fresh PostgreSQL database): the schema of
its fresh ``upgrade head`` is the reference, compared table by table through SQLAlchemy's
inspector (columns, primary key, indexes, unique constraints, foreign keys).

- With data: ``downgrade -1`` then ``upgrade head`` keeps the rows and gives the same schema.
- Empty: ``downgrade base`` leaves no table but Alembic's own (and, on PostgreSQL, no enum type),
  and ``upgrade head`` builds the same schema again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import func, inspect, select, text

from factories import (
    actor_for,
    make_flow,
    make_identity,
    make_integration,
    make_request,
    make_resource,
)
from jitgate.core.clock import ManualClock
from jitgate.core.db import make_engine, make_session_factory
from jitgate.core.migrate import downgrade, pending_revisions, upgrade
from jitgate.server.audit.models import AuditEvent
from jitgate.server.requests.lifecycle import revoke_request
from jitgate.server.requests.models import AccessRequest

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlalchemy.engine import Engine

Schema = dict[str, dict[str, Any]]


@pytest.fixture
def fresh_engine(committed_url: str) -> Iterator[Engine]:
    """An engine on an empty database of the test's own."""
    engine = make_engine(committed_url)
    yield engine
    engine.dispose()


def _sorted(items: list[dict[str, Any]], *keys: str) -> list[tuple[Any, ...]]:
    return sorted(tuple(_hashable(item.get(k)) for k in keys) for item in items)


def _hashable(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(value)
    if isinstance(value, dict):
        return tuple(sorted(value.items()))
    return value


def schema(engine: Engine) -> Schema:
    """Every table's columns, primary key, indexes, unique constraints and foreign keys."""
    inspector = inspect(engine)
    out: Schema = {}
    for table in sorted(inspector.get_table_names()):
        columns = [
            {**c, "type": str(c["type"]), "default": c.get("default")}
            for c in inspector.get_columns(table)
        ]
        out[table] = {
            "columns": _sorted(columns, "name", "type", "nullable", "default", "autoincrement"),
            "primary_key": _hashable(inspector.get_pk_constraint(table)["constrained_columns"]),
            "indexes": _sorted(inspector.get_indexes(table), "name", "column_names", "unique"),
            "unique": _sorted(inspector.get_unique_constraints(table), "name", "column_names"),
            "foreign_keys": _sorted(
                inspector.get_foreign_keys(table),
                "name",
                "constrained_columns",
                "referred_table",
                "referred_columns",
                "options",
            ),
        }
    return out


def _enum_types(engine: Engine) -> list[str]:
    """PostgreSQL's enum type names (none on SQLite)."""
    if engine.dialect.name != "postgresql":
        return []
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT typname FROM pg_type WHERE typtype = 'e'"))
        return sorted(row[0] for row in rows)


def _some_requests(engine: Engine) -> dict[str, tuple[str, str | None]]:
    """Two auto-approved requests, one of them revoked (with grants, units and audit events)."""
    sessions = make_session_factory(engine)
    clock = ManualClock()
    with sessions() as s:
        boss = make_identity(s, clock, "boss@contoso.example")
        alice = make_identity(s, clock, "alice@contoso.example", manager=boss.id)
        integration = make_integration(s, clock, "Contoso")
        make_flow(s, clock, integration)
        groups = [make_resource(s, clock, integration, name=f"Group {n}") for n in range(2)]
        make_request(s, clock, alice, [groups[0]])
        revoked = make_request(s, clock, alice, [groups[1]])
        revoke_request(session=s, clock=clock, actor=actor_for(alice), request_id=revoked.id)
        s.commit()
    return _requests(engine)


def _requests(engine: Engine) -> dict[str, tuple[str, str | None]]:
    with make_session_factory(engine)() as s:
        rows = s.execute(select(AccessRequest.id, AccessRequest.status, AccessRequest.end_reason))
        return {row.id: (str(row.status), row.end_reason and str(row.end_reason)) for row in rows}


def _audit_count(engine: Engine) -> int:
    with make_session_factory(engine)() as s:
        return s.scalar(select(func.count()).select_from(AuditEvent)) or 0


def test_downgrade_one_then_upgrade_keeps_the_data_and_the_schema(fresh_engine: Engine) -> None:
    upgrade(fresh_engine)
    reference = schema(fresh_engine)
    requests = _some_requests(fresh_engine)
    audit = _audit_count(fresh_engine)
    assert sorted(requests.values()) == [("approved", None), ("revoking", "revoked")]
    downgrade(fresh_engine, "-1")
    assert pending_revisions(fresh_engine)
    upgrade(fresh_engine)
    assert not pending_revisions(fresh_engine)
    assert schema(fresh_engine) == reference
    assert _requests(fresh_engine) == requests
    assert _audit_count(fresh_engine) == audit


def test_downgrade_base_then_upgrade_builds_the_same_schema(fresh_engine: Engine) -> None:
    upgrade(fresh_engine)
    reference = schema(fresh_engine)
    assert {"access_request", "grant", "job", "audit_event"} <= set(reference)
    enums = _enum_types(fresh_engine)
    downgrade(fresh_engine, "base")
    assert list(schema(fresh_engine)) == ["alembic_version"]
    assert _enum_types(fresh_engine) == []
    upgrade(fresh_engine)
    assert schema(fresh_engine) == reference
    assert _enum_types(fresh_engine) == enums
