"""Security headers on every response, and the ``Allow`` list of a 405.

``SecurityHeaders`` is pure ASGI middleware (it never buffers a body, so streaming exports and
long-polls pass through untouched). Every response gets:

* ``X-Content-Type-Options: nosniff``: a browser never guesses a type other than the declared one;
* ``Cache-Control: no-store``: API answers carry tokens (token creation, connector create and
  rotate), people's names and access; no cache or proxy may keep them. A route that sets its own
  ``Cache-Control`` keeps it;
* ``Referrer-Policy: no-referrer`` and ``X-Frame-Options: DENY``: no URL leaks to another site
  and no page of the server can be framed (clickjacking);
* ``Content-Security-Policy: default-src 'none'; …``: an answer opened in a browser loads and
  runs nothing. The docs pages set their own, narrower policy (``web.apidocs``).

A header the app already set is never replaced.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.routing import Match

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"cache-control", b"no-store"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (
        b"content-security-policy",
        b"default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    ),
)


class SecurityHeaders:
    """Add ``SECURITY_HEADERS`` to every HTTP response that does not set them itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; add the headers to the response start."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(k, v) for k, v in SECURITY_HEADERS if k not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def allowed_methods(request: Request) -> str:
    """The methods the app's routes accept at this request's path (the ``Allow`` of a 405)."""
    routes = request.app.router.routes
    allowed = [
        method
        for method in METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes
        )
    ]
    return ", ".join(allowed)
