"""The real Graph client against the emulator, in-process (``httpx.ASGITransport``).

``EmulatorTimer`` is the client's timer: its sleeps return at once but move the emulator's clock
by the same amount, so Retry-After, backoff, throttle refill and replication lag all play out in
emulator time and no test waits on the wall clock.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import TYPE_CHECKING

import httpx
import pytest

from jitgate.emulator.app import create_app
from jitgate.emulator.state import build_state
from jitgate.graph.client import GraphClient
from jitgate.graph.config import ClientSecretAuth, GraphConfig
from jitgate.graph.limiter import AdaptiveLimiter, Budget
from jitgate.graph.retry import FakeTimer, RetryPolicy

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from jitgate.emulator.state import EmulatorState

HOST = "https://emulator.test"


class EmulatorTimer(FakeTimer):
    """A fake timer that also advances the emulator clock when the client sleeps."""

    def __init__(self, state: EmulatorState) -> None:
        super().__init__()
        self.state = state

    async def sleep(self, seconds: float) -> None:
        seconds = max(0.0, seconds)
        self.slept.append(seconds)
        self.now += seconds
        if seconds:
            self.state.tenant.clock.advance(timedelta(seconds=seconds))  # type: ignore[attr-defined]
        await asyncio.sleep(0)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def state() -> EmulatorState:
    return build_state()


@pytest.fixture
def readonly_app(state: EmulatorState) -> tuple[str, str]:
    return app_credentials(state, "Read-only reporting app")


def app_credentials(state: EmulatorState, display_name: str) -> tuple[str, str]:
    """Client id and secret of a demo app by display name (secrets are in demo.yaml)."""
    secrets = {"Read-only reporting app": "readonly-secret-value"}
    for app in state.tenant.applications.values():
        if app.get("displayName") == display_name:
            return str(app["appId"]), secrets[display_name]
    raise LookupError(display_name)


def make_client(
    state: EmulatorState,
    *,
    client_id: str | None = None,
    client_secret: str | None = None,
    retry: RetryPolicy | None = None,
    read_timeout_s: float = 30.0,
) -> GraphClient:
    config = GraphConfig(
        tenant_id=state.tenant.tenant_id,
        auth=ClientSecretAuth(
            client_id=client_id or state.client_id,
            client_secret=client_secret or state.client_secret,
        ),
        authority_host=HOST,
        graph_url=HOST,
        disable_instance_discovery=True,
        read_timeout_s=read_timeout_s,
    )
    timer = EmulatorTimer(state)
    client = GraphClient.from_config(
        config,
        transport=httpx.ASGITransport(app=create_app(state)),
        timer=timer,
        budget=Budget.for_tier(state.settings.tier),
    )
    client.retry = retry or RetryPolicy(max_attempts=6, deadline_s=120.0, base_delay_s=0.2)
    client.limiter = AdaptiveLimiter(Budget.for_tier(state.settings.tier), timer=timer)
    return client


@pytest.fixture
async def graph(state: EmulatorState) -> AsyncIterator[GraphClient]:
    async with make_client(state) as client:
        yield client


@pytest.fixture
def connect(state: EmulatorState):
    """Build more clients on the same emulator (other apps, other retry policies)."""

    def build(**kwargs) -> GraphClient:
        return make_client(state, **kwargs)

    return build


@pytest.fixture
def names(state: EmulatorState) -> dict[str, str]:
    """Demo object ids by UPN prefix, group display name and AU display name."""
    out = {u["userPrincipalName"].split("@")[0]: u["id"] for u in state.tenant.users.values()}
    out.update({g["displayName"]: g["id"] for g in state.tenant.groups.values()})
    out.update({a["displayName"]: a["id"] for a in state.tenant.admin_units.values()})
    return out
