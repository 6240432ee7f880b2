"""A tiny request/response model shared by the ASGI app, the Graph routes and ``$batch``.

The emulator does not use a web framework on its hot path: ``$batch`` dispatches inner requests
through the same handlers without any HTTP round trip, so a request is a plain object.
"""
# ruff: noqa: E501 - Graph and AADSTS texts stay on one line, verbatim, to grep against reference/graph.md

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

GRAPH_CONTENT_TYPE = (
    "application/json;odata.metadata=minimal;odata.streaming=true;"
    "IEEE754Compatible=false;charset=utf-8"
)
NOT_FOUND_TEXT = "Resource '{0}' does not exist or one of its queried reference-property objects are not present."
INSUFFICIENT_PRIVILEGES = "Insufficient privileges to complete the operation."


@dataclass(slots=True)
class Request:
    """One HTTP request (outer, or an inner ``$batch`` request)."""

    method: str
    path: str
    raw_query: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    base_url: str = "https://localhost"
    _query: dict[str, str] | None = None

    @property
    def query(self) -> dict[str, str]:
        """Return the query parameters (last value wins), parsed once."""
        if self._query is None:
            self._query = dict(parse_qsl(self.raw_query, keep_blank_values=True))
        return self._query

    def json(self) -> Any:  # noqa: ANN401 - a JSON body is any JSON value
        """Return the body parsed as JSON (``None`` when empty)."""
        if not self.body:
            return None
        return json.loads(self.body)


@dataclass(slots=True)
class Response:
    """One HTTP response; ``drop`` asks the server to close the connection without answering."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False
    payload: object = None  # the JSON value of ``body`` when known (spares $batch a re-parse)


def json_response(
    status: int,
    payload: object,
    headers: dict[str, str] | None = None,
    content_type: str = GRAPH_CONTENT_TYPE,
) -> Response:
    """Return a JSON response with the Graph content type."""
    out = {"Content-Type": content_type}
    if headers:
        out.update(headers)
    body = json.dumps(payload, separators=(",", ":")).encode()
    return Response(status, body, out, payload=payload)


def empty_response(status: int = 204) -> Response:
    """Return a response without a body."""
    return Response(status)


class GraphError(Exception):
    """A Graph error answer: ``{"error": {"code", "message", "innerError"}}``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
        inner: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.inner = inner or {}


def not_found(object_id: str) -> GraphError:
    """Return the directory's 404 for an object that does not exist."""
    return GraphError(404, "Request_ResourceNotFound", NOT_FOUND_TEXT.format(object_id))


def forbidden() -> GraphError:
    """Return the directory's 403 for a missing permission."""
    return GraphError(403, "Authorization_RequestDenied", INSUFFICIENT_PRIVILEGES)


def bad_request(message: str, code: str = "Request_BadRequest") -> GraphError:
    """Return a 400 with ``code`` and ``message``."""
    return GraphError(400, code, message)


def unsupported_query(message: str) -> GraphError:
    """Return a 400 ``Request_UnsupportedQuery``."""
    return GraphError(400, "Request_UnsupportedQuery", message)
