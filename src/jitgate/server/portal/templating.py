"""The portal's Jinja2 environment and ``render``.

Templates live in ``portal/templates`` (one base layout, a partial per htmx target, macros for
components) and hold no logic beyond loops and conditionals. Autoescaping is on for every
template; an undefined name is an error, never an empty string.

Every page gets ``user``, ``csrf_token`` and ``nav`` (``portal.nav``: the entries ``user``
sees) from ``render``. Every template has the globals ``static_url``, ``vendor_url`` and
``version``, and the filters of ``portal.formatting`` (``when``, ``iso``, ``left``,
``minutes``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

import jitgate
from jitgate.server.portal import formatting
from jitgate.server.portal.headers import portal_headers
from jitgate.server.portal.nav import nav_for
from jitgate.server.portal.static_files import STATIC, static_url, vendor_url

if TYPE_CHECKING:
    from starlette.requests import Request

    from jitgate.server.portal.user import PortalUser

TEMPLATES = Path(__file__).parent / "templates"
__all__ = ["STATIC", "TEMPLATES", "environment", "render"]

environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.globals.update(
    static_url=static_url, vendor_url=vendor_url, version=jitgate.__version__
)
environment.filters.update(
    when=formatting.when, iso=formatting.iso, left=formatting.left, minutes=formatting.minutes
)


def render(
    request: Request,
    name: str,
    *,
    user: PortalUser | None,
    status_code: int = 200,
    form_origins: tuple[str, ...] = (),
    **context: Any,  # noqa: ANN401 - a template's context is whatever the page shows
) -> HTMLResponse:
    """Render template ``name`` for ``user`` with the portal's headers."""
    sign_in = getattr(getattr(request.app.state, "portal", None), "oidc", None)
    if user is not None and sign_in is not None:  # the sign-out form redirects to Entra
        form_origins = (*form_origins, *sign_in.form_origins)
    html = environment.get_template(name).render(
        request=request,
        user=user,
        csrf_token=user.csrf_token if user is not None else "",
        nav=nav_for(user, request.url.path),
        **context,
    )
    return HTMLResponse(
        html, status_code=status_code, headers=portal_headers(request, form_origins)
    )
