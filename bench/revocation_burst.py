"""Revocation burst: N active grants expire at the same moment; how fast are they all removed?

Emulator, server (SQLite unless ``--database-url``) and connector run as separate processes over
HTTPS (``jitgate.devstack``).

Set-up (the honest option: nothing is pre-seeded). The admin files auto-approved requests
through the REST API; the engine grants them through the connector and Graph (the emulator,
throttling off for the set-up only). Every grant is then ``active`` with its membership in the
emulator and the broker's ``membership`` row written by the real result handlers.

Burst. The connector is restarted with a limiter that knows the write budget, the emulator's
throttling is switched on with that budget and its buckets refilled, and every grant's
``ends_at`` is moved to one moment ``T`` a few seconds ahead (a time-travel on one column: a
request lasts at least a minute). From ``T`` the ordinary path runs: the reconciler's full tick
(scheduled at the next due end) expires the requests and queues revoke jobs, the connector claims
them 20 at a time and sends each claim as one ``$batch`` (revocations first), the limiter paces
them under the budget, the results end the grants.

Figures (all from the server's rows): ``seconds_to_revoke_all`` = last ``removed_at`` - T;
``floor_seconds`` = what the write bucket allows at best: (N - burst) / rate, the bucket being
full at T; ``ratio_to_floor``; ``p99_lateness_s`` (``removed_at`` - ``ends_at``); ``lost`` (never
removed). ``writes_per_s`` is the sustained pace of confirmations once the burst is spent (over
the later half of the removals, from the server's rows), against the budget's rate
(``ratio_to_budget``; the limiter aims at 97 % of it). ``graph_writes_per_s`` is the same pace as
Graph saw it: the emulator's log of membership removals, over the same later half
(``graph_ratio_to_budget``); ``graph_first_removal_s`` / ``graph_last_removal_s`` are the first and
last removal in Graph, from ``T``.

The budget: graph.md §8 gives 3,000 writes per 150 s (20/s). With that bucket 2,000 revocations
fit in the burst and the floor is zero, so by default the bench keeps the rate and shrinks the
bucket to 600 per 30 s (still 20/s), like ``bench/graph_writes.py``; ``--write-budget 3000
--write-window-s 150`` runs graph.md's exact bucket. The tenant tier is L (8,000 RU per 10 s).

    .venv/bin/python bench/revocation_burst.py --grants 2000 --tier L
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, func, select, update

from jitgate.devstack.load import free_pairs, percentile
from jitgate.server.grants.models import Grant
from jitgate.server.grants.states import GrantStatus
from stackbench import emit, make_flow, settle, start_stack, wait

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from jitgate.devstack import DevStack

LEAD_S = 8.0  # T is this far ahead when the ends move: the connector restarts meanwhile
UNTHROTTLED = {"write_budget": 10**7, "write_window_s": 1.0}


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grants", type=int, default=2000)
    parser.add_argument("--tier", default="L", choices=["S", "M", "L"])
    parser.add_argument("--write-budget", type=int, default=600)
    parser.add_argument("--write-window-s", type=float, default=30.0)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--workdir", type=Path, default=None)
    return parser.parse_args()


def _count(engine: Engine, *statuses: GrantStatus) -> int:
    with engine.connect() as db:
        return int(db.scalar(select(func.count(Grant.id)).where(Grant.status.in_(statuses))) or 0)


def _grant_all(stack: DevStack, engine: Engine, integration_id: str, n: int) -> None:
    """File auto-approved requests (one per user, up to 100 groups) until n grants exist."""
    make_flow(stack, integration_id, approvers=None)
    by_user: dict[str, list[str]] = {}
    for upn, resource_id, _, _ in free_pairs(stack, integration_id)[:n]:
        by_user.setdefault(upn, []).append(resource_id)
    if sum(len(v) for v in by_user.values()) < n:
        raise SystemExit("not enough free user x group pairs")
    for upn, resources in by_user.items():
        for start in range(0, len(resources), 100):
            body = {
                "grantee": upn,
                "resource_ids": resources[start : start + 100],
                "permissions": ["member"],
                "duration_min": 600,
            }
            stack.call("POST", "/requests", body)
    if not wait(lambda: _count(engine, GrantStatus.ACTIVE) >= n, timeout_s=1800, interval_s=1):
        raise SystemExit(f"only {_count(engine, GrantStatus.ACTIVE)} of {n} grants became active")


def _arm(stack: DevStack, engine: Engine, args: argparse.Namespace) -> datetime:
    """Budgeted connector and emulator, full buckets; every grant ends at T. Returns T."""
    connector = stack.require_connector()
    connector.stop()
    config = json.loads(connector.config_file.read_text())
    config.update(write_budget=args.write_budget, write_window_s=args.write_window_s)
    connector.config_file.write_text(json.dumps(config))
    stack.graph.settings(
        throttling=True, write_budget=args.write_budget, write_window_s=args.write_window_s
    )
    stack.graph.reset_throttle()
    ends = datetime.now(UTC) + timedelta(seconds=LEAD_S)
    with engine.begin() as db:
        db.execute(update(Grant).where(Grant.status == GrantStatus.ACTIVE).values(ends_at=ends))
    connector.start()
    return ends


def _removals(engine: Engine) -> list[tuple[datetime, datetime | None]]:
    with engine.connect() as db:
        rows = db.execute(select(Grant.ends_at, Grant.removed_at).where(Grant.ends_at.is_not(None)))
        return [(e, r) for e, r in rows if e is not None]


def _figures(args: argparse.Namespace, ends: datetime, rows: list[Any]) -> dict[str, Any]:
    done = sorted(r for _, r in rows if r is not None)
    n = args.grants
    rate = args.write_budget / args.write_window_s
    floor = max(0, n - args.write_budget) / rate
    last = (done[-1] - ends).total_seconds() if done else float("nan")
    lateness = [(r - e).total_seconds() for e, r in rows if r is not None]
    figures: dict[str, Any] = {
        "seconds_to_revoke_all": round(last, 2),
        "floor_seconds": round(floor, 2),
        "ratio_to_floor": round(last / floor, 3) if floor else None,
        "p50_lateness_s": round(percentile(lateness, 50), 2),
        "p99_lateness_s": round(percentile(lateness, 99), 2),
        "lost": n - len(done),
    }
    # the pace once the burst and what refilled meanwhile are spent: the later half of removals
    start = max(min(len(done), args.write_budget), len(done) // 2)
    if len(done) > start + 1:
        span = (done[-1] - done[start - 1]).total_seconds()
        pace = (len(done) - start) / span if span > 0 else float("nan")
        figures |= {
            "writes_per_s": round(pace, 2),
            "budget_writes_per_s": round(rate, 2),
            "ratio_to_budget": round(pace / rate, 3),
        }
    return figures


def _graph_pace(args: argparse.Namespace, ends: datetime, stack: DevStack) -> dict[str, Any]:
    """The sustained pace of removals in the emulator's write log, once the bucket is spent."""
    start = ends.timestamp() - LEAD_S  # the connector restarted then; nothing removes earlier
    removed = sorted(at for at, op in stack.graph.writes() if op == "remove" and at >= start)
    rate = args.write_budget / args.write_window_s
    figures: dict[str, Any] = {"graph_removals": len(removed)}
    if removed:
        figures |= {
            "graph_first_removal_s": round(removed[0] - ends.timestamp(), 2),
            "graph_last_removal_s": round(removed[-1] - ends.timestamp(), 2),
        }
    # like the server-side pace: the later half, once the bucket and its refill are spent
    sustained = removed[max(args.write_budget, len(removed) // 2) :]
    if len(sustained) > 1:
        span = sustained[-1] - sustained[0]
        pace = (len(sustained) - 1) / span if span > 0 else float("nan")
        figures |= {
            "graph_writes_per_s": round(pace, 2),
            "graph_ratio_to_budget": round(pace / rate, 3),
        }
    return figures


def _throttled(stack: DevStack) -> int:
    log = stack.workdir / "logs" / "connector.log"
    return sum("graph throttled" in line for line in log.read_text().splitlines())


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Set up, arm, wait for every revocation, measure."""
    users = args.grants // 40 + 20
    stack, integration_id = start_stack(
        workdir,
        users=users,
        groups=60,
        tier=args.tier,
        database_url=args.database_url,
        connector_settings=UNTHROTTLED,
    )
    # A plain engine: the bench only reads (and moves ends once); no BEGIN IMMEDIATE on SQLite.
    engine = create_engine(stack.server.database_url)
    try:
        stack.graph.settings(throttling=False)
        started = time.perf_counter()
        _grant_all(stack, engine, integration_id, args.grants)
        setup_s = time.perf_counter() - started
        settle(stack)
        throttled_before = _throttled(stack)
        ends = _arm(stack, engine, args)
        floor = max(0, args.grants - args.write_budget) * args.write_window_s / args.write_budget
        wait(
            lambda: _count(engine, GrantStatus.ACTIVE, GrantStatus.REVOKING) == 0,
            timeout_s=LEAD_S + 3 * floor + 120,
            interval_s=0.5,
        )
        figures = _figures(args, ends, _removals(engine)) | _graph_pace(args, ends, stack)
        throttled = _throttled(stack) - throttled_before
    finally:
        engine.dispose()
        stack.stop()
    return {
        "bench": "revocation_burst",
        "grants": args.grants,
        "tier": args.tier,
        "write_budget": args.write_budget,
        "write_window_s": args.write_window_s,
        "database": "postgresql" if args.database_url else "sqlite",
        **figures,
        "throttled_responses": throttled,
        "setup_seconds": round(setup_s, 1),
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
