"""A mixed client load against a running server, with ``/healthz`` watched throughout.

``run_load(...)`` starts ``clients`` concurrent clients that share ``operations`` calls:
60 % reads (``/me``, ``/requests``, ``/grants``, ``/identities``, an integration's resources)
and 40 % writes (create a request on an auto-approved flow; revoke one created earlier). A
separate prober calls ``/healthz`` every ``probe_interval_s`` on its own connection. After the
load it keeps probing until ``/healthz`` answers fast again (``recovered_s``).

Used by the bounded load test (``tests/e2e/test_load.py``) and ``bench/api_concurrency.py``.
Every answer is counted by status; a 5xx other than 503, a 503 without ``Retry-After`` and a
transport error are the failures a caller asserts on.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import ssl
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from jitgate.devstack.stack import DevStack

SERVICE_UNAVAILABLE = 503
#: ``/healthz`` is "back" when the p99 of a window of probes is under this many seconds.
RECOVERED_P99_S = 0.1
RECOVERY_WINDOW = 20
RECOVERY_LIMIT_S = 120.0


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank percentile ``q`` (0..100) of ``values`` (NaN when empty)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def changeable(group: dict[str, Any]) -> bool:
    """A security group the connector may change with a plain membership write."""
    types = group.get("groupTypes") or []
    return (
        "Unified" not in types
        and "DynamicMembership" not in types
        and not group.get("mailEnabled")
        and not group.get("isAssignableToRole")
        and not group.get("onPremisesSyncEnabled")
    )


def free_pairs(stack: DevStack, integration_id: str) -> list[tuple[str, str, str, str]]:
    """(grantee UPN, resource id, group object id, user object id) with no membership yet."""
    exported = stack.graph.export()
    resources = {
        r["external_id"]: r["id"]
        for r in stack.resources(integration_id)
        if r["type"] == "entra-group"
    }
    groups = [g for g in exported["groups"] if changeable(g) and g["id"] in resources]
    users = [u for u in exported["users"] if u.get("accountEnabled", True)]
    members = exported["members"]
    return [
        (user["userPrincipalName"], resources[group["id"]], group["id"], user["id"])
        for user in users
        for group in groups
        if user["id"] not in members.get(group["id"], [])
    ]


@dataclass
class LoadReport:
    """What the clients and the ``/healthz`` prober saw."""

    statuses: Counter[int] = field(default_factory=Counter)
    #: 5xx answers other than 503, and transport errors, by a short description.
    failures: Counter[str] = field(default_factory=Counter)
    busy_without_retry_after: int = 0
    latencies: list[float] = field(default_factory=list)
    healthz: list[float] = field(default_factory=list)
    healthz_failures: int = 0
    #: request id → (grantee, resource id) of every request the load created
    created: dict[str, tuple[str, str]] = field(default_factory=dict)
    revoked: list[str] = field(default_factory=list)
    duration_s: float = 0.0
    recovered_s: float = 0.0

    @property
    def errors_5xx(self) -> int:
        """5xx answers other than 503, plus calls that got no answer at all."""
        return sum(self.failures.values())

    def summary(self) -> dict[str, Any]:
        """The figures a benchmark prints."""
        return {
            "calls": sum(self.statuses.values()),
            "ops_per_s": round(sum(self.statuses.values()) / max(self.duration_s, 1e-9), 1),
            "p50_s": round(percentile(self.latencies, 50), 4),
            "p99_s": round(percentile(self.latencies, 99), 4),
            "errors_5xx": self.errors_5xx,
            "busy_503": self.statuses[SERVICE_UNAVAILABLE],
            "busy_without_retry_after": self.busy_without_retry_after,
            "healthz_max_s": round(max(self.healthz, default=float("nan")), 4),
            "healthz_failures": self.healthz_failures,
            "recovered_s": round(self.recovered_s, 3),
        }


@dataclass(frozen=True)
class LoadPlan:
    """Who calls what: the server, the token, the (grantee, resource) pairs to request."""

    server_url: str
    ca_bundle: Path
    token: str
    integration_id: str
    pairs: Sequence[tuple[str, str]]
    clients: int = 50
    operations: int = 300
    write_share: float = 0.4
    probe_interval_s: float = 0.05
    seed: int = 7


class _Mix:
    """The clients' shared state: the next operation, the pairs left, what to revoke."""

    def __init__(self, plan: LoadPlan, report: LoadReport) -> None:
        self.plan, self.report = plan, report
        self.random = random.Random(plan.seed)  # noqa: S311 - a repeatable mix, not a secret
        self.left = plan.operations
        self.pairs = iter(plan.pairs)
        self.to_revoke: list[str] = []
        self.reads = itertools.cycle(
            [
                "/me",
                "/requests?limit=50",
                "/grants?limit=50",
                "/identities?limit=50",
                f"/integrations/{plan.integration_id}/resources?limit=50",
            ]
        )

    def take(self) -> bool:
        if self.left <= 0:
            return False
        self.left -= 1
        return True

    async def one(self, client: httpx.AsyncClient) -> None:
        if self.random.random() >= self.plan.write_share:
            await self.call(client, "GET", next(self.reads))
        elif self.to_revoke and self.random.random() < 0.5:  # noqa: PLR2004 - half the writes
            request_id = self.to_revoke.pop(0)
            body = await self.call(client, "POST", f"/requests/{request_id}/revoke", {})
            if body is not None:
                self.report.revoked.append(request_id)
        else:
            await self.create(client)

    async def create(self, client: httpx.AsyncClient) -> None:
        pair = next(self.pairs, None)
        if pair is None:
            await self.call(client, "GET", "/me")
            return
        grantee, resource_id = pair
        body = {
            "grantee": grantee,
            "resource_ids": [resource_id],
            "permissions": ["member"],
            "duration_min": 60,
        }
        created = await self.call(client, "POST", "/requests", body)
        if created is not None:
            self.report.created[str(created["id"])] = pair
            self.to_revoke.append(str(created["id"]))

    async def call(
        self,
        client: httpx.AsyncClient,
        method: str,
        path: str,
        body: Any = None,  # noqa: ANN401 - JSON
    ) -> Any:  # noqa: ANN401 - JSON
        started = time.perf_counter()
        try:
            response = await client.request(method, path, json=body)
        except httpx.HTTPError as err:
            self.report.failures[
                f"{method} {path.split('?', maxsplit=1)[0]}: {type(err).__name__}"
            ] += 1
            return None
        self.report.latencies.append(time.perf_counter() - started)
        self.report.statuses[response.status_code] += 1
        if response.status_code == SERVICE_UNAVAILABLE:
            if "retry-after" not in response.headers:
                self.report.busy_without_retry_after += 1
        elif response.status_code >= 500:  # noqa: PLR2004
            self.report.failures[f"{response.status_code} {response.text[:120]}"] += 1
        if response.is_success and response.content:
            return response.json()
        return None


def _tls(plan: LoadPlan) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(plan.ca_bundle))


async def _client_loop(mix: _Mix, client: httpx.AsyncClient) -> None:
    while mix.take():
        await mix.one(client)


async def _probe(plan: LoadPlan, report: LoadReport, stop: asyncio.Event) -> None:
    async with httpx.AsyncClient(base_url=plan.server_url, verify=_tls(plan), timeout=10) as c:
        while not stop.is_set():
            started = time.perf_counter()
            try:
                response = await c.get("/healthz")
                ok = response.status_code == 200  # noqa: PLR2004
            except httpx.HTTPError:
                ok = False
            report.healthz.append(time.perf_counter() - started)
            report.healthz_failures += 0 if ok else 1
            await asyncio.sleep(plan.probe_interval_s)


async def _recovery(plan: LoadPlan) -> float:
    """Seconds from now until the first of a window of probes whose p99 is under 100 ms."""
    began = time.perf_counter()
    async with httpx.AsyncClient(base_url=plan.server_url, verify=_tls(plan), timeout=10) as c:
        window: list[tuple[float, float]] = []  # (offset from ``began``, latency)
        while time.perf_counter() - began < RECOVERY_LIMIT_S:
            started = time.perf_counter()
            try:
                await c.get("/healthz")
            except httpx.HTTPError:
                window.clear()
            else:
                window.append((started - began, time.perf_counter() - started))
                window = window[-RECOVERY_WINDOW:]
                fast = percentile([latency for _, latency in window], 99) < RECOVERED_P99_S
                if len(window) == RECOVERY_WINDOW and fast:
                    return window[0][0]
            await asyncio.sleep(plan.probe_interval_s / 5)
    return RECOVERY_LIMIT_S


async def run_load_async(plan: LoadPlan) -> LoadReport:
    """Run the plan; return what was seen."""
    report = LoadReport()
    mix = _Mix(plan, report)
    stop = asyncio.Event()
    limits = httpx.Limits(max_connections=plan.clients, max_keepalive_connections=plan.clients)
    async with httpx.AsyncClient(
        base_url=f"{plan.server_url}/api/v1",
        headers={"Authorization": f"Bearer {plan.token}"},
        verify=_tls(plan),
        timeout=httpx.Timeout(60.0, pool=None),
        limits=limits,
    ) as client:
        prober = asyncio.create_task(_probe(plan, report, stop))
        started = time.perf_counter()
        await asyncio.gather(*(_client_loop(mix, client) for _ in range(plan.clients)))
        report.duration_s = time.perf_counter() - started
        stop.set()
        await prober
    report.recovered_s = await _recovery(plan)
    return report


def run_load(plan: LoadPlan) -> LoadReport:
    """Run the plan on a new event loop (for synchronous callers)."""
    return asyncio.run(run_load_async(plan))
