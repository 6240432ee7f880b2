"""PIM schedule parsing and policy: ``scheduleInfo`` → (start, end), ISO-8601 durations, rules.

Invariant: an end time is always computed from the request alone (start + duration, or the given
endDateTime), and every policy failure is the documented 400
``RoleAssignmentRequestPolicyValidationFailed`` naming the failed rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jitgate.emulator.http import GraphError, bad_request

_DURATION = re.compile(
    r"^P(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)
SECONDS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_duration(text: str) -> float:
    """Return an ISO-8601 duration (``PT8H``, ``P180D``) in seconds, or raise 400."""
    match = _DURATION.match(text.strip().upper())
    if match is None or text.strip().upper() in {"P", "PT"}:
        raise bad_request(f"Invalid duration '{text}'.")
    return sum(float(v) * SECONDS[k] for k, v in match.groupdict().items() if v)


def parse_time(text: str) -> float:
    """Return an ISO-8601 timestamp in POSIX seconds, or raise 400."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError as err:
        raise bad_request(f"Invalid date time value '{text}'.") from err
    if value.tzinfo is None:
        raise bad_request(f"Invalid date time value '{text}'.")
    return value.timestamp()


def format_duration(seconds: float) -> str:
    """Return seconds as an ISO-8601 duration."""
    return f"PT{int(seconds)}S"


@dataclass
class Window:
    """When an assignment starts and ends (``end`` None: permanent)."""

    start: float
    end: float | None
    expiration_type: str
    requested_start: float | None


def window(info: dict[str, Any] | None, now: float) -> Window:
    """Return the schedule window a request asks for (past or missing starts mean now)."""
    info = info or {}
    requested = parse_time(info["startDateTime"]) if info.get("startDateTime") else None
    start = max(requested, now) if requested is not None else now
    expiration = info.get("expiration") or {}
    kind = str(expiration.get("type") or "notSpecified")
    lowered = kind.lower()
    end: float | None = None
    if lowered == "afterduration":
        if not expiration.get("duration"):
            raise bad_request(
                "The expiration duration is required when the expiration type is afterDuration."
            )
        end = start + parse_duration(str(expiration["duration"]))
        kind = "afterDuration"
    elif lowered == "afterdatetime":
        if not expiration.get("endDateTime"):
            raise bad_request(
                "The expiration endDateTime is required when the expiration type is afterDateTime."
            )
        end = parse_time(str(expiration["endDateTime"]))
        kind = "afterDateTime"
    elif lowered in {"noexpiration", "notspecified"}:
        kind = "noExpiration" if lowered == "noexpiration" else "notSpecified"
    else:
        raise bad_request(f"Invalid expiration type '{kind}'.")
    return Window(start, end, kind, requested)


def policy_failure(*rules: str) -> GraphError:
    """Return the PIM policy-validation 400 for the failed rule names."""
    names = ",".join(f'"{rule}"' for rule in rules)
    return GraphError(
        400,
        "RoleAssignmentRequestPolicyValidationFailed",
        f"The following policy rules failed: [{names}]",
    )


def check_policy(
    policy: dict[str, Any], span: Window, body: dict[str, Any], *, activation: bool
) -> None:
    """Enforce a policy's expiration and justification rules on a request."""
    max_key = "maxActivationSeconds" if activation else "maxAssignmentSeconds"
    required = activation or bool(policy.get("isExpirationRequired", True))
    if span.end is None and required:
        raise policy_failure("ExpirationRule")
    limit = policy.get(max_key)
    if span.end is not None and limit is not None and span.end - span.start > float(limit) + 1:
        raise policy_failure("ExpirationRule")
    if activation and policy.get("requireJustification", True) and not body.get("justification"):
        raise policy_failure("JustificationRule")
