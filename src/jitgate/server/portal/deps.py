"""Who is signed in to the portal: ``PortalUserDep`` for views, ``portal_user`` for the layout.

``signed_in_user`` reads the ``PortalUser`` that the sign-in layer put on
``request.state.portal_user`` (tests set it through ``app.dependency_overrides``). A view that
needs a person depends on ``PortalUserDep``: an anonymous GET (or HEAD) is sent to
``/auth/sign-in?return_to=<the page>`` with a 303; anything else anonymous is refused with 401.
Views never read sessions or cookies themselves.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from jitgate.core.errors import Unauthenticated
from jitgate.server.portal.nav import sign_in_url
from jitgate.server.portal.user import PortalUser


def portal_user(request: Request) -> PortalUser | None:
    """The person signed in on this request, or None."""
    user = getattr(request.state, "portal_user", None)
    return user if isinstance(user, PortalUser) else None


def signed_in_user(request: Request) -> PortalUser:
    """The signed-in person; anonymous: sign in first (GET) or 401 (any other method)."""
    user = portal_user(request)
    if user is not None:
        return user
    if request.method in {"GET", "HEAD"}:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise HTTPException(status_code=303, headers={"Location": sign_in_url(target)})
    raise Unauthenticated("sign in to the portal first")


PortalUserDep = Annotated[PortalUser, Depends(signed_in_user)]
