"""Portal sign-in against the emulator's sign-in page: sessions, cookies, refusals, headers."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from fastapi.testclient import TestClient
from sqlalchemy import select

from jitgate.core.settings import Settings
from jitgate.server.app import create_app
from jitgate.server.audit.models import AuditEvent
from jitgate.server.identities.session_models import PortalSession
from sign_in_world import PortalWorld


def test_sign_in_opens_a_session_and_returns_to_the_page(world):
    adele = world.person()
    browser = world.browser()
    answer = world.sign_in(browser, "/auth/sign-in?return_to=/sessions%3Fx%3D1")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/sessions?x=1"
    set_cookie = answer.headers["set-cookie"]
    assert set_cookie.startswith("__Host-jitgate_session=")
    for flag in ("HttpOnly", "Secure", "Path=/", "SameSite=lax"):
        assert flag.lower() in set_cookie.lower()
    page = browser.get("/sessions")
    assert page.status_code == 200
    assert "(this browser)" in page.text
    assert "TestBrowser/1.0" in page.text
    with world.sessions() as session:
        row = session.scalars(select(PortalSession)).one()
        assert row.identity_id == adele.id
        assert row.token_hash != world.cookie(browser)  # only the hash is stored
        assert row.mfa_at is None  # the emulator's password sign-in proves no MFA
        actions = session.scalars(select(AuditEvent.action)).all()
    assert "portal.sign_in" in actions


def test_portal_pages_carry_the_security_headers(world):
    world.person()
    browser = world.browser()
    world.sign_in(browser)
    page = browser.get("/sessions")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert world.emulator.authority_host in csp  # the sign-out form redirects to Entra
    assert page.headers["strict-transport-security"].startswith("max-age=")
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    for path in ("/auth/signed-out", "/auth/callback?state=forged&code=x"):
        assert "content-security-policy" in browser.get(path).headers


def test_plain_http_uses_a_cookie_without_secure(emulator, sessions, world_clock, tmp_path):
    world = PortalWorld(emulator, sessions, world_clock, tmp_path, base_url="http://jitgate.test")
    try:
        world.person()
        browser = world.browser()
        answer = world.sign_in(browser)
        set_cookie = answer.headers["set-cookie"]
        assert set_cookie.startswith("jitgate_session=")
        assert "secure" not in set_cookie.lower()
        assert "httponly" in set_cookie.lower()
        page = browser.get("/sessions")
        assert page.status_code == 200
        assert "strict-transport-security" not in page.headers
    finally:
        world.close()


def test_every_sign_in_gets_a_new_session_id(world):
    world.person()
    browser = world.browser()
    world.sign_in(browser)
    first = world.cookie(browser)
    world.sign_in(browser)
    second = world.cookie(browser)
    assert first
    assert second
    assert first != second
    stale = world.browser()
    stale.cookies.set("__Host-jitgate_session", first, domain="jitgate.test")
    assert stale.get("/sessions").status_code == 303  # the replaced session is over
    assert browser.get("/sessions").status_code == 200


def test_a_planted_cookie_is_never_adopted(world):
    world.person()
    browser = world.browser()
    browser.cookies.set("__Host-jitgate_session", "attacker-chosen", domain="jitgate.test")
    world.sign_in(browser)
    assert world.cookie(browser) != "attacker-chosen"


def test_an_anonymous_get_is_sent_to_sign_in_and_a_post_refused(world):
    browser = world.browser()
    answer = browser.get("/sessions?page=2")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/auth/sign-in?return_to=%2Fsessions%3Fpage%3D2"
    refused = browser.post("/auth/sign-out", data={"csrf_token": "x"})
    assert refused.status_code == 401
    assert "not signed in" in refused.text


def test_return_to_only_goes_to_this_server(world):
    world.person()
    for evil in ("https://evil.test/x", "//evil.test/x", "/\\evil.test"):
        browser = world.browser()
        answer = world.sign_in(browser, f"/auth/sign-in?return_to={evil}")
        assert answer.headers["location"] == "/"


def test_a_forged_or_replayed_state_is_refused(world):
    world.person()
    browser = world.browser()
    forged = browser.get("/auth/callback?state=forged&code=abc")
    assert forged.status_code == 400
    assert "not one jitgate is waiting for" in forged.text
    callback = world.enter_password(world.authorize(browser, "/auth/sign-in"))
    assert browser.get(callback).status_code == 303
    replay = world.browser().get(callback)
    assert replay.status_code == 400
    assert "already used" in replay.text


def test_an_entra_error_in_the_callback_is_a_readable_page(world):
    browser = world.browser()
    auth_uri = world.authorize(browser, "/auth/sign-in")
    state = dict(parse_qsl(urlsplit(auth_uri).query))["state"]
    answer = browser.get(
        "/auth/callback",
        params={
            "state": state,
            "error": "access_denied",
            "error_description": "AADSTS65004: User declined to consent.\r\nTrace ID: 1",
        },
    )
    assert answer.status_code == 400
    assert "AADSTS65004: User declined to consent." in answer.text
    assert "Trace ID" not in answer.text
    assert world.cookie(browser) is None


def test_an_unknown_or_disabled_person_is_refused(world):
    browser = world.browser()
    unknown = world.sign_in(browser)
    assert unknown.status_code == 403
    assert "not known to jitgate" in unknown.text
    world.person(account_enabled=False)
    disabled = world.sign_in(world.browser())
    assert disabled.status_code == 403
    assert "disabled" in disabled.text
    assert world.cookie(browser) is None


def test_sign_in_not_configured_names_the_settings(sessions, clock, tmp_path):
    app = create_app(Settings(data_dir=tmp_path, log_json=False), clock=clock, sessions=sessions)
    with TestClient(app, follow_redirects=False) as browser:
        page = browser.get("/auth/sign-in")
        assert page.status_code == 503
        assert "Sign-in is not configured" in page.text
        assert "JITGATE_OIDC_TENANT" in page.text
        assert "JITGATE_OIDC_CLIENT_ID" in page.text
        assert browser.get("/sessions").status_code == 303
