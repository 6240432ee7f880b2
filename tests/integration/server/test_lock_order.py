"""The reconciler takes its rows up front, in the canonical lock order (PostgreSQL, real commits).

``apply`` locks every request, then every membership, its actions will change before the first
action runs; taken action by action they would interleave with a result handler's (membership,
then request) and deadlock.
"""

from __future__ import annotations

import psycopg.errors
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from engine_world import approved, engine_world, tick
from jitgate.core.clock import ManualClock
from jitgate.core.db import make_engine, make_session_factory
from jitgate.core.migrate import upgrade
from jitgate.server.grants.keys import MembershipKey
from jitgate.server.grants.models import Grant, Membership
from jitgate.server.reconciler.apply import lock_rows
from jitgate.server.reconciler.plan import Action, ActionKind


@pytest.fixture
def pg_sessions(fresh_postgres_url):
    engine = make_engine(fresh_postgres_url)
    upgrade(engine)
    yield make_session_factory(engine)
    engine.dispose()


def _locked(sessions, table: str, row_id: str) -> bool:
    with sessions() as other:
        try:
            other.execute(
                text(f"SELECT 1 FROM {table} WHERE id = :id FOR UPDATE NOWAIT"),  # noqa: S608
                {"id": row_id},
            )
        except OperationalError as err:
            return isinstance(err.orig, psycopg.errors.LockNotAvailable)
        finally:
            other.rollback()
    return False


def test_apply_locks_the_requests_and_memberships_of_its_actions_first(pg_sessions):
    clock = ManualClock()
    with pg_sessions() as s:
        w = engine_world(s, clock)
        request = approved(s, clock, w)
    tick(pg_sessions, clock)  # queues the grant job: the key has its membership row now
    with pg_sessions() as s:
        grant = s.scalars(select(Grant).where(Grant.request_id == request.id)).one()
        row = s.scalars(select(Membership)).one()
    key = MembershipKey(
        row.integration_id, row.resource_id, row.permission, row.scope, row.principal_id
    )
    actions = [
        Action(ActionKind.ACTIVATE, key, grant_ids=(grant.id,)),
        Action(ActionKind.REVOKE, key),
    ]
    holder = pg_sessions()
    try:
        assert not _locked(pg_sessions, "access_request", request.id)
        lock_rows(holder, actions)
        assert _locked(pg_sessions, "access_request", request.id)
        assert _locked(pg_sessions, "membership", row.id)
    finally:
        holder.rollback()
        holder.close()
    assert not _locked(pg_sessions, "membership", row.id)
