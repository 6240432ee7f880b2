from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from factories import bearer, make_identity
from jitgate.server.actor import UserRole
from jitgate.server.audit.models import AuditEvent


def _audit_count(session):
    return session.scalar(select(func.count()).select_from(AuditEvent))


def test_me_needs_a_token(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 401


def test_me_returns_the_token_owner(client, session, clock):
    alice = make_identity(session, clock, "alice@contoso.example")
    response = client.get("/api/v1/me", headers=bearer(session, clock, alice))
    assert response.status_code == 200
    assert response.json()["upn"] == "alice@contoso.example"


def test_expired_token_is_refused(client, session, clock):
    alice = make_identity(session, clock, "alice@contoso.example")
    headers = bearer(session, clock, alice)
    clock.advance(timedelta(days=2))
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_non_admin_cannot_add_identities_and_nothing_changes(client, session, clock):
    bob = make_identity(session, clock, "bob@contoso.example")
    headers = bearer(session, clock, bob)
    before = _audit_count(session)
    response = client.post(
        "/api/v1/identities",
        json={"upn": "eve@contoso.example", "display_name": "Eve"},
        headers=headers,
    )
    assert response.status_code == 403
    assert _audit_count(session) == before


def test_admin_adds_identity_with_one_audit_event(client, session, clock):
    admin = make_identity(session, clock, "admin@contoso.example", role=UserRole.ADMIN)
    headers = bearer(session, clock, admin)
    before = _audit_count(session)
    response = client.post(
        "/api/v1/identities",
        json={"upn": "Eve@Contoso.example", "display_name": "Eve"},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    assert response.json()["upn"] == "eve@contoso.example"
    assert _audit_count(session) == before + 1


def test_token_secret_is_shown_once_and_stored_hashed(client, session, clock):
    alice = make_identity(session, clock, "alice@contoso.example")
    headers = bearer(session, clock, alice)
    created = client.post("/api/v1/tokens", json={"name": "laptop"}, headers=headers)
    assert created.status_code == 201
    secret = created.json()["token"]
    listed = client.get("/api/v1/tokens", headers=headers).json()
    assert all("token" not in t for t in listed)
    assert (
        client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    )
    revoked = client.delete(f"/api/v1/tokens/{created.json()['id']}", headers=headers)
    assert revoked.status_code == 200
    assert (
        client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    )


def test_nul_characters_are_refused_everywhere_and_change_nothing(client, session, clock):
    admin = make_identity(session, clock, "admin@contoso.example", role=UserRole.ADMIN)
    headers = bearer(session, clock, admin)
    before = _audit_count(session)
    attempts = [
        client.post(
            "/api/v1/identities",
            json={"upn": "eve\u0000@contoso.example", "display_name": "Eve"},
            headers=headers,
        ),
        client.get("/api/v1/identities", params={"search": "a\x00b"}, headers=headers),
        client.get("/api/v1/identities/a%00b", headers=headers),
        client.post("/api/v1/tokens", json={"name": "x\u0000y"}, headers=headers),
    ]
    for response in attempts:
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert "NUL" in response.json()["detail"]
    assert _audit_count(session) == before
