"""SQLite: a read-only transaction never holds the write lock; writers still queue on it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from jitgate.core.db import make_engine, read_only, writing

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy.engine import Engine


def _engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
    return engine


def test_a_read_only_transaction_lets_a_writer_commit_while_it_is_open(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    try:
        with read_only(), engine.connect() as reader:
            reader.begin()
            assert reader.execute(text("SELECT count(*) FROM t")).scalar() == 0
            with writing(), engine.begin() as writer:  # would wait 30 s behind BEGIN IMMEDIATE
                writer.execute(text("INSERT INTO t VALUES (1)"))
            assert reader.execute(text("SELECT count(*) FROM t")).scalar() == 0  # its snapshot
            reader.rollback()
    finally:
        engine.dispose()


def test_writing_transactions_take_the_write_lock_up_front(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    try:
        with engine.connect() as first:
            first.begin()
            second = engine.connect()
            second.connection.driver_connection.execute("PRAGMA busy_timeout=50")  # type: ignore[union-attr]
            with pytest.raises(OperationalError, match="locked"):
                second.begin()
            second.close()
            first.rollback()
    finally:
        engine.dispose()
