"""Mapping Graph outcomes to protocol results.

"Already present" on a grant and "already absent" on a revoke are success (invariant 4);
terminal Graph errors are ``failed`` with Graph's code and a readable reason; throttling,
5xx and timeouts are ``retry`` with Graph's Retry-After as a hint. Where Graph's code is too
generic to act on, the result names the failure instead (``GraphError.reported_code``): removing
a group's last owner is ``failed`` with code ``GroupLastOwner`` (never retried, never removed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jitgate.graph.errors import GraphError
from jitgate.graph.operations.models import Outcome as GraphOutcome
from jitgate.protocol.v1 import (
    GrantData,
    JobError,
    JobResult,
    Outcome,
    RevokeData,
    WriteOutcome,
)

if TYPE_CHECKING:
    from jitgate.graph.operations.models import ChangeResult, WriteResult

MAX_MESSAGE = 4000


def error_result(err: BaseException) -> JobResult:
    """A Graph or local failure as a result: retryable ones ask for a retry."""
    if isinstance(err, GraphError):
        request_ids = [i for i in (err.request_id,) if i]
        error = JobError(
            code=(err.reported_code or type(err).__name__)[:128],
            message=(err.message or str(err))[:MAX_MESSAGE],
            retryable=err.retryable,
            request_ids=request_ids,
            ambiguous_write=err.ambiguous,
        )
        outcome = Outcome.RETRY if err.retryable else Outcome.FAILED
        return JobResult(outcome=outcome, error=error, retry_after_s=_hint(err.retry_after))
    if isinstance(err, ValueError):
        error = JobError(code="InvalidInput", message=str(err)[:MAX_MESSAGE])
        return JobResult(outcome=Outcome.FAILED, error=error)
    error = JobError(
        code="AgentError", message=f"{type(err).__name__}: {err}"[:MAX_MESSAGE], retryable=True
    )
    return JobResult(outcome=Outcome.RETRY, error=error)


def _hint(retry_after: float | None) -> float | None:
    return None if retry_after is None else min(3600.0, max(0.0, retry_after))


def write_result(*, grant: bool, result: WriteResult) -> JobResult:
    """A successful idempotent write (``WriteResult``) as a result."""
    data_type = GrantData if grant else RevokeData
    data = data_type(
        outcome=WriteOutcome(str(result.outcome)),
        request_ids=list(result.request_ids),
        object_id=result.object_id,
        detail=result.detail[:MAX_MESSAGE],
    )
    return JobResult(outcome=Outcome.SUCCEEDED, data=data)


def change_result(*, grant: bool, change: ChangeResult) -> JobResult:
    """One ``bulk.apply_changes`` result as a job result."""
    if change.outcome is GraphOutcome.FAILED:
        error = JobError(
            code=(change.error_code or "GraphError")[:128],
            message=(change.detail or "the change failed")[:MAX_MESSAGE],
            retryable=change.retryable,
            request_ids=list(change.request_ids),
            ambiguous_write=change.ambiguous,
        )
        return JobResult(outcome=Outcome.RETRY if change.retryable else Outcome.FAILED, error=error)
    data_type = GrantData if grant else RevokeData
    object_id = change.extra.get("assignment_id")
    data = data_type(
        outcome=WriteOutcome(str(change.outcome)),
        request_ids=list(change.request_ids),
        object_id=str(object_id) if object_id else None,
        detail=change.detail[:MAX_MESSAGE],
        ambiguous_write=change.ambiguous,
    )
    return JobResult(outcome=Outcome.SUCCEEDED, data=data)
