"""/api/v1/docs and /api/v1/redoc render in Chromium offline, under their CSP, from the server.

Chromium is Debian's (``make chromium`` installs it); Playwright drives it and never downloads a
browser of its own. Every request to another origin is aborted and recorded, so a page that
needed a CDN fails here. ``JITGATE_DOCS_SCREENSHOT=path`` (``make docs-screenshot``) also saves
the Swagger UI page as the picture the README shows.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest
from harness import RECORD_VIOLATIONS

from jitgate.core.db import make_engine, make_session_factory
from jitgate.core.migrate import upgrade
from jitgate.core.settings import Settings
from jitgate.server.app import create_app
from live_server import serve

if TYPE_CHECKING:
    from collections.abc import Iterator

    from playwright.sync_api import Browser, Page, Route

pytestmark = pytest.mark.browser

# ReDoc's sidebar shows its vendor's logo from the vendor's CDN; the CSP blocks it before any
# request leaves, and the image removes itself on the error. The only outside reference allowed.
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir = tmp_path_factory.mktemp("docs-browser")
    engine = make_engine(f"sqlite:///{data_dir}/jitgate.db")
    upgrade(engine)
    app = create_app(Settings(data_dir=data_dir), sessions=make_session_factory(engine))
    with serve(app) as port:
        yield f"http://127.0.0.1:{port}"
    engine.dispose()


@dataclass
class Visit:
    """A page opened with every outside request blocked, and what went wrong on it."""

    page: Page
    outside: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def violations(self) -> list[str]:
        """The Content-Security-Policy violations the page reported."""
        return list(self.page.evaluate("window.__csp"))


@pytest.fixture
def visit(browser: Browser, base_url: str) -> Iterator[Visit]:
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    seen = Visit(page=page)
    own = urlsplit(base_url).netloc

    def only_own_origin(route: Route) -> None:
        url = route.request.url
        if url.startswith(("data:", "blob:")) or urlsplit(url).netloc == own:
            route.continue_()
        else:
            seen.outside.append(url)
            route.abort()

    page.route("**/*", only_own_origin)
    page.add_init_script(RECORD_VIOLATIONS)
    page.on("pageerror", lambda err: seen.errors.append(str(err)))
    page.on("console", lambda msg: seen.errors.append(msg.text) if msg.type == "error" else None)
    yield seen
    page.close()


def test_swagger_ui_renders_offline_under_its_csp(visit: Visit, base_url: str):
    page = visit.page
    page.goto(f"{base_url}/api/v1/docs")
    title = page.wait_for_selector(".swagger-ui .info .title", timeout=30_000)
    assert title is not None
    assert "jitgate" in title.inner_text()
    page.wait_for_selector(".opblock-summary", timeout=30_000)
    assert page.locator(".opblock").count() > 40  # every operation is listed
    assert visit.outside == []
    assert visit.violations() == []
    assert visit.errors == []
    target = os.environ.get("JITGATE_DOCS_SCREENSHOT")
    if target:
        page.screenshot(path=target)


def test_redoc_renders_offline_under_its_csp(visit: Visit, base_url: str):
    page = visit.page
    page.goto(f"{base_url}/api/v1/redoc")
    page.get_by_role("heading", name="Request access").first.wait_for(timeout=30_000)
    assert "jitgate" in page.locator("h1").first.inner_text()
    assert visit.outside == []
    assert set(visit.violations()) <= {f"img-src {REDOC_LOGO}"}
    assert [e for e in visit.errors if REDOC_LOGO.rsplit("/", 1)[0] not in e] == []
    assert page.locator(f"img[src='{REDOC_LOGO}']").count() == 0


def test_the_root_is_the_portal_which_asks_to_sign_in(visit: Visit, base_url: str):
    visit.page.goto(f"{base_url}/")
    assert visit.page.url == f"{base_url}/auth/sign-in?return_to=%2F"
