"""How the portal writes times and durations: the Jinja filters ``when``, ``iso`` and ``left``.

Every time is shown in UTC, with its zone named, and carried in full in ``<time datetime>``;
a duration is written in the largest two units (``2 h 5 min``, ``3 d 4 h``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

MINUTE = 60
HOUR = 60 * MINUTE
DAY = 24 * HOUR


def when(moment: datetime | None) -> str:
    """``5 Jan 2026, 09:00 UTC``; an empty string for None."""
    if moment is None:
        return ""
    return moment.astimezone(UTC).strftime("%-d %b %Y, %H:%M UTC")


def iso(moment: datetime | None) -> str:
    """The ISO 8601 form (UTC) for ``<time datetime>``."""
    return "" if moment is None else moment.astimezone(UTC).isoformat()


def duration(delta: timedelta) -> str:
    """A duration in its largest two units; under a minute: ``under 1 min``."""
    seconds = int(delta.total_seconds())
    if seconds < MINUTE:
        return "under 1 min"
    days, rest = divmod(seconds, DAY)
    hours, rest = divmod(rest, HOUR)
    minutes = rest // MINUTE
    parts = [(days, "d"), (hours, "h"), (minutes, "min")]
    shown = [f"{n} {unit}" for n, unit in parts if n][:2]
    return " ".join(shown)


def left(ends_at: datetime | None, now: datetime) -> str:
    """The time left until ``ends_at``: ``1 h 20 min left``, ``ended``, or ``no end``."""
    if ends_at is None:
        return "no end"
    if ends_at <= now:
        return "ended"
    return f"{duration(ends_at - now)} left"


def minutes(value: int | None) -> str:
    """A number of minutes as a duration (``90`` -> ``1 h 30 min``)."""
    return "" if value is None else duration(timedelta(minutes=value))
