"""Revision a5f3c8e1d260: ``access_request.end_reason`` becomes the end reason enum.

Each test runs on a database of its own, migrated to the revision before, with requests (and
the grants and units that reference them) in it: the upgrade keeps every value and the rows
load as ``EndReason``; the downgrade gives TEXT back with the same values; a value that is not
an end reason stops the upgrade before anything changes.
"""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect, select, text

from factories import make_flow, make_identity, make_integration, make_request, make_resource
from jitgate.core.clock import ManualClock
from jitgate.core.db import make_engine, make_session_factory
from jitgate.core.migrate import alembic_config, upgrade
from jitgate.server.grants.models import Grant
from jitgate.server.grants.states import EndReason
from jitgate.server.requests.models import AccessRequest

BEFORE = "d4a9f2c6b1e7"
REVISION = "a5f3c8e1d260"
VALUES = ["expired", "revoked", "cancelled", "failed", None]


@pytest.fixture(params=["sqlite", "postgresql"])
def old_engine(request, tmp_path):
    url = (
        request.getfixturevalue("fresh_postgres_url")
        if request.param == "postgresql"
        else f"sqlite:///{tmp_path}/end_reason.db"
    )
    engine = make_engine(url)
    upgrade(engine, BEFORE)
    yield engine
    engine.dispose()


def _requests(engine, values):
    """One auto-approved request (with its grant) per value, ``end_reason`` written as text."""
    sessions = make_session_factory(engine)
    clock = ManualClock()
    with sessions() as s:
        alice = make_identity(s, clock, "alice@contoso.example")
        integration = make_integration(s, clock, "Contoso")
        make_flow(s, clock, integration)
        groups = [
            make_resource(s, clock, integration, name=f"Group {n}") for n in range(len(values))
        ]
        ids = [make_request(s, clock, alice, [group]).id for group in groups]
        assert s.scalar(select(Grant.id).where(Grant.request_id == ids[0])) is not None
    with engine.begin() as connection:
        for request_id, value in zip(ids, values, strict=True):
            connection.execute(
                text("UPDATE access_request SET end_reason = :value WHERE id = :id"),
                {"value": value, "id": request_id},
            )
    return ids


def _stored(engine, ids):
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT id, end_reason FROM access_request"))
        by_id: dict[str, str | None] = {row[0]: row[1] for row in rows}
    return [by_id[i] for i in ids]


def _column_type(engine):
    column = next(
        c for c in inspect(engine).get_columns("access_request") if c["name"] == "end_reason"
    )
    return type(column["type"]).__name__.upper(), getattr(column["type"], "length", None)


def _revision(engine):
    with engine.connect() as connection:
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()


def test_the_upgrade_keeps_every_value_and_rows_load_as_the_enum(old_engine):
    ids = _requests(old_engine, VALUES)
    upgrade(old_engine, REVISION)
    assert _column_type(old_engine) == ("VARCHAR", 32)
    assert _stored(old_engine, ids) == VALUES
    with make_session_factory(old_engine)() as s:
        loaded = [s.get(AccessRequest, i).end_reason for i in ids]
    assert loaded == [EndReason(v) if v else None for v in VALUES]
    assert all(v is None or isinstance(v, EndReason) for v in loaded)


def test_the_downgrade_gives_text_back_with_the_same_values(old_engine):
    ids = _requests(old_engine, VALUES)
    upgrade(old_engine, REVISION)
    config = alembic_config(old_engine)
    with old_engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, BEFORE)
    assert _revision(old_engine) == BEFORE
    assert _column_type(old_engine)[0] == "TEXT"
    assert _stored(old_engine, ids) == VALUES


def test_a_value_that_is_not_an_end_reason_stops_the_upgrade_and_changes_nothing(old_engine):
    ids = _requests(old_engine, ["revoked", "hand edited"])
    with pytest.raises(
        RuntimeError, match=r"1 value\(s\) that are not an end reason.*'hand edited'"
    ):
        upgrade(old_engine, REVISION)
    assert _revision(old_engine) == BEFORE
    assert _column_type(old_engine)[0] == "TEXT"
    assert _stored(old_engine, ids) == ["revoked", "hand edited"]
