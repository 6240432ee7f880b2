"""How times and durations read on portal pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from jitgate.server.portal.formatting import duration, iso, left, minutes, when

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def test_times_are_shown_in_utc_with_the_zone_named():
    assert when(datetime(2026, 1, 5, 10, 30, tzinfo=timezone(timedelta(hours=1)))) == (
        "5 Jan 2026, 09:30 UTC"
    )
    assert iso(NOW) == "2026-01-05T09:00:00+00:00"
    assert when(None) == iso(None) == ""


def test_durations_use_their_two_largest_units():
    assert duration(timedelta(seconds=30)) == "under 1 min"
    assert duration(timedelta(minutes=80)) == "1 h 20 min"
    assert duration(timedelta(days=3, hours=4, minutes=5)) == "3 d 4 h"
    assert minutes(90) == "1 h 30 min"
    assert minutes(None) == ""


def test_time_left():
    assert left(NOW + timedelta(minutes=40), NOW) == "40 min left"
    assert left(NOW, NOW) == "ended"
    assert left(None, NOW) == "no end"
