"""The portal's layout and home page, for each role, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from factories import write_events
from jitgate.server.portal.static_files import content_hash
from portal_html import parse
from portal_world import ROLES, make_portal_world, portal_user, sign_in


@pytest.fixture
def world(session, clock):
    return make_portal_world(session, clock)


def _home(client, world, clock, role):
    sign_in(client.app, portal_user(world.people[role], clock.now()))
    response = client.get("/")
    assert response.status_code == 200, response.text
    return parse(response.text)


def test_anonymous_people_are_sent_to_sign_in_with_the_way_back(client, world):
    response = client.get("/request?flow_id=x", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/auth/sign-in?return_to=%2Frequest%3Fflow_id%3Dx"


@pytest.mark.parametrize("role", ROLES)
def test_every_role_gets_the_layout(client, world, clock, role):
    page = _home(client, world, clock, role)
    assert page.find("a", class_="skip-link").attrs["href"] == "#main"
    assert page.find("main").attrs["id"] == "main"
    nav = page.find("nav", **{"aria-label": "Main"})
    labels = [a.text for a in nav.find("ul", class_="nav-pages").find_all("a")]
    assert labels == ["Home", "Request access"]  # only pages that exist, the same for every role
    assert nav.find("a", class_="brand").text == "jitgate User Portal"
    assert page.find("a", **{"aria-current": "page"}).text == "Home"
    menu = page.find("div", class_="user-menu")
    person = world.people[role]
    assert person.display_name in menu.text
    assert person.role.value in menu.find("span", class_="role-badge").text
    assert menu.find("a", href="/sessions").text == "My sessions"
    sign_out = menu.find("form", action="/auth/sign-out")
    assert sign_out.attrs["method"] == "post"
    assert sign_out.find("input", name="csrf_token").attrs["value"] == "csrf-1"
    body = page.find("body")
    assert json.loads(body.attrs["hx-headers"]) == {"X-CSRF-Token": "csrf-1"}
    assert page.find("div", id="messages").attrs["role"] == "status"


def test_the_pages_carry_the_portal_csp_and_load_only_our_files(client, world, clock):
    sign_in(client.app, portal_user(world.people["requester"], clock.now()))
    response = client.get("/")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "style-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["cache-control"] == "no-store"
    page = parse(response.text)
    assert not [s for s in page.find_all("script") if "src" not in s.attrs]  # no inline script
    assert not [n for n in page.iter() if "style" in n.attrs or n.tag == "style"]
    sources = [s.attrs["src"] for s in page.find_all("script")] + [
        link.attrs["href"] for link in page.find_all("link", rel="stylesheet")
    ]
    assert sources == [
        "/static/vendor/htmx-2.0.11.min.js",
        f"/static/portal.js?v={content_hash('portal.js')}",
        "/static/vendor/pico-2.1.1.min.css",
        f"/static/portal.css?v={content_hash('portal.css')}",
    ]
    for source in sources:
        assert client.get(source).status_code == 200, source


def test_a_requester_sees_their_access_with_time_left_and_their_pending_requests(
    client, world, clock
):
    clock.advance(timedelta(minutes=20))
    page = _home(client, world, clock, "requester")
    access = page.find("section", id="my-access")
    rows = access.find("tbody").find_all("tr")
    assert len(rows) == 1
    assert "Global Reader (active)" in rows[0].text
    assert "Reader role" in rows[0].text
    assert "40 min left" in rows[0].text
    pending = page.find("section", id="my-pending").find("tbody").find_all("tr")
    assert ["Finance (member)" in r.text and "pending" in r.text for r in pending] == [True]
    assert page.find_all("section", id="approvals") == []
    assert page.find_all("section", id="audit") == []
    assert page.find_all("section", id="health") == []


def test_an_approver_sees_the_requests_waiting_for_their_decision(client, world, clock):
    page = _home(client, world, clock, "approver")
    section = page.find("section", id="approvals")
    assert "Waiting for your decision 1" in section.find("h2").text
    (row,) = section.find("tbody").find_all("tr")
    assert "Finance (member)" in row.text
    assert "Riley Requester" in row.text
    assert row.find("a").attrs["href"] == f"/requests/{world.pending.id}"
    assert "You hold no temporary access right now." in page.find("section", id="my-access").text


def test_an_auditor_sees_the_latest_audit_events_newest_first(client, world, clock):
    page = _home(client, world, clock, "auditor")
    rows = page.find("section", id="audit").find("tbody").find_all("tr")
    seqs = [int(r.find_all("td")[0].text) for r in rows]
    assert seqs == list(range(len(seqs), 0, -1))  # every event so far, newest first
    assert "request.submit" in rows[0].text
    assert page.find_all("section", id="health") == []


def test_the_auditor_home_shows_the_twenty_newest_events(client, world, session, clock):
    write_events(session, clock, 30)
    session.commit()
    page = _home(client, world, clock, "auditor")
    rows = page.find("section", id="audit").find("tbody").find_all("tr")
    assert len(rows) == 20
    assert "test.event" in rows[0].text
    assert rows[0].find_all("td")[5].text == "thing 29"


def test_an_admin_sees_connector_and_integration_health_and_the_banner(client, world, clock):
    page = _home(client, world, clock, "admin")
    health = page.find("section", id="health")
    connectors, integrations = health.find_all("table")
    by_name = {r.find_all("td")[0].text: r.text for r in connectors.find("tbody").find_all("tr")}
    assert "connected" in by_name["contoso-live"]
    assert "5 Jan 2026, 09:00 UTC" in by_name["contoso-live"]
    assert "disconnected" in by_name["fabrikam-gone"]
    rows = {r.find_all("td")[0].text: r.text for r in integrations.find("tbody").find_all("tr")}
    assert "active" in rows["Contoso Entra"]
    assert "error" in rows["Fabrikam Entra"]
    assert "Graph answered 403" in rows["Fabrikam Entra"]
    banner = page.find("aside", class_="health-banner")
    assert "Connector fabrikam-gone is disconnected (never seen)." in banner.text
    assert "Integration Fabrikam Entra is in error: Graph answered 403." in banner.text


def test_the_banner_is_for_admins_only_and_on_every_page(client, world, clock):
    for role in ROLES:
        sign_in(client.app, portal_user(world.people[role], clock.now()))
        for path in ("/", "/request", f"/requests/{world.pending.id}"):
            page = parse(client.get(path).text)
            banners = page.find_all("aside", class_="health-banner")
            assert len(banners) == (1 if role == "admin" else 0), (role, path)


def test_static_files_are_cached_for_a_year_when_their_name_or_url_is_versioned(client):
    vendored = client.get("/static/vendor/htmx-2.0.11.min.js")
    assert vendored.status_code == 200
    assert vendored.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert vendored.headers["x-content-type-options"] == "nosniff"
    assert "javascript" in vendored.headers["content-type"]
    css = client.get(f"/static/portal.css?v={content_hash('portal.css')}")
    assert css.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert css.headers["content-type"].startswith("text/css")
    assert client.get("/static/portal.css").headers["cache-control"] == "no-cache"
    assert client.get("/static/nothing.css").status_code == 404
    assert client.get("/static/../portal/views.py").status_code == 404
