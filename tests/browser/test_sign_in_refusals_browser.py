"""What the real sign-in refuses, shown as readable pages in Chromium; sign-out; the headers.

Wrong password, wrong or replayed one-time code (the emulator's pages), a forged ``state`` and
a POST without the CSRF token (the portal's pages, nothing changed); a sign-out kills the
session on the server; the session cookie changes at sign-in (no fixation); every portal page
carries the security headers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest
from harness import open_visit, screenshot
from sqlalchemy import func, select

from jitgate.server.requests.models import AccessRequest

if TYPE_CHECKING:
    from entra_world import EntraPortal
    from harness import Visit
    from playwright.sync_api import Browser, Page, Response

pytestmark = pytest.mark.browser

COOKIE = "jitgate_session"  # plain HTTP on loopback: no __Host- prefix


def _cookie(page: Page) -> str | None:
    found = [c for c in page.context.cookies() if c.get("name") == COOKIE]
    return found[0].get("value") if found else None


def _requests(entra: EntraPortal) -> int:
    with entra.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(AccessRequest)) or 0)


def _alert(page: Page) -> str:
    return page.get_by_role("alert").first.inner_text()


def _assert_security_headers(response: Response | None) -> None:
    assert response is not None
    headers = response.headers
    csp = headers["content-security-policy"]
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"]


def test_wrong_password_is_refused_on_the_emulator_page(entra_visit: Visit, entra: EntraPortal):
    page = entra_visit.page
    page.goto(f"{entra.base_url}/")
    entra.enter_password(page, "requester", "not-the-password")
    assert "password" in _alert(page).lower()
    assert page.url.startswith(entra.idp_url)
    screenshot(page, "entra-refused-password")
    entra_visit.assert_clean(statuses=(400, 401))


def test_wrong_and_replayed_codes_are_refused(
    browser: Browser, entra_visit: Visit, entra: EntraPortal
):
    page = entra_visit.page
    entra.fresh_code_window()
    page.goto(f"{entra.base_url}/")
    entra.enter_password(page, "requester")
    code = entra.code("requester")
    entra.enter_code(page, f"{(int(code) + 1) % 1_000_000:06d}")
    assert _alert(page)
    assert page.url.startswith(entra.idp_url)
    screenshot(page, "entra-refused-code")
    entra_visit.assert_clean(statuses=(400, 401))
    entra.enter_code(page, code)
    page.wait_for_url(f"{entra.base_url}/")
    other = open_visit(browser, entra.base_url, also=(entra.idp_url,))
    try:
        other.page.goto(f"{entra.base_url}/")
        entra.enter_password(other.page, "requester")
        entra.enter_code(other.page, code)  # the same code, same person, same 30 s
        assert _alert(other.page)
        assert other.page.url.startswith(entra.idp_url)
        screenshot(other.page, "entra-refused-replayed-code")
        other.assert_clean(statuses=(400, 401))
    finally:
        other.page.close()


def test_forged_state_is_a_readable_page(entra_visit: Visit, entra: EntraPortal):
    page = entra_visit.page
    answer = page.goto(f"{entra.base_url}/auth/callback?code=x&state=forged")
    assert answer is not None
    assert answer.status == 400
    assert page.get_by_role("heading", name="Sign-in failed").is_visible()
    assert page.get_by_role("link", name="Sign in again").is_visible()
    _assert_security_headers(answer)
    screenshot(page, "entra-refused-state")
    entra_visit.assert_clean(statuses=(400,))


def test_a_post_without_the_csrf_token_changes_nothing(entra_visit: Visit, entra: EntraPortal):
    page = entra_visit.page
    entra.sign_in(page, "requester", "/request")
    before = _requests(entra)
    answer = page.request.post(
        f"{entra.base_url}/request",
        form={"flow_id": entra.mfa_flow.id, "access": f"{entra.resource.id}:member"},
        headers={"origin": entra.base_url},
        max_redirects=0,
    )
    assert answer.status == 403
    assert "<html" in answer.text().lower()
    assert _requests(entra) == before


def test_sign_in_rotates_the_cookie_and_sign_out_kills_the_session(
    entra_visit: Visit, entra: EntraPortal
):
    page = entra_visit.page
    entra.sign_in(page, "approver")
    first = _cookie(page)
    assert first is not None
    entra.fresh_code_window()
    page.goto(f"{entra.base_url}/auth/sign-in?step_up=1&return_to=/sessions")
    entra.enter_password(page, "approver")
    entra.enter_code(page, entra.code("approver"))
    page.wait_for_url(f"{entra.base_url}/sessions")
    second = _cookie(page)
    assert second is not None
    assert second != first
    answer = page.reload()
    _assert_security_headers(answer)
    entra_visit.assert_clean()
    page.get_by_role("button", name="Sign out", exact=True).click()
    page.wait_for_url(f"{entra.base_url}/auth/signed-out")
    assert page.get_by_role("heading", name="Signed out").is_visible()
    screenshot(page, "entra-signed-out")
    entra_visit.assert_clean()
    for old in (first, second):
        with httpx.Client(base_url=entra.base_url, cookies={COOKIE: old}, trust_env=False) as copy:
            stale = copy.get("/")
        assert stale.status_code == 303
        assert stale.headers["location"].startswith("/auth/sign-in")
