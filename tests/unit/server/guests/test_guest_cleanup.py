"""When an invited guest is due for deletion (the rule, without a database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from jitgate.server.guests.cleanup import cleanup_due

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.mark.parametrize(
    ("now", "last_ended", "holds", "due"),
    [
        (T0 + 3 * DAY, T0 + DAY, False, True),  # exactly N days after the last grant ended
        (T0 + 3 * DAY - timedelta(seconds=1), T0 + DAY, False, False),
        (T0 + 30 * DAY, T0 + DAY, True, False),  # a live (or pending) grant: never
        (T0 + 2 * DAY, None, False, True),  # no grant ever ended: counted from the invitation
        (T0 + DAY, None, False, False),
        (T0 + 2 * DAY, T0 - DAY, False, True),  # an older end never predates the invitation
    ],
)
def test_cleanup_due(now, last_ended, holds, due):
    assert (
        cleanup_due(now=now, days=2, invited_at=T0, last_ended_at=last_ended, holds_grant=holds)
        is due
    )
