"""``jitgate reconcile``, ``sync`` and ``drift`` on a real database, with ``--dry-run``."""

from __future__ import annotations

from sqlalchemy import func, select

from factories import keyed_engine, make_integration
from jitgate.cli.main import run
from jitgate.core.clock import SystemClock
from jitgate.core.db import make_engine, make_session_factory
from jitgate.server.jobs.models import Job, JobKind


def _discover_jobs(url):
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        count = session.scalar(select(func.count(Job.id)).where(Job.kind == JobKind.DISCOVER))
    engine.dispose()
    return count


def test_reconcile_sync_and_drift(cli_env, capsys):
    assert run(["reconcile", "--dry-run"]) == 0
    assert "dry run: 0 action(s)" in capsys.readouterr().out
    assert run(["reconcile"]) == 0
    engine = keyed_engine(cli_env)
    with make_session_factory(engine)() as session:
        integration = make_integration(session, SystemClock())
    engine.dispose()
    assert _discover_jobs(cli_env) == 1  # the integration's first discovery
    assert run(["sync", "--integration", integration.id]) == 0
    assert "already queued" in capsys.readouterr().out
    assert run(["sync", "--integration", "nope"]) == 1
    assert "no integration 'nope'" in capsys.readouterr().err
    assert run(["drift", "--dry-run"]) == 0
    assert "0 read membership job(s) (dry run)" in capsys.readouterr().out
    assert _discover_jobs(cli_env) == 1
