"""Mount the portal on the server's app: its pages, ``/static``, and the sign-in redirect."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute

from jitgate.server.portal.deps import SignInRequired
from jitgate.server.portal.static_files import STATIC_PATH, static_app
from jitgate.server.portal.views import router

if TYPE_CHECKING:
    from fastapi import FastAPI
    from starlette.requests import Request
    from starlette.responses import Response


async def _sign_in_first(_request: Request, exc: Exception) -> Response:
    location = exc.location if isinstance(exc, SignInRequired) else "/"
    return RedirectResponse(location, status_code=303)


def install_portal(app: FastAPI) -> None:
    """Serve the portal's pages and static files on ``app``."""
    app.mount(STATIC_PATH, static_app(), name="portal-static")
    # Each page is added as the app's own route (as the docs pages are), outside the OpenAPI
    # document: the API's routers are the only ones included as routers.
    for route in router.routes:
        if isinstance(route, APIRoute):
            app.add_api_route(
                route.path,
                route.endpoint,
                methods=sorted(route.methods or ()),
                response_class=HTMLResponse,
                response_model=None,
                include_in_schema=False,
                name=route.name,
            )
    app.add_exception_handler(SignInRequired, _sign_in_first)
