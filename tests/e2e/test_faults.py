"""Graph misbehaves (429, 503, timeouts, dropped connections, replication lag): nothing is lost."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

import pytest
from burst import check_outcome, plan_burst, run_burst, settle
from stackworld import make_flow, started_stack

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.e2e
TENANT = ("--no-throttling", "--users=30", "--groups=6")
FAULTS = [
    {"route": "POST /v1.0/$batch", "status": 429, "probability": 0.15, "retry_after": 0.2},
    {"route": "POST /v1.0/$batch", "status": 503, "probability": 0.1},
    {"route": "POST /v1.0/$batch", "status": 0, "probability": 0.05},  # dropped connection
    {"route": "DELETE", "status": 503, "probability": 0.1},
]


def test_every_grant_and_revocation_completes_once_under_graph_faults(
    tmp_path: Path, fresh_postgres_url: str
) -> None:
    rng = random.Random(7)  # noqa: S311 - a reproducible workload
    stack = started_stack(tmp_path, fresh_postgres_url, emulator_args=TENANT)
    try:
        integration_id = stack.add_integration()
        make_flow(stack, integration_id)
        burst = plan_burst(stack, integration_id, rng, pairs=90, standing=12)
        stack.graph.set_faults(FAULTS)
        stack.graph.set_replication_lag(300)
        stack.graph.set_latency(0, jitter_ms=50)
        run_burst(stack, burst, lambda: None)
        statuses = settle(stack, burst, timeout_s=150)
        stack.graph.clear_faults()
        check_outcome(stack, burst, statuses)
        dead = stack.call("GET", "/connectors")  # the connector is still connected
        assert dead["items"][0]["status"].upper() == "CONNECTED"
    finally:
        stack.stop()
