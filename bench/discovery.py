"""Discovery at scale: full sync of users and groups (with owners), then a delta after changes.

The emulator (a generated tenant) runs in a child process over loopback HTTPS, so the peak RSS
printed is the client's own. Prints one JSON line per phase.

    .venv/bin/python bench/discovery.py --users 100000 --groups 50000 --changes 100
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from jitgate.graph.client import GraphClient
from jitgate.graph.config import ClientSecretAuth, GraphConfig
from jitgate.graph.limiter import Budget
from jitgate.graph.operations import discovery, groups
from jitgate.graph.operations.models import Group
from jitgate.protocol.v1 import Permission

CHILD = """
import json, sys, time, tempfile, pathlib
from jitgate.emulator.settings import EmulatorSettings
from jitgate.emulator.state import build_state
from jitgate.emulator.server import start_in_thread
state = build_state(settings=EmulatorSettings(tier="L"),
                    generate={"users": int(sys.argv[1]), "groups": int(sys.argv[2])})
running = start_in_thread(state, data_dir=pathlib.Path(tempfile.mkdtemp()))
print(json.dumps(running.info()), flush=True)
sys.stdin.read()
running.stop()
"""


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def connect(info: dict[str, Any]) -> GraphClient:
    """A client for the child emulator."""
    config = GraphConfig(
        tenant_id=info["tenant_id"],
        auth=ClientSecretAuth(client_id=info["client_id"], client_secret=info["client_secret"]),
        authority_host=info["authority_host"],
        graph_url=info["graph_url"].removesuffix("/v1.0"),
        disable_instance_discovery=True,
        ca_bundle=Path(info["ca_bundle"]),
    )
    return GraphClient.from_config(config, budget=Budget.for_tier("L"))


async def sync(client: GraphClient, links: dict[str, str | None]) -> dict[str, int]:
    """One round over users and groups; counts what came back."""
    counts = {"users": 0, "groups": 0, "owners": 0, "removed": 0}
    users = discovery.discover_users(client, delta_link=links.get("users"))
    async for user in users:
        counts["users" if not hasattr(user, "reason") else "removed"] += 1
    found = discovery.discover_groups(client, delta_link=links.get("groups"))
    async for group in found:
        if isinstance(group, Group):
            counts["groups"] += 1
            counts["owners"] += len(group.owners)
        else:
            counts["removed"] += 1
    links["users"], links["groups"] = users.delta_link, found.delta_link
    return counts


async def change(client: GraphClient, n: int) -> None:
    """Make ``n`` membership changes through Graph (as another admin would)."""
    taken: list[Group] = []
    async for group in discovery.discover_groups(client):
        if (
            isinstance(group, Group)
            and groups.unchangeable_reason(group, Permission.MEMBER) is None
        ):
            taken.append(group)
        if len(taken) >= n:
            break
    users = discovery.discover_users(client)
    async for user in users:
        principal = user.id
        break
    for group in taken:
        await groups.add_group_member(client, group=group, principal_id=principal)


async def run(info: dict[str, Any], changes: int) -> None:
    """Full sync, changes, delta; print the figures."""
    links: dict[str, str | None] = {}
    async with connect(info) as client:
        await client.tokens.token()
        start = time.perf_counter()
        counts = await sync(client, links)
        full = time.perf_counter() - start
        print(
            json.dumps(
                {
                    "phase": "full",
                    "seconds": round(full, 2),
                    "peak_rss_mb": round(peak_rss_mb(), 1),
                    **counts,
                    "requests": client.requests_sent,
                }
            ),
            flush=True,
        )
        await change(client, changes)
        sent = client.requests_sent
        start = time.perf_counter()
        counts = await sync(client, links)
        delta = time.perf_counter() - start
        print(
            json.dumps(
                {
                    "phase": "delta",
                    "changes": changes,
                    "seconds": round(delta, 2),
                    "peak_rss_mb": round(peak_rss_mb(), 1),
                    **counts,
                    "requests": client.requests_sent - sent,
                }
            ),
            flush=True,
        )


def main() -> None:
    """Start the emulator child, run the phases, stop the child."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=100000)
    parser.add_argument("--groups", type=int, default=50000)
    parser.add_argument("--changes", type=int, default=100)
    args = parser.parse_args()
    child = subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", CHILD, str(args.users), str(args.groups)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None  # noqa: S101 - set by Popen above
        info = json.loads(child.stdout.readline())
        asyncio.run(run(info, args.changes))
    finally:
        if child.stdin is not None:
            child.stdin.close()
        child.wait(timeout=30)


if __name__ == "__main__":
    main()
