"""Graph write pacing when the budget is not the tier's: jitgate as shipped beside msgraph-sdk.

One run, one emulator, fresh groups for every client and scenario, the emulator's throttle buckets
full at the start of each. The scenarios (a small bucket of the tier's write rate, 20 a second,
so a scenario takes tens of seconds rather than minutes):

* ``a_bucket_equal_to_tier``: the app + tenant write bucket is the tier's rate;
* ``b_bucket_third_of_tier``: it is a third of it;
* ``c_tenant_budget_half_taken``: a tenant-wide resource-unit budget, half spent by another app;
* ``d_budget_halved_mid_run``: the write bucket is halved part way through.

Clients: ``jitgate`` is the Graph client with its shipped defaults (tier L, the connector's
default write budget, ``$batch``), told nothing of the scenario; ``sdk`` is Microsoft's
``msgraph-sdk`` making one plain call per write, one at a time, with its default retry handler.
msgraph-sdk is never a jitgate dependency: when it is not importable, the benchmark builds a
throw-away virtualenv (``--sdk-venv``) with it, links this environment's packages behind it, and
runs itself again there.

``best_writes_per_s`` is what a client that knew the buckets exactly could do: spend the burst at
once, then follow the refill. Prints one JSON line:
``{"scenarios": {NAME: {"jitgate": {...}, "sdk": {...}}}}``.

    .venv/bin/python bench/graph_pacing.py
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import subprocess
import sys
import sysconfig
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import httpx

from jitgate.emulator.app import create_app
from jitgate.emulator.settings import EmulatorSettings
from jitgate.emulator.state import build_state
from jitgate.graph.client import GraphClient
from jitgate.graph.config import ClientSecretAuth, GraphConfig
from jitgate.graph.operations import bulk
from jitgate.graph.operations.groups import parse_group
from jitgate.graph.operations.models import AccessChange, Action, Outcome
from jitgate.protocol.v1 import Permission

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine

    from jitgate.emulator.state import EmulatorState

HOST = "https://emulator.test"
ROOT = Path(__file__).resolve().parents[1]
#: The write bucket of the tier's rate (graph.md §8: 3,000 per 150 s), scaled down in size.
BUCKET, WINDOW = 1200, 60.0
RATE = BUCKET / WINDOW
#: Scenario d: the bucket is halved this long after the start.
HALVED_AT_S = 15.0
DONE = {Outcome.APPLIED, Outcome.ALREADY_PRESENT}


class Scenario(NamedTuple):
    """Emulator knobs, the writes to make, and the best possible time for them."""

    name: str
    settings: dict[str, Any]
    writes: int
    best_s: float
    change_at: float | None = None
    change: dict[str, Any] | None = None


def scenarios() -> list[Scenario]:
    """The four scenarios; each has a best time of about 30 s."""
    base = {"write_budget": BUCKET, "write_window_s": WINDOW, "tenant_resource_units": None}
    third = BUCKET // 3
    tenant_ru, others = 200, 10.0  # 20 RU/s shared, another app spends 10 of them
    halved = 1200 + 300 + 150
    return [
        Scenario("a_bucket_equal_to_tier", base, 1800, (1800 - BUCKET) / RATE),
        Scenario(
            "b_bucket_third_of_tier",
            base | {"write_budget": third},
            600,
            (600 - third) / (third / WINDOW),
        ),
        Scenario(
            "c_tenant_budget_half_taken",
            base | {"tenant_resource_units": tenant_ru, "other_apps_ru_per_s": others},
            500,
            (500 - tenant_ru) / (tenant_ru / 10.0 - others),
        ),
        Scenario(
            "d_budget_halved_mid_run",
            base,
            halved,
            HALVED_AT_S + (halved - BUCKET - RATE * HALVED_AT_S) / (RATE / 2),
            HALVED_AT_S,
            {"write_budget": BUCKET // 2},
        ),
    ]


class CountingTransport(httpx.AsyncBaseTransport):
    """The in-process emulator, counting HTTP requests and 429 answers."""

    def __init__(self, state: EmulatorState) -> None:
        self.inner = httpx.ASGITransport(app=create_app(state))
        self.requests = 0
        self.throttled = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Forward and count."""
        response = await self.inner.handle_async_request(request)
        if "/v1.0/" in request.url.path:
            self.requests += 1
            self.throttled += response.status_code == httpx.codes.TOO_MANY_REQUESTS
        return response


def changeable_groups(state: EmulatorState) -> list[str]:
    """Groups whose membership Graph lets us write."""
    return sorted(
        g["id"]
        for g in state.tenant.groups.values()
        if not set(g.get("groupTypes") or []) & {"Unified", "DynamicMembership"}
        and not g.get("mailEnabled")
        and not g.get("isAssignableToRole")
        and not g.get("onPremisesSyncEnabled")
        and not state.tenant.members.get(g["id"])
    )


def pairs(state: EmulatorState, groups: list[str], count: int) -> list[tuple[str, str]]:
    """``count`` (user, group) memberships on ``groups`` only (fresh groups per run)."""
    users = sorted(state.tenant.users)
    out = [(u, g) for g in groups for u in users]
    if len(out) < count:
        raise SystemExit(f"not enough users x groups for {count} writes")
    return out[:count]


async def jitgate_run(state: EmulatorState, work: list[tuple[str, str]]) -> dict[str, Any]:
    """All writes through the shipped Graph client (``$batch``, its default budget)."""
    transport = CountingTransport(state)
    config = GraphConfig(
        tenant_id=state.tenant.tenant_id,
        auth=ClientSecretAuth(client_id=state.client_id, client_secret=state.client_secret),
        authority_host=HOST,
        graph_url=HOST,
        disable_instance_discovery=True,
    )
    changes = [AccessChange(Action.GRANT, u, g, Permission.MEMBER) for u, g in work]
    known = {g: parse_group(state.tenant.groups[g]) for _, g in work}
    async with GraphClient.from_config(config, transport=transport) as client:
        await client.tokens.token()
        start = time.perf_counter()
        results = await bulk.apply_changes(client, changes, groups=known)
        seconds = time.perf_counter() - start
        stats = client.limiter.stats
        learnt = client.limiter.write_rate
    return {
        "seconds": seconds,
        "failed": sum(1 for r in results if r.outcome not in DONE),
        "requests": transport.requests,
        "throttled": stats.throttled,
        "answers": len(work) + stats.throttled,
        "episodes": stats.episodes,
        "write_rate_learnt": round(learnt, 2),
    }


async def sdk_token(transport: httpx.AsyncBaseTransport, state: EmulatorState) -> str:
    """A client-credentials token from the emulator."""
    async with httpx.AsyncClient(transport=transport, base_url=HOST) as http:
        response = await http.post(
            f"/{state.tenant.tenant_id}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": state.client_id,
                "client_secret": state.client_secret,
                "scope": "https://graph.microsoft.com/.default",
            },
        )
        response.raise_for_status()
        return str(response.json()["access_token"])


def sdk_client(transport: httpx.AsyncBaseTransport, token: str) -> Any:  # noqa: ANN401 - the SDK's client
    """msgraph-sdk's GraphServiceClient on the emulator, with its default middleware."""
    auth = importlib.import_module("kiota_abstractions.authentication")
    msgraph = importlib.import_module("msgraph")
    core = importlib.import_module("msgraph_core")

    class StaticToken(auth.AccessTokenProvider):  # type: ignore[misc,name-defined]
        async def get_authorization_token(self, uri: str, context: Any = None) -> str:  # noqa: ANN401, ARG002
            return token

        def get_allowed_hosts_validator(self) -> Any:  # noqa: ANN401
            return auth.AllowedHostsValidator([])

    http = core.GraphClientFactory.create_with_default_middleware(
        client=httpx.AsyncClient(transport=transport), host=HOST
    )
    adapter = msgraph.GraphRequestAdapter(
        auth.BaseBearerTokenAuthenticationProvider(StaticToken()), client=http
    )
    adapter.base_url = f"{HOST}/v1.0"
    return msgraph.GraphServiceClient(request_adapter=adapter)


async def sdk_run(state: EmulatorState, work: list[tuple[str, str]]) -> dict[str, Any]:
    """One plain call per write, one at a time (msgraph-sdk)."""
    transport = CountingTransport(state)
    client = sdk_client(transport, await sdk_token(transport, state))
    reference = importlib.import_module("msgraph.generated.models.reference_create")
    failed = 0
    start = time.perf_counter()
    for user, group in work:
        body = reference.ReferenceCreate(
            odata_id=f"https://graph.microsoft.com/v1.0/directoryObjects/{user}"
        )
        try:
            await client.groups.by_group_id(group).members.ref.post(body)
        except Exception:  # noqa: BLE001 - a benchmark counts failures of any kind
            failed += 1
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "failed": failed,
        "requests": transport.requests,
        "throttled": transport.throttled,
        "answers": transport.requests,
    }


async def with_change(
    state: EmulatorState,
    scenario: Scenario,
    run: Callable[[], Coroutine[Any, Any, dict[str, Any]]],
) -> dict[str, Any]:
    """Run, changing the emulator's budget part way through when the scenario says so.

    A thread's timer, not the event loop's: an in-process client that never waits on real I/O
    may not let the loop run anything else until it is done.
    """
    timer = None
    if scenario.change is not None and scenario.change_at is not None:
        timer = threading.Timer(scenario.change_at, state.settings.update, [scenario.change])
        timer.start()
    try:
        return await run()
    finally:
        if timer is not None:
            timer.cancel()


def figures(raw: dict[str, Any], scenario: Scenario) -> dict[str, Any]:
    """The reported figures of one client in one scenario."""
    rate = scenario.writes / raw["seconds"]
    best = scenario.writes / scenario.best_s
    out = {
        "ratio_to_best": round(rate / best, 3),
        "throttled": raw["throttled"],
        "throttled_share": round(raw["throttled"] / max(1, raw["answers"]), 4),
        "failed": raw["failed"],
        "requests": raw["requests"],
        "writes_per_s": round(rate, 2),
        "best_writes_per_s": round(best, 2),
        "seconds": round(raw["seconds"], 1),
    }
    out.update({k: raw[k] for k in ("episodes", "write_rate_learnt") if k in raw})
    return out


def run_all(clients: list[str], only: list[str] | None) -> dict[str, Any]:
    """Every scenario for every client on one emulator; fresh groups and full buckets each."""
    chosen = [s for s in scenarios() if not only or s.name in only]
    state = build_state(generate={"users": 100, "groups": 400, "members_per_group": 0})
    free = changeable_groups(state)
    plans = {}
    for scenario in chosen:  # every run's writes first: a shortfall stops before any run
        for name in clients:
            groups, free = free[:20], free[20:]
            plans[scenario.name, name] = pairs(state, groups, scenario.writes)
    report: dict[str, Any] = {}
    for scenario in chosen:
        report[scenario.name] = {}
        for name in clients:
            work = plans[scenario.name, name]
            state.settings = EmulatorSettings(tier="L")
            state.settings.update(scenario.settings)
            state.throttler.reset()
            runner = jitgate_run if name == "jitgate" else sdk_run
            raw = asyncio.run(with_change(state, scenario, lambda r=runner, w=work: r(state, w)))
            report[scenario.name][name] = figures(raw, scenario)
            print(scenario.name, name, json.dumps(report[scenario.name][name]), file=sys.stderr)
    return report


def sdk_available() -> bool:
    """Whether msgraph-sdk imports here."""
    try:
        importlib.import_module("msgraph")
    except ImportError:
        return False
    return True


def reexec_in_sdk_venv(venv: Path) -> None:
    """Build (once) a throw-away venv with msgraph-sdk, link our packages behind it, rerun there."""
    python = venv / "bin" / "python"
    if not python.exists():
        uv = Path(sys.executable).with_name("uv")
        base = [str(uv)] if uv.exists() else [sys.executable, "-m", "uv"]
        make = [*base, "venv", "--quiet", "--python", sys.executable, str(venv)]
        subprocess.run(make, check=True)  # noqa: S603 - our own uv, fixed arguments
        subprocess.run(  # noqa: S603
            [*base, "pip", "install", "--quiet", "--python", str(python), "msgraph-sdk"], check=True
        )
    site = subprocess.run(  # noqa: S603
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # The venv's own packages (the SDK's pins) first, then this environment's (jitgate's).
    ours = [sysconfig.get_paths()["purelib"], str(ROOT / "src")]
    (Path(site) / "zz_jitgate_bench.pth").write_text("\n".join(ours) + "\n", encoding="utf-8")
    os.execv(str(python), [str(python), *sys.argv])  # noqa: S606 - rerun this script there


def main() -> None:
    """Run the scenarios and print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sdk-venv", type=Path, default=ROOT / ".bench-venv" / "msgraph-sdk")
    parser.add_argument("--no-sdk", action="store_true", help="Measure jitgate only.")
    parser.add_argument("--scenario", action="append", help="Only these scenarios (repeatable).")
    args = parser.parse_args()
    if not args.no_sdk and not sdk_available():
        reexec_in_sdk_venv(args.sdk_venv)
    clients = ["jitgate"] if args.no_sdk else ["jitgate", "sdk"]
    print(json.dumps({"scenarios": run_all(clients, args.scenario)}), flush=True)


if __name__ == "__main__":
    main()
