"""Every metric the server and the connector export is named in docs/metrics.md, and every one
named there exists."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from jitgate.connector.metrics import metrics_text
from jitgate.graph.limiter import AdaptiveLimiter
from jitgate.server.app import create_app

METRICS_MD = Path(__file__).resolve().parents[4] / "docs" / "metrics.md"
TYPE_LINE = re.compile(r"^# TYPE (\S+) (\S+)$", re.MULTILINE)


def _exported(settings, clock, sessions) -> set[str]:
    app = create_app(
        settings.model_copy(update={"metrics_open": True}), clock=clock, sessions=sessions
    )
    with TestClient(app) as client:
        response = client.get("/metrics")
    assert response.status_code == 200
    # ``…_created`` is the client library's start time of a counter or histogram.
    return {name for name, _ in TYPE_LINE.findall(response.text) if not name.endswith("_created")}


def _connector_exported() -> set[str]:
    text = metrics_text(lambda: [("tenant", AdaptiveLimiter())]).decode()
    return {name for name, _ in TYPE_LINE.findall(text) if not name.endswith("_created")}


def test_every_exported_metric_is_documented(settings, clock, sessions):
    exported = _exported(settings, clock, sessions) | _connector_exported()
    assert len(exported) >= 10
    text = METRICS_MD.read_text(encoding="utf-8")
    assert {name for name in exported if f"`{name}`" not in text} == set()


def test_every_documented_metric_is_exported(settings, clock, sessions):
    exported = _exported(settings, clock, sessions) | _connector_exported()
    rows = re.findall(r"^\| `(jitgate_[a-z_]+)` \|", METRICS_MD.read_text("utf-8"), re.MULTILINE)
    assert set(rows) - exported == set()
