"""In-process emulator fixtures: a demo tenant on a ManualClock, reached through ASGITransport."""

from __future__ import annotations

import httpx
import pytest

from jitgate.core.clock import ManualClock
from jitgate.emulator.state import build_state
from jitgate.emulator.testing import InProcessTransport
from jitgate.emulator.tokens import SigningKey

BASE = "https://emulator.test"
_KEY = SigningKey.generate()


@pytest.fixture
def clock():
    return ManualClock()


@pytest.fixture
def state(clock):
    return build_state(clock=clock, signing_key=_KEY)


@pytest.fixture
def client(state):
    with httpx.Client(transport=InProcessTransport(state), base_url=BASE) as http:
        yield http


def token_for(client, state, *, client_id=None, secret=None):
    response = client.post(
        f"/{state.tenant.tenant_id}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id or state.client_id,
            "client_secret": secret or state.client_secret,
            "scope": "https://graph.microsoft.com/.default",
        },
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


@pytest.fixture
def graph(client, state):
    """An httpx client with the connector's bearer token, based at /v1.0."""
    client.headers["Authorization"] = f"Bearer {token_for(client, state)}"
    return client


@pytest.fixture
def readonly(state):
    with httpx.Client(transport=InProcessTransport(state), base_url=BASE) as http:
        http.headers["Authorization"] = "Bearer " + token_for(
            http,
            state,
            client_id=app_id(state, "Read-only reporting app"),
            secret="readonly-secret-value",
        )
        yield http


def app_id(state, name):
    return next(a["appId"] for a in state.tenant.applications.values() if a["displayName"] == name)


def gid(state, name):
    return next(g["id"] for g in state.tenant.groups.values() if g["displayName"] == name)


def uid(state, key):
    return state.tenant.upn_index[f"{key}@contoso.onmicrosoft.com"]
