"""The portal's pages in Chromium, for each role: axe-clean, no CSP violation, the right content.

The portal is served on loopback over a populated SQLite database; the signed-in person is set
through ``dependency_overrides`` (``Portal.as_role``). Every page is saved as a screenshot
(``harness.screenshot``) to be looked at.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import pytest
from harness import open_visit, screenshot

from portal_world import ROLES

if TYPE_CHECKING:
    from harness import Visit

    from conftest import Portal

pytestmark = pytest.mark.browser

HOME_SECTION = {
    "requester": "Your pending requests",
    "approver": "Waiting for your decision",
    "auditor": "Latest audit events",
    "admin": "Health",
}


@pytest.mark.parametrize("role", ROLES)
def test_home_by_role(visit: Visit, portal: Portal, role: str):
    portal.as_role(role)
    page = visit.page
    page.goto(f"{portal.base_url}/")
    assert page.get_by_role("heading", level=1).inner_text().startswith("Welcome, ")
    assert page.get_by_role("heading", name=HOME_SECTION[role]).is_visible()
    nav = page.get_by_role("navigation", name="Main")
    assert nav.get_by_role("link", name="Request access").is_visible()
    assert page.get_by_role("button", name="Sign out").is_visible()
    assert (page.locator(".health-banner").count() == 1) is (role == "admin")
    screenshot(page, f"home-{role}")
    visit.assert_clean()


@pytest.mark.parametrize("role", ROLES)
def test_request_form_by_role(visit: Visit, portal: Portal, role: str):
    portal.as_role(role)
    page = visit.page
    page.goto(f"{portal.base_url}/request")
    assert page.get_by_role("heading", name="Request access", level=1).is_visible()
    assert page.get_by_label("Access flow").is_visible()
    assert page.get_by_label("Access", exact=True).is_visible()
    assert page.get_by_label("Duration (minutes)").is_visible()
    assert page.get_by_label("Justification").is_visible()
    # with JavaScript, htmx refreshes the access list: the no-JavaScript button is hidden
    assert not page.get_by_role("button", name="Show what it offers").is_visible()
    screenshot(page, f"request-form-{role}")
    visit.assert_clean()


def test_changing_the_flow_refreshes_what_it_offers(visit: Visit, portal: Portal):
    portal.as_role("requester")
    page = visit.page
    page.goto(f"{portal.base_url}/request")
    access = page.get_by_label("Access", exact=True)
    assert "Finance: Member (Entra group)" in access.inner_text()
    with page.expect_response(lambda r: "/request/access" in r.url):
        page.get_by_label("Access flow").select_option(label="Reader role")
    page.get_by_text("granted without approval").wait_for()
    options = page.get_by_label("Access", exact=True).locator("option").all_inner_texts()
    assert options == [
        "Choose a resource…",
        "Global Reader: Active assignment (Entra directory role)",
    ]
    visit.assert_clean()


def test_field_errors_show_next_to_their_fields(visit: Visit, portal: Portal):
    portal.as_role("requester")
    page = visit.page
    page.goto(f"{portal.base_url}/request?flow_id={portal.world.reasons_flow.id}")
    page.get_by_label("Access", exact=True).select_option(label="Legal: Member (Entra group)")
    page.get_by_label("Duration (minutes)").fill("600")
    page.get_by_role("button", name="Submit request").click()
    page.locator("#justification-errors").wait_for()
    assert page.locator("#justification-errors").inner_text() == "the flow requires a reason"
    assert "at most 120 minutes" in page.locator("#duration_min-errors").inner_text()
    assert page.get_by_label("Justification").get_attribute("aria-invalid") == "true"
    screenshot(page, "request-form-errors")
    visit.assert_clean(statuses=(422,))


def test_a_request_is_filed_and_shown(visit: Visit, portal: Portal):
    portal.as_role("requester")
    page = visit.page
    page.goto(f"{portal.base_url}/request")
    page.get_by_label("Access", exact=True).select_option(label="Payroll: Member (Entra group)")
    page.get_by_label("Justification").fill("Month-end close")
    page.get_by_role("button", name="Submit request").click()
    page.get_by_role("heading", name="Access request").wait_for()
    assert urlsplit(page.url).path.startswith("/requests/")
    assert "waits for an approver" in page.get_by_role("status").inner_text()
    assert "Month-end close" in page.locator("dl").inner_text()
    screenshot(page, "request-filed")
    visit.assert_clean()


def test_the_mfa_step_up_and_the_way_back(visit: Visit, portal: Portal):
    portal.as_role("approver", mfa_at=portal.clock.now() - timedelta(hours=3))
    page = visit.page
    page.goto(f"{portal.base_url}/request?flow_id={portal.world.mfa_flow.id}")
    page.get_by_label("Access", exact=True).select_option(label="Legal: Member (Entra group)")
    page.get_by_label("Justification").fill("Contract review")
    page.get_by_role("button", name="Submit request").click()
    page.wait_for_url("**/auth/sign-in?**")
    query = parse_qs(urlsplit(page.url).query)
    assert query["step_up"] == ["1"]
    (back,) = query["return_to"]
    # the sign-in layer brings the person back with fresh MFA
    portal.as_role("approver", mfa_at=portal.clock.now())
    page.goto(f"{portal.base_url}{back}")
    assert page.get_by_role("status").inner_text() == "MFA confirmed — check and submit."
    assert page.get_by_label("Justification").input_value() == "Contract review"
    screenshot(page, "request-form-mfa-confirmed")
    visit.assert_clean(statuses=(503,))  # /auth/sign-in: sign-in is not configured here


def test_the_request_page_for_its_approver(visit: Visit, portal: Portal):
    portal.as_role("approver")
    page = visit.page
    page.goto(f"{portal.base_url}/requests/{portal.world.pending.id}")
    facts = page.locator("dl").inner_text()
    assert "pending" in facts
    assert "Riley Requester" in facts
    screenshot(page, "request-page-approver")
    visit.assert_clean()


def test_the_keyboard_reaches_the_skip_link_first_and_it_moves_focus_to_main(
    visit: Visit, portal: Portal
):
    portal.as_role("requester")
    page = visit.page
    page.goto(f"{portal.base_url}/")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert focused == "Skip to main content"
    box = page.locator(".skip-link").bounding_box()
    assert box is not None
    assert box["y"] >= 0  # visible once focused
    screenshot(page, "skip-link-focused")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


@pytest.mark.parametrize("path", ["/", "/request"])
def test_a_phone_sized_screen(browser, portal: Portal, path: str):
    portal.as_role("admin")
    visit = open_visit(browser, portal.base_url, width=390, height=844)
    try:
        visit.page.goto(f"{portal.base_url}{path}")
        width = visit.page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390  # nothing pushes the page sideways (tables scroll in their box)
        screenshot(visit.page, f"phone-{path.strip('/') or 'home'}")
        visit.assert_clean()
    finally:
        visit.page.close()


def test_without_javascript_the_form_still_works(browser, portal: Portal):
    portal.as_role("auditor")
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1280, "height": 900}
    )
    try:
        page = context.new_page()
        page.goto(f"{portal.base_url}/request")
        choose = page.get_by_role("button", name="Show what it offers")
        assert choose.is_visible()  # htmx is not running: the flow is chosen by a post
        page.get_by_label("Access flow").select_option(label="Reader role")
        choose.click()
        access = page.get_by_label("Access", exact=True)
        access.select_option(label="Global Reader: Active assignment (Entra directory role)")
        page.get_by_role("button", name="Submit request").click()
        page.get_by_role("heading", name="Access request").wait_for()
        assert "submitted and approved" in page.get_by_role("status").inner_text()
        screenshot(page, "request-filed-without-javascript")
    finally:
        context.close()
