"""Graph write throughput against the emulator's write budget: $batch vs one request per write.

Prints one JSON line per mode. ``budget_writes_per_s`` is the best rate the emulator's write
bucket allows for this many writes (its burst capacity plus refill): N / ((N - capacity) / rate).
``ratio_to_budget`` is our rate over that. Run with a smaller bucket of the same rate (the
defaults: 600 writes per 30 s = 20/s, as graph.md's 3,000 per 150 s) to measure the sustained
pace in seconds rather than minutes.

    .venv/bin/python bench/graph_writes.py --tier L --writes 1200
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import TYPE_CHECKING, Any

import httpx

from jitgate.emulator.app import create_app
from jitgate.emulator.settings import EmulatorSettings
from jitgate.emulator.state import build_state
from jitgate.graph.client import GraphClient
from jitgate.graph.config import ClientSecretAuth, GraphConfig
from jitgate.graph.limiter import Budget
from jitgate.graph.operations import bulk, groups
from jitgate.graph.operations.groups import parse_group
from jitgate.graph.operations.models import AccessChange, Action, Outcome
from jitgate.protocol.v1 import Permission

if TYPE_CHECKING:
    from jitgate.emulator.state import EmulatorState

HOST = "https://emulator.test"


def client_for(state: EmulatorState, budget: Budget) -> GraphClient:
    """A Graph client on the emulator, in-process."""
    config = GraphConfig(
        tenant_id=state.tenant.tenant_id,
        auth=ClientSecretAuth(client_id=state.client_id, client_secret=state.client_secret),
        authority_host=HOST,
        graph_url=HOST,
        disable_instance_discovery=True,
    )
    transport = httpx.ASGITransport(app=create_app(state))
    return GraphClient.from_config(config, transport=transport, budget=budget)


def plan(state: EmulatorState, writes: int) -> tuple[list[AccessChange], dict[str, Any]]:
    """``writes`` distinct grants onto changeable groups."""
    users = [u["id"] for u in state.tenant.users.values()]
    group_ids = [
        g["id"]
        for g in state.tenant.groups.values()
        if "Unified" not in (g.get("groupTypes") or [])
        and not g.get("mailEnabled")
        and not g.get("isAssignableToRole")
        and not g.get("onPremisesSyncEnabled")
        and "DynamicMembership" not in (g.get("groupTypes") or [])
    ]
    changes: list[AccessChange] = []
    for i in range(writes):
        group = group_ids[i % len(group_ids)]
        user = users[(i // len(group_ids)) % len(users)]
        changes.append(AccessChange(Action.GRANT, user, group, Permission.MEMBER))
    known = {gid: parse_group(state.tenant.groups[gid]) for gid in group_ids}
    return changes, known


async def run_batched(
    state: EmulatorState, budget: Budget, changes: list[AccessChange], known: dict[str, Any]
) -> dict[str, Any]:
    """All writes through the bulk API ($batch)."""
    async with client_for(state, budget) as client:
        await client.tokens.token()
        start = time.perf_counter()
        results = await bulk.apply_changes(client, changes, groups=known)
        seconds = time.perf_counter() - start
        throttled = client.limiter.stats.throttled
        requests = client.requests_sent
    failed = sum(1 for r in results if r.outcome is Outcome.FAILED)
    return {
        "seconds": seconds,
        "throttled_responses": throttled,
        "failed": failed,
        "requests": requests,
    }


async def run_single(
    state: EmulatorState, budget: Budget, changes: list[AccessChange], known: dict[str, Any]
) -> dict[str, Any]:
    """One request per write, 16 at a time."""
    failed = 0
    async with client_for(state, budget) as client:
        await client.tokens.token()
        semaphore = asyncio.Semaphore(16)

        async def one(change: AccessChange) -> None:
            nonlocal failed
            async with semaphore:
                try:
                    await groups.change_group_access(
                        client,
                        action=change.action,
                        group=known[change.resource_id],
                        principal_id=change.principal_id,
                    )
                except Exception:  # noqa: BLE001 - a bench counts failures of any kind
                    failed += 1

        start = time.perf_counter()
        await asyncio.gather(*(one(c) for c in changes))
        seconds = time.perf_counter() - start
        throttled = client.limiter.stats.throttled
        requests = client.requests_sent
    return {
        "seconds": seconds,
        "throttled_responses": throttled,
        "failed": failed,
        "requests": requests,
    }


def report(
    mode: str, writes: int, budget_rate: float, sustained: float, figures: dict[str, Any]
) -> None:
    """Print one JSON line."""
    rate = writes / figures["seconds"]
    print(
        json.dumps(
            {
                "mode": mode,
                "writes": writes,
                "seconds": round(figures["seconds"], 2),
                "writes_per_s": round(rate, 2),
                "budget_writes_per_s": round(budget_rate, 2),
                "ratio_to_budget": round(rate / budget_rate, 3),
                "throttled_responses": figures["throttled_responses"],
                "throttled_share": round(
                    figures["throttled_responses"] / max(1, figures["requests"]), 4
                ),
                "requests": figures["requests"],
                "failed": figures["failed"],
                "sustained_budget_writes_per_s": sustained,
            }
        ),
        flush=True,
    )


def main() -> None:
    """Run both modes and print their figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tier", default="L", choices=["S", "M", "L"])
    parser.add_argument("--writes", type=int, default=1200)
    parser.add_argument("--write-budget", type=int, default=600)
    parser.add_argument("--write-window", type=float, default=30.0)
    parser.add_argument("--mode", choices=["both", "batch", "single"], default="both")
    args = parser.parse_args()
    if args.writes <= args.write_budget:
        parser.error("--writes must exceed --write-budget (else the burst hides the rate)")
    settings = EmulatorSettings(
        tier=args.tier,
        write_budget=args.write_budget,
        write_window_s=args.write_window,
        tenant_write_budget=max(18000, args.writes * 4),
    )
    sustained = args.write_budget / args.write_window
    best_seconds = (args.writes - args.write_budget) / sustained
    budget_rate = args.writes / best_seconds
    budget = Budget.for_tier(args.tier)
    budget = Budget(
        ru_capacity=budget.ru_capacity,
        write_capacity=float(args.write_budget),
        write_window_s=args.write_window,
    )
    users = max(50, args.writes // 100 + 1)
    modes = ["batch", "single"] if args.mode == "both" else [args.mode]
    for mode in modes:
        state = build_state(
            settings=settings, generate={"users": users, "groups": 100, "members_per_group": 0}
        )
        changes, known = plan(state, args.writes)
        runner = run_batched if mode == "batch" else run_single
        figures = asyncio.run(runner(state, budget, changes, known))
        report(
            "batch" if mode == "batch" else "one_request_per_write",
            args.writes,
            budget_rate,
            sustained,
            figures,
        )


if __name__ == "__main__":
    main()
