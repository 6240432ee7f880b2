"""The reconciler loop in the app's lifespan: off by default in create_app, on when asked."""

from __future__ import annotations

from fastapi.testclient import TestClient

from engine_world import approved, engine_world, open_jobs
from jitgate.server.app import create_app
from jitgate.server.jobs.models import JobKind
from polling import wait_for


def test_loop_runs_ticks_only_when_enabled(session, sessions, clock, settings):
    w = engine_world(session, clock)
    approved(session, clock, w)
    with TestClient(create_app(settings, clock=clock, sessions=sessions)):
        pass
    assert open_jobs(session) == [], "create_app starts no loop unless told"
    fast = settings.model_copy(update={"reconcile_interval_s": 0.05})
    app = create_app(fast, clock=clock, sessions=sessions, run_reconciler=True)
    with TestClient(app):
        wait_for(
            lambda: app.state.reconciler.ticks,
            timeout_s=10,
            interval_s=0.01,
            message="the loop's first tick",
        )
    assert app.state.reconciler.ticks >= 1
    assert [j.kind for j in open_jobs(session)] == [JobKind.GRANT]
