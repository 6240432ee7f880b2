"""Focused ticks: an approval or a revocation is planned as soon as it commits, not a tick later."""

from __future__ import annotations

import asyncio

from fastapi.testclient import TestClient

from engine_world import QUIET, Directory, approved, engine_world, open_jobs, run_connector
from factories import actor_for
from jitgate.server.app import create_app
from jitgate.server.jobs.models import JobKind
from jitgate.server.jobs.notify import JobNotifier
from jitgate.server.reconciler.state import Focus
from jitgate.server.reconciler.tick import run_tick
from jitgate.server.requests.lifecycle import revoke_request
from polling import wait_for


def _until(check, what: str) -> None:
    """Poll a counter (not the database: the test's connection is shared with the loop)."""
    wait_for(check, timeout_s=10, interval_s=0.01, message=what)


def test_a_focused_tick_plans_only_its_keys(session, sessions, clock):
    w = engine_world(session, clock)
    approved(session, clock, w)
    approved(session, clock, w, who=w.bob)
    focus = Focus(resource_ids=frozenset({w.finance.id}), identity_ids=frozenset({w.alice.id}))
    report = run_tick(sessions=sessions, clock=clock, config=QUIET, focus=focus)
    assert [(a.action.kind, a.outcome) for a in report.applied] == [("grant", "queued")]
    assert report.applied[0].action.key.principal_id == w.alice.object_id
    assert [j.kind for j in open_jobs(session)] == [JobKind.GRANT]
    # the next full tick finds bob's grant; alice's key already has its one open job
    full = run_tick(sessions=sessions, clock=clock, config=QUIET)
    assert [a.action.key.principal_id for a in full.applied] == [w.bob.object_id]
    assert len(open_jobs(session)) == 2


def test_approval_queues_the_grant_job_without_waiting_for_a_tick(
    session, sessions, clock, settings
):
    w = engine_world(session, clock)
    slow = settings.model_copy(update={"reconcile_interval_s": 3600})
    app = create_app(slow, clock=clock, sessions=sessions, run_reconciler=True)
    loop = app.state.reconciler
    with TestClient(app):
        _until(lambda: loop.ticks >= 1, "the first full tick")
        approved(session, clock, w)
        _until(lambda: loop.focused_ticks >= 1, "the focused tick")
        assert [j.kind for j in open_jobs(session)] == [JobKind.GRANT]
        assert loop.ticks == 1, "no full tick ran: the approval's commit planned its keys"
        assert loop.focused_ticks >= 1


def test_revocation_queues_the_revoke_job_without_waiting_for_a_tick(
    session, sessions, clock, settings
):
    w = engine_world(session, clock)
    request = approved(session, clock, w)
    run_tick(sessions=sessions, clock=clock, config=QUIET)
    run_connector(sessions, clock, w.integration.connector_id, Directory().respond)
    slow = settings.model_copy(update={"reconcile_interval_s": 3600})
    app = create_app(slow, clock=clock, sessions=sessions, run_reconciler=True)
    loop = app.state.reconciler
    with TestClient(app):
        _until(lambda: loop.ticks >= 1, "the first full tick")
        assert open_jobs(session) == []
        revoke_request(
            session=session, clock=clock, actor=actor_for(w.alice), request_id=request.id
        )
        session.commit()
        _until(lambda: loop.focused_ticks >= 1, "the focused tick")
        assert [j.kind for j in open_jobs(session)] == [JobKind.REVOKE]
        assert loop.ticks == 1


def test_a_notification_between_the_look_and_the_wait_is_not_lost():
    async def scenario() -> bool:
        notifier = JobNotifier()
        seen = notifier.generation("c1")
        notifier.notify(["c1"])  # lands after the claim looked, before it waits
        return await notifier.wait("c1", 5.0, since=seen)

    assert asyncio.run(scenario()) is True


def test_a_wait_without_news_times_out():
    async def scenario() -> bool:
        notifier = JobNotifier()
        notifier.notify(["other"])
        return await notifier.wait("c1", 0.01, since=notifier.generation("c1"))

    assert asyncio.run(scenario()) is False
