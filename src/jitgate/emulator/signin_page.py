"""The sign-in host's path dispatch (authorize, token, discovery, keys, logout, static files).

Only the browser pages (``is_browser_path``) are served on the plain-HTTP listener (``server.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jitgate.emulator import signin, signin_authorize, signin_session
from jitgate.emulator.http import json_response
from jitgate.emulator.signin_client import SigninError, aad_error
from jitgate.emulator.signin_html import static

if TYPE_CHECKING:
    from jitgate.emulator.http import Request, Response
    from jitgate.emulator.state import EmulatorState

BROWSER_ENDPOINTS = frozenset({"oauth2/v2.0/authorize", "oauth2/v2.0/logout"})


def _not_found(req: Request) -> Response:
    return json_response(
        404, {"error": "not_found", "error_description": f"No sign-in endpoint at {req.path}."}
    )


def is_browser_path(path: str) -> bool:
    """Return whether ``path`` is a page a person's browser opens (authorize, logout, CSS)."""
    if static(path) is not None:
        return True
    parts = path.strip("/").split("/")
    return len(parts) > 1 and "/".join(parts[1:]) in BROWSER_ENDPOINTS


def _logout(state: EmulatorState, req: Request, segment: str) -> Response:
    signin.resolve_tenant(state, segment)
    params = dict(req.query)
    if req.method == "POST":
        params.update(signin.parse_form(req.body))
    with state.tenant.lock:
        return signin_session.logout(state, req, params)


def handle_signin(state: EmulatorState, req: Request) -> Response:  # noqa: PLR0911 - one return per endpoint
    """Dispatch a request on the sign-in host."""
    asset = static(req.path)
    if asset is not None:
        return asset
    parts = req.path.strip("/").split("/")
    base = req.base_url
    if len(parts) < 2:  # noqa: PLR2004 - every sign-in path is /{tenant}/...
        return _not_found(req)
    segment, rest = parts[0], "/".join(parts[1:])
    try:
        if rest == "discovery/instance":
            return signin.instance_discovery(base, req.query)
        if rest in {"v2.0/.well-known/openid-configuration", ".well-known/openid-configuration"}:
            return signin.openid_configuration(state, base, segment)
        if rest in {"discovery/v2.0/keys", "discovery/keys"}:
            return signin.keys(state, base, segment)
        if rest == "oauth2/v2.0/token" and req.method == "POST":
            return signin.token(state, base, segment, signin.parse_form(req.body), req.headers)
        if rest == "oauth2/v2.0/authorize":
            return signin_authorize.authorize(state, req, segment)
        if rest == "oauth2/v2.0/logout":
            return _logout(state, req, segment)
    except SigninError as err:
        return aad_error(state, err)
    return _not_found(req)
