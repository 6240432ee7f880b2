"""The identity tenant-scope migration: backfill on upgrade, a working downgrade, both databases."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from alembic import command
from sqlalchemy import text

from jitgate.core.db import make_engine
from jitgate.core.migrate import alembic_config, upgrade

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from sqlalchemy.engine import Engine

BEFORE = "c7d1e5a3f2b8"
NOW = "2026-01-05 09:00:00+00:00"
IDENTITY = (
    "INSERT INTO identity (id, tenant_id, object_id, upn, display_name, user_type, "
    "account_enabled, groups, attributes, role, source, created_at, updated_at) VALUES "
    "(:id, :tenant, :oid, :upn, 'X', 'Member', true, '[]', '{}', 'user', :source, :at, :at)"
)


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    url = (
        request.getfixturevalue("fresh_postgres_url")
        if request.param == "postgresql"
        else f"sqlite:///{tmp_path}/migrate.db"
    )
    engine = make_engine(url)
    yield engine
    engine.dispose()


def _downgrade(engine: Engine, revision: str) -> None:
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def _seed_before(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO connector (id, name, token_hash, token_prefix, created_at) VALUES "
                "('c-1', 'contoso', 'h1', 'p1', :at), ('c-2', 'fabrikam', 'h2', 'p2', :at)"
            ),
            {"at": NOW},
        )
        conn.execute(
            text(
                "INSERT INTO integration (id, name, type, connector_id, resource_types, status, "
                "owners, grant_mode, membership_mode, created_at, updated_at) VALUES "
                "('i-1', 'Contoso', 'entra-id', 'c-1', '[]', 'active', '[]', 'direct', "
                "'additive', '2026-01-01 00:00:00+00:00', :at), "
                "('i-2', 'Fabrikam', 'entra-id', 'c-2', '[]', 'active', '[]', 'direct', "
                "'additive', '2026-01-02 00:00:00+00:00', :at)"
            ),
            {"at": NOW},
        )
        insert = IDENTITY.replace(":tenant, ", "")
        insert = insert.replace("tenant_id, ", "")
        for ident, oid, source in (("p-1", "u-1", "entra"), ("p-2", None, "local")):
            conn.execute(
                text(insert),
                {"id": ident, "oid": oid, "upn": f"{ident}@x", "source": source, "at": NOW},
            )
        conn.execute(
            text(
                "INSERT INTO api_token (id, identity_id, name, token_hash, prefix, created_at) "
                "VALUES ('t-1', 'p-1', 'cli', 'th', 'jg_', :at)"
            ),
            {"at": NOW},
        )


def _kept(engine: Engine) -> tuple[list[object], list[object]]:
    """What rebuilding tables must not lose: API tokens and integrations' connectors."""
    with engine.begin() as conn:
        tokens = list(conn.scalars(text("SELECT identity_id FROM api_token")))
        connectors = list(conn.scalars(text("SELECT connector_id FROM integration ORDER BY id")))
    return tokens, connectors


def test_upgrade_scopes_discovered_identities_and_downgrade_restores_unique_oids(
    fresh_engine: Engine,
) -> None:
    upgrade(fresh_engine, BEFORE)
    _seed_before(fresh_engine)
    upgrade(fresh_engine)
    assert _kept(fresh_engine) == (["p-1"], ["c-1", "c-2"])
    with fresh_engine.begin() as conn:
        rows = dict(conn.execute(text("SELECT id, tenant_id FROM identity")).all())
        assert rows == {"p-1": "connector:c-1", "p-2": None}  # the oldest integration's connector
        # a second tenant's identity with the same object id is now allowed
        conn.execute(
            text(IDENTITY),
            {"id": "p-3", "tenant": "t-b", "oid": "u-1", "upn": "p-3@x", "source": "entra"}
            | {"at": "2026-01-06 09:00:00+00:00"},
        )
    _downgrade(fresh_engine, BEFORE)
    with fresh_engine.begin() as conn:
        oids = dict(conn.execute(text("SELECT id, object_id FROM identity")).all())
    assert oids == {"p-1": "u-1", "p-2": None, "p-3": None}  # the oldest keeps the object id
    assert _kept(fresh_engine) == (["p-1"], ["c-1", "c-2"])
    upgrade(fresh_engine)
