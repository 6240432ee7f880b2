"""The sign-in host's HTML: page frame, Content-Security-Policy, and the static CSS/JS it serves.

Invariants: no inline script or style on any page (the CSP forbids them: ``script-src`` and
``style-src`` are ``'self'`` only); every form field has a label; text is dark on light with a
contrast ratio above 7:1; every page is ``lang="en"`` with a ``<main>`` landmark and one ``<h1>``.
"""

from __future__ import annotations

import html
from urllib.parse import urlsplit

from jitgate.emulator.http import Response

CSS_PATH = "/static/signin.css"
AUTOSUBMIT_PATH = "/static/autosubmit.js"

CSS = """\
body { font-family: system-ui, sans-serif; color: #1a1a1a; background: #ffffff;
  max-width: 34em; margin: 3em auto; padding: 0 1em; line-height: 1.5; }
h1 { font-size: 1.5em; }
label { display: block; margin-top: 1em; font-weight: 600; }
input { display: block; width: 100%; box-sizing: border-box; padding: .5em; margin-top: .25em;
  font-size: 1em; color: #1a1a1a; background: #ffffff; border: 2px solid #4a4a4a; }
input:focus, button:focus, a:focus { outline: 3px solid #003f8a; outline-offset: 2px; }
button { margin-top: 1.5em; padding: .6em 1.4em; font-size: 1em; color: #ffffff;
  background: #003f8a; border: 0; cursor: pointer; }
.error { color: #8b0000; background: #fff0f0; border-left: 4px solid #8b0000; padding: .5em 1em; }
.hint { color: #333333; }
code { font-size: 1.05em; }
"""

AUTOSUBMIT = """\
document.addEventListener("DOMContentLoaded", function () {
  document.forms[0].submit();
});
"""


def _origin(uri: str) -> str | None:
    parts = urlsplit(uri)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def csp(form_targets: tuple[str, ...] = ()) -> str:
    """Return the pages' Content-Security-Policy (forms may also go to ``form_targets``)."""
    origins = " ".join(o for o in dict.fromkeys(_origin(t) for t in form_targets) if o)
    action = f"'self' {origins}".strip()
    return (
        "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; "
        f"form-action {action}; frame-ancestors 'none'; base-uri 'none'"
    )


def page(
    title: str,
    inner: str,
    *,
    status: int = 200,
    form_targets: tuple[str, ...] = (),
    script: bool = False,
) -> Response:
    """Return an HTML page with the shared frame, CSS and security headers."""
    js = f"<script src='{AUTOSUBMIT_PATH}'></script>" if script else ""
    body = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title><link rel='stylesheet' href='{CSS_PATH}'>{js}"
        f"</head><body><main><h1>{html.escape(title)}</h1>{inner}</main></body></html>"
    )
    headers = {
        "Content-Type": "text/html; charset=utf-8",
        "Cache-Control": "no-store",
        "Content-Security-Policy": csp(form_targets),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
    return Response(status, body.encode(), headers)


def hidden_fields(values: dict[str, str]) -> str:
    """Return ``values`` as hidden inputs."""
    return "".join(
        f"<input type='hidden' name='{html.escape(k)}' value='{html.escape(v)}'>"
        for k, v in values.items()
    )


def error_block(code: int, text: str) -> str:
    """Return the readable AADSTS error paragraph (``id='error'``, announced by screen readers)."""
    return (
        f"<p id='error' class='error' role='alert' data-code='{code}'>"
        f"AADSTS{code}: {html.escape(text)}</p>"
    )


def static(path: str) -> Response | None:
    """Return the static CSS or script at ``path``, or None."""
    if path == CSS_PATH:
        return Response(200, CSS.encode(), _static_headers("text/css; charset=utf-8"))
    if path == AUTOSUBMIT_PATH:
        return Response(200, AUTOSUBMIT.encode(), _static_headers("text/javascript; charset=utf-8"))
    return None


def _static_headers(content_type: str) -> dict[str, str]:
    return {
        "Content-Type": content_type,
        "Cache-Control": "max-age=3600",
        "X-Content-Type-Options": "nosniff",
    }
