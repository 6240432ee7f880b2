"""Portal sign-in, step-up, sign-out and "my sessions" (routes outside ``/api``).

* ``GET /auth/sign-in``: a new pending sign-in (``portal.sign_ins``), then off to Entra;
  ``step_up=1`` asks for a fresh sign-in with MFA (and the auth context, when configured);
* ``GET /auth/callback``: the pending sign-in of ``state`` (used once), the code redeemed, the id
  token validated, the person found by ``(tid, oid)``, a new session (a new cookie every time);
* ``POST /auth/sign-out`` (CSRF): the session revoked on the server, then Entra's sign-out;
* ``GET /auth/signed-out``, ``GET /sessions``, ``POST /sessions/{id}/revoke`` (own only).

Every outcome is a readable page with the portal's security headers; nothing here shows a
stack trace or the sign-in host's raw answer beyond its first line.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from jitgate.server.identities.entra_tokens import InvalidIdToken
from jitgate.server.identities.session_models import PortalSignIn
from jitgate.server.identities.sessions import (
    SignInRefused,
    find_person,
    live_sessions,
    revoke_own_session,
    sign_out,
    start_session,
)
from jitgate.server.portal.deps import (
    PortalPageError,
    PortalUserDep,
    clear_session_cookie,
    message_page,
    portal_db,
    portal_state,
    portal_user,
    redirect,
    session_cookie,
    set_session_cookie,
)
from jitgate.server.portal.oidc import OidcError
from jitgate.server.portal.sign_ins import (
    SignInStateError,
    safe_return_to,
    save_sign_in,
    take_sign_in,
)
from jitgate.server.portal.templating import render
from jitgate.server.web.deps import app_state

if TYPE_CHECKING:
    from starlette.responses import Response

    from jitgate.server.identities.entra_tokens import IdTokenClaims
    from jitgate.server.portal.oidc import OidcClient
    from jitgate.server.portal.user import PortalUser

router = APIRouter(include_in_schema=False)
SETTING_NAMES = ("JITGATE_OIDC_TENANT", "JITGATE_OIDC_CLIENT_ID", "JITGATE_OIDC_CLIENT_SECRET")
#: How much earlier than the step-up request an MFA sign-in may have happened (clock skew).
STEP_UP_SKEW = timedelta(seconds=60)


def _oidc(request: Request) -> OidcClient:
    oidc = portal_state(request).oidc
    if oidc is None:
        raise PortalPageError(
            message_page(
                request,
                title="Sign-in is not configured",
                message="Portal sign-in is not configured on this server. An administrator sets "
                "these settings (JITGATE_OIDC_CERTIFICATE_FILE may replace the secret):",
                status_code=503,
                settings_names=SETTING_NAMES,
            )
        )
    return oidc


def _failed(request: Request, message: str, *, status_code: int = 400) -> PortalPageError:
    return PortalPageError(
        message_page(
            request,
            title="Sign-in failed",
            message=message,
            status_code=status_code,
            link="/auth/sign-in",
            link_text="Sign in again",
        )
    )


def start_sign_in(
    request: Request,
    *,
    return_to: str,
    step_up: bool,
    user: PortalUser | None = None,
    saved_form: dict[str, Any] | None = None,
) -> Response:
    """Send the browser to Entra; a step-up may keep the form being submitted (run in a thread)."""
    oidc = _oidc(request)
    state = secrets.token_urlsafe(32)
    try:
        flow = oidc.begin(state=state, step_up=step_up, login_hint=user.upn if user else None)
    except OidcError as err:
        raise _failed(request, f"{err}.", status_code=502) from err
    with portal_db(request) as session:
        save_sign_in(
            session=session,
            clock=app_state(request).clock,
            state=state,
            flow=flow,
            return_to=return_to,
            step_up=step_up,
            saved_form=saved_form,
        )
    return redirect(request, str(flow["auth_uri"]))


@router.get("/auth/sign-in")
def sign_in(
    request: Request,
    return_to: Annotated[str | None, Query(max_length=2048)] = None,
    step_up: Annotated[bool, Query()] = False,
) -> Response:
    """Start a sign-in (or a step-up) and redirect to Entra."""
    user = portal_user(request)
    return start_sign_in(request, return_to=safe_return_to(return_to), step_up=step_up, user=user)


def _check_step_up(request: Request, pending: PortalSignIn, claims: IdTokenClaims) -> None:
    settings = app_state(request).settings
    context = settings.oidc_auth_context
    fresh = claims.auth_time is not None and claims.auth_time >= pending.created_at - STEP_UP_SKEW
    if claims.has_mfa and fresh and (not context or context in claims.acrs):
        return
    raise PortalPageError(
        message_page(
            request,
            title="MFA was not completed",
            message="MFA was not completed: this action needs a fresh sign-in with multi-factor "
            "authentication"
            + (f" (authentication context {context})" if context else "")
            + ". Nothing was changed.",
            status_code=403,
            link=pending.return_to,
            link_text="Go back",
        )
    )


def _complete(request: Request, params: dict[str, str]) -> Response:
    state = app_state(request)
    oidc = _oidc(request)
    with portal_db(request) as session:
        try:
            pending = take_sign_in(
                session=session, clock=state.clock, state=params.get("state", "")
            )
        except SignInStateError as err:
            raise _failed(request, str(err)) from err
        flow, return_to = dict(pending.flow), pending.return_to
    if params.get("error"):
        description = (params.get("error_description") or params["error"]).split("\r\n")[0]
        raise _failed(request, f"Entra ID did not sign you in: {description}")
    try:
        claims = oidc.redeem(flow, params, now=state.clock.now())
    except (OidcError, InvalidIdToken) as err:
        raise _failed(request, f"The sign-in could not be checked: {err}.") from err
    with portal_db(request) as session:
        pending = session.get_one(PortalSignIn, pending.id)
        if pending.step_up:
            _check_step_up(request, pending, claims)
        try:
            identity = find_person(session=session, tid=claims.tid, oid=claims.oid)
        except SignInRefused as err:
            raise PortalPageError(
                message_page(request, title="Sign-in refused", message=str(err), status_code=403)
            ) from err
        row, cookie = start_session(
            session=session,
            clock=state.clock,
            settings=state.settings,
            identity=identity,
            claims=claims,
            user_agent=request.headers.get("user-agent", ""),
            old_cookie=session_cookie(request),
        )
        pending.session_id = row.id
    response = redirect(request, return_to)
    set_session_cookie(response, request, cookie)
    return response


@router.get("/auth/callback")
def callback(request: Request) -> Response:
    """Finish a sign-in: check state, redeem the code, validate, open a session."""
    params = {k: v for k, v in request.query_params.items() if isinstance(v, str)}
    return _complete(request, params)


def _sign_out(request: Request, user: PortalUser) -> Response:
    state = app_state(request)
    with portal_db(request) as session:
        sign_out(session=session, clock=state.clock, session_id=user.session_id)
    base = state.settings.base_url.rstrip("/")
    oidc = portal_state(request).oidc
    target = oidc.end_session_url(f"{base}/auth/signed-out") if oidc else None
    response = redirect(request, target or "/auth/signed-out")
    clear_session_cookie(response, request)
    return response


@router.post("/auth/sign-out")
async def sign_out_view(request: Request, user: PortalUserDep) -> Response:
    """Sign out: revoke the session on the server, then sign out of Entra."""
    return await run_in_threadpool(_sign_out, request, user)


@router.get("/auth/signed-out")
def signed_out(request: Request) -> Response:
    """The page Entra's sign-out returns to."""
    return message_page(
        request,
        title="Signed out",
        message="You have signed out of jitgate.",
        status_code=200,
        link="/auth/sign-in",
        link_text="Sign in again",
    )


def _device(user_agent: str) -> str:
    return user_agent[:120] or "Unknown device"


@router.get("/sessions")
def my_sessions(request: Request, user: PortalUserDep) -> Response:
    """The person's live sessions, this one marked."""
    state = app_state(request)
    with portal_db(request) as session:
        rows = [
            {
                "id": row.id,
                "device": _device(row.user_agent),
                "created_at": row.created_at.isoformat(timespec="seconds"),
                "last_seen_at": row.last_seen_at.isoformat(timespec="seconds"),
                "current": row.id == user.session_id,
            }
            for row in live_sessions(
                session=session,
                clock=state.clock,
                settings=state.settings,
                identity_id=user.identity_id,
            )
        ]
    return render(request, "auth/sessions.html", user=user, sessions=rows)


def _revoke(request: Request, user: PortalUser, session_id: str) -> Response:
    state = app_state(request)
    with portal_db(request) as session:
        done = revoke_own_session(
            session=session, clock=state.clock, actor=user.actor(), session_id=session_id
        )
    if not done:
        return message_page(
            request,
            title="No such session",
            message="That session is not one of yours, or it has already ended.",
            status_code=404,
            user=user,
            link="/sessions",
            link_text="My sessions",
        )
    if session_id == user.session_id:
        response = redirect(request, "/auth/signed-out")
        clear_session_cookie(response, request)
        return response
    return redirect(request, "/sessions")


@router.post("/sessions/{session_id}/revoke")
async def revoke_session_view(request: Request, user: PortalUserDep, session_id: str) -> Response:
    """Sign out one of the person's own sessions."""
    return await run_in_threadpool(_revoke, request, user, session_id)
