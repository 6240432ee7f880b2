"""The request form: choices, field errors, filing, the MFA step-up and the way back."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from jitgate.server.portal.views import MFA_CONFIRMED
from jitgate.server.requests.models import AccessRequest
from portal_html import parse
from portal_world import make_portal_world, portal_user, sign_in


@pytest.fixture
def world(session, clock):
    return make_portal_world(session, clock)


def _as(client, world, clock, role="requester", **kwargs):
    sign_in(client.app, portal_user(world.people[role], clock.now(), **kwargs))


def _count(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(AccessRequest)) or 0


def _post(client, **fields):
    form = {"csrf_token": "csrf-1", "action": "submit", **fields}
    return client.post("/request", data=form, follow_redirects=False)


def _errors(page, name):
    field = page.find(id=name)
    assert field.attrs.get("aria-invalid") == "true", name
    assert f"{name}-errors" in field.attrs["aria-describedby"].split()
    return [li.text for li in page.find("ul", id=f"{name}-errors").find_all("li")]


def test_the_form_offers_the_flows_and_what_the_first_offers(client, world, clock):
    _as(client, world, clock)
    page = parse(client.get("/request").text)
    flows = [o.text for o in page.find("select", id="flow_id").find_all("option")]
    assert flows == ["Finance groups", "Groups with a reason", "Reader role", "Sensitive groups"]
    access = [o.text for o in page.find("select", id="access").find_all("option")]
    assert access == [
        "Choose a resource…",
        "Finance: Member (Entra group)",
        "Legal: Member (Entra group)",
        "Payroll: Member (Entra group)",
    ]
    for name in ("flow_id", "access", "duration_min", "justification"):
        assert page.find("label", for_=name).text, name  # every field has its label
    assert page.find("textarea", id="justification").attrs["maxlength"] == "1000"


def test_the_access_field_follows_the_flow(client, world, clock):
    _as(client, world, clock)
    partial = client.get(f"/request/access?flow_id={world.instant_flow.id}")
    assert partial.status_code == 200
    page = parse(partial.text)
    options = [o.text for o in page.find("select", id="access").find_all("option")]
    assert options == [
        "Choose a resource…",
        "Global Reader: Active assignment (Entra directory role)",
    ]
    assert "granted without approval" in page.find(id="flow_id-help").text
    assert page.find_all("html") == []  # a partial, not a page


def test_without_javascript_the_flow_is_chosen_by_a_post(client, world, session, clock):
    _as(client, world, clock)
    before = _count(session)
    response = client.post(
        "/request",
        data={"csrf_token": "csrf-1", "action": "choose", "flow_id": world.instant_flow.id},
    )
    assert response.status_code == 200
    page = parse(response.text)
    chosen = page.find("select", id="flow_id").find("option", selected="")
    assert chosen.text == "Reader role"
    assert "Global Reader" in page.find("select", id="access").text
    assert _count(session) == before


def test_a_request_that_needs_no_approval_is_filed_and_shown_granted(client, world, session, clock):
    _as(client, world, clock, role="approver")  # the requester holds this role already
    response = _post(
        client,
        flow_id=world.instant_flow.id,
        access=f"{world.reader.id} active",
        duration_min="30",
        justification="Quarterly review",
    )
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith("/requests/")
    request_id = urlsplit(location).path.rsplit("/", 1)[1]
    filed = session.get(AccessRequest, request_id)
    assert filed.status.value == "approved"
    assert filed.duration_min == 30
    page = parse(client.get(location).text)
    assert "submitted and approved" in page.find(id="messages").text
    assert "Global Reader: active" in page.find("dl").text
    assert "30 min left" in page.find("dl").text


def test_a_request_that_needs_approval_is_shown_pending_with_its_approvers(
    client, world, session, clock
):
    _as(client, world, clock)
    response = _post(client, flow_id=world.approval_flow.id, access=f"{world.payroll.id} member")
    assert response.status_code == 303
    page = parse(client.get(response.headers["location"]).text)
    assert "waits for an approver" in page.find(id="messages").text
    facts = page.find("dl").text
    assert "pending" in facts
    assert "Avery Approver" in facts


def test_missing_access_is_said_next_to_the_field(client, world, session, clock):
    _as(client, world, clock)
    before = _count(session)
    response = _post(client, flow_id=world.approval_flow.id, access="")
    assert response.status_code == 422
    page = parse(response.text)
    assert _errors(page, "access") == ["choose the access you need"]
    assert _count(session) == before


def test_the_flow_rules_are_said_next_to_their_fields(client, world, session, clock):
    _as(client, world, clock)
    before = _count(session)
    response = _post(
        client, flow_id=world.reasons_flow.id, access=f"{world.legal.id} member", duration_min="600"
    )
    assert response.status_code == 422
    page = parse(response.text)
    assert _errors(page, "justification") == ["the flow requires a reason"]
    assert _errors(page, "duration_min") == [
        "at most 120 minutes under flow 'Groups with a reason'"
    ]
    # what was entered is kept
    assert page.find("input", id="duration_min").attrs["value"] == "600"
    selected = page.find("select", id="access").find("option", selected="")
    assert selected.attrs["value"] == f"{world.legal.id} member"
    assert _count(session) == before


@pytest.mark.parametrize(
    ("duration", "message"),
    [
        ("soon", "enter a whole number of minutes"),
        ("0", "Input should be greater than or equal to 1"),
    ],
)
def test_a_malformed_duration_is_said_next_to_it(client, world, clock, duration, message):
    _as(client, world, clock)
    response = _post(
        client,
        flow_id=world.approval_flow.id,
        access=f"{world.legal.id} member",
        duration_min=duration,
    )
    assert response.status_code == 422
    assert _errors(parse(response.text), "duration_min") == [message]


def test_a_duplicate_is_refused_above_the_form(client, world, session, clock):
    _as(client, world, clock)
    response = _post(client, flow_id=world.approval_flow.id, access=f"{world.finance.id} member")
    assert response.status_code == 422
    alert = parse(response.text).find("div", id="form-errors")
    assert alert.attrs["role"] == "alert"
    assert "already has an open request for member on Finance" in alert.text


def test_access_the_flow_does_not_offer_is_said_at_the_flow(client, world, clock):
    _as(client, world, clock)
    response = _post(client, flow_id=world.instant_flow.id, access=f"{world.legal.id} member")
    assert response.status_code == 422
    assert any(
        "no target covers member on Legal" in m for m in _errors(parse(response.text), "flow_id")
    )


def test_an_mfa_flow_without_fresh_mfa_sends_the_person_to_step_up(client, world, session, clock):
    _as(client, world, clock, mfa_at=clock.now() - timedelta(hours=2))
    before = _count(session)
    response = _post(
        client,
        flow_id=world.mfa_flow.id,
        access=f"{world.payroll.id} member",
        duration_min="45",
        justification="Payroll run & fix",
    )
    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert location.path == "/auth/sign-in"
    query = parse_qs(location.query)
    assert query["step_up"] == ["1"]
    (back,) = query["return_to"]
    assert back.startswith("/request?")
    assert parse_qs(urlsplit(back).query) == {
        "flow_id": [world.mfa_flow.id],
        "access": [f"{world.payroll.id} member"],
        "duration_min": ["45"],
        "justification": ["Payroll run & fix"],
    }
    assert "csrf" not in back
    assert _count(session) == before

    # back from the sign-in with fresh MFA: the form is as it was, and says so
    _as(client, world, clock, mfa_at=clock.now())
    page = parse(client.get(back).text)
    assert page.find(id="messages").text == MFA_CONFIRMED
    assert page.find("select", id="flow_id").find("option", selected="").text == "Sensitive groups"
    access = page.find("select", id="access").find("option", selected="")
    assert access.attrs["value"] == f"{world.payroll.id} member"
    assert page.find("input", id="duration_min").attrs["value"] == "45"
    assert page.find("textarea", id="justification").text == "Payroll run & fix"

    filed = _post(
        client,
        flow_id=world.mfa_flow.id,
        access=f"{world.payroll.id} member",
        duration_min="45",
        justification="Payroll run & fix",
    )
    assert filed.status_code == 303
    assert filed.headers["location"].startswith("/requests/")
    assert _count(session) == before + 1


def test_a_step_up_is_asked_only_once_the_rest_of_the_form_is_right(client, world, clock):
    _as(client, world, clock)  # no MFA at all
    response = _post(client, flow_id=world.mfa_flow.id, access="")
    assert response.status_code == 422
    assert _errors(parse(response.text), "access") == ["choose the access you need"]


def test_without_fresh_mfa_the_way_back_does_not_claim_it(client, world, clock):
    _as(client, world, clock)
    page = parse(client.get(f"/request?flow_id={world.mfa_flow.id}").text)
    assert page.find(id="messages").text == ""
    assert "MFA within the last hour is required" in page.find(id="flow_id-help").text


def test_a_request_page_is_hidden_from_people_who_may_not_see_it(client, world, session, clock):
    stranger = portal_user(world.people["approver"], clock.now())
    sign_in(client.app, stranger)
    response = client.get(f"/requests/{world.active.id}")
    assert response.status_code == 404
    assert "Request not found" in parse(response.text).find("h1").text
    _as(client, world, clock, role="auditor")
    assert client.get(f"/requests/{world.active.id}").status_code == 200


def test_a_justification_over_the_limit_is_said_next_to_it(client, world, clock):
    _as(client, world, clock)
    response = _post(
        client,
        flow_id=world.approval_flow.id,
        access=f"{world.legal.id} member",
        justification="x" * 1001,
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    assert _errors(parse(response.text), "justification") == [
        "String should have at most 1000 characters"
    ]


def test_a_person_with_no_open_flow_is_told_so(client, world, session, clock):
    for flow in (world.approval_flow, world.instant_flow, world.reasons_flow, world.mfa_flow):
        flow.active = False
    session.commit()
    _as(client, world, clock)
    page = parse(client.get("/request").text)
    assert "No access flow is open to you" in page.find("main").text
    assert page.find_all("form", action="/request") == []
