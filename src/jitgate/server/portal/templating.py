"""The portal's Jinja2 environment and ``render``.

Templates live in ``portal/templates`` (one base layout, a partial per htmx target, macros for
components) and hold no logic beyond loops and conditionals. Autoescaping is on for every
template; an undefined name is an error, never an empty string.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from jitgate.server.portal.headers import portal_headers

if TYPE_CHECKING:
    from starlette.requests import Request

    from jitgate.server.portal.user import PortalUser

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
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
        form_origins = (*form_origins, sign_in.origin)
    html = environment.get_template(name).render(
        request=request,
        user=user,
        csrf_token=user.csrf_token if user is not None else "",
        **context,
    )
    return HTMLResponse(
        html, status_code=status_code, headers=portal_headers(request, form_origins)
    )
