"""``jitgate demo totp <user>``: a demo person's current one-time code for the sign-in page.

The secret is the demo tenant's (``demo.json`` when ``jitgate up`` wrote one, else
``tenants/demo.yaml``). The time is the demo clock: the running emulator's (``jitgate demo
--fast`` moves it), or the system clock when no emulator answers.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import httpx

from jitgate.core.clock import SystemClock
from jitgate.emulator import fixtures, totp

if TYPE_CHECKING:
    from jitgate.demo.info import DemoInfo

CLOCK_TIMEOUT_S = 3.0


class TotpError(Exception):
    """The person is unknown or has no one-time code; the message is one line."""


@dataclass(frozen=True)
class CurrentCode:
    """A code, whose it is, how long it stays current and which clock said so."""

    upn: str
    code: str
    remaining_s: int
    clock: str

    def text(self) -> str:
        """The line a person reads."""
        return f"{self.code}  ({self.upn}, {self.remaining_s} s left, {self.clock} clock)"


def _secrets(info: DemoInfo | None) -> dict[str, tuple[str, str | None]]:
    """Every known demo person by key and by UPN (lower case): (upn, secret)."""
    found: dict[str, tuple[str, str | None]] = {}
    if info is not None and info.sign_in is not None:
        for person in info.sign_in.people:
            found[person.key.lower()] = found[person.upn.lower()] = (
                person.upn,
                person.totp_secret,
            )
        return found
    data = fixtures.load("demo")
    domain = ((data.get("tenant") or {}).get("domains") or ["contoso.onmicrosoft.com"])[0]
    for spec in data.get("users") or []:
        upn = str(spec.get("userPrincipalName") or f"{spec['key']}@{domain}")
        secret = spec.get("mfa_secret")
        found[str(spec["key"]).lower()] = found[upn.lower()] = (upn, secret and str(secret))
    return found


def demo_now(info: DemoInfo | None) -> tuple[float, str]:
    """Return (POSIX seconds, "demo" or "system"): the running emulator's clock if it answers."""
    if info is not None:
        try:
            trust = ssl.create_default_context(cafile=info.emulator.ca_bundle)
            response = httpx.get(
                f"{info.emulator.authority_host}/_emulator/clock",
                verify=trust,
                timeout=CLOCK_TIMEOUT_S,
            )
            response.raise_for_status()
            return datetime.fromisoformat(response.json()["now"]).timestamp(), "demo"
        except (httpx.HTTPError, OSError, ValueError, KeyError):
            pass
    return SystemClock().now().timestamp(), "system"


def current_code(user: str, info: DemoInfo | None) -> CurrentCode:
    """Return ``user``'s current code (``user``: a demo key like grady, or a UPN)."""
    people = _secrets(info)
    found = people.get(user.strip().lower())
    if found is None:
        known = sorted({upn.split("@")[0] for upn, secret in people.values() if secret})
        raise TotpError(f"no demo person {user!r}; people with a code: {', '.join(known)}")
    upn, secret = found
    if not secret:
        raise TotpError(f"{upn} signs in with a password only (no MFA registered)")
    now, clock = demo_now(info)
    remaining = totp.STEP_S - int(now) % totp.STEP_S
    return CurrentCode(upn, totp.totp(secret, now), remaining, clock)
