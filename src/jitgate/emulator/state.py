"""The emulator's whole state in one object, and ``build_state`` to make it from a fixture.

Nothing is global: tests build as many independent states as they like.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jitgate.core.clock import OffsetClock
from jitgate.emulator import fixtures, graph_pim
from jitgate.emulator.faults import Faults
from jitgate.emulator.settings import EmulatorSettings
from jitgate.emulator.store import Tenant
from jitgate.emulator.throttle import Throttler
from jitgate.emulator.tokens import SigningKey, TokenService

if TYPE_CHECKING:
    from pathlib import Path

    from jitgate.core.clock import Clock

DEMO = "demo"


@dataclass
class EmulatorState:
    """Tenant, knobs, keys, throttle buckets, fault dice and sign-in sessions."""

    tenant: Tenant
    settings: EmulatorSettings
    tokens: TokenService
    throttler: Throttler = field(default_factory=Throttler)
    faults: Faults = field(default_factory=Faults)
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    refresh_tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: SSO sessions by cookie value: {sid, user_id, auth_time, amr}
    sso_sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: sign-ins waiting for their one-time code, by flow token
    pending_signins: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: the last TOTP time step accepted per user (a code is used once)
    totp_last_step: dict[str, int] = field(default_factory=dict)

    @property
    def client_id(self) -> str:
        """Return the seeded connector app's client id."""
        return self.tenant.connector_app_id

    @property
    def client_secret(self) -> str:
        """Return the seeded connector app's client secret."""
        return self.tenant.connector_secret


def build_state(
    *,
    seed: Path | dict[str, Any] | str | None = DEMO,
    clock: Clock | None = None,
    settings: EmulatorSettings | None = None,
    signing_key: SigningKey | None = None,
    generate: dict[str, int] | None = None,
) -> EmulatorState:
    """Return a ready emulator state.

    ``seed`` is a fixture path, a parsed fixture dict, ``"demo"`` (the shipped demo tenant) or
    None (an empty tenant with only the connector app). ``generate`` adds a synthetic tenant on
    top (``{"users": 100000, "groups": 50000, ...}``, see ``generate.generate``).
    """
    data = fixtures.load(seed)
    if generate:
        data = {**data, "generate": {**data.get("generate", {}), **generate}}
    tenant = Tenant(tenant_id=fixtures.tenant_id(data), clock=clock or OffsetClock())
    tenant.on_expire.append(graph_pim.on_expire)
    fixtures.apply(tenant, data)
    knobs = settings or EmulatorSettings()
    if settings is None and data.get("settings"):
        knobs.update(data["settings"])
    return EmulatorState(
        tenant=tenant, settings=knobs, tokens=TokenService(signing_key or SigningKey.generate())
    )
