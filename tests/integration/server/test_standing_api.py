"""Standing memberships over the API: admins and auditors list them, admins allow-list them."""

from __future__ import annotations

from sqlalchemy import select

from factories import bearer, make_identity
from jitgate.server.actor import Actor, UserRole
from jitgate.server.audit.models import AuditEvent
from jitgate.server.grants.keys import MembershipKey
from jitgate.server.grants.models import StandingMembership
from jitgate.server.grants.standing import mark_standing_gone, record_standing
from request_world import audit_count, make_world

BOB = "0b0b0b0b-0000-4000-8000-000000000b0b"
DAN = "0d0d0d0d-0000-4000-8000-000000000d0d"
URL = "/api/v1/standing-memberships"


def _arrange(session, clock):
    w = make_world(session, clock)
    rows = {}
    for name, resource, principal in (
        ("bob", w.finance, BOB),
        ("dan", w.payroll, DAN),
        ("gone", w.payroll, BOB),
    ):
        key = MembershipKey(w.integration.id, resource.id, "member", "/", principal)
        rows[name] = record_standing(
            session=session, clock=clock, actor=Actor.system(), key=key, source="drift"
        )
    mark_standing_gone(session=session, clock=clock, actor=Actor.system(), row=rows["gone"])
    session.commit()
    return w, rows


def test_readers_list_present_rows_with_filters(client, session, clock):
    w, rows = _arrange(session, clock)
    auditor = make_identity(session, clock, "auditor@contoso.example", role=UserRole.AUDITOR)
    for headers in (bearer(session, clock, w.admin), bearer(session, clock, auditor)):
        page = client.get(URL, headers=headers).json()
        assert page["total"] == 2
        assert {r["id"] for r in page["items"]} == {rows["bob"].id, rows["dan"].id}
    admin = bearer(session, clock, w.admin)
    by_resource = client.get(URL, params={"resource_id": w.finance.id}, headers=admin).json()
    assert [r["principal_id"] for r in by_resource["items"]] == [BOB]
    by_principal = client.get(URL, params={"principal_id": DAN}, headers=admin).json()
    assert [r["id"] for r in by_principal["items"]] == [rows["dan"].id]
    everything = client.get(URL, params={"include_removed": True}, headers=admin).json()
    assert everything["total"] == 3
    gone = next(r for r in everything["items"] if r["id"] == rows["gone"].id)
    assert gone["removed_at"] is not None
    refused = client.get(URL, headers=bearer(session, clock, w.alice))
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")


def test_an_admin_allow_lists_a_row_and_takes_it_off_again(client, session, clock):
    w, rows = _arrange(session, clock)
    admin = bearer(session, clock, w.admin)
    allowed = client.patch(f"{URL}/{rows['bob'].id}", json={"allowed": True}, headers=admin)
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["allowed"] is True
    on_list = client.get(URL, params={"allowed": True}, headers=admin).json()
    assert [r["id"] for r in on_list["items"]] == [rows["bob"].id]
    off = client.patch(f"{URL}/{rows['bob'].id}", json={"allowed": False}, headers=admin)
    assert off.json()["allowed"] is False
    actions = session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.target_id == rows["bob"].id)
        .order_by(AuditEvent.seq)
    ).all()
    assert actions == ["membership.standing", "membership.allow", "membership.disallow"]


def test_refusals_change_nothing(client, session, clock):
    w, rows = _arrange(session, clock)
    auditor = make_identity(session, clock, "auditor@contoso.example", role=UserRole.AUDITOR)
    as_auditor, as_alice = bearer(session, clock, auditor), bearer(session, clock, w.alice)
    admin = bearer(session, clock, w.admin)
    session.commit()
    before = audit_count(session)
    target = f"{URL}/{rows['bob'].id}"
    cases = [
        (target, {"allowed": True}, as_auditor, 403),
        (target, {"allowed": True}, as_alice, 403),
        (target, {"allowed": True}, {}, 401),
        (f"{URL}/no-such-row", {"allowed": True}, admin, 404),
        (target, {"allowed": "maybe"}, admin, 422),
        (target, {"allowed": True, "extra": 1}, admin, 422),
        (target, {}, admin, 422),
    ]
    for url, body, headers, status in cases:
        response = client.patch(url, json=body, headers=headers)
        assert response.status_code == status, (url, body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    session.expire_all()
    assert session.get(StandingMembership, rows["bob"].id).allowed is False
    assert audit_count(session) == before
