"""The bounded load test: 50 concurrent clients against the server processes, on both databases.

A mix of reads and request writes (auto-approved, then half of them revoked) from 50 clients at
once. Throughout, the server must answer: no 5xx other than 503, every 503 with Retry-After, every
``/healthz`` probe answered. Afterwards the grants made during the load are in Graph and the
revoked ones are not: the connector and the reconciler kept working under the load.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

import pytest
from stackworld import make_flow, started_stack, wait_jobs_done, wait_statuses

from jitgate.devstack.load import LoadPlan, free_pairs, run_load

if TYPE_CHECKING:
    from pathlib import Path

TENANT = ("--no-throttling", "--users=120", "--groups=10")
CLIENTS = 50
OPERATIONS = 400


def _load(tmp_path: Path, database_url: str | None) -> None:
    stack = started_stack(
        tmp_path,
        database_url,
        emulator_args=TENANT,
        server_env={"JITGATE_RECONCILE_INTERVAL_S": "2"},
    )
    try:
        integration_id = stack.add_integration()
        make_flow(stack, integration_id)  # no approver policy: approved as soon as asked
        pairs = free_pairs(stack, integration_id)
        random.Random(3).shuffle(pairs)  # noqa: S311 - a repeatable order
        ids = {(upn, resource_id): (group, user) for upn, resource_id, group, user in pairs}
        report = run_load(
            LoadPlan(
                server_url=stack.server_url,
                ca_bundle=stack.server.ca_bundle,
                token=stack.admin_token,
                integration_id=integration_id,
                pairs=[(upn, resource_id) for upn, resource_id, _, _ in pairs],
                clients=CLIENTS,
                operations=OPERATIONS,
            )
        )
        summary = report.summary()
        assert report.errors_5xx == 0, (summary, report.failures.most_common(5))
        assert report.busy_without_retry_after == 0, summary
        assert report.healthz, "the prober never ran"
        assert report.healthz_failures == 0, summary
        assert report.created, summary
        assert report.revoked, summary

        revoked = set(report.revoked)
        kept = [r for r in report.created if r not in revoked]
        assert kept, summary
        wait_statuses(stack, kept, {"active"}, timeout_s=120)
        wait_statuses(stack, revoked, {"revoked"}, timeout_s=120)
        wait_jobs_done(stack.server.database_url, timeout_s=120)
        members = stack.graph.export()["members"]
        for request_id in kept:
            group, user = ids[report.created[request_id]]
            assert user in members.get(group, []), f"granted {request_id} is not in Graph"
        for request_id in revoked:
            group, user = ids[report.created[request_id]]
            assert user not in members.get(group, []), f"revoked {request_id} is still in Graph"
    finally:
        stack.stop()


def test_fifty_clients_on_sqlite(tmp_path: Path) -> None:
    _load(tmp_path, None)


def test_fifty_clients_on_postgresql(tmp_path: Path, fresh_postgres_url: str) -> None:
    _load(tmp_path, fresh_postgres_url)


pytestmark = pytest.mark.e2e
