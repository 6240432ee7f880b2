"""Graph's identity throttling (graph.md §8): token buckets per app + tenant, resource units.

Invariants: a request is admitted only when every bucket it touches has room, and then takes from
all of them; a refused request takes nothing and learns the shortest wait (``Retry-After``) after
which it would be admitted. Buckets refill from the emulator clock, so tests move time instead of
sleeping.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jitgate.emulator.settings import EmulatorSettings

BASE_COSTS: dict[tuple[str, str], int] = {
    ("GET", "users"): 2,
    ("GET", "users/{id}"): 2,
    ("GET", "groups/{id}/members"): 3,
    ("GET", "groups/{id}/members/{cast}"): 3,
    ("GET", "groups/{id}/transitiveMembers"): 5,
    ("GET", "groups/{id}/transitiveMembers/{cast}"): 5,
    ("POST", "users/{id}/checkMemberGroups"): 4,
    ("POST", "me/checkMemberGroups"): 4,
    ("POST", "users/{id}/getMemberGroups"): 2,
    ("POST", "me/getMemberGroups"): 2,
    ("GET", "users/{id}/memberOf"): 2,
    ("GET", "me/memberOf"): 2,
    ("GET", "users/{id}/transitiveMemberOf"): 2,
    ("GET", "me/transitiveMemberOf"): 2,
    ("POST", "directoryObjects/getByIds"): 3,
}
READ_ONLY_POSTS = frozenset(
    {
        "users/{id}/checkMemberGroups",
        "me/checkMemberGroups",
        "users/{id}/getMemberGroups",
        "me/getMemberGroups",
        "groups/{id}/checkMemberGroups",
        "servicePrincipals/{id}/checkMemberGroups",
        "directoryObjects/{id}/checkMemberGroups",
        "directoryObjects/getByIds",
    }
)
SMALL_PAGE = 20
LIMIT_REPORT_FROM = 0.8


def cost(method: str, route_key: str, query: dict[str, str]) -> tuple[int, int]:
    """Return (resource units, writes) a request costs."""
    units = BASE_COSTS.get((method, route_key), 1)
    if "$select" in query:
        units -= 1
    if "$expand" in query:
        units += 1
    top = query.get("$top", "")
    if top.isdigit() and int(top) < SMALL_PAGE:
        units -= 1
    writes = 0 if method == "GET" or route_key in READ_ONLY_POSTS else 1
    return max(units, 1), writes


@dataclass
class Bucket:
    """A token bucket: ``capacity`` tokens that refill evenly over ``window`` seconds."""

    capacity: float
    window: float
    tokens: float
    last: float

    def refill(self, now: float) -> None:
        """Add the tokens earned since the last look."""
        if now > self.last:
            self.tokens = min(
                self.capacity, self.tokens + (now - self.last) * self.capacity / self.window
            )
            self.last = now

    def wait_for(self, amount: float) -> float:
        """Return seconds until ``amount`` tokens are there (0 when they already are)."""
        if self.tokens >= amount:
            return 0.0
        return (amount - self.tokens) * self.window / self.capacity

    def used(self) -> float:
        """Return the used share of the bucket (0..1)."""
        return 1.0 - self.tokens / self.capacity


@dataclass
class Verdict:
    """What the throttle decided for one request."""

    retry_after: float = 0.0
    scope: str = ""
    information: str = ""
    used: float = 0.0


@dataclass
class Throttler:
    """All buckets of the emulator, rebuilt whenever the budget knobs change."""

    buckets: dict[tuple[str, ...], Bucket] = field(default_factory=dict)
    shape: tuple[float, ...] = ()

    def reset(self) -> None:
        """Forget every bucket (full budgets again)."""
        self.buckets.clear()

    def _bucket(self, key: tuple[str, ...], capacity: float, window: float, now: float) -> Bucket:
        bucket = self.buckets.get(key)
        if bucket is None:
            bucket = Bucket(capacity, window, capacity, now)
            self.buckets[key] = bucket
        else:
            bucket.refill(now)
        return bucket

    def charge(
        self,
        settings: EmulatorSettings,
        *,
        app_id: str,
        tenant_id: str,
        units: int,
        writes: int,
        now: float,
    ) -> Verdict:
        """Admit (and charge) or refuse one request."""
        shape = (
            float(settings.ru_capacity()),
            settings.ru_window_s,
            float(settings.write_budget),
            settings.write_window_s,
            float(settings.tenant_write_budget),
            settings.tenant_write_window_s,
        )
        if shape != self.shape:
            self.buckets.clear()
            self.shape = shape
        ru = self._bucket(("ru", app_id, tenant_id), shape[0], shape[1], now)
        wait = ru.wait_for(units)
        verdict = Verdict(used=ru.used())
        if wait:
            verdict = Verdict(
                wait,
                f"Tenant_Application/ReadWrite/{app_id}/{tenant_id}",
                "ResourceUnitLimitExceeded",
            )
        if writes:
            app_writes = self._bucket(("w", app_id, tenant_id), shape[2], shape[3], now)
            tenant_writes = self._bucket(("tw", tenant_id), shape[4], shape[5], now)
            write_wait = app_writes.wait_for(writes)
            tenant_wait = tenant_writes.wait_for(writes)
            if write_wait > verdict.retry_after:
                verdict = Verdict(
                    write_wait,
                    f"Tenant_Application/Write/{app_id}/{tenant_id}",
                    "WriteLimitExceeded",
                )
            if tenant_wait > verdict.retry_after:
                verdict = Verdict(
                    tenant_wait, f"Tenant/Write/{app_id}/{tenant_id}", "WriteLimitExceeded"
                )
            if not verdict.retry_after:
                app_writes.tokens -= writes
                tenant_writes.tokens -= writes
                verdict.used = max(verdict.used, app_writes.used())
        if not verdict.retry_after:
            ru.tokens -= units
            verdict.used = max(verdict.used, ru.used())
        return verdict


def limit_percentage(used: float) -> str | None:
    """Return ``x-ms-throttle-limit-percentage`` once more than 80 % of a budget is used."""
    if used <= LIMIT_REPORT_FROM:
        return None
    return f"{min(used, 1.8):.1f}"
