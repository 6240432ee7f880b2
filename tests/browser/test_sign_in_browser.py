"""Real Entra sign-in in Chromium: the emulator's pages, password and TOTP, then the portal.

One emulator (with its browser listener) and one live portal for the module
(``entra_world.start_entra_portal``); one Chromium page per test. Every page visited, the
emulator's included, is checked for outside requests, CSP violations, console errors and serious
axe findings, and saved as a screenshot. ``JITGATE_PORTAL_SCREENSHOT=<dir>`` also writes the
README's ``portal-sign-in.png`` and ``portal-home.png`` there.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from harness import screenshot
from sqlalchemy import select

from jitgate.server.audit.models import AuditEvent
from jitgate.server.requests.models import AccessRequest

if TYPE_CHECKING:
    from entra_world import EntraPortal
    from harness import Visit

pytestmark = pytest.mark.browser

ROLE_SHOWN = {"admin": "admin", "requester": "user", "approver": "user", "auditor": "auditor"}
HOME_SECTION = {
    "requester": "Your pending requests",
    "approver": "Waiting for your decision",
    "auditor": "Latest audit events",
    "admin": "Health",
}


def _readme_copy(name: str, source: Path) -> None:
    target = os.environ.get("JITGATE_PORTAL_SCREENSHOT")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        (Path(target) / name).write_bytes(source.read_bytes())


@pytest.mark.parametrize("role", ["admin", "requester", "approver", "auditor"])
def test_sign_in_by_role(entra_visit: Visit, entra: EntraPortal, role: str):
    page = entra_visit.page
    entra.fresh_code_window()
    page.goto(f"{entra.base_url}/")
    page.wait_for_url(f"{entra.idp_url}/**")
    entra_visit.assert_clean()
    shot = screenshot(page, f"entra-sign-in-{role}")
    if role == "requester":
        _readme_copy("portal-sign-in.png", shot)
    entra.enter_password(page, role)
    page.get_by_label("Code").wait_for()
    entra_visit.assert_clean()
    screenshot(page, f"entra-code-{role}")
    entra.enter_code(page, entra.code(role))
    page.wait_for_url(f"{entra.base_url}/")
    heading = page.get_by_role("heading", level=1).inner_text()
    assert heading == f"Welcome, {entra.people[role].display_name}"
    assert page.get_by_role("heading", name=HOME_SECTION[role]).is_visible()
    assert ROLE_SHOWN[role] in page.locator("header").inner_text().lower()
    nav = page.get_by_role("navigation", name="Main")
    assert nav.get_by_role("link", name="Request access").is_visible()
    assert page.get_by_role("button", name="Sign out").is_visible()
    screenshot(page, f"entra-home-{role}")
    entra_visit.assert_clean()


def test_step_up_then_the_request_is_filed_with_its_mfa(entra_visit: Visit, entra: EntraPortal):
    page = entra_visit.page
    entra.sign_in(page, "requester", "/request")
    with page.expect_response(lambda r: "/request/access" in r.url):
        page.get_by_label("Access flow").select_option(label="Sensitive groups")
    page.get_by_label("Access", exact=True).select_option(
        label="Payroll Admins: Member (Entra group)"
    )
    page.get_by_label("Duration (minutes)").fill("45")
    page.get_by_label("Justification").fill("Payroll run for December")
    screenshot(page, "entra-step-up-1-form")
    entra_visit.assert_clean()
    entra.clock.advance(timedelta(hours=1, minutes=5))  # his MFA is now older than an hour
    page.get_by_role("button", name="Submit request").click()
    page.wait_for_load_state()
    assert page.url.startswith(entra.idp_url), page.locator("main").inner_text()
    screenshot(page, "entra-step-up-2-password-again")
    entra_visit.assert_clean()
    entra.enter_password(page, "requester")
    entra.enter_code(page, entra.code("requester"))
    page.wait_for_url(f"{entra.base_url}/request?**")
    assert page.get_by_text("MFA confirmed").is_visible()
    assert page.get_by_label("Justification").input_value() == "Payroll run for December"
    assert page.get_by_label("Duration (minutes)").input_value() == "45"
    screenshot(page, "entra-step-up-3-form-back")
    entra_visit.assert_clean()
    page.get_by_role("button", name="Submit request").click()
    page.wait_for_url(f"{entra.base_url}/requests/*?submitted=1")
    screenshot(page, "entra-step-up-4-filed")
    entra_visit.assert_clean()
    grady = entra.people["requester"]
    with entra.sessions() as session:
        [filed] = session.scalars(
            select(AccessRequest).where(
                AccessRequest.requester_id == grady.id,
                AccessRequest.flow_id == entra.mfa_flow.id,
            )
        )
        assert filed.status == "pending"
        assert filed.justification == "Payroll run for December"
        assert page.url.startswith(f"{entra.base_url}/requests/{filed.id}?")
        [event] = session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "request.submit", AuditEvent.target_id == filed.id
            )
        )
        mfa = event.context["mfa"]
        assert mfa["at"]
        assert "mfa" in mfa["amr"]
    page.goto(f"{entra.base_url}/")
    _readme_copy("portal-home.png", screenshot(page, "entra-home-requester-pending"))
    entra_visit.assert_clean()
