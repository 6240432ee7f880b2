"""The authorize endpoint's plain HTML sign-in page and the sign-in host's path dispatch.

The page lists the tenant's enabled users; choosing one and typing its password issues a code.
A bad client or redirect URI is shown on the page and never redirected (AADSTS700016, 50011).
"""
# ruff: noqa: E501 - Graph and AADSTS texts stay on one line, verbatim, to grep against reference/graph.md

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from jitgate.emulator import signin, signin_user
from jitgate.emulator.http import Response, json_response
from jitgate.emulator.signin_client import SigninError, aad_error

if TYPE_CHECKING:
    from jitgate.emulator.http import Request
    from jitgate.emulator.state import EmulatorState

HTML = {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}
MAX_LISTED_USERS = 200


def _page(title: str, inner: str) -> str:
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>"
        f"{html.escape(title)}</title></head><body style='font-family:sans-serif;max-width:32em;margin:3em auto'>"
        f"<h1>{html.escape(title)}</h1>{inner}</body></html>"
    )


def _error_page(err: SigninError) -> Response:
    inner = f"<p id='error' data-code='{err.code}'>AADSTS{err.code}: {html.escape(err.text)}</p>"
    return Response(400, _page("Sign in: error", inner).encode(), dict(HTML))


def _redirect_uris(state: EmulatorState, client_id: str) -> set[str]:
    tenant = state.tenant
    app = tenant.applications.get(tenant.app_by_appid.get(client_id, ""))
    if app is None:
        return set()
    uris = set((app.get("web") or {}).get("redirectUris") or [])
    uris |= set((app.get("spa") or {}).get("redirectUris") or [])
    uris |= set((app.get("publicClient") or {}).get("redirectUris") or [])
    return uris


def _check_authorize(state: EmulatorState, segment: str, params: dict[str, str]) -> None:
    signin.resolve_tenant(state, segment)
    client_id = params.get("client_id", "")
    if client_id not in state.tenant.app_by_appid:
        raise SigninError(
            400,
            "unauthorized_client",
            700016,
            f"Application with identifier '{client_id}' was not found in the directory '{segment}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.",
        )
    uri = params.get("redirect_uri", "")
    if uri not in _redirect_uris(state, client_id):
        raise SigninError(
            400,
            "invalid_request",
            50011,
            f"The redirect URI '{uri}' specified in the request does not match the redirect URIs configured for the application '{client_id}'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal. Navigate to https://aka.ms/redirectUriMismatchError to learn more about how to fix this.",
        )


def _form(state: EmulatorState, params: dict[str, str], message: str = "") -> Response:
    hidden = "".join(
        f"<input type='hidden' name='{html.escape(k)}' value='{html.escape(v)}'>"
        for k, v in params.items()
        if k not in {"username", "password"}
    )
    hint = params.get("login_hint", "").lower()
    options = []
    for user in list(state.tenant.users.values())[:MAX_LISTED_USERS]:
        if user.get("accountEnabled") is False:
            continue
        upn = user["userPrincipalName"]
        chosen = " selected" if upn.lower() == hint else ""
        options.append(
            f"<option value='{html.escape(upn)}'{chosen}>{html.escape(user.get('displayName') or upn)} ({html.escape(upn)})</option>"
        )
    error = f"<p id='error' role='alert'>{html.escape(message)}</p>" if message else ""
    inner = (
        f"{error}<form method='post'>{hidden}"
        f"<label>User <select name='username'>{''.join(options)}</select></label><br>"
        "<label>Password <input type='password' name='password'></label><br>"
        "<button type='submit'>Sign in</button></form>"
    )
    return Response(200, _page("Sign in to the jitgate emulator", inner).encode(), dict(HTML))


def authorize(state: EmulatorState, req: Request, segment: str) -> Response:
    """GET shows the sign-in page; POST checks the password and redirects with a code."""
    params = dict(req.query)
    if req.method == "POST":
        params.update(signin.parse_form(req.body))
    try:
        _check_authorize(state, segment, params)
    except SigninError as err:
        return _error_page(err)
    if params.get("response_type", "code") != "code":
        return signin.redirect_with(
            params,
            {
                "error": "unsupported_response_type",
                "error_description": "AADSTS70005: The provided value for the input parameter 'response_type' is not allowed for this request.",
            },
        )
    if req.method == "GET":
        if params.get("prompt") == "none":
            return signin.redirect_with(
                params,
                {
                    "error": "login_required",
                    "error_description": "AADSTS50058: A silent sign-in request was sent but no user is signed in.",
                },
            )
        return _form(state, params)
    user = state.tenant.find_user(params.get("username", ""))
    expected = state.tenant.passwords.get(user["id"]) if user else None
    if (
        user is None
        or expected is None
        or expected != params.get("password")
        or user.get("accountEnabled") is False
    ):
        return _form(
            state,
            params,
            "AADSTS50126: Error validating credentials due to invalid username or password.",
        )
    code = signin_user.issue_code(state, params, user["id"])
    return signin.redirect_with(params, {"code": code, "session_state": user["id"]})


def handle_signin(state: EmulatorState, req: Request) -> Response:  # noqa: PLR0911 - one return per endpoint
    """Dispatch a request on the sign-in host."""
    parts = req.path.strip("/").split("/")
    base = req.base_url
    if len(parts) < 2:  # noqa: PLR2004 - every sign-in path is /{tenant}/...
        return json_response(
            404, {"error": "not_found", "error_description": f"No sign-in endpoint at {req.path}."}
        )
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
            return authorize(state, req, segment)
        if rest == "oauth2/v2.0/logout":
            target = req.query.get("post_logout_redirect_uri")
            if target:
                return Response(302, b"", {"Location": target})
            return Response(
                200, _page("Signed out", "<p>You have signed out.</p>").encode(), dict(HTML)
            )
    except SigninError as err:
        return aad_error(state, err)
    return json_response(
        404, {"error": "not_found", "error_description": f"No sign-in endpoint at {req.path}."}
    )
