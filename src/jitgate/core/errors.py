"""One error hierarchy, each class with its HTTP status, mapped once to RFC 9457 problems.

Operations raise these; they never raise HTTP exceptions. The web layer turns them into
``application/problem+json``; the CLI prints one readable line and exits non-zero.
"""

from __future__ import annotations

from typing import Any, ClassVar


class JitgateError(Exception):
    """Base of every error jitgate reports to a user."""

    status: ClassVar[int] = 500
    slug: ClassVar[str] = "internal-error"
    title: ClassVar[str] = "Internal error"

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []

    def problem(self, instance: str | None = None) -> dict[str, Any]:
        """Return the RFC 9457 problem document for this error."""
        body: dict[str, Any] = {
            "type": f"https://jitgate.dev/problems/{self.slug}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        if self.errors:
            body["errors"] = self.errors
        return body


class BadRequest(JitgateError):
    """The input cannot be understood."""

    status = 400
    slug = "bad-request"
    title = "Bad request"


class Unauthenticated(JitgateError):
    """No valid credentials were presented."""

    status = 401
    slug = "unauthenticated"
    title = "Authentication required"


class Forbidden(JitgateError):
    """The caller is known but may not do this."""

    status = 403
    slug = "forbidden"
    title = "Forbidden"


class NotFound(JitgateError):
    """The named object does not exist (or the caller may not see it)."""

    status = 404
    slug = "not-found"
    title = "Not found"


class Conflict(JitgateError):
    """The object's current state does not allow the change (a lost race, a duplicate)."""

    status = 409
    slug = "conflict"
    title = "Conflict"


class ValidationFailed(JitgateError):
    """The input is well-formed but breaks a rule; ``errors`` names each field."""

    status = 422
    slug = "validation-failed"
    title = "Validation failed"

    @classmethod
    def field(cls, field: str, message: str) -> ValidationFailed:
        """Build an error about a single field."""
        return cls(f"{field}: {message}", errors=[{"field": field, "message": message}])


class ServiceUnavailable(JitgateError):
    """A dependency (database, connector) is not available right now."""

    status = 503
    slug = "unavailable"
    title = "Service unavailable"


class TooManyRequests(JitgateError):
    """The caller must wait ``retry_after_s`` seconds (sent as ``Retry-After``)."""

    status = 429
    slug = "too-many-requests"
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after_s: int) -> None:
        super().__init__(detail)
        self.retry_after_s = max(1, retry_after_s)
