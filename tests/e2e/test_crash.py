"""Crash anywhere, lose nothing: kill -9 the server and the connector during a burst."""

from __future__ import annotations

import random
import time
from typing import TYPE_CHECKING

import pytest
from burst import check_outcome, plan_burst, run_burst, settle
from stackworld import end_grants_now, make_flow, started_stack, wait_statuses

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from jitgate.devstack import DevStack

pytestmark = pytest.mark.e2e
TENANT = ("--no-throttling", "--users=48", "--groups=8")
#: 288 requests + 24 re-requests granted, 96 expired + 96 revoked: a burst of 504.
PAIRS, STANDING = 288, 30


class Chaos:
    """Between chunks of work, maybe kill -9 the connector, the server or both, then restart."""

    def __init__(self, stack: DevStack, rng: random.Random) -> None:
        self.stack, self.rng = stack, rng
        self.kills: list[str] = []

    def __call__(self) -> None:
        if self.rng.random() < 0.35:
            return
        victim = self.rng.choice(["connector", "server", "both"])
        connector = self.stack.require_connector()
        time.sleep(self.rng.uniform(0.0, 1.5))  # let the work in flight reach a random point
        if victim in {"connector", "both"}:
            connector.kill()
        if victim in {"server", "both"}:
            self.stack.server.kill()
            self.stack.server.start()
        if victim in {"connector", "both"}:
            connector.start()
        self.kills.append(victim)


def _expire_now(stack: DevStack) -> Callable[[list[str]], None]:
    """End the short requests now (once granted): their expiries join the revocation phase."""

    def expire(request_ids: list[str]) -> None:
        wait_statuses(stack, request_ids, {"active"}, timeout_s=90)
        end_grants_now(stack.server.database_url, request_ids)

    return expire


def _crash(tmp_path: Path, database_url: str | None) -> None:
    rng = random.Random(20260505)  # noqa: S311 - a reproducible schedule, not a secret
    stack = started_stack(tmp_path, database_url, emulator_args=TENANT)
    try:
        integration_id = stack.add_integration()
        make_flow(stack, integration_id)
        burst = plan_burst(stack, integration_id, rng, pairs=PAIRS, standing=STANDING)
        chaos = Chaos(stack, rng)
        run_burst(stack, burst, chaos, expire=_expire_now(stack))
        assert chaos.kills, "the schedule killed nothing"
        statuses = settle(stack, burst, timeout_s=150)
        check_outcome(stack, burst, statuses)
    finally:
        stack.stop()


def test_kill_9_server_and_connector_during_a_burst_on_sqlite(tmp_path: Path) -> None:
    _crash(tmp_path, None)


def test_kill_9_server_and_connector_during_a_burst_on_postgresql(
    tmp_path: Path, fresh_postgres_url: str
) -> None:
    _crash(tmp_path, fresh_postgres_url)
