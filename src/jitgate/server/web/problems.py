"""Every error leaves the API as RFC 9457 ``application/problem+json``; never a stack trace."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from jitgate.core.db import is_busy
from jitgate.core.errors import JitgateError, TooManyRequests
from jitgate.core.lanes import Saturated
from jitgate.server.web.headers import SECURITY_HEADERS, allowed_methods
from jitgate.server.web.params import PATTERN_WORDS

if TYPE_CHECKING:
    from fastapi import FastAPI, Request

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string"},
                    "message": {"type": "string"},
                    "line": {"type": "integer", "description": "malformed JSON: where, from 1"},
                    "column": {"type": "integer", "description": "malformed JSON: where, from 1"},
                },
            },
        },
    },
}


def problem_response(status: int, body: dict[str, Any]) -> JSONResponse:
    """Return a problem document with its media type.

    The security headers are set here too: a 500 is sent from outside the middleware stack.
    """
    headers = {name.decode(): value.decode() for name, value in SECURITY_HEADERS}
    if status == 401:  # noqa: PLR2004 - HTTP status
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in {"body", "query", "path", "header"}]
    return ".".join(parts) or "body"


def error_response(exc: JitgateError, instance: str) -> JSONResponse:
    """Return the problem response for a jitgate error (a 429 with its Retry-After)."""
    response = problem_response(exc.status, exc.problem(instance=instance))
    if isinstance(exc, TooManyRequests):
        response.headers["Retry-After"] = str(exc.retry_after_s)
    return response


async def _jitgate_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, JitgateError):  # pragma: no cover - registered for JitgateError only
        raise exc
    return error_response(exc, request.url.path)


def _in_words(error: dict[str, Any]) -> str:
    """A validation message for a person: a pattern is described, never shown."""
    if error.get("type") == "string_pattern_mismatch":
        pattern = str((error.get("ctx") or {}).get("pattern", ""))
        return PATTERN_WORDS.get(pattern, "is not in the expected form")
    return str(error["msg"])


def _json_position(doc: str | bytes, pos: int) -> tuple[int, int]:
    """Line and column (both from 1) of character offset ``pos`` in ``doc``."""
    text = doc.decode("utf-8", "replace") if isinstance(doc, bytes) else doc
    line = text.count("\n", 0, pos) + 1
    return line, pos - text.rfind("\n", 0, pos)


def malformed_json(exc: RequestValidationError, instance: str) -> JSONResponse | None:
    """The 400 problem of a body that is not JSON at all, or ``None`` for other errors.

    FastAPI reports a JSON syntax error as a validation error whose location is the character
    offset (``body.22``); a person wants the line and column, and a 400: nothing was validated.
    """
    found = exc.errors()
    if len(found) != 1 or found[0].get("type") != "json_invalid":
        return None
    loc = tuple(found[0].get("loc", ()))
    doc = exc.body
    if len(loc) != 2 or not isinstance(loc[1], int) or not isinstance(doc, str | bytes):  # noqa: PLR2004 - ("body", offset)
        return None
    line, column = _json_position(doc, loc[1])
    reason = str((found[0].get("ctx") or {}).get("error") or "not valid JSON")
    message = f"{reason} at line {line}, column {column}"
    body = {
        "type": "https://jitgate.dev/problems/malformed-json",
        "title": "Malformed JSON",
        "status": 400,
        "detail": f"the request body is not valid JSON: {message}",
        "instance": instance,
        "errors": [{"field": "body", "message": message, "line": line, "column": column}],
    }
    return problem_response(400, body)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, RequestValidationError):  # pragma: no cover
        raise exc
    malformed = malformed_json(exc, request.url.path)
    if malformed is not None:
        return malformed
    errors = [{"field": _field_path(e["loc"]), "message": _in_words(e)} for e in exc.errors()]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
    body = {
        "type": "https://jitgate.dev/problems/validation-failed",
        "title": "Validation failed",
        "status": 422,
        "detail": detail or "the request is not valid",
        "instance": request.url.path,
        "errors": errors,
    }
    return problem_response(422, body)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, StarletteHTTPException):  # pragma: no cover
        raise exc
    body = {
        "type": f"https://jitgate.dev/problems/http-{exc.status_code}",
        "title": "Request failed",
        "status": exc.status_code,
        "detail": str(exc.detail),
        "instance": request.url.path,
    }
    response = problem_response(exc.status_code, body)
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    if exc.status_code == 405:  # noqa: PLR2004 - HTTP status
        # Starlette names only the first route matching the path; a path has one per method.
        response.headers["Allow"] = allowed_methods(request) or response.headers.get("Allow", "")
    return response


async def _integrity_error(request: Request, exc: Exception) -> JSONResponse:
    # A unique or foreign-key constraint caught what an operation's own checks missed
    # (usually a race); the transaction is rolled back by the session dependency.
    log.warning("integrity error", extra={"error": str(exc).splitlines()[0]})
    body = {
        "type": "https://jitgate.dev/problems/conflict",
        "title": "Conflict",
        "status": 409,
        "detail": "the change conflicts with existing data (a duplicate or a missing reference)",
        "instance": request.url.path,
    }
    return problem_response(409, body)


RETRY_AFTER_S = 1


def busy_response(exc: Exception, instance: str) -> JSONResponse:
    """Log a lost lock race or an exhausted pool and return its 503 problem with Retry-After."""
    first = str(getattr(exc, "orig", None) or exc).splitlines()
    log.warning("database busy", extra={"error": first[0] if first else type(exc).__name__})
    body = {
        "type": "https://jitgate.dev/problems/database-busy",
        "title": "Service busy",
        "status": 503,
        "detail": "the database is busy; retry the request shortly",
        "instance": instance,
    }
    response = problem_response(503, body)
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


def busy_problem(path: str, err: Saturated) -> dict[str, Any]:
    """The 503 problem of a saturated admission lane (``web.admission``)."""
    return {
        "type": "https://jitgate.dev/problems/server-busy",
        "title": "Service busy",
        "status": 503,
        "detail": f"the server is at capacity ({err.lane} lane); retry the request shortly",
        "instance": path,
    }


async def _saturated(request: Request, exc: Exception) -> JSONResponse:
    """A lane stayed full (a long-poll taking its lanes back): 503, retry after a while."""
    if not isinstance(exc, Saturated):  # pragma: no cover - registered for Saturated only
        return await _unexpected(request, exc)
    response = problem_response(503, busy_problem(request.url.path, exc))
    response.headers["Retry-After"] = str(exc.retry_after_s)
    return response


async def _busy_error(request: Request, exc: Exception) -> JSONResponse:
    """A lost lock race or an exhausted connection pool is a 503: retry shortly."""
    if not is_busy(exc):
        return await _unexpected(request, exc)
    return busy_response(exc, request.url.path)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error", exc_info=exc)
    body = {
        "type": "https://jitgate.dev/problems/internal-error",
        "title": "Internal error",
        "status": 500,
        "detail": "an unexpected error occurred; it has been logged",
        "instance": request.url.path,
    }
    return problem_response(500, body)


def install_problem_handlers(app: FastAPI) -> None:
    """Map every exception type to a problem response."""
    app.add_exception_handler(JitgateError, _jitgate_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(OperationalError, _busy_error)
    app.add_exception_handler(PoolTimeout, _busy_error)
    app.add_exception_handler(Saturated, _saturated)
    app.add_exception_handler(Exception, _unexpected)
