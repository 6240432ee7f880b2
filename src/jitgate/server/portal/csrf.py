"""CSRF protection of the portal's state-changing requests.

Every POST, PUT, PATCH or DELETE to a portal route must carry the session's token
(``PortalUser.csrf_token``) as the form field ``csrf_token`` or the header ``X-CSRF-Token``,
compared in constant time, and must not come from another site (``Sec-Fetch-Site: cross-site``
or an ``Origin`` that is neither the request's own nor ``base_url``'s). The check runs in
``portal.deps`` before the route body, so a refused request changes nothing. The API's
bearer-token routes (``/api/v1``) carry no cookie and are not concerned.
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from starlette.requests import Request

    from jitgate.server.portal.user import PortalUser

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def cross_site(request: Request, base_url: str) -> bool:
    """Tell whether the browser says the request comes from another site."""
    if request.headers.get("sec-fetch-site", "").lower() == "cross-site":
        return True
    origin = request.headers.get("origin")
    if origin is None:
        return False
    allowed = {_origin(str(request.base_url)), _origin(base_url)}
    return origin.lower() not in allowed


async def presented_token(request: Request) -> str:
    """The CSRF token the request carries (header first, then the form field), or ``""``."""
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    if request.headers.get("content-type", "").startswith(FORM_TYPES):
        form = await request.form()  # Starlette caches it: the route reads the same form
        value = form.get(CSRF_FIELD)
        if isinstance(value, str):
            return value
    return ""


async def csrf_problem(request: Request, user: PortalUser, base_url: str) -> str | None:
    """Why the state-changing request must be refused, or ``None`` when it may proceed."""
    if request.method not in UNSAFE_METHODS:
        return None
    if cross_site(request, base_url):
        return "This request came from another site and was refused. Nothing was changed."
    token = await presented_token(request)
    if not token or not hmac.compare_digest(token.encode(), user.csrf_token.encode()):
        return (
            "This form has expired or did not come from jitgate (its security token is missing "
            "or wrong). Nothing was changed; go back, reload the page and try again."
        )
    return None
