"""The server's settings: each default written once, on its field, and shown by the docs."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import text

from config_docs import documented, matches
from jitgate.core.db import make_engine
from jitgate.core.settings import Settings
from jitgate.server.reconciler.late_write import DEFAULT_LATE_WRITE_WINDOW
from jitgate.server.reconciler.observed import DEFAULT_FULL_EVERY
from jitgate.server.reconciler.plan import PlanOptions
from jitgate.server.reconciler.tick import ReconcilerConfig

if TYPE_CHECKING:
    from pathlib import Path


def test_the_documented_defaults_are_the_models() -> None:
    rows = documented("Server")
    fields = {f"JITGATE_{name.upper()}": info for name, info in Settings.model_fields.items()}
    assert sorted(rows) == sorted(fields)
    wrong = {
        var: (rows[var], info.default)
        for var, info in fields.items()
        if not matches(rows[var], info)
    }
    assert wrong == {}


def test_timings_built_without_settings_are_the_settings_defaults() -> None:
    defaults = Settings.model_construct()  # the fields' defaults, no environment read
    assert ReconcilerConfig() == ReconcilerConfig.from_settings(defaults)
    assert PlanOptions().pim_grace == timedelta(seconds=defaults.pim_grace_s)
    assert timedelta(seconds=defaults.late_write_window_s) == DEFAULT_LATE_WRITE_WINDOW
    assert timedelta(seconds=defaults.drift_full_read_interval_s) == DEFAULT_FULL_EVERY


@pytest.mark.parametrize(("value", "expected"), [("0.5", 0.5), ("", None)])
def test_the_slow_transaction_threshold_comes_from_its_variable(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: float | None
) -> None:
    monkeypatch.setenv("JITGATE_DB_SLOW_TX_S", value)
    assert Settings().db_slow_tx_s == expected


@pytest.mark.parametrize(("threshold", "logged"), [(0.0, True), (None, False)])
def test_an_engine_logs_slow_transactions_only_when_asked(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, threshold: float | None, logged: bool
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}", slow_tx_s=threshold)
    try:
        with caplog.at_level(logging.WARNING, logger="jitgate.core.db"), engine.begin() as conn:
            conn.execute(text("SELECT 1"))
    finally:
        engine.dispose()
    assert any("slow transaction" in r.getMessage() for r in caplog.records) is logged
