"""Graph's identity throttling (graph.md §8): token buckets per app + tenant, resource units.

Invariants: a request is admitted only when every bucket it touches has room, and then takes from
all of them; a refused request takes nothing and learns the shortest wait (``Retry-After``) after
which it would be admitted. Buckets refill from the emulator clock, so tests move time instead of
sleeping.

Budgets a real tenant has and a tier does not tell: the app + tenant buckets can be set apart
from the tier (``resource_units``, ``write_budget``); the tenant-wide buckets are shared with
other apps, whose spending is modelled as a steady drain (``other_apps_ru_per_s``,
``other_apps_writes_per_s``) that never takes a bucket below empty; and the knobs can change
while the emulator runs: a bucket whose size changes keeps the share of it that was left.
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
    """A token bucket: ``capacity`` tokens that refill evenly over ``window`` seconds.

    ``drain`` tokens a second are spent by others (other apps of the tenant) before we see them.
    """

    capacity: float
    window: float
    tokens: float
    last: float
    drain: float = 0.0

    @property
    def rate(self) -> float:
        """Return the tokens a second left for us (refill less the others' drain)."""
        return self.capacity / self.window - self.drain

    def refill(self, now: float) -> None:
        """Add the tokens earned since the last look, less what the others spent."""
        if now > self.last:
            gained = (now - self.last) * self.rate
            self.tokens = max(0.0, min(self.capacity, self.tokens + gained))
            self.last = now

    def wait_for(self, amount: float) -> float:
        """Return seconds until ``amount`` tokens are there (0 when they already are)."""
        if self.tokens >= amount:
            return 0.0
        if self.rate <= 0:
            return self.window  # the others spend it all: come back in a window
        return (amount - self.tokens) / self.rate

    def used(self) -> float:
        """Return the used share of the bucket (0..1)."""
        return 1.0 - self.tokens / self.capacity

    def resize(self, capacity: float, window: float, drain: float) -> None:
        """Take a new size, keeping the share that was left (a budget changed at run time)."""
        share = self.tokens / self.capacity if self.capacity else 1.0
        self.capacity, self.window, self.drain = capacity, window, drain
        self.tokens = share * capacity


@dataclass
class Verdict:
    """What the throttle decided for one request."""

    retry_after: float = 0.0
    scope: str = ""
    information: str = ""
    used: float = 0.0


@dataclass
class Throttler:
    """All buckets of the emulator, resized whenever the budget knobs change."""

    buckets: dict[tuple[str, ...], Bucket] = field(default_factory=dict)
    shapes: dict[str, tuple[float, float, float]] = field(default_factory=dict)

    def reset(self) -> None:
        """Forget every bucket (full budgets again)."""
        self.buckets.clear()

    def _shapes(self, settings: EmulatorSettings) -> dict[str, tuple[float, float, float]]:
        shapes = {
            "ru": (float(settings.ru_capacity()), settings.ru_window_s, 0.0),
            "w": (float(settings.write_budget), settings.write_window_s, 0.0),
            "tw": (
                float(settings.tenant_write_budget),
                settings.tenant_write_window_s,
                settings.other_apps_writes_per_s,
            ),
        }
        if settings.tenant_resource_units is not None:
            shapes["tru"] = (
                float(settings.tenant_resource_units),
                settings.ru_window_s,
                settings.other_apps_ru_per_s,
            )
        return shapes

    def _bucket(self, key: tuple[str, ...], now: float) -> Bucket:
        capacity, window, drain = self.shapes[key[0]]
        bucket = self.buckets.get(key)
        if bucket is None:
            bucket = Bucket(capacity, window, capacity, now, drain)
            self.buckets[key] = bucket
        else:
            bucket.refill(now)
        return bucket

    def _resize(self, settings: EmulatorSettings, now: float) -> None:
        shapes = self._shapes(settings)
        if shapes == self.shapes:
            return
        for key, bucket in list(self.buckets.items()):
            shape = shapes.get(key[0])
            if shape is None:
                del self.buckets[key]
            elif shape != self.shapes.get(key[0]):
                bucket.refill(now)
                bucket.resize(*shape)
        self.shapes = shapes

    def state(self, settings: EmulatorSettings, now: float) -> list[dict[str, object]]:
        """Return every bucket's key, size and tokens now (for ``/_emulator/throttle``)."""
        self._resize(settings, now)
        for bucket in self.buckets.values():
            bucket.refill(now)
        return [
            {
                "key": "/".join(key),
                "capacity": bucket.capacity,
                "window_s": bucket.window,
                "drain_per_s": bucket.drain,
                "tokens": round(bucket.tokens, 3),
            }
            for key, bucket in self.buckets.items()
        ]

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
        self._resize(settings, now)
        ru = self._bucket(("ru", app_id, tenant_id), now)
        checks = [(ru, units, f"Tenant_Application/ReadWrite/{app_id}/{tenant_id}", "ResourceUnit")]
        if "tru" in self.shapes:
            tenant_ru = self._bucket(("tru", tenant_id), now)
            checks.append(
                (tenant_ru, units, f"Tenant/ReadWrite/{app_id}/{tenant_id}", "ResourceUnit")
            )
        if writes:
            app_writes = self._bucket(("w", app_id, tenant_id), now)
            tenant_writes = self._bucket(("tw", tenant_id), now)
            checks.append(
                (app_writes, writes, f"Tenant_Application/Write/{app_id}/{tenant_id}", "Write")
            )
            checks.append((tenant_writes, writes, f"Tenant/Write/{app_id}/{tenant_id}", "Write"))
        verdict = Verdict(used=max(bucket.used() for bucket, *_ in checks))
        for bucket, amount, scope, kind in checks:
            wait = bucket.wait_for(amount)
            if wait > verdict.retry_after:
                verdict = Verdict(wait, scope, f"{kind}LimitExceeded")
        if not verdict.retry_after:
            for bucket, amount, *_ in checks:
                bucket.tokens -= amount
            verdict.used = max(bucket.used() for bucket, *_ in checks)
        return verdict


def limit_percentage(used: float) -> str | None:
    """Return ``x-ms-throttle-limit-percentage`` once more than 80 % of a budget is used."""
    if used <= LIMIT_REPORT_FROM:
        return None
    return f"{min(used, 1.8):.1f}"
