"""Injected faults and latency (graph.md §0.7, §8): errors by route, probability or count.

A rule with ``latency_ms`` delays the matching responses instead of failing them (timeouts).

Invariant: a rule with a ``count`` fires exactly that many times and then stops; a rule without
one fires with its ``probability`` on every matching request.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jitgate.emulator.settings import EmulatorSettings, FaultRule

FAULT_TEXT = {
    429: ("TooManyRequests", "Please retry again later."),
    500: ("UnknownError", "An internal server error occurred."),
    502: ("BadGateway", "Bad gateway."),
    503: ("serviceNotAvailable", "The service is temporarily unavailable. Please retry later."),
    504: (
        "GatewayTimeout",
        "The gateway did not receive a timely response from the upstream server.",
    ),
}


class Faults:
    """Decides, per request, whether a fault fires and how long to wait before answering."""

    def __init__(self, seed: int | None = None) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - fault injection, not cryptography

    def pick(
        self, settings: EmulatorSettings, method: str, path: str, *, slow: bool = False
    ) -> FaultRule | None:
        """Return the first error rule (``slow``: latency rule) that fires, counted, else None."""
        if not settings.faults:
            return None
        target = f"{method} {path}"
        for rule in settings.faults:
            if (rule.latency_ms > 0) is not slow:
                continue
            if rule.route not in {"*", ""} and rule.route not in target:
                continue
            if rule.count is not None:
                if rule.count <= 0:
                    continue
                rule.count -= 1
                return rule
            if self.rng.random() < rule.probability:
                return rule
        return None

    def delay(self, settings: EmulatorSettings, method: str = "", path: str = "") -> float:
        """Return the latency to add to one response, in seconds (a slow rule's included)."""
        rule = self.pick(settings, method, path, slow=True) if method else None
        extra = rule.latency_ms if rule is not None else 0.0
        if not settings.latency_ms and not settings.jitter_ms:
            return extra / 1000.0
        jitter = self.rng.uniform(0, settings.jitter_ms) if settings.jitter_ms else 0.0
        return (settings.latency_ms + jitter + extra) / 1000.0
