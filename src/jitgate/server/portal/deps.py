"""Who is signed in to the portal: ``PortalUserDep`` for views, ``portal_user`` for the layout.

``signed_in_user`` reads the ``PortalUser`` that the sign-in layer put on
``request.state.portal_user`` (tests set it through ``app.dependency_overrides``). A view that
needs a person depends on ``PortalUserDep``: an anonymous GET (or HEAD) is sent to
``/auth/sign-in?return_to=<the page>`` with a 303; anything else anonymous is refused with 401.
Views never read sessions or cookies themselves.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, Request

from jitgate.core.errors import Unauthenticated
from jitgate.server.portal.user import PortalUser

SIGN_IN_PATH = "/auth/sign-in"


class SignInRequired(Exception):
    """An anonymous GET of a page that needs a person: answered with a 303 to sign-in."""

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


def portal_user(request: Request) -> PortalUser | None:
    """The person signed in on this request, or None."""
    user = getattr(request.state, "portal_user", None)
    return user if isinstance(user, PortalUser) else None


def sign_in_url(return_to: str, **params: str) -> str:
    """The sign-in page's URL that comes back to ``return_to`` (a path on this server)."""
    return f"{SIGN_IN_PATH}?{urlencode({**params, 'return_to': return_to})}"


def signed_in_user(request: Request) -> PortalUser:
    """The signed-in person; anonymous: sign in first (GET) or 401 (any other method)."""
    user = portal_user(request)
    if user is not None:
        return user
    if request.method in {"GET", "HEAD"}:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(sign_in_url(target))
    raise Unauthenticated("sign in to the portal first")


PortalUserDep = Annotated[PortalUser, Depends(signed_in_user)]
