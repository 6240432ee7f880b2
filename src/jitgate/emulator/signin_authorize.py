"""GET/POST /{tenant}/oauth2/v2.0/authorize: SSO session, password, one-time code, step-up.

Order of a request: the client and redirect URI are checked first (a mismatch is shown, never
redirected); then the SSO session is reused unless ``prompt=login``, ``max_age`` or a
``login_hint`` naming someone else says otherwise; ``prompt=none`` never shows a page. A claims
request for an auth context (``acrs``) needs MFA in this sign-in: a session without it is asked
for the one-time code first (step-up). A code is used once per user (replay refused).
"""
# ruff: noqa: E501 - AADSTS texts stay on one line, verbatim, to grep against reference/graph.md

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from jitgate.emulator import portal_apps, signin, signin_session, signin_user, totp
from jitgate.emulator.signin_claims import requested_acrs
from jitgate.emulator.signin_client import SigninError
from jitgate.emulator.signin_forms import (
    BAD_PASSWORD,
    DISABLED,
    FLOW_EXPIRED,
    MFA_ENROLL,
    MFA_FAILED,
    code_form,
    error_page,
    password_form,
)

if TYPE_CHECKING:
    from jitgate.emulator.http import Request, Response
    from jitgate.emulator.state import EmulatorState

PENDING_LIFETIME_S = 600.0
Session = tuple[str, dict[str, Any]]


def _check_client(state: EmulatorState, segment: str, params: dict[str, str]) -> None:
    signin.resolve_tenant(state, segment)
    client_id = params.get("client_id", "")
    app = portal_apps.application(state, client_id)
    if app is None:
        raise SigninError(
            400,
            "unauthorized_client",
            700016,
            f"Application with identifier '{client_id}' was not found in the directory '{segment}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.",
        )
    uri = params.get("redirect_uri", "")
    if not portal_apps.redirect_allowed(app, uri):
        raise SigninError(
            400,
            "invalid_request",
            50011,
            f"The redirect URI '{uri}' specified in the request does not match the redirect URIs configured for the application '{client_id}'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal. Navigate to https://aka.ms/redirectUriMismatchError to learn more about how to fix this.",
        )


def authorize(state: EmulatorState, req: Request, segment: str) -> Response:
    """GET starts (or silently completes) a sign-in; POST takes a password or a code."""
    params = dict(req.query)
    if req.method == "POST":
        params.update(signin.parse_form(req.body))
    try:
        _check_client(state, segment, params)
    except SigninError as err:
        return error_page(err)
    if params.get("response_type", "code") != "code":
        return _fail(
            params,
            "unsupported_response_type",
            "AADSTS70005: The provided value for the input parameter 'response_type' is not allowed for this request.",
        )
    with state.tenant.lock:
        if req.method == "POST" and "flow" in params:
            return _code_step(state, req, params)
        if req.method == "POST" and "username" in params:
            return _password_step(state, req, params)
        return _start(state, req, params)


def _fail(params: dict[str, str], error: str, description: str) -> Response:
    return signin.redirect_with(params, {"error": error, "error_description": description})


def _reusable(state: EmulatorState, params: dict[str, str], found: Session | None) -> bool:
    if found is None or params.get("prompt") == "login":
        return False
    session = found[1]
    max_age = params.get("max_age", "")
    if max_age.strip().isdigit():
        limit = int(max_age)
        age = state.tenant.now() - session["auth_time"]
        if limit == 0 or age > limit:
            return False
    hint = params.get("login_hint", "").strip().lower()
    if hint:
        user = state.tenant.users.get(session["user_id"]) or {}
        return str(user.get("userPrincipalName", "")).lower() == hint
    return True


def _start(state: EmulatorState, req: Request, params: dict[str, str]) -> Response:
    found = signin_session.current(state, req)
    usable = _reusable(state, params, found)
    wants_mfa = bool(requested_acrs(params.get("claims")))
    if params.get("prompt") == "none":
        if not usable or found is None:
            return _fail(
                params,
                "login_required",
                "AADSTS50058: A silent sign-in request was sent but no user is signed in.",
            )
        if wants_mfa and "mfa" not in found[1]["amr"]:
            return _fail(
                params,
                "interaction_required",
                f"AADSTS50076: Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '{params.get('client_id', '')}'.",
            )
        return _issue(state, req, params, found, new_cookie=False)
    if usable and found is not None:
        if wants_mfa and "mfa" not in found[1]["amr"]:
            return _ask_code(state, params, found[1]["user_id"], step_up=found[0])
        return _issue(state, req, params, found, new_cookie=False)
    return password_form(state, params)


def _password_step(state: EmulatorState, req: Request, params: dict[str, str]) -> Response:
    tenant = state.tenant
    user = tenant.find_user(params.get("username", "").strip())
    expected = tenant.passwords.get(user["id"]) if user else None
    presented = params.get("password", "")
    if user is None or expected is None or not secrets.compare_digest(expected, presented):
        return password_form(state, params, BAD_PASSWORD)
    if user.get("accountEnabled") is False:
        return password_form(state, params, DISABLED)
    wants_mfa = bool(requested_acrs(params.get("claims")))
    has_mfa = user["id"] in tenant.mfa_secrets
    if wants_mfa and not has_mfa:
        return password_form(state, params, MFA_ENROLL)
    if has_mfa and (wants_mfa or state.settings.mfa_on_every_sign_in):
        return _ask_code(state, params, user["id"], step_up=None)
    found = signin_session.start(state, user["id"], ["pwd"])
    return _issue(state, req, params, found, new_cookie=True)


def _ask_code(
    state: EmulatorState, params: dict[str, str], user_id: str, *, step_up: str | None
) -> Response:
    now = state.tenant.now()
    for stale in [k for k, v in state.pending_signins.items() if v["expires"] < now]:
        state.pending_signins.pop(stale, None)
    flow = secrets.token_urlsafe(24)
    carried = {k: v for k, v in params.items() if k not in {"username", "password", "otc", "flow"}}
    state.pending_signins[flow] = {
        "user_id": user_id,
        "params": carried,
        "step_up": step_up,
        "expires": now + PENDING_LIFETIME_S,
    }
    return code_form(carried, flow, state.tenant.users[user_id])


def _code_step(state: EmulatorState, req: Request, params: dict[str, str]) -> Response:
    tenant = state.tenant
    flow = params.get("flow", "")
    pending = state.pending_signins.get(flow)
    if pending is None or pending["expires"] < tenant.now():
        state.pending_signins.pop(flow, None)
        return password_form(state, params, FLOW_EXPIRED)
    user_id = pending["user_id"]
    user = tenant.users.get(user_id)
    secret = tenant.mfa_secrets.get(user_id)
    if user is None or secret is None or user.get("accountEnabled") is False:
        state.pending_signins.pop(flow, None)
        return password_form(state, pending["params"], DISABLED)
    step = totp.matching_step(secret, params.get("otc", ""), tenant.now())
    if step is None or step <= state.totp_last_step.get(user_id, -1):
        return code_form(pending["params"], flow, user, MFA_FAILED)
    state.totp_last_step[user_id] = step
    state.pending_signins.pop(flow, None)
    original = pending["params"]
    if pending["step_up"]:
        key = pending["step_up"]
        session = state.sso_sessions.get(key)
        if session is None:  # signed out meanwhile: the password is needed again
            return password_form(state, original, FLOW_EXPIRED)
        signin_session.add_mfa(state, session)
        return _issue(state, req, original, (key, session), new_cookie=False)
    found = signin_session.start(state, user_id, ["pwd", "mfa"])
    return _issue(state, req, original, found, new_cookie=True)


def _issue(
    state: EmulatorState,
    req: Request,
    params: dict[str, str],
    found: Session,
    *,
    new_cookie: bool,
) -> Response:
    key, session = found
    acrs = requested_acrs(params.get("claims")) if "mfa" in session["amr"] else []
    code = signin_user.issue_code(state, params, session["user_id"], session=session, acrs=acrs)
    response = signin.redirect_with(params, {"code": code, "session_state": session["sid"]})
    if new_cookie:
        response.headers["Set-Cookie"] = signin_session.set_cookie(req, key)
    return response
