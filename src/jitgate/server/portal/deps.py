"""Who is signed in to the portal: ``PortalUserDep`` for views, ``portal_user`` for the layout.

Also the role checks, CSRF and recent MFA. Views never read sessions or cookies themselves;
tests may stand in for the sign-in through ``app.dependency_overrides[signed_in_user]``.

``PortalUserDep`` is what every portal view that needs a person depends on: an anonymous GET is
sent to ``/auth/sign-in?return_to=<path>``, anything else anonymous gets a 401 page; a
state-changing request is refused with a 403 page unless its CSRF token and origin pass
(``portal.csrf``), before the view runs. Refusals are ``PortalPageError`` carrying the page.

The session cookie is ``__Host-jitgate_session`` (``Secure``) over HTTPS and
``jitgate_session`` over plain HTTP, always ``HttpOnly``, ``SameSite=Lax``, ``Path=/``; only the
name of the request's scheme is read, so a cookie set over HTTP never counts on HTTPS.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from jitgate.core.db import writing
from jitgate.server.actor import UserRole
from jitgate.server.identities.sessions import resolve_session
from jitgate.server.portal.csrf import csrf_problem
from jitgate.server.portal.headers import portal_headers
from jitgate.server.portal.nav import sign_in_url
from jitgate.server.portal.templating import render
from jitgate.server.portal.user import PortalUser
from jitgate.server.web.deps import app_state

if TYPE_CHECKING:
    from collections.abc import Iterator
    from datetime import datetime

    from fastapi import FastAPI
    from fastapi.responses import HTMLResponse
    from sqlalchemy.orm import Session
    from starlette.responses import Response

    from jitgate.core.settings import Settings
    from jitgate.server.identities.models import Identity
    from jitgate.server.identities.session_models import PortalSession
    from jitgate.server.portal.oidc import OidcClient

SECURE_COOKIE = "__Host-jitgate_session"
PLAIN_COOKIE = "jitgate_session"
_UNSET = object()


@dataclass(slots=True)
class PortalState:
    """The portal's part of the app: the OIDC client (``None`` when sign-in is not configured)."""

    oidc: OidcClient | None


class PortalPageError(Exception):
    """A refusal shown as a portal page (or a redirect); the handler returns ``response``."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def install_portal_errors(app: FastAPI) -> None:
    """Answer a ``PortalPageError`` with its page."""

    async def handler(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PortalPageError)  # noqa: S101 - registered for this type only
        return exc.response

    app.add_exception_handler(PortalPageError, handler)


def portal_state(request: Request) -> PortalState:
    """The portal's state on the app."""
    state: PortalState = request.app.state.portal
    return state


def cookie_name(request: Request) -> str:
    """The session cookie's name for the request's scheme."""
    return SECURE_COOKIE if request.url.scheme == "https" else PLAIN_COOKIE


def session_cookie(request: Request) -> str | None:
    """The session cookie the request carries, if any."""
    return request.cookies.get(cookie_name(request)) or None


def set_session_cookie(response: Response, request: Request, value: str) -> None:
    """Set the session cookie (a session cookie: it ends with the browser or the session)."""
    response.set_cookie(
        cookie_name(request),
        value,
        path="/",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="lax",
    )


def clear_session_cookie(response: Response, request: Request) -> None:
    """Remove the session cookie from the browser."""
    response.delete_cookie(
        cookie_name(request),
        path="/",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="lax",
    )


@contextmanager
def portal_db(request: Request) -> Iterator[Session]:
    """A writing database session for a portal view: committed if the block ends normally."""
    with writing(), app_state(request).sessions() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def redirect(request: Request, url: str, *, status_code: int = 303) -> RedirectResponse:
    """A redirect carrying the portal's headers."""
    return RedirectResponse(url, status_code=status_code, headers=portal_headers(request))


def message_page(
    request: Request,
    *,
    title: str,
    message: str,
    status_code: int,
    user: PortalUser | None = None,
    link: str | None = None,
    link_text: str = "",
    settings_names: tuple[str, ...] = (),
) -> HTMLResponse:
    """A readable page with one message (refusals, errors, "signed out")."""
    return render(
        request,
        "auth/message.html",
        user=user,
        status_code=status_code,
        title=title,
        message=message,
        alert=status_code >= 400,  # noqa: PLR2004 - client and server errors
        link=link,
        link_text=link_text,
        settings_names=settings_names,
    )


def _user(row: PortalSession, identity: Identity) -> PortalUser:
    return PortalUser(
        session_id=row.id,
        identity_id=identity.id,
        display_name=identity.display_name,
        upn=identity.upn,
        role=row.role,
        csrf_token=row.csrf_token,
        auth_time=row.auth_time or row.created_at,
        mfa_at=row.mfa_at,
        amr=tuple(row.amr),
        acrs=tuple(row.acrs),
    )


def _resolve(request: Request, cookie: str) -> PortalUser | None:
    state = app_state(request)
    with state.sessions() as session:
        found = resolve_session(
            session=session, clock=state.clock, settings=state.settings, cookie=cookie
        )
        if found is None or not session.dirty:
            return _user(*found) if found is not None else None
        session.rollback()  # a use to record: leave the read snapshot, write on its own
        with writing():
            found = resolve_session(
                session=session, clock=state.clock, settings=state.settings, cookie=cookie
            )
            user = _user(*found) if found is not None else None
            session.commit()
        return user


def portal_user(request: Request) -> PortalUser | None:
    """The person signed in through the request's cookie, or ``None``; records the use."""
    cached = getattr(request.state, "portal_user", _UNSET)
    if cached is not _UNSET:
        return cached  # type: ignore[return-value]
    cookie = session_cookie(request)
    user = _resolve(request, cookie) if cookie else None
    request.state.portal_user = user
    return user


def _here(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


async def signed_in_user(request: Request) -> PortalUser:
    """The signed-in person, their state-changing request checked for CSRF; else a refusal."""
    user = await run_in_threadpool(portal_user, request)
    if user is None:
        if request.method in {"GET", "HEAD"}:
            raise PortalPageError(redirect(request, sign_in_url(_here(request))))
        raise PortalPageError(
            message_page(
                request,
                title="Not signed in",
                message="You are not signed in (or your session has ended). Sign in again.",
                status_code=401,
                link=sign_in_url("/"),
                link_text="Sign in",
            )
        )
    problem = await csrf_problem(request, user, app_state(request).settings.base_url)
    if problem is not None:
        raise PortalPageError(
            message_page(request, title="Request refused", message=problem, status_code=403)
        )
    return user


PortalUserDep = Annotated[PortalUser, Depends(signed_in_user)]


def forbidden_page(request: Request, user: PortalUser, needs: str) -> HTMLResponse:
    """The 403 page of a view that needs a role the person does not hold."""
    return message_page(
        request,
        title="Not allowed",
        message=f"This page needs the {needs} role; you are signed in as {user.role}.",
        status_code=403,
        user=user,
        link="/",
        link_text="Back to the start page",
    )


def admin_user(request: Request, user: PortalUserDep) -> PortalUser:
    """Allow admins only."""
    if user.role is not UserRole.ADMIN:
        raise PortalPageError(forbidden_page(request, user, "admin"))
    return user


def reader_user(request: Request, user: PortalUserDep) -> PortalUser:
    """Allow admins and auditors."""
    if not user.can_read_all:
        raise PortalPageError(forbidden_page(request, user, "admin or auditor"))
    return user


AdminUserDep = Annotated[PortalUser, Depends(admin_user)]
ReaderUserDep = Annotated[PortalUser, Depends(reader_user)]


def require_recent_mfa(
    user: PortalUser, now: datetime, settings: Settings, *, return_to: str
) -> RedirectResponse | None:
    """A redirect to a step-up sign-in when the person's MFA is missing or too old, else None."""
    if user.mfa_at is not None and now - user.mfa_at <= timedelta(seconds=settings.mfa_max_age_s):
        return None
    return RedirectResponse(sign_in_url(return_to, step_up="1"), status_code=303)
