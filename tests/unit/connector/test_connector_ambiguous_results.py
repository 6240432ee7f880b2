"""The connector reports a write whose answer was lost (``ambiguous_write``) in every outcome."""

from __future__ import annotations

from jitgate.connector.results import change_result, error_result
from jitgate.graph.errors import GraphTransient
from jitgate.graph.operations.models import AccessChange, Action, ChangeResult, Outcome
from jitgate.protocol.v1 import GrantData, Permission
from jitgate.protocol.v1 import Outcome as JobOutcome

CHANGE = AccessChange(Action.GRANT, "u", "g", Permission.MEMBER, key="job")


def test_an_applied_change_carries_the_mark():
    for ambiguous in (True, False):
        result = change_result(
            grant=True, change=ChangeResult(CHANGE, Outcome.APPLIED, ambiguous=ambiguous)
        )
        assert isinstance(result.data, GrantData)
        assert result.data.ambiguous_write is ambiguous


def test_a_failed_change_carries_it_in_the_error():
    failed = ChangeResult(
        CHANGE, Outcome.FAILED, (), "x", "timed out", retryable=True, ambiguous=True
    )
    result = change_result(grant=True, change=failed)
    assert result.outcome is JobOutcome.RETRY
    assert result.error is not None
    assert result.error.ambiguous_write


def test_a_graph_error_carries_it():
    err = GraphTransient("POST timed out")
    err.ambiguous = True
    result = error_result(err)
    assert result.error is not None
    assert result.error.ambiguous_write
    assert not error_result(GraphTransient("503")).error.ambiguous_write
