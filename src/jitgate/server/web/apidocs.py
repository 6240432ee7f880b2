"""The API's own documentation pages, served offline: Swagger UI, ReDoc, the ``/api/v1`` index.

Swagger UI and ReDoc come from the pinned PyPI package ``fastapi-offline`` (MIT; its
``static/`` holds swagger-ui-dist 5.32.6, Apache-2.0, and ReDoc 2.5.3, MIT), so the pages work
without any CDN or network. Only its files are used: its pages are FastAPI's, which start
Swagger UI with an inline script. Ours start it with ``docs_assets/swagger-init.js``, so each
page's Content-Security-Policy allows scripts from the server's own origin only:

* Swagger UI: ``script-src 'self'``, ``style-src 'self'``, images ``'self'`` and ``data:``
  (its CSS draws icons as data URLs), ``connect-src 'self'`` (the OpenAPI document and
  "Try it out");
* ReDoc: the same, plus ``style-src 'unsafe-inline'`` (it renders with styled-components, which
  writes ``<style>`` elements) and ``worker-src blob:`` (its search runs in a worker built from
  a blob). No inline script on either page.

Every other response keeps ``SecurityHeaders``' CSP, which allows nothing to load.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from fastapi import Request  # noqa: TC002 - FastAPI reads the handlers' annotations at run time
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from jitgate.server.web.state import API_PREFIX

if TYPE_CHECKING:
    from fastapi import FastAPI

DOCS_PATH = f"{API_PREFIX}/docs"
REDOC_PATH = f"{API_PREFIX}/redoc"
ASSETS_PATH = f"{API_PREFIX}/docs/assets"
OPENAPI_PATH = f"{API_PREFIX}/openapi.json"

_BASE_CSP = (
    "default-src 'none'; script-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SWAGGER_CSP = f"{_BASE_CSP}; style-src 'self'"
REDOC_CSP = f"{_BASE_CSP}; style-src 'self' 'unsafe-inline'; worker-src blob:"


def _page(*, title: str, csp: str, head: str, body: str) -> HTMLResponse:
    page = (
        "<!doctype html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>\n"
        f"<title>{html.escape(title)}</title>\n{head}</head>\n<body>\n{body}</body>\n</html>\n"
    )
    return HTMLResponse(page, headers={"Content-Security-Policy": csp})


def _asset(root: str, name: str) -> str:
    return html.escape(f"{root}{ASSETS_PATH}/{name}", quote=True)


async def swagger_page(request: Request) -> HTMLResponse:
    """Swagger UI for the server's OpenAPI document."""
    root = str(request.scope.get("root_path", ""))
    openapi = html.escape(f"{root}{OPENAPI_PATH}", quote=True)
    head = (
        f"<link rel='icon' type='image/png' href='{_asset(root, 'favicon.png')}'>\n"
        f"<link rel='stylesheet' href='{_asset(root, 'swagger-ui.css')}'>\n"
        f"<link rel='stylesheet' href='{_asset(root, 'docs.css')}'>\n"
    )
    body = (
        f"<div id='swagger-ui' data-openapi-url='{openapi}'></div>\n"
        f"<script src='{_asset(root, 'swagger-ui-bundle.js')}'></script>\n"
        f"<script src='{_asset(root, 'swagger-init.js')}'></script>\n"
    )
    return _page(title="jitgate API: Swagger UI", csp=SWAGGER_CSP, head=head, body=body)


async def redoc_page(request: Request) -> HTMLResponse:
    """ReDoc for the server's OpenAPI document (its bundle starts on the ``<redoc>`` element)."""
    root = str(request.scope.get("root_path", ""))
    openapi = html.escape(f"{root}{OPENAPI_PATH}", quote=True)
    head = (
        f"<link rel='icon' type='image/png' href='{_asset(root, 'favicon.png')}'>\n"
        f"<link rel='stylesheet' href='{_asset(root, 'docs.css')}'>\n"
    )
    body = (
        f"<redoc spec-url='{openapi}'></redoc>\n"
        f"<script src='{_asset(root, 'redoc.standalone.js')}'></script>\n"
    )
    return _page(title="jitgate API: ReDoc", csp=REDOC_CSP, head=head, body=body)


async def api_index(request: Request) -> dict[str, Any]:
    """Links to the API's documentation, its OpenAPI document and the health check."""
    root = str(request.scope.get("root_path", ""))
    return {
        "name": "jitgate",
        "version": request.app.version,
        "links": {
            "docs": f"{root}{DOCS_PATH}",
            "redoc": f"{root}{REDOC_PATH}",
            "openapi": f"{root}{OPENAPI_PATH}",
            "health": f"{root}/healthz",
        },
    }


INDEX_EXAMPLE = {
    "name": "jitgate",
    "version": "0.1.0",
    "links": {
        "docs": DOCS_PATH,
        "redoc": REDOC_PATH,
        "openapi": OPENAPI_PATH,
        "health": "/healthz",
    },
}


def install_api_docs(app: FastAPI) -> None:
    """Serve the docs pages, their assets and the ``/api/v1`` index (``/`` is the portal's)."""
    app.mount(
        ASSETS_PATH,
        StaticFiles(
            packages=[("fastapi_offline", "static"), ("jitgate.server.web", "docs_assets")]
        ),
        name="api-docs-assets",
    )
    for path, page in ((DOCS_PATH, swagger_page), (REDOC_PATH, redoc_page)):
        app.add_api_route(
            path, page, methods=["GET"], response_class=HTMLResponse, include_in_schema=False
        )
    app.add_api_route(
        API_PREFIX,
        api_index,
        methods=["GET"],
        tags=["meta"],
        summary="The API's index",
        description=(
            "Links to the API documentation (Swagger UI and ReDoc), the OpenAPI document and "
            "the health check. Needs no token."
        ),
        responses={200: {"content": {"application/json": {"example": INDEX_EXAMPLE}}}},
    )
