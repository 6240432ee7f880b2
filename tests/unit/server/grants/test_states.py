"""The grant status table: every allowed move works, every other is refused as a bug."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import product

import pytest

from jitgate.core.errors import JitgateError
from jitgate.server.grants.models import Grant
from jitgate.server.grants.states import (
    NOT_ENDED,
    GrantStatus,
    GrantTransitionError,
    move_grant,
)

S = GrantStatus
BEFORE = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
NOW = datetime(2026, 1, 5, 13, 0, tzinfo=UTC)

#: The moves the grant operations make (written out here, not read from the module).
ALLOWED = {
    (S.PENDING, S.ACTIVE),
    (S.PENDING, S.REVOKING),
    (S.PENDING, S.ENDED),
    (S.PENDING, S.FAILED),
    (S.ACTIVE, S.REVOKING),
    (S.ACTIVE, S.FAILED),
    (S.REVOKING, S.ENDED),
}
PAIRS = list(product(GrantStatus, GrantStatus))


def _grant(status: GrantStatus) -> Grant:
    return Grant(status=status, updated_at=BEFORE)


@pytest.mark.parametrize(("current", "target"), sorted(ALLOWED))
def test_an_allowed_move_changes_the_status_and_stamps_it(current, target):
    grant = _grant(current)
    move_grant(grant, target, now=NOW)
    assert (grant.status, grant.updated_at) == (target, NOW)


@pytest.mark.parametrize(("current", "target"), [p for p in PAIRS if p not in ALLOWED])
def test_any_other_move_is_refused_and_changes_nothing(current, target):
    grant = _grant(current)
    with pytest.raises(GrantTransitionError, match=f"from {current} to {target}"):
        move_grant(grant, target, now=NOW)
    assert (grant.status, grant.updated_at) == (current, BEFORE)


def test_a_refused_move_is_a_programming_error_not_a_user_error():
    # A JitgateError would reach a user as a problem document (409, 422...); a bug must not.
    assert issubclass(GrantTransitionError, RuntimeError)
    assert not issubclass(GrantTransitionError, JitgateError)


def test_ended_and_failed_are_final_and_the_others_are_not():
    assert frozenset({S.PENDING, S.ACTIVE, S.REVOKING}) == NOT_ENDED
