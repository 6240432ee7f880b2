"""The navigation: one list, filtered by role, the current page marked."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from jitgate.server.actor import UserRole
from jitgate.server.portal import nav
from jitgate.server.portal.nav import NavItem, nav_for
from jitgate.server.portal.user import PortalUser


def _user(role: UserRole) -> PortalUser:
    return PortalUser(
        session_id="s",
        identity_id="i",
        display_name="P",
        upn="p@contoso.example",
        role=role,
        csrf_token="c",
        auth_time=datetime(2026, 1, 5, tzinfo=UTC),
        mfa_at=None,
    )


def test_nobody_signed_in_sees_no_navigation():
    assert nav_for(None, "/") == []


@pytest.mark.parametrize("role", list(UserRole))
def test_every_person_sees_home_and_request_access(role):
    links = nav_for(_user(role), "/request")
    assert [(link.label, link.path, link.current) for link in links] == [
        ("Home", "/", False),
        ("Request access", "/request", True),
    ]


def test_an_entry_for_some_roles_is_shown_to_those_only(monkeypatch):
    audit = NavItem("Audit", "/audit", frozenset({UserRole.AUDITOR, UserRole.ADMIN}))
    monkeypatch.setattr(nav, "NAV", (*nav.NAV, audit))
    assert "Audit" not in [link.label for link in nav_for(_user(UserRole.USER), "/")]
    links = nav_for(_user(UserRole.AUDITOR), "/audit/events")
    assert [link.label for link in links if link.current] == ["Audit"]


def test_home_is_current_only_at_the_root():
    home = NavItem("Home", "/")
    assert home.current_at("/")
    assert not home.current_at("/request")
    assert NavItem("Request access", "/request").current_at("/request/access")
    assert not NavItem("Request access", "/request").current_at("/requests/1")
