"""Every portal route, for anonymous and each role: the declared answer.

The routes are the app's own (everything not under ``/api`` nor ``/static``), so a new page
fails this test until it is declared in ``EXPECTED``. Sessions are real: opened with
``identities.sessions.start_session`` as a sign-in would, and sent as the session cookie; a
POST carries that session's CSRF token and the portal's origin. Anonymous: a page answers with
the sign-in redirect, a POST with a 401/403 page, a public route with its declared status.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from fastapi.routing import APIRoute
from starlette.routing import Route

from factories import make_flow, make_integration, make_request, make_resource
from jitgate.server.identities.entra_tokens import IdTokenClaims
from jitgate.server.identities.sessions import start_session
from request_world import MANAGER_POLICY

if TYPE_CHECKING:
    from fastapi import FastAPI

    from jitgate.server.identities.models import Identity
    from sign_in_world import PortalWorld

ROLES = ("requester", "approver", "auditor", "admin")
UPNS = {
    "requester": "grady@contoso.onmicrosoft.com",
    "approver": "alex@contoso.onmicrosoft.com",
    "auditor": "isaiah@contoso.onmicrosoft.com",
    "admin": "lynne@contoso.onmicrosoft.com",
}
APP_ROLES = {"auditor": ("Jitgate.Auditor",), "admin": ("Jitgate.Admin",)}
EVERYONE_OK = dict.fromkeys(ROLES, 200)
#: (method, path) -> status per role; ``/requests/{id}`` is the requester's request, which his
#: approver, an auditor and an admin may read; a POST is sent with an empty form.
EXPECTED: dict[tuple[str, str], dict[str, int]] = {
    ("GET", "/"): EVERYONE_OK,
    ("GET", "/request"): EVERYONE_OK,
    ("GET", "/request/access"): EVERYONE_OK,
    ("POST", "/request"): dict.fromkeys(ROLES, 422),  # an empty form: its field errors
    ("GET", "/requests/{request_id}"): EVERYONE_OK,
    ("GET", "/sessions"): EVERYONE_OK,
    ("POST", "/sessions/{session_id}/revoke"): dict.fromkeys(ROLES, 303),  # one's own
    ("POST", "/auth/sign-out"): dict.fromkeys(ROLES, 303),
}
#: Routes anyone may call, and what they answer without a session.
PUBLIC: dict[tuple[str, str], int] = {
    ("GET", "/auth/sign-in"): 303,  # to the sign-in host
    ("GET", "/auth/callback"): 400,  # no state: the readable "Sign-in failed" page
    ("GET", "/auth/signed-out"): 200,
    ("GET", "/auth/cli-config"): 404,  # the CLI's browser sign-in is not configured here
    ("GET", "/healthz"): 200,
    ("GET", "/metrics"): 401,  # the metrics token, not a portal session
}


def portal_routes(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path) the app serves outside ``/api`` and ``/static``."""
    found: set[tuple[str, str]] = set()
    for route in app.routes:
        if not isinstance(route, (APIRoute, Route)):
            continue
        if route.path.startswith(("/api", "/static")):
            continue
        found.update((m, route.path) for m in route.methods or () if m != "HEAD")
    return found


def _claims(identity: Identity, role: str, world: PortalWorld) -> IdTokenClaims:
    now = world.clock.now()
    assert identity.tenant_id is not None
    assert identity.object_id is not None
    return IdTokenClaims(
        tid=identity.tenant_id,
        oid=identity.object_id,
        name=identity.display_name,
        preferred_username=identity.upn,
        amr=("pwd", "mfa"),
        auth_time=now,
        acrs=(),
        roles=APP_ROLES.get(role, ()),
        sid=None,
        groups_overage=False,
        issued_at=now,
    )


def _arrange(world: PortalWorld) -> tuple[dict[str, tuple[str, str, str]], str]:
    """Each role's (cookie, CSRF token, session id), and the requester's pending request."""
    alex = world.person(UPNS["approver"])
    people = {
        "approver": alex,
        "requester": world.person(UPNS["requester"], manager_id=alex.id),
        "auditor": world.person(UPNS["auditor"]),
        "admin": world.person(UPNS["admin"]),
    }
    signed_in: dict[str, tuple[str, str, str]] = {}
    with world.sessions() as session:
        integration = make_integration(session, world.clock, "Contoso Entra")
        resource = make_resource(session, world.clock, integration, name="Finance Readers")
        flow = make_flow(session, world.clock, integration, approver_policy=MANAGER_POLICY)
        pending = make_request(
            session, world.clock, people["requester"], [resource], flow_id=flow.id
        )
        for role, identity in people.items():
            row, cookie = start_session(
                session=session,
                clock=world.clock,
                settings=world.settings,
                identity=identity,
                claims=_claims(identity, role, world),
                user_agent="Matrix/1.0",
                old_cookie=None,
            )
            session.commit()
            signed_in[role] = (cookie, row.csrf_token, row.id)
    return signed_in, pending.id


def test_every_portal_route_is_declared(world: PortalWorld):
    assert portal_routes(world.app) == set(EXPECTED) | set(PUBLIC)


@pytest.mark.parametrize("route", sorted(EXPECTED))
def test_the_matrix(world: PortalWorld, route: tuple[str, str]):
    signed_in, request_id = _arrange(world)
    method, template = route
    cookie_name = "__Host-jitgate_session"
    anonymous = world.browser()
    path = template.format(request_id=request_id, session_id="no-such-session")
    if method == "GET":
        answer = anonymous.get(path)
        assert answer.status_code == 303, (route, answer.text)
        assert answer.headers["location"].startswith("/auth/sign-in"), route
    else:
        answer = anonymous.post(path, headers={"origin": world.base_url})
        assert answer.status_code in {401, 403}, (route, answer.status_code)
        assert "<html" in answer.text.lower()
    for role, (cookie, csrf, session_id) in signed_in.items():
        browser = world.browser()
        headers = {"cookie": f"{cookie_name}={cookie}", "origin": world.base_url}
        path = template.format(request_id=request_id, session_id=session_id)
        if method == "GET":
            answer = browser.get(path, headers=headers)
        else:
            answer = browser.post(path, headers=headers, data={"csrf_token": csrf})
        assert answer.status_code == EXPECTED[route][role], (route, role, answer.text[:300])


@pytest.mark.parametrize("route", sorted(PUBLIC))
def test_public_routes_answer_without_a_session(world: PortalWorld, route: tuple[str, str]):
    method, path = route
    answer = world.browser().request(method, path)
    assert answer.status_code == PUBLIC[route], (route, answer.text[:300])
