"""Authentication before the body: a request that carries a body is refused before it is read.

FastAPI reads and validates a route's body before its dependencies run, so without this a client
with no valid token could make the server take in a body up to the size limit and answer 413 or
422. This pure ASGI middleware sits outside ``web.limits.BodyLimits`` and, for a POST, PUT, PATCH
or DELETE under ``/api/v1`` or ``/api/connector/v1`` that declares a body (Content-Length over 0
or chunked), checks the bearer token before any body byte is read.

Invariants:

* a missing or malformed token, and one that is not valid (unknown, revoked, expired, of a
  disabled identity; on the connector API anything but a known ``jg_ct_`` token), gets the same
  401 problem the route's dependency would give, with ``WWW-Authenticate: Bearer`` and
  ``Connection: close`` (the unread body must not be taken for the next request). The refusal
  counts for the failed-auth throttle (``web.throttle``), so past the limit it is a 429;
* the check only reads, in a short read-only session in a worker thread; a valid token passes
  unchanged and the route's dependency authenticates it again and records its use;
* no route with a body is public (``tests/integration/test_openapi.py`` keeps every operation
  secured), so nothing reachable without a token is refused here;
* a database that is busy during the check gets the 503 the route would give.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from jitgate.core.db import is_busy, read_only
from jitgate.core.errors import JitgateError
from jitgate.protocol.v1 import PREFIX as CONNECTOR_PREFIX
from jitgate.server.web.deps import api_token, app_state, bearer, token_actor
from jitgate.server.web.problems import busy_response, error_response
from jitgate.server.web.state import API_PREFIX

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from starlette.responses import Response
    from starlette.types import ASGIApp, Receive, Scope, Send

    #: Checks a connector request's token without reading its body; raises a ``JitgateError``
    #: (``Unauthenticated``) if it is not valid. The connector protocol's, passed in by the app.
    ConnectorCheck = Callable[[Request], Awaitable[None]]

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _route_path(scope: Scope) -> str:
    """The path the routes see: without the ``root_path`` a proxy mounts the app under."""
    path: str = scope.get("path", "")
    root: str = scope.get("root_path", "")
    if root and path.startswith(root + "/"):
        return path[len(root) :]
    return path


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


def _declares_body(scope: Scope) -> bool:
    """Whether the request says a body follows (HTTP/1.1 framing: Content-Length or chunked)."""
    headers = dict(scope.get("headers", []))
    length = headers.get(b"content-length")
    if length is not None and (not length.strip().isdigit() or int(length) > 0):
        return True
    return b"chunked" in headers.get(b"transfer-encoding", b"").lower()


def _check_api_token(request: Request, token: str) -> None:
    state = app_state(request)
    with read_only(), state.sessions() as session:
        token_actor(request, session, state.clock, token, record_use=False)
        session.rollback()


async def _refusal(request: Request, connector: ConnectorCheck | None) -> Response | None:
    """Return the response refusing the request's token, or ``None`` when the token is valid."""
    try:
        if connector is not None:
            await connector(request)
        else:
            token = api_token(request, await bearer(request))
            await run_in_threadpool(_check_api_token, request, token)
    except JitgateError as err:
        return error_response(err, request.url.path)
    except (OperationalError, PoolTimeout) as err:
        if not is_busy(err):
            raise
        return busy_response(err, request.url.path)
    return None


class AuthFirst:
    """Pure ASGI middleware: refuse a body-carrying API request without a valid token unread."""

    def __init__(self, app: ASGIApp, *, check_connector: ConnectorCheck) -> None:
        """Wrap ``app``; ``check_connector`` checks a connector token (the protocol's check)."""
        self.app = app
        self.check_connector = check_connector

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the token of a request that declares a body; pass everything else through."""
        if scope["type"] == "http" and scope.get("method") in BODY_METHODS:
            path = _route_path(scope)
            connector = _under(path, CONNECTOR_PREFIX)
            if (connector or _under(path, API_PREFIX)) and _declares_body(scope):
                check = self.check_connector if connector else None
                response = await _refusal(Request(scope), check)
                if response is not None:
                    response.headers["Connection"] = "close"
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)
