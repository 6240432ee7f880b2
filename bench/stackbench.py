"""Shared set-up of the out-of-process benchmarks: a ``DevStack`` with a generated tenant.

Emulator, server and connector run as separate processes over HTTPS (``jitgate.devstack``);
the benchmark talks to the server's REST API like any client.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from jitgate.devstack import DevStack

if TYPE_CHECKING:
    from pathlib import Path

APPROVER = "approver@jitgate.local"


def start_stack(
    workdir: Path,
    *,
    users: int,
    groups: int,
    tier: str = "L",
    database_url: str | None = None,
    server_env: dict[str, str] | None = None,
    connector_settings: dict[str, Any] | None = None,
) -> tuple[DevStack, str]:
    """A running stack with a generated tenant, a connector and a discovered integration."""
    stack = DevStack(
        workdir,
        database_url=database_url,
        emulator_args=(f"--tier={tier}", f"--users={users}", f"--groups={groups}"),
        server_env={"JITGATE_RECONCILE_INTERVAL_S": "5", **(server_env or {})},
        connector_settings=connector_settings,
    )
    try:
        stack.start()
        stack.add_connector()
        integration_id = stack.add_integration(timeout_s=300)
    except BaseException:
        stack.stop()
        raise
    return stack, integration_id


def make_flow(stack: DevStack, integration_id: str, *, approvers: list[str] | None) -> str:
    """A flow over every group of the integration; admins may request for others."""
    body: dict[str, Any] = {
        "name": "bench groups",
        "targets": [
            {
                "integration_id": integration_id,
                "resource_type": "entra-group",
                "permissions": ["member"],
            }
        ],
        "request_for": {"scopes": ["self", "others"]},
        "max_duration_min": 600,
        "settings": {"justification_required": False},
    }
    if approvers:
        body["approver_policy"] = {
            "approver_groups": [{"approvers": [{"type": "user", "values": approvers}]}]
        }
    return str(stack.call("POST", "/flows", body)["id"])


def queue_depth(stack: DevStack) -> int:
    """Open jobs of every kind, from the server's ``/metrics``."""
    text = stack.api.get(f"{stack.server_url}/metrics").text
    return int(
        sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("jitgate_job_queue_depth{")
        )
    )


def settle(stack: DevStack, *, timeout_s: float = 120.0) -> None:
    """Wait until the queue is empty (discovery and the first drift reads are done)."""
    time.sleep(6.0)  # at least one full reconciler tick: it queues the periodic reads
    wait(lambda: queue_depth(stack) == 0, timeout_s=timeout_s, interval_s=0.5)


def emit(result: dict[str, Any]) -> None:
    """Print the benchmark's one JSON line."""
    print(json.dumps(result), flush=True)


def wait(check: Any, *, timeout_s: float, interval_s: float = 0.005) -> bool:  # noqa: ANN401
    """Poll ``check`` until it is true or the time is up."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval_s)
    return False
