"""Mounting the portal's sign-in on the app: its state, its error pages, its routes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from jitgate.server.portal.auth_views import router as auth_router
from jitgate.server.portal.deps import PortalState, install_portal_errors
from jitgate.server.portal.oidc import OidcClient

if TYPE_CHECKING:
    from fastapi import FastAPI

    from jitgate.core.settings import Settings


def install_portal(app: FastAPI, settings: Settings) -> PortalState:
    """Add sign-in, sign-out and "my sessions"; without OIDC settings they say so."""
    state = PortalState(oidc=OidcClient(settings) if settings.oidc_configured() else None)
    app.state.portal = state
    install_portal_errors(app)
    app.include_router(auth_router)
    return state
