"""Portal sessions: timeouts, sign-out, revocation (mine, discovery, role change), CSRF, roles."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

from sqlalchemy import select

from factories import make_integration
from jitgate.protocol.v1 import DiscoveredUser
from jitgate.server.actor import Actor, Source, UserRole
from jitgate.server.audit.models import AuditEvent
from jitgate.server.connectors.tenancy import TenantScope
from jitgate.server.identities.operations import set_identity_role
from jitgate.server.identities.session_models import PortalSession
from jitgate.server.integrations.sync_items import PeopleLinks, SyncCounts, apply_page
from sign_in_world import ADELE, extra_id_token_claims

ADMIN = Actor(identity_id="admin-x", name="admin", role=UserRole.ADMIN, source=Source.API)


def _csrf(page_text: str) -> str:
    marker = 'name="csrf_token" value="'
    start = page_text.index(marker) + len(marker)
    return page_text[start : page_text.index('"', start)]


def _live(world) -> list[PortalSession]:
    with world.sessions() as session:
        return list(
            session.scalars(select(PortalSession).where(PortalSession.revoked_at.is_(None)))
        )


def _actions(world) -> list[str]:
    with world.sessions() as session:
        return list(session.scalars(select(AuditEvent.action)))


def test_idle_timeout_on_the_injected_clock(world):
    world.person()
    browser = world.browser()
    world.sign_in(browser)
    world.clock.advance(timedelta(seconds=3000))
    assert browser.get("/sessions").status_code == 200  # a use: the idle clock starts again
    world.clock.advance(timedelta(seconds=3000))
    assert browser.get("/sessions").status_code == 200
    world.clock.advance(timedelta(seconds=3600))
    assert browser.get("/sessions").status_code == 303


def test_absolute_timeout_even_when_used(world):
    world.person()
    browser = world.browser()
    world.sign_in(browser)
    for _ in range(14):  # 14 x 50 min = 11 h 40 min, always used within the idle limit
        world.clock.advance(timedelta(minutes=50))
        assert browser.get("/sessions").status_code == 200
    world.clock.advance(timedelta(minutes=21))  # past 12 h
    answer = browser.get("/sessions")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/auth/sign-in?return_to=")


def test_sign_out_revokes_on_the_server_and_signs_out_of_entra(world):
    world.person()
    browser = world.browser()
    world.sign_in(browser)
    cookie = world.cookie(browser)
    token = _csrf(browser.get("/sessions").text)
    answer = browser.post("/auth/sign-out", data={"csrf_token": token})
    assert answer.status_code == 303
    target = urlsplit(answer.headers["location"])
    assert f"{target.scheme}://{target.netloc}" == world.emulator.authority_host
    assert target.path.endswith("/oauth2/v2.0/logout")
    query = dict(parse_qsl(target.query))
    assert query == {
        "post_logout_redirect_uri": "https://jitgate.test/auth/signed-out",
        "client_id": world.client_id,
    }
    assert world.cookie(browser) is None
    replay = world.browser()
    replay.cookies.set("__Host-jitgate_session", cookie, domain="jitgate.test")
    assert replay.get("/sessions").status_code == 303
    assert _live(world) == []
    landed = world.idp.get(answer.headers["location"])
    assert landed.headers["location"] == "https://jitgate.test/auth/signed-out"
    assert "You have signed out" in browser.get("/auth/signed-out").text
    assert "portal.sign_out" in _actions(world)


def test_revoke_another_session_from_my_sessions(world):
    world.person()
    laptop, phone = world.browser("Laptop/1"), world.browser("Phone/2")
    world.sign_in(laptop)
    world.sign_in(phone)
    page = laptop.get("/sessions").text
    assert "Laptop/1" in page
    assert "Phone/2" in page
    phone_row = next(r for r in _live(world) if r.user_agent == "Phone/2")
    answer = laptop.post(f"/sessions/{phone_row.id}/revoke", data={"csrf_token": _csrf(page)})
    assert answer.status_code == 303
    assert phone.get("/sessions").status_code == 303
    assert laptop.get("/sessions").status_code == 200
    assert "portal.session_revoke" in _actions(world)


def test_someone_elses_session_cannot_be_revoked(world):
    world.person()
    world.person("alex@contoso.onmicrosoft.com")
    mine, theirs = world.browser(), world.browser()
    world.sign_in(mine)
    world.sign_in(theirs, upn="alex@contoso.onmicrosoft.com")
    alex_id = world.emulator.state.tenant.find_user("alex@contoso.onmicrosoft.com")["id"]
    row = next(r for r in _live(world) if r.object_id == alex_id)
    token = _csrf(mine.get("/sessions").text)
    answer = mine.post(f"/sessions/{row.id}/revoke", data={"csrf_token": token})
    assert answer.status_code == 404
    assert theirs.get("/sessions").status_code == 200


def test_missing_wrong_or_cross_site_csrf_is_refused_and_changes_nothing(world):
    world.person()
    laptop, phone = world.browser(), world.browser("Phone/2")
    world.sign_in(laptop)
    world.sign_in(phone)
    token = _csrf(laptop.get("/sessions").text)
    target = next(r for r in _live(world) if r.user_agent == "Phone/2")
    url = f"/sessions/{target.id}/revoke"
    for attempt in (
        laptop.post(url),
        laptop.post(url, data={"csrf_token": "wrong"}),
        laptop.post(url, headers={"X-CSRF-Token": token + "x"}),
        laptop.post(url, data={"csrf_token": token}, headers={"Origin": "https://evil.test"}),
        laptop.post(url, data={"csrf_token": token}, headers={"Sec-Fetch-Site": "cross-site"}),
        laptop.post("/auth/sign-out"),
    ):
        assert attempt.status_code == 403, attempt.text
        assert "Nothing was changed" in attempt.text
    assert len(_live(world)) == 2
    assert phone.get("/sessions").status_code == 200
    ok = laptop.post(url, headers={"X-CSRF-Token": token, "Origin": "https://jitgate.test"})
    assert ok.status_code == 303
    assert len(_live(world)) == 1


def test_disable_by_discovery_revokes_the_sessions(world):
    adele = world.person()
    browser = world.browser()
    world.sign_in(browser)
    with world.sessions() as session:
        integration = make_integration(session, world.clock)
        apply_page(
            session,
            world.clock,
            integration,
            [DiscoveredUser(id=adele.object_id, user_principal_name=ADELE, account_enabled=False)],
            scope=TenantScope(tenant=adele.tenant_id, adopt_local=False),
            counts=SyncCounts(),
            links=PeopleLinks(),
        )
        session.commit()
    assert _live(world) == []
    assert browser.get("/sessions").status_code == 303


def test_a_role_change_revokes_the_sessions(world):
    adele = world.person()
    browser = world.browser()
    world.sign_in(browser)
    with world.sessions() as session:
        set_identity_role(
            session=session,
            clock=world.clock,
            actor=ADMIN,
            identity_id=adele.id,
            role=UserRole.AUDITOR,
        )
        session.commit()
    assert _live(world) == []
    assert browser.get("/sessions").status_code == 303


def _role_of(world) -> UserRole:
    [row] = _live(world)
    return row.role


def test_role_from_the_roles_claim(world):
    world.person(role=UserRole.AUDITOR)
    extra_id_token_claims(world.emulator, roles=["Jitgate.Admin"])
    try:
        world.sign_in(world.browser())
        assert _role_of(world) is UserRole.ADMIN
    finally:
        extra_id_token_claims(world.emulator, roles=None)


def test_a_roles_claim_without_jitgate_roles_is_a_user(world):
    world.person(role=UserRole.ADMIN)
    extra_id_token_claims(world.emulator, roles=["Other.Role"])
    try:
        world.sign_in(world.browser())
        assert _role_of(world) is UserRole.USER
    finally:
        extra_id_token_claims(world.emulator, roles=None)


def test_without_a_roles_claim_the_assigned_role_applies(world):
    world.person(role=UserRole.AUDITOR)
    world.sign_in(world.browser())
    assert _role_of(world) is UserRole.AUDITOR
