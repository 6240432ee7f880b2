"""The connector's own Prometheus metrics, served beside ``/healthz`` on the health port.

``jitgate_graph_write_rate_learnt`` is the write rate (writes per second) the Graph limiter has
learnt for the tenant: its starting point is the configured tier, and it follows what Graph
actually admits (graph.limiter). It lives as long as the connector's Graph client, so it carries
over from job to job. Read at scrape time; nothing is global (one registry per agent).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from jitgate.graph.limiter import AdaptiveLimiter


class GraphPacingCollector:
    """The limiters' learnt budgets, one sample per tenant."""

    def __init__(self, limiters: Callable[[], Sequence[tuple[str, AdaptiveLimiter]]]) -> None:
        self._limiters = limiters

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        """The families, read now."""
        writes = GaugeMetricFamily(
            "jitgate_graph_write_rate_learnt",
            "Graph writes per second the limiter has learnt for the tenant.",
            labels=["tenant_id"],
        )
        units = GaugeMetricFamily(
            "jitgate_graph_ru_rate_learnt",
            "Graph resource units per second the limiter has learnt for the tenant.",
            labels=["tenant_id"],
        )
        episodes = CounterMetricFamily(
            "jitgate_graph_throttle_episodes",
            "Throttling episodes (each lowered the learnt budget once).",
            labels=["tenant_id"],
        )
        for tenant_id, limiter in self._limiters():
            writes.add_metric([tenant_id], limiter.write_rate)
            units.add_metric([tenant_id], limiter.ru_rate)
            episodes.add_metric([tenant_id], float(limiter.stats.episodes))
        yield writes
        yield units
        yield episodes

    def describe(self) -> list[GaugeMetricFamily | CounterMetricFamily]:
        """Nothing up front (the families are read at scrape time)."""
        return []


def metrics_text(limiters: Callable[[], Sequence[tuple[str, AdaptiveLimiter]]]) -> bytes:
    """Prometheus text for ``limiters``."""
    registry = CollectorRegistry()
    registry.register(GraphPacingCollector(limiters))
    return generate_latest(registry)
