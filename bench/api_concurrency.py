"""API concurrency: the load test's mix, longer, at 50 and 100 clients on SQLite and PostgreSQL.

Emulator, server and connector run as separate processes over HTTPS (``jitgate.devstack``). For
each database and client count, a fresh stack gets ``--operations`` calls from that many
concurrent clients (``jitgate.devstack.load``: 60 % reads of ``/me``, ``/requests``, ``/grants``,
``/identities`` and resources; 40 % request creates on an auto-approved flow and revokes) while a
prober calls ``/healthz`` every 50 ms. Prints one JSON line: per run ``p99_s`` (every API call),
``errors_5xx`` (5xx other than 503, and calls with no answer), ``busy_503``, ``healthz_max_s``,
``recovered_s`` (from the end of the load until a window of 20 ``/healthz`` probes has its p99
under 100 ms), and the worst of each over the runs. Goals: ``errors_5xx`` 0, ``healthz_max_s``
≤ 1, ``recovered_s`` ≤ 5.

    .venv/bin/python bench/api_concurrency.py                       # 4 runs, 3,000 calls each
    .venv/bin/python bench/api_concurrency.py --clients 100 --databases sqlite

PostgreSQL runs in a new database on ``--postgres-url``'s server (dropped afterwards).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import sys
import tempfile
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg

from jitgate.devstack.load import LoadPlan, free_pairs, run_load
from stackbench import emit, make_flow, start_stack

if TYPE_CHECKING:
    from collections.abc import Iterator

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[50, 100])
    parser.add_argument(
        "--databases", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite", "postgresql"]
    )
    parser.add_argument("--operations", type=int, default=3000)
    parser.add_argument(
        "--postgres-url", default=os.environ.get("JITGATE_TEST_POSTGRES_URL", DEFAULT_PG)
    )
    parser.add_argument("--workdir", type=Path, default=None)
    return parser.parse_args()


@contextlib.contextmanager
def _fresh_postgres(url: str) -> Iterator[str]:
    """A new, empty database on the server of ``url``; dropped on exit."""
    base, _, _ = url.rpartition("/")
    name = f"jitgate_bench_{uuid.uuid4().hex[:10]}"
    libpq = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(libpq, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"{base}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _one(workdir: Path, database_url: str | None, clients: int, operations: int) -> dict[str, Any]:
    stack, integration_id = start_stack(workdir, users=200, groups=12, database_url=database_url)
    try:
        make_flow(stack, integration_id, approvers=None)  # approved as soon as asked
        pairs = [(upn, resource_id) for upn, resource_id, _, _ in free_pairs(stack, integration_id)]
        random.Random(3).shuffle(pairs)
        report = run_load(
            LoadPlan(
                server_url=stack.server_url,
                ca_bundle=stack.server.ca_bundle,
                token=stack.admin_token,
                integration_id=integration_id,
                pairs=pairs,
                clients=clients,
                operations=operations,
            )
        )
    finally:
        stack.stop()
    return {**report.summary(), "failures": dict(report.failures.most_common(3))}


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Every (database, clients) run; the worst figures over all of them."""
    runs: dict[str, Any] = {}
    for database in args.databases:
        for clients in args.clients:
            where = workdir / f"{database}-{clients}"
            if database == "sqlite":
                runs[f"{database}_{clients}"] = _one(where, None, clients, args.operations)
            else:
                with _fresh_postgres(args.postgres_url) as url:
                    runs[f"{database}_{clients}"] = _one(where, url, clients, args.operations)
            print(f"{database}_{clients}: {runs[f'{database}_{clients}']}", file=sys.stderr)
    return {
        "bench": "api_concurrency",
        "operations": args.operations,
        "p99_s": max(r["p99_s"] for r in runs.values()),
        "errors_5xx": sum(r["errors_5xx"] for r in runs.values()),
        "healthz_max_s": max(r["healthz_max_s"] for r in runs.values()),
        "recovered_s": max(r["recovered_s"] for r in runs.values()),
        "runs": runs,
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
