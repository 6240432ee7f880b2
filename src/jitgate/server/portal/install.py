"""Mount the portal on the server's app: its pages and ``/static``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute

from jitgate.server.portal.static_files import STATIC_PATH, static_app
from jitgate.server.portal.views import router

if TYPE_CHECKING:
    from fastapi import FastAPI


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
