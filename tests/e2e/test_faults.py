"""Graph misbehaves (429, 503, timeouts, dropped connections, replication lag): nothing is lost."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

import pytest
from burst import check_outcome, plan_burst, run_burst, settle
from stackworld import end_grants_now, make_flow, started_stack, wait_jobs_done, wait_statuses

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.e2e
# A $batch slower than the connector's read timeout still lands in the emulator (as in Graph):
# the connector reports the write as ambiguous, the server does not take the broker's own landed
# try for standing access, and verifies removals made while such a write could still land.
TENANT = ("--no-throttling", "--users=30", "--groups=6")
#: The connector gives up on a Graph response after this long; the slow rule waits longer, so
#: those calls time out on the client while the write still lands in the emulator.
READ_TIMEOUT_S = 1.0
#: How long the server expects such a write may still land: a removal inside it is read again at
#: its end (and removed again if the late write landed). The slow rule lands 0.5 s after the
#: client's timeout, so a few seconds cover it.
LATE_WRITE_WINDOW_S = 5
FAULTS = [
    {"route": "POST /v1.0/$batch", "latency_ms": 1500, "probability": 0.08},  # a read timeout
    {"route": "POST /v1.0/$batch", "status": 429, "probability": 0.15, "retry_after": 0.2},
    {"route": "POST /v1.0/$batch", "status": 503, "probability": 0.1},
    {"route": "POST /v1.0/$batch", "status": 0, "probability": 0.05},  # dropped connection
    {"route": "DELETE", "status": 503, "probability": 0.1},
]


def _faults(tmp_path: Path, database_url: str | None) -> None:
    rng = random.Random(7)  # noqa: S311 - a reproducible workload
    stack = started_stack(
        tmp_path,
        database_url,
        emulator_args=TENANT,
        connector_settings={"graph_read_timeout_s": READ_TIMEOUT_S},
        server_env={"JITGATE_LATE_WRITE_WINDOW_S": str(LATE_WRITE_WINDOW_S)},
    )
    try:
        integration_id = stack.add_integration()
        make_flow(stack, integration_id)
        burst = plan_burst(stack, integration_id, rng, pairs=90, standing=12)
        stack.graph.set_faults(FAULTS)
        stack.graph.set_replication_lag(300)
        stack.graph.set_latency(0, jitter_ms=50)

        def expire(request_ids: list[str]) -> None:  # the expiries run under faults too
            wait_statuses(stack, request_ids, {"active"}, timeout_s=90)
            end_grants_now(stack.server.database_url, request_ids)

        run_burst(stack, burst, lambda: None, expire=expire)
        statuses = settle(stack, burst, timeout_s=150)
        stack.graph.clear_faults()
        # The verification reads of late writes run at the end of their window, then revokes.
        wait_jobs_done(stack.server.database_url, timeout_s=60)
        check_outcome(stack, burst, statuses)
        assert stack.connector_status().upper() == "CONNECTED"  # it survived the faults
    finally:
        stack.stop()


def test_every_grant_and_revocation_completes_once_under_graph_faults_on_sqlite(
    tmp_path: Path,
) -> None:
    _faults(tmp_path, None)


def test_every_grant_and_revocation_completes_once_under_graph_faults_on_postgresql(
    tmp_path: Path, fresh_postgres_url: str
) -> None:
    _faults(tmp_path, fresh_postgres_url)
