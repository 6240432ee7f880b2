"""A reconciler tick that loses a lock race is retried soon, logged as a warning (no traceback)."""

from __future__ import annotations

import asyncio
import logging

import psycopg.errors
import pytest
from sqlalchemy.exc import OperationalError

from jitgate.core.clock import ManualClock
from jitgate.server.reconciler import loop as loop_module
from jitgate.server.reconciler.loop import BUSY_RETRY_S, ReconcilerLoop
from jitgate.server.reconciler.tick import ReconcilerConfig


def _loop() -> ReconcilerLoop:
    return ReconcilerLoop(
        sessions=None,  # type: ignore[arg-type]  # run_tick is replaced: no database
        clock=ManualClock(),
        config=ReconcilerConfig(),
        interval_s=30.0,
    )


def _raise(error: BaseException):
    def run_tick(**_kwargs: object) -> None:
        raise error

    return run_tick


def test_a_deadlocked_full_tick_is_a_warning_and_runs_again_soon(monkeypatch, caplog):
    deadlock = OperationalError("UPDATE", {}, psycopg.errors.DeadlockDetected("deadlock detected"))
    monkeypatch.setattr(loop_module, "run_tick", _raise(deadlock))
    with caplog.at_level(logging.WARNING, logger=loop_module.__name__):
        wait = asyncio.run(_loop()._step(full=True))
    assert wait == BUSY_RETRY_S
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert record.exc_info is None
    assert "deadlock detected" in record.error  # type: ignore[attr-defined]


def test_a_deadlocked_focused_tick_is_kicked_again(monkeypatch, caplog):
    failure = OperationalError("UPDATE", {}, psycopg.errors.SerializationFailure("serialize"))
    monkeypatch.setattr(loop_module, "run_tick", _raise(failure))
    monkeypatch.setattr(loop_module, "BUSY_RETRY_S", 0.0)
    engine = _loop()
    engine.kick({("resource", "identity")})
    with caplog.at_level(logging.WARNING, logger=loop_module.__name__):
        assert asyncio.run(engine._step(full=False)) is None
    assert engine._take() == {("resource", "identity")}
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert caplog.records[0].exc_info is None


def test_other_tick_failures_stay_errors_with_the_traceback(monkeypatch, caplog):
    monkeypatch.setattr(loop_module, "run_tick", _raise(RuntimeError("bug")))
    with caplog.at_level(logging.WARNING, logger=loop_module.__name__):
        wait = asyncio.run(_loop()._step(full=True))
    assert wait == pytest.approx(30.0)
    [record] = caplog.records
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None
