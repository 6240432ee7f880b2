"""GET /metrics: values move with grants, revocations and jobs; optional bearer token."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient

from engine_world import Directory, approved, engine_world, run_connector, tick
from jitgate.core.settings import Settings
from jitgate.server.app import create_app


def _value(text, name, labels=""):
    match = re.search(rf"^{re.escape(name)}{re.escape(labels)} (\S+)$", text, re.MULTILINE)
    assert match, f"{name}{labels} missing"
    return float(match.group(1))


def test_metrics_follow_the_grant_cycle(session, sessions, clock, settings):
    app = create_app(
        settings.model_copy(update={"metrics_open": True}), clock=clock, sessions=sessions
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        _grant_cycle(session, sessions, clock, client)


def _grant_cycle(session, sessions, clock, client):
    w = engine_world(session, clock)
    directory = Directory()
    approved(session, clock, w)
    tick(sessions, clock)
    text = client.get("/metrics").text
    assert _value(text, "jitgate_job_queue_depth", '{kind="grant",status="queued"}') == 1
    assert _value(text, "jitgate_grant_latency_seconds_count") == 0
    clock.advance(timedelta(seconds=2))
    run_connector(sessions, clock, w.integration.connector_id, directory.respond)
    text = client.get("/metrics").text
    assert _value(text, "jitgate_job_queue_depth", '{kind="grant",status="queued"}') == 0
    assert _value(text, "jitgate_grant_latency_seconds_count") == 1
    assert _value(text, "jitgate_grant_latency_seconds_sum") == 2
    clock.advance(timedelta(hours=1))
    tick(sessions, clock)
    clock.advance(timedelta(minutes=2))
    text = client.get("/metrics").text
    assert _value(text, "jitgate_overdue_revocations") == 1, "past ends_at + 60 s, not removed"
    run_connector(sessions, clock, w.integration.connector_id, directory.respond)
    text = client.get("/metrics").text
    assert _value(text, "jitgate_overdue_revocations") == 0
    assert _value(text, "jitgate_revocation_lateness_seconds_count", '{reason="expired"}') == 1
    # ends_at is approval + 1 h; the removal was confirmed 1 h 2 min 2 s after approval
    assert _value(text, "jitgate_revocation_lateness_seconds_sum", '{reason="expired"}') == 122
    assert _value(text, "jitgate_dead_jobs") == 0
    assert _value(text, "jitgate_graph_throttled_total") == 0
    assert client.get("/metrics").text.count("jitgate_grant_latency_seconds_count 1") == 1, (
        "no re-count"
    )


def test_metrics_token(settings, clock, sessions):
    secured = settings.model_copy(update={"metrics_token": "s3cret-metrics"})
    app = create_app(Settings.model_validate(secured.model_dump()), clock=clock, sessions=sessions)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        ok = client.get("/metrics", headers={"Authorization": "Bearer s3cret-metrics"})
        assert ok.status_code == 200
        assert "jitgate_overdue_revocations" in ok.text
