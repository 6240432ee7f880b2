"""Grant latency: approval -> Graph write confirmed, over 1,000 sequential requests.

Emulator, server and connector run as separate processes over HTTPS (``jitgate.devstack``; the
server on SQLite unless ``--database-url``). For each request: the admin asks for a group
membership for a generated user, a named approver approves it, and the clock runs from just
before the approval is sent until the server reports the request ``active`` (the connector's
result arrived, i.e. Graph confirmed the write). The connector reports only after Graph's 2xx,
so the member is visible in the emulator no later than that; ``approve_call`` is the approval
HTTP call alone. Timing starts once the stack is settled (discovery and the first round of
drift reads, queued by the first full tick, are done): it measures the steady state. Prints one
JSON line.

    .venv/bin/python bench/grant_latency.py --requests 1000
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from jitgate.devstack.load import free_pairs, percentile
from stackbench import APPROVER, emit, make_flow, settle, start_stack, wait


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--workdir", type=Path, default=None)
    return parser.parse_args()


def _summary(name: str, values: list[float]) -> dict[str, float]:
    return {
        f"{name}_p50_s": round(percentile(values, 50), 4),
        f"{name}_p95_s": round(percentile(values, 95), 4),
        f"{name}_p99_s": round(percentile(values, 99), 4),
        f"{name}_max_s": round(max(values), 4),
    }


def run(args: argparse.Namespace, workdir: Path) -> dict[str, object]:
    """Set up, then time ``args.requests`` approvals one after another."""
    users = max(30, args.requests // 20 + 10)
    stack, integration_id = start_stack(
        workdir, users=users, groups=40, database_url=args.database_url
    )
    try:
        approver_token = stack.server.create_token(APPROVER, "user")
        make_flow(stack, integration_id, approvers=[APPROVER])
        pairs = free_pairs(stack, integration_id)[: args.requests]
        settle(stack)
        if len(pairs) < args.requests:
            raise SystemExit(f"only {len(pairs)} free user x group pairs")
        latencies: list[float] = []
        approve_calls: list[float] = []
        timeouts = 0
        admin, approver = stack.api, stack.client(approver_token)
        started = time.perf_counter()
        for upn, resource_id, _, _ in pairs:
            body = {"grantee": upn, "resource_ids": [resource_id], "permissions": ["member"]}
            created = admin.post("/requests", json={**body, "duration_min": 60})
            created.raise_for_status()
            rid = created.json()["id"]
            t0 = time.perf_counter()
            approver.post(f"/requests/{rid}/approve", json={}).raise_for_status()
            approve_calls.append(time.perf_counter() - t0)

            def active(rid: str = rid) -> bool:
                status = admin.get(f"/requests/{rid}").json()["status"]
                if status == "failed":
                    raise SystemExit(f"request {rid} failed")
                return bool(status == "active")

            if wait(active, timeout_s=30, interval_s=0.002):
                latencies.append(time.perf_counter() - t0)
            else:
                timeouts += 1
        seconds = time.perf_counter() - started
        approver.close()
    finally:
        stack.stop()
    return {
        "bench": "grant_latency",
        "requests": args.requests,
        "database": "postgresql" if args.database_url else "sqlite",
        **_summary("latency", latencies),
        **_summary("approve_call", approve_calls),
        "timeouts": timeouts,
        "seconds": round(seconds, 1),
    }


def main() -> None:
    """Run and print one JSON line."""
    args = _args()
    if args.workdir is not None:
        emit(run(args, args.workdir))
        return
    with tempfile.TemporaryDirectory(prefix="jitgate-bench-") as tmp:
        emit(run(args, Path(tmp)))


if __name__ == "__main__":
    main()
