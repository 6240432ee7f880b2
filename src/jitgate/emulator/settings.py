"""Emulator knobs: one mutable settings object, read on every request, changed by the admin API.

Invariant: every behaviour that reference/graph.md marks as inferred has a knob here, so a test
(or a user who learns what real Graph does) can switch it without editing code.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

TIER_RESOURCE_UNITS = {"S": 3500, "M": 5000, "L": 8000}
"""Resource units per 10 s for one app + tenant pair, by tenant-size tier (graph.md §8)."""


@dataclass
class FaultRule:
    """Inject an error on requests whose route matches.

    ``route`` is a substring of ``"METHOD /path"`` (``"*"`` matches everything); ``status`` is 429,
    500, 503, 504 or 0 for a dropped connection. The rule fires ``count`` times (when set) or with
    ``probability``. A rule with ``latency_ms`` is a *slow* rule instead: when it fires, the
    response waits that long and is then served normally (a client with a shorter read timeout
    sees a timeout while the request still takes effect, as with real Graph).
    """

    route: str = "*"
    status: int = 503
    probability: float = 1.0
    count: int | None = None
    retry_after: float | None = None
    latency_ms: float = 0.0


@dataclass
class EmulatorSettings:
    """Every behaviour knob of the emulator (all safe to change while it runs)."""

    tier: str = "S"
    throttling: bool = True
    ru_window_s: float = 10.0
    resource_units: int | None = None  # None: take the tier's number
    write_budget: int = 3000
    write_window_s: float = 150.0
    tenant_write_budget: int = 18000
    tenant_write_window_s: float = 300.0
    # Tenant-wide resource units shared by every app (per ru_window_s); graph.md §8 names no
    # such number, so None (no tenant-wide RU bucket) unless a test or a user sets one.
    tenant_resource_units: int | None = None
    # Other apps of the tenant spending the tenant-wide budgets in the background, per second.
    other_apps_ru_per_s: float = 0.0
    other_apps_writes_per_s: float = 0.0
    # Inner $batch answers carry x-ms-resource-unit (Graph's JSON batching article shows it);
    # that they also carry x-ms-throttle-limit-percentage is inferred: switch it off here.
    batch_limit_percentage: bool = True
    retry_after_fractional: bool = True
    throttle_message: str = "directory"  # "directory" (observed) or "documented" (§8 wording)
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    replication_lag_ms: float = 0.0
    faults: list[FaultRule] = field(default_factory=list)
    validate_token_lifetime: bool = True
    token_lifetime_s: int = 3599
    assertion_leeway_s: int = 300
    # graph.md §12: the dynamic-group error is 403 in the current article, older reports differ.
    dynamic_group_error: str = "403"  # "403" or "400"
    mail_enabled_error: str = "403"  # "403" (current) or "400" (2016 "external service" text)
    # Real Graph lets an app with RoleManagement.ReadWrite.Directory manage role-assignable groups;
    # turn this on to also require the SP to hold Privileged Role Administrator (graph.md §10.2).
    require_sp_role_for_role_assignable: bool = False
    # Where a person's browser reaches the sign-in pages (authorize, logout, CSS), e.g. a plain
    # HTTP loopback listener in the demo; None: the emulator's own (HTTPS) base URL. Discovery
    # advertises authorization_endpoint and end_session_endpoint on it; all else stays HTTPS.
    browser_base_url: str | None = None
    # Users with an MFA secret give a one-time code at every sign-in; off: only when a claims
    # request asks for an auth context (step-up) or the session has no MFA yet.
    mfa_on_every_sign_in: bool = True
    delta_page_size: int = 100
    delta_member_chunk: int = 100
    delta_token_days: int = 7
    max_page_size: int = 999
    default_page_size: int = 100

    def ru_capacity(self) -> int:
        """Return the resource units per window for the current tier."""
        if self.resource_units is not None:
            return self.resource_units
        return TIER_RESOURCE_UNITS.get(self.tier.upper(), TIER_RESOURCE_UNITS["S"])

    def to_dict(self) -> dict[str, Any]:
        """Return the knobs as JSON-able data."""
        return asdict(self)

    def update(self, changes: dict[str, Any]) -> None:
        """Apply ``changes`` (a subset of the knobs); unknown names raise ``KeyError``."""
        known = {f.name for f in fields(self)}
        for name, value in changes.items():
            if name not in known:
                raise KeyError(name)
            if name == "faults":
                self.faults = [FaultRule(**rule) for rule in value]
            elif name == "tier":
                tier = str(value).upper()
                if tier not in TIER_RESOURCE_UNITS:
                    raise ValueError(f"tier must be S, M or L, not {value!r}")
                self.tier = tier
            else:
                setattr(self, name, value)
