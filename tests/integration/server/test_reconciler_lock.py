"""One reconciler tick at a time: the advisory lock on PostgreSQL (real commits)."""

from __future__ import annotations

import threading

import pytest

from jitgate.core.clock import ManualClock
from jitgate.core.db import make_engine, make_session_factory
from jitgate.core.migrate import upgrade
from jitgate.server.reconciler.tick import ReconcilerConfig, acquire_tick_lock, run_tick


@pytest.fixture
def pg_sessions(fresh_postgres_url):
    engine = make_engine(fresh_postgres_url)
    upgrade(engine)
    yield make_session_factory(engine)
    engine.dispose()


def test_second_tick_is_skipped_while_one_runs(pg_sessions):
    clock = ManualClock()
    config = ReconcilerConfig(periodic=False)
    holder = pg_sessions()
    try:
        assert acquire_tick_lock(holder)
        other = pg_sessions()
        assert not acquire_tick_lock(other), "the lock is held by the first transaction"
        other.rollback()
        other.close()
        assert run_tick(sessions=pg_sessions, clock=clock, config=config).skipped
    finally:
        holder.commit()  # the xact lock goes with the transaction
        holder.close()
    assert not run_tick(sessions=pg_sessions, clock=clock, config=config).skipped


def test_concurrent_ticks_one_runs(pg_sessions):
    clock = ManualClock()
    config = ReconcilerConfig(periodic=False)
    holder = pg_sessions()
    assert acquire_tick_lock(holder)
    results = []
    threads = [
        threading.Thread(
            target=lambda: results.append(
                run_tick(sessions=pg_sessions, clock=clock, config=config)
            )
        )
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    holder.rollback()
    holder.close()
    assert [r.skipped for r in results] == [True] * 4
