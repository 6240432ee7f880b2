"""``/static``: the portal's own CSS and JS and the vendored files, served by the server itself.

Invariants:

* a vendored file's name carries its version (``vendor/htmx-2.0.11.min.js``) and the portal's
  own files are linked with their content hash (``portal.css?v=<sha256 prefix>``,
  ``static_url``), so either may be cached for a year (``immutable``): a new version is a new
  URL. The same path asked without its hash is revalidated (``no-cache``);
* every answer carries ``X-Content-Type-Options: nosniff`` (set here, and by
  ``web.headers.SecurityHeaders`` for every response) and the declared type of its suffix;
* nothing is read at import time: the hashes are computed on first use.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi.staticfiles import StaticFiles

if TYPE_CHECKING:
    from starlette.responses import Response
    from starlette.types import Scope

STATIC = Path(__file__).parent / "static"
STATIC_PATH = "/static"
YEAR = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
HASH_CHARS = 12


@cache
def content_hash(name: str) -> str:
    """The first characters of the sha256 of ``static/<name>``."""
    return hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:HASH_CHARS]


@cache
def vendor_files() -> dict[str, str]:
    """``package -> file name`` of the vendored scripts and styles (``vendor/MANIFEST.json``)."""
    manifest = json.loads((STATIC / "vendor" / "MANIFEST.json").read_text(encoding="utf-8"))
    return {
        entry["package"]: entry["file"]
        for entry in manifest["files"]
        if entry["file"].endswith((".js", ".css"))
    }


def vendor_url(package: str) -> str:
    """The URL of a vendored package's file (its name carries its version)."""
    return static_url(f"vendor/{vendor_files()[package]}")


def static_url(name: str) -> str:
    """The URL of a static file: versioned names as they are, our own files with their hash."""
    if name.startswith("vendor/"):
        return f"{STATIC_PATH}/{name}"
    return f"{STATIC_PATH}/{name}?v={content_hash(name)}"


class PortalStatic(StaticFiles):
    """``StaticFiles`` with the portal's cache and type headers."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        """Serve a file (or a 304, 404, 405), then say how long it may be cached."""
        response = await super().get_response(path, scope)
        if response.status_code < 400:  # noqa: PLR2004 - HTTP status
            response.headers["Cache-Control"] = YEAR if _versioned(scope) else REVALIDATE
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def _versioned(scope: Scope) -> bool:
    path: str = scope.get("path", "")
    query: bytes = scope.get("query_string", b"")
    return "/vendor/" in path or query.startswith(b"v=")


def static_app() -> PortalStatic:
    """The ``/static`` app (built by ``install_portal``, never at import time)."""
    return PortalStatic(directory=STATIC)
