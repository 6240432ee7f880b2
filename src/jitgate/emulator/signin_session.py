"""The sign-in host's SSO session (its own cookie, like Entra's) and the logout endpoint.

A session is created when a person enters credentials and remembers who, when (``auth_time``:
the last time credentials were entered) and how (``amr``). Later authorize requests reuse it
unless the request forces a new sign-in. Logout ends it; ``post_logout_redirect_uri`` is only
followed when registered for the app named by ``client_id`` or by the ``id_token_hint``'s
audience.
"""

from __future__ import annotations

import secrets
import uuid
from http.cookies import CookieError, SimpleCookie
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import jwt

from jitgate.emulator import portal_apps
from jitgate.emulator.http import Response
from jitgate.emulator.signin_html import page

if TYPE_CHECKING:
    from jitgate.emulator.http import Request
    from jitgate.emulator.state import EmulatorState

COOKIE = "jitgate_emulator_sso"


def cookie_value(req: Request) -> str | None:
    """Return the SSO cookie the browser sent, if any."""
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(req.headers.get("cookie", ""))
    except CookieError:
        return None
    morsel = jar.get(COOKIE)
    return morsel.value if morsel else None


def current(state: EmulatorState, req: Request) -> tuple[str, dict[str, Any]] | None:
    """Return (cookie, session) for the browser's live SSO session of an enabled user."""
    key = cookie_value(req)
    session = state.sso_sessions.get(key) if key else None
    if key is None or session is None:
        return None
    user = state.tenant.users.get(session["user_id"])
    if user is None or user.get("accountEnabled") is False:
        return None
    return key, session


def start(state: EmulatorState, user_id: str, amr: list[str]) -> tuple[str, dict[str, Any]]:
    """Create a session for ``user_id`` who just entered credentials; return (cookie, session)."""
    key = secrets.token_urlsafe(32)
    session = {
        "sid": str(uuid.uuid4()),
        "user_id": user_id,
        "auth_time": state.tenant.now(),
        "amr": list(amr),
    }
    state.sso_sessions[key] = session
    return key, session


def add_mfa(state: EmulatorState, session: dict[str, Any]) -> None:
    """Record a completed second factor in ``session`` (credentials entered now)."""
    if "mfa" not in session["amr"]:
        session["amr"] = [*session["amr"], "mfa"]
    session["auth_time"] = state.tenant.now()


def set_cookie(req: Request, key: str) -> str:
    """Return the Set-Cookie value for session ``key``."""
    secure = "; Secure" if req.base_url.startswith("https://") else ""
    return f"{COOKIE}={key}; Path=/; HttpOnly; SameSite=Lax{secure}"


def clear_cookie(req: Request) -> str:
    """Return the Set-Cookie value that deletes the SSO cookie."""
    secure = "; Secure" if req.base_url.startswith("https://") else ""
    return f"{COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"


def _hint_claims(state: EmulatorState, hint: str) -> dict[str, Any]:
    if not hint:
        return {}
    try:
        return state.tokens.check_id_token(hint)
    except jwt.InvalidTokenError:
        return {}


def logout(state: EmulatorState, req: Request, params: dict[str, str]) -> Response:
    """GET/POST /{tenant}/oauth2/v2.0/logout: end the SSO session, then redirect or say so."""
    hint = _hint_claims(state, params.get("id_token_hint", ""))
    key = cookie_value(req)
    if key:
        state.sso_sessions.pop(key, None)
    if hint.get("sid"):
        for other in [k for k, s in state.sso_sessions.items() if s["sid"] == hint["sid"]]:
            state.sso_sessions.pop(other, None)
    app_id = params.get("client_id") or str(hint.get("aud") or "")
    target = params.get("post_logout_redirect_uri", "")
    app = portal_apps.application(state, app_id) if app_id else None
    allowed = app is not None and (
        target in state.tenant.post_logout_uris.get(app_id, [])
        or portal_apps.redirect_allowed(app, target)
    )
    if target and allowed:
        query = urlencode({"state": params["state"]}) if params.get("state") else ""
        location = f"{target}{'&' if '?' in target else '?'}{query}" if query else target
        return Response(
            302,
            b"",
            {"Location": location, "Cache-Control": "no-store", "Set-Cookie": clear_cookie(req)},
        )
    response = page("Signed out", "<p id='signed-out'>You have signed out of your account.</p>")
    response.headers["Set-Cookie"] = clear_cookie(req)
    return response
