"""Typed Microsoft Graph errors, mapped once at the client boundary.

Invariant: nothing outside this module looks at a Graph status code or error envelope to decide
what went wrong. ``error_from_response`` turns a non-2xx answer (a top-level response or an inner
``$batch`` response) into exactly one class below; callers branch on the class and on
``retryable``, never on message text (graph.md §9: "branch on code, never on message").
"""

from __future__ import annotations

import email.utils
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any, ClassVar

from jitgate.core.errors import JitgateError

#: Graph's answer to removing a group's last owner (group-delete-owners: "the last owner (a
#: user object) of the group cannot be removed"); its code is the generic Request_BadRequest.
LAST_OWNER_MARKER = "group must have at least one owner"

#: Graph's answer when an added reference already exists (graph.md §3.2).
ALREADY_EXISTS_MARKERS = (
    "added object references already exist",
    "conflicting object with one or more of the specified property values",
)


class GraphError(JitgateError):
    """A Microsoft Graph call failed; carries what the audit and the operator need."""

    status = 502
    slug = "graph-error"
    title = "Microsoft Graph error"
    retryable: ClassVar[bool] = False
    #: The code results carry when Graph's own is too generic to act on (else Graph's code).
    named_code: ClassVar[str | None] = None

    def __init__(
        self,
        message: str,
        *,
        http_status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        client_request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.http_status = http_status
        self.code = code
        self.request_id = request_id
        self.client_request_id = client_request_id
        self.retry_after = retry_after
        #: The request may have reached Graph although no answer came back (a read timeout, a
        #: connection dropped after sending): a write may still be applied, even later.
        self.ambiguous = False

    @property
    def reported_code(self) -> str | None:
        """The code a job result carries: our name for a failure Graph codes generically."""
        return self.named_code or self.code

    def __str__(self) -> str:
        parts = [self.message]
        if self.http_status is not None:
            parts.append(f"status={self.http_status}")
        if self.code:
            parts.append(f"code={self.code}")
        if self.request_id:
            parts.append(f"request-id={self.request_id}")
        return " ".join(parts)


class GraphRetryableError(GraphError):
    """Worth retrying after a pause."""

    retryable = True


class GraphThrottled(GraphRetryableError):
    """429: the budget is spent; wait ``retry_after`` seconds."""

    slug = "graph-throttled"
    title = "Microsoft Graph throttled the request"


class GraphTransient(GraphRetryableError):
    """5xx, a timeout or a broken connection: the service may answer next time."""

    slug = "graph-transient"
    title = "Microsoft Graph is temporarily unavailable"


class GraphBadRequest(GraphError):
    """400: the request is wrong and will stay wrong."""

    slug = "graph-bad-request"
    title = "Microsoft Graph rejected the request"


class GraphLastOwner(GraphBadRequest):
    """400: the owner to remove is the group's last one; Graph keeps it until another is added."""

    slug = "graph-last-owner"
    title = "The group's last owner cannot be removed"
    named_code = "GroupLastOwner"


class GraphUnauthorized(GraphError):
    """401: the token is missing, expired or for the wrong audience."""

    slug = "graph-unauthorized"
    title = "Microsoft Graph did not accept the token"


class GraphForbidden(GraphError):
    """403: the app lacks a permission or role, or the object is protected."""

    slug = "graph-forbidden"
    title = "Microsoft Graph refused the operation"


class GraphNotFound(GraphError):
    """404: the object (or the membership) does not exist, or not yet (replication)."""

    slug = "graph-not-found"
    title = "Microsoft Graph object not found"


class GraphConflict(GraphError):
    """The object already exists or is in a state that forbids the change."""

    slug = "graph-conflict"
    title = "Microsoft Graph conflict"


class GraphGone(GraphError):
    """410: a delta link expired; the caller must start a full sync again."""

    slug = "graph-resync-required"
    title = "Microsoft Graph requires a full resync"

    #: Where Graph says the initial (full) query starts again.
    location: str | None = None


class GraphFailedDependency(GraphError):
    """424: an inner ``$batch`` request was skipped because the one it depends on failed."""

    slug = "graph-failed-dependency"
    title = "Microsoft Graph skipped a dependent request"


class GraphAuthenticationError(GraphError):
    """The identity platform refused to issue a token (bad secret, unknown app or tenant)."""

    slug = "graph-authentication"
    title = "Could not obtain a Microsoft Graph token"


class UnchangeableGroupError(GraphError):
    """A write to a group Graph will never let us change; raised before any call is made."""

    slug = "graph-unchangeable-group"
    title = "The group cannot be changed through Microsoft Graph"


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Return ``Retry-After`` in seconds (fractional seconds or an HTTP date), else ``None``."""
    if value is None or not value.strip():
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def _envelope(body: object) -> tuple[str | None, str]:
    if isinstance(body, Mapping):
        error = body.get("error")
        if isinstance(error, Mapping):
            code = error.get("code")
            message = error.get("message")
            return (str(code) if code else None, str(message) if message else "")
        if isinstance(error, str):
            return error, str(body.get("error_description") or "")
    return None, ""


def is_already_exists(err: GraphError) -> bool:
    """Return whether ``err`` says the reference or assignment we are adding already exists."""
    if isinstance(err, GraphConflict):
        return True
    text = err.message.lower()
    return any(marker in text for marker in ALREADY_EXISTS_MARKERS)


def error_from_response(
    status: int,
    body: object,
    headers: Mapping[str, str],
    *,
    client_request_id: str | None = None,
) -> GraphError:
    """Map one non-success Graph answer to the single error class that describes it."""
    code, message = _envelope(body)
    message = message or f"Microsoft Graph answered {status}"
    common: dict[str, Any] = {
        "http_status": status,
        "code": code,
        "request_id": _header(headers, "request-id"),
        "client_request_id": client_request_id or _header(headers, "client-request-id"),
        "retry_after": parse_retry_after(_header(headers, "retry-after")),
    }
    err = _classify(status, code, message)(message, **common)
    if isinstance(err, GraphGone):
        err.location = _header(headers, "location")
    return err


_CONFLICT_CODES = frozenset({"RoleAssignmentExists", "RequestCannotBeCancelled"})
_NOT_FOUND_CODES = frozenset({"RoleAssignmentDoesNotExist", "Request_ResourceNotFound"})
_BY_STATUS: dict[int, type[GraphError]] = {
    HTTPStatus.BAD_REQUEST: GraphBadRequest,
    HTTPStatus.UNAUTHORIZED: GraphUnauthorized,
    HTTPStatus.FORBIDDEN: GraphForbidden,
    HTTPStatus.NOT_FOUND: GraphNotFound,
    HTTPStatus.REQUEST_TIMEOUT: GraphTransient,
    HTTPStatus.CONFLICT: GraphConflict,
    HTTPStatus.GONE: GraphGone,
    HTTPStatus.FAILED_DEPENDENCY: GraphFailedDependency,
    HTTPStatus.TOO_MANY_REQUESTS: GraphThrottled,
}


def _classify(status: int, code: str | None, message: str) -> type[GraphError]:
    if status >= HTTPStatus.INTERNAL_SERVER_ERROR:
        return GraphTransient
    if code in _CONFLICT_CODES:
        return GraphConflict
    if code in _NOT_FOUND_CODES and status != HTTPStatus.FORBIDDEN:
        return GraphNotFound
    # "Already a member" and "duplicate role assignment" share the generic 400
    # Request_BadRequest code with real validation errors; the message is the only signal.
    lowered = message.lower()
    if status == HTTPStatus.BAD_REQUEST and any(m in lowered for m in ALREADY_EXISTS_MARKERS):
        return GraphConflict
    if status == HTTPStatus.BAD_REQUEST and LAST_OWNER_MARKER in lowered:
        return GraphLastOwner
    return _BY_STATUS.get(status, GraphBadRequest)
