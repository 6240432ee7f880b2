"""What every browser test of the portal uses: Chromium, a watched page, axe-core, screenshots.

* ``launch_chromium`` starts Debian's ``/usr/bin/chromium`` through Playwright (never a browser
  download of Playwright's own); ``tests/browser/conftest.py`` keeps one for the whole run.
* ``Visit`` is a page on which every request to another origin is aborted and recorded, every
  Content-Security-Policy violation (``securitypolicyviolation``) and console error is recorded.
* ``axe_check`` runs axe-core (``tests/browser/vendor/axe-core-*.min.js``, pinned in the portal's
  npm lock as a devDependency and listed in that folder's ``MANIFEST.json``) and returns the
  serious and critical violations. Chosen over the PyPI ``axe-playwright-python``: one lock pins
  every browser file the project ships or tests with, and the axe-core version is ours to move.
  axe is evaluated through the DevTools protocol, so the page's CSP stays on and enforced.
* ``screenshot`` saves a PNG under ``$JITGATE_ARTIFACTS`` (default ``test-artifacts/`` at the
  repository root, git-ignored) and returns its path.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Playwright, Route

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VENDOR = Path(__file__).parent / "vendor"
REPO = Path(__file__).parents[2]
RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(e.violatedDirective + " " + e.blockedURI);
});
"""
SEVERE = ("serious", "critical")


def launch_chromium(playwright: Playwright) -> Browser:
    """Debian's Chromium, headless; skip (fail under CI) when it is not installed."""
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing: `make chromium` installs it")
        pytest.skip(f"{CHROMIUM} is missing: `make chromium` installs it")
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)


@dataclass
class Visit:
    """A page with every outside request blocked, and what went wrong on it."""

    page: Page
    outside: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def violations(self) -> list[str]:
        """The Content-Security-Policy violations the current document reported."""
        return list(self.page.evaluate("window.__csp || []"))

    def assert_clean(self, *, statuses: tuple[int, ...] = ()) -> None:
        """No outside request, no CSP violation, no console error, no serious axe finding.

        ``statuses``: error statuses the test expects a page to answer with (a form with field
        errors is a 422); Chromium logs each as a console error, which is then not one.
        """
        assert self.outside == [], self.outside
        assert self.violations() == [], self.violations()
        expected = tuple(f"the server responded with a status of {s} " for s in statuses)
        errors = [e for e in self.errors if not any(x in e for x in expected)]
        assert errors == [], errors
        found = axe_check(self.page)
        assert found == [], json.dumps(found, indent=2)


def open_visit(
    browser: Browser,
    base_url: str,
    *,
    width: int = 1280,
    height: int = 900,
    also: tuple[str, ...] = (),
) -> Visit:
    """A new page on ``browser`` watched as ``Visit`` describes (``also``: more allowed origins)."""
    page = browser.new_page(viewport={"width": width, "height": height})
    seen = Visit(page=page)
    own = {urlsplit(url).netloc for url in (base_url, *also)}

    def only_own_origin(route: Route) -> None:
        url = route.request.url
        if url.startswith(("data:", "blob:")) or urlsplit(url).netloc in own:
            route.continue_()
        else:
            seen.outside.append(url)
            route.abort()

    page.route("**/*", only_own_origin)
    page.add_init_script(RECORD_VIOLATIONS)
    page.on("pageerror", lambda err: seen.errors.append(str(err)))
    page.on("console", lambda msg: seen.errors.append(msg.text) if msg.type == "error" else None)
    return seen


def axe_source() -> str:
    """The vendored axe-core script."""
    (path,) = sorted(VENDOR.glob("axe-core-*.min.js"))
    return path.read_text(encoding="utf-8")


def axe_check(page: Page) -> list[dict[str, Any]]:
    """The serious and critical axe-core violations of the page (WCAG 2.x A and AA rules)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source() + "\n;true")
    result = page.evaluate(
        """async () => {
          const r = await axe.run(document, {
            runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa",
                                            "best-practice"]},
          });
          return r.violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map(n => n.target.join(" ")).slice(0, 5),
          }));
        }"""
    )
    return [v for v in result if v["impact"] in SEVERE]


def artifacts_dir() -> Path:
    """Where screenshots go: ``$JITGATE_ARTIFACTS``, else ``test-artifacts/`` in the repo."""
    root = Path(os.environ.get("JITGATE_ARTIFACTS") or REPO / "test-artifacts")
    target = root / "browser"
    target.mkdir(parents=True, exist_ok=True)
    return target


def screenshot(page: Page, name: str) -> Path:
    """Save the whole page as ``<artifacts>/browser/<name>.png``."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-")
    path = artifacts_dir() / f"{safe}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
