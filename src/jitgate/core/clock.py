"""An injected clock: the only source of "now" for domain code.

Invariant: every time is an aware UTC ``datetime``. Domain code never calls ``datetime.now()``;
it receives a ``Clock``. Tests use ``ManualClock`` and move it; they never sleep or backdate rows.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Something that tells the time."""

    def now(self) -> datetime:
        """Return the current time as an aware UTC datetime."""
        ...


class SystemClock:
    """The wall clock, in UTC."""

    def now(self) -> datetime:
        """Return the current wall-clock time in UTC."""
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to (tests, emulator clock control)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = ensure_utc(start or datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """Return the clock's current time."""
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock forward by ``delta`` and return the new time."""
        if delta < timedelta(0):
            raise ValueError("a clock only moves forward")
        with self._lock:
            self._now += delta
            return self._now

    def set(self, when: datetime) -> None:
        """Jump to ``when`` (must not be in the past of this clock)."""
        when = ensure_utc(when)
        with self._lock:
            if when < self._now:
                raise ValueError("a clock only moves forward")
            self._now = when


class OffsetClock:
    """The system clock shifted by an adjustable offset (the emulator's clock control)."""

    def __init__(self, base: Clock | None = None) -> None:
        self._base = base or SystemClock()
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """Return the base time plus the offset."""
        with self._lock:
            return self._base.now() + self._offset

    def advance(self, delta: timedelta) -> datetime:
        """Add ``delta`` to the offset and return the new time."""
        if delta < timedelta(0):
            raise ValueError("a clock only moves forward")
        with self._lock:
            self._offset += delta
        return self.now()


def ensure_utc(value: datetime) -> datetime:
    """Return ``value`` as aware UTC; naive values are rejected, not guessed."""
    if value.tzinfo is None:
        raise ValueError("naive datetime: jitgate only accepts aware times")
    return value.astimezone(UTC)
