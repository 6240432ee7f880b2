"""Security headers of portal pages.

Every portal page gets a strict Content-Security-Policy: scripts and styles from the server's
own origin only (no inline script, no ``unsafe-inline``), nothing framed, forms posted to the
server itself or to the sign-in host (sign-out redirects there). ``SecurityHeaders`` adds
``X-Content-Type-Options`` and never replaces what is set here. HSTS is sent when the page was
served over HTTPS.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.requests import Request

HSTS = "max-age=31536000; includeSubDomains"


def portal_csp(form_origins: tuple[str, ...] = ()) -> str:
    """The Content-Security-Policy of a portal page; ``form_origins`` may receive form posts."""
    form_action = " ".join(("'self'", *form_origins))
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self'; font-src 'self'; form-action {form_action}; "
        "frame-ancestors 'none'; base-uri 'none'"
    )


def portal_headers(request: Request, form_origins: tuple[str, ...] = ()) -> dict[str, str]:
    """The headers every portal response carries."""
    headers = {
        "Content-Security-Policy": portal_csp(form_origins),
        "Referrer-Policy": "same-origin",
        "X-Frame-Options": "DENY",
        "Cache-Control": "no-store",
    }
    if request.url.scheme == "https":
        headers["Strict-Transport-Security"] = HSTS
    return headers
