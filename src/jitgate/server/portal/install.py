"""Mount the portal on the server's app: its pages, ``/static``, sign-in and "my sessions"."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute

from jitgate.server.portal import cli_sign_in
from jitgate.server.portal.auth_views import router as auth_router
from jitgate.server.portal.deps import PortalState, install_portal_errors
from jitgate.server.portal.oidc import OidcClient
from jitgate.server.portal.static_files import STATIC_PATH, static_app
from jitgate.server.portal.views import router
from jitgate.server.web.state import API_PREFIX

if TYPE_CHECKING:
    from fastapi import FastAPI

    from jitgate.core.settings import Settings


def install_portal(app: FastAPI, settings: Settings) -> PortalState:
    """Serve the portal's pages, static files and sign-in on ``app``.

    Without OIDC settings the sign-in page says sign-in is not configured.
    """
    state = PortalState(oidc=OidcClient(settings) if settings.oidc_configured() else None)
    app.state.portal = state
    install_portal_errors(app)
    app.mount(STATIC_PATH, static_app(), name="portal-static")
    # Each page is added as the app's own route (as the docs pages are), outside the OpenAPI
    # document: the API's routers are the only ones included as routers.
    for source in (router, auth_router):
        for route in source.routes:
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
    _install_cli_sign_in(app)
    return state


def _install_cli_sign_in(app: FastAPI) -> None:
    """``jitgate login --browser``: where to sign in, and the id token for API token trade."""
    app.add_api_route(
        "/auth/cli-config", cli_sign_in.cli_config, methods=["GET"], include_in_schema=False
    )
    app.add_api_route(
        f"{API_PREFIX}/auth/token",
        cli_sign_in.exchange_id_token,
        methods=["POST"],
        status_code=201,
        response_model=cli_sign_in.CliToken,
        tags=["identities"],
        summary="Trade an Entra id token for a short-lived API token (jitgate login --browser)",
        description=cli_sign_in.__doc__,
    )
