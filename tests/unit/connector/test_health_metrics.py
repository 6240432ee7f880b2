"""The connector's health port also serves Prometheus text: the Graph limiter's learnt budget."""

from __future__ import annotations

import httpx
import pytest

from jitgate.connector.agent import Agent
from jitgate.connector.config import AgentConfig
from jitgate.connector.metrics import metrics_text
from jitgate.graph.limiter import AdaptiveLimiter, Budget
from jitgate.graph.retry import FakeTimer

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def learnt_limiter() -> AdaptiveLimiter:
    timer = FakeTimer()
    limiter = AdaptiveLimiter(Budget.for_tier("L"), timer=timer)
    limiter.throttled(0.1, sent_at=0.0, sent=(20, 20))  # learns the burst
    timer.now = 0.5
    limiter.throttled(0.1, sent_at=0.4, sent=(20, 20))  # too soon to measure: halves the rate
    return limiter


def test_the_metric_is_the_learnt_write_rate() -> None:
    limiter = learnt_limiter()
    text = metrics_text(lambda: [("tenant-1", limiter)]).decode()
    line = next(ln for ln in text.splitlines() if ln.startswith("jitgate_graph_write_rate_learnt{"))
    assert 'tenant_id="tenant-1"' in line
    assert float(line.split()[-1]) == pytest.approx(Budget.for_tier("L").write_rate / 2)
    assert 'jitgate_graph_throttle_episodes_total{tenant_id="tenant-1"} 2.0' in text


async def test_the_health_port_serves_metrics_and_the_rate_in_healthz() -> None:
    config = AgentConfig(url="http://server", token="jg_ct_x", tenant_id="tenant-1")
    graph = type("Graph", (), {"limiter": learnt_limiter()})()
    agent = Agent(config, server=None, executor=None, graph=graph)  # type: ignore[arg-type]
    health = agent.health
    await health.start("127.0.0.1", 0)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{health.port}") as http:
            metrics = await http.get("/metrics")
            status = await http.get("/healthz")
    finally:
        await health.stop()
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    assert 'jitgate_graph_write_rate_learnt{tenant_id="tenant-1"}' in metrics.text
    assert status.json()["graph_write_rate_learnt"] == pytest.approx(
        Budget.for_tier("L").write_rate / 2, abs=0.01
    )
