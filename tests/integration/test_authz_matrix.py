"""Authorisation matrix: every API route x every role (anonymous, user, approver, auditor, admin).

Each route gets a fresh, rolled-back world, and each role's call runs in a savepoint rolled
back after it, so every role meets the world as arranged: a requester (``user``) with a pending
request and an approved one, the pending request's approver (``approver``, the resource owner),
an auditor and an admin. A role the matrix allows must succeed (2xx, with a valid body); a role
it refuses must get 401 (anonymous), or 404 where the object is hidden from that role
(``HIDDEN``, the same answer as for a missing id), else 403.
The first test fails when a route is added without a row here, so the matrix cannot fall behind
the API.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select
from starlette.routing import Mount, Route

from factories import (
    actor_for,
    bearer,
    make_connector,
    make_flow,
    make_identity,
    make_integration,
    make_resource,
)
from factories import make_request as submit
from jitgate.server.actor import Actor, UserRole
from jitgate.server.app import create_app
from jitgate.server.grants.keys import MembershipKey
from jitgate.server.grants.standing import record_standing
from jitgate.server.identities.models import ApiToken
from jitgate.server.requests.operations import approve_request
from request_world import make_world

ANON, USER, APPROVER, AUDITOR, ADMIN = "anonymous", "user", "approver", "auditor", "admin"
ROLES = [ANON, USER, APPROVER, AUDITOR, ADMIN]
SIGNED_IN = frozenset({USER, APPROVER, AUDITOR, ADMIN})
READERS = frozenset({AUDITOR, ADMIN})
ADMINS = frozenset({ADMIN})
NOBODY: frozenset[str] = frozenset()
ANYONE = frozenset(ROLES)

# (method, path template) -> roles that may use it. Path ids are filled from the world below.
MATRIX: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/api/v1"): ANYONE,
    ("GET", "/api/v1/me"): SIGNED_IN,
    ("GET", "/api/v1/identities"): SIGNED_IN,
    ("POST", "/api/v1/identities"): ADMINS,
    ("GET", "/api/v1/identities/{ref}"): SIGNED_IN,
    ("PUT", "/api/v1/identities/{identity_id}/role"): ADMINS,
    ("GET", "/api/v1/tokens"): SIGNED_IN,
    ("POST", "/api/v1/tokens"): SIGNED_IN,
    ("DELETE", "/api/v1/tokens/{token_id}"): frozenset({USER, ADMIN}),
    ("GET", "/api/v1/audit/events"): READERS,
    ("GET", "/api/v1/audit/export"): READERS,
    ("GET", "/api/v1/audit/verify"): READERS,
    ("POST", "/api/v1/audit/verify"): READERS,
    ("GET", "/api/v1/audit/checkpoints"): READERS,
    ("GET", "/api/v1/catalog"): SIGNED_IN,
    ("GET", "/api/v1/catalog/{type_id}"): SIGNED_IN,
    ("GET", "/api/v1/connectors"): READERS,
    ("POST", "/api/v1/connectors"): ADMINS,
    ("GET", "/api/v1/connectors/{connector_id}"): READERS,
    ("DELETE", "/api/v1/connectors/{connector_id}"): ADMINS,
    ("POST", "/api/v1/connectors/{connector_id}/token:rotate"): ADMINS,
    ("GET", "/api/v1/integrations"): SIGNED_IN,
    ("POST", "/api/v1/integrations"): ADMINS,
    ("GET", "/api/v1/integrations/{integration_id}"): SIGNED_IN,
    ("PATCH", "/api/v1/integrations/{integration_id}"): ADMINS,
    ("DELETE", "/api/v1/integrations/{integration_id}"): ADMINS,
    ("POST", "/api/v1/integrations/{integration_id}/refresh"): ADMINS,
    ("GET", "/api/v1/integrations/{integration_id}/as-code"): READERS,
    ("GET", "/api/v1/integrations/{integration_id}/resources"): SIGNED_IN,
    ("GET", "/api/v1/flows"): READERS,
    ("POST", "/api/v1/flows"): ADMINS,
    ("GET", "/api/v1/flows/available"): SIGNED_IN,
    ("GET", "/api/v1/flows/{flow_id}"): READERS,
    ("PUT", "/api/v1/flows/{flow_id}"): ADMINS,
    ("DELETE", "/api/v1/flows/{flow_id}"): ADMINS,
    ("POST", "/api/v1/requests"): SIGNED_IN,
    ("GET", "/api/v1/requests"): SIGNED_IN,
    ("POST", "/api/v1/requests/dry-run"): SIGNED_IN,
    ("GET", "/api/v1/requests/{request_id}"): SIGNED_IN,
    ("POST", "/api/v1/requests/{request_id}/approve"): frozenset({APPROVER}),
    ("POST", "/api/v1/requests/{request_id}/reject"): frozenset({APPROVER}),
    ("POST", "/api/v1/requests/{request_id}/cancel"): frozenset({USER}),
    ("POST", "/api/v1/requests/{request_id}/extend"): frozenset({USER, ADMIN}),
    ("POST", "/api/v1/requests/{request_id}/revoke"): frozenset({USER, ADMIN}),
    ("GET", "/api/v1/grants"): SIGNED_IN,
    ("GET", "/api/v1/standing-memberships"): READERS,
    ("PATCH", "/api/v1/standing-memberships/{standing_id}"): ADMINS,
    # The connector endpoint takes connector tokens only: every person's token is refused.
    ("POST", "/api/connector/v1/instances"): NOBODY,
    ("POST", "/api/connector/v1/jobs:claim"): NOBODY,
    ("POST", "/api/connector/v1/jobs:report"): NOBODY,
    ("POST", "/api/connector/v1/jobs/{job_id}/result"): NOBODY,
    ("POST", "/api/connector/v1/jobs/{job_id}/items"): NOBODY,
    ("POST", "/api/connector/v1/jobs/{job_id}/release"): NOBODY,
    ("POST", "/api/connector/v1/heartbeat"): NOBODY,
    ("POST", "/api/connector/v1/self-check"): NOBODY,
    # Takes an Entra id token of the CLI app, never a jitgate token (portal.cli_sign_in).
    ("POST", "/api/v1/auth/token"): NOBODY,
}
#: Routes authenticated by another credential than a jitgate API token: every token is a 401.
OTHER_CREDENTIAL = {("POST", "/api/v1/auth/token")}

# Routes outside the OpenAPI document, each answered to anyone (no token needed) with this
# status; the metrics scrape has its own token (tests/integration/server/app/test_metrics.py).
PAGES: dict[tuple[str, str], int] = {
    # The portal ignores API tokens: every role is anonymous there (tests/integration/server/
    # portal cover its pages by role), a GET is sent to sign in, a POST refused.
    ("GET", "/"): 303,
    ("GET", "/request"): 303,
    ("POST", "/request"): 401,
    ("GET", "/request/access"): 303,
    ("GET", "/requests/{request_id}"): 303,
    # Sign-in is not configured in these tests: its pages say so (503); sign-out needs a session.
    ("GET", "/auth/sign-in"): 503,
    ("GET", "/auth/callback"): 503,
    ("POST", "/auth/sign-out"): 401,
    ("GET", "/auth/signed-out"): 200,
    ("GET", "/auth/cli-config"): 404,  # the CLI's browser sign-in is not configured here
    ("GET", "/sessions"): 303,
    ("POST", "/sessions/{session_id}/revoke"): 401,
    ("GET", "/static/portal.css"): 200,
    ("GET", "/api/v1/docs"): 200,
    ("GET", "/api/v1/redoc"): 200,
    ("GET", "/api/v1/openapi.json"): 200,
    ("GET", "/api/v1/docs/assets/swagger-init.js"): 200,
    ("GET", "/healthz"): 200,
}
OWN_TOKEN = {("GET", "/metrics")}

# The rule for ids: an object a role may not read answers 404, exactly like a missing id, so
# its existence does not leak; an action a role may not take on an object it can read, or on
# a route its role may not use at all, answers 403. These are the (route, role) pairs that
# meet an object hidden from them; every other refusal of a signed-in role must be 403.
HIDDEN: dict[tuple[str, str], frozenset[str]] = {
    # The approved request (payroll) is alice's, approved by the admin: carol cannot read it.
    ("POST", "/api/v1/requests/{request_id}/extend"): frozenset({APPROVER}),
    ("POST", "/api/v1/requests/{request_id}/revoke"): frozenset({APPROVER}),
    # Alice's token: only she (and admins) may see it.
    ("DELETE", "/api/v1/tokens/{token_id}"): frozenset({APPROVER, AUDITOR}),
}
MISSING_ID = "ffffffff-ffff-4fff-8fff-ffffffffffff"

EXTENSION = {"max_extensions": 2, "extension_duration_min": 30}
OWNER_POLICY = {"approver_groups": [{"approvers": [{"type": "resource_owner"}]}]}
USES_APPROVED_REQUEST = {
    "/api/v1/requests/{request_id}/extend",
    "/api/v1/requests/{request_id}/revoke",
}


@dataclass
class Cell:
    """Everything one call needs: ids for the path, bodies, and each role's headers."""

    ids: dict[str, str]
    bodies: dict[tuple[str, str], Any]
    headers: dict[str, dict[str, str]]


def _arrange(session, clock) -> Cell:
    world = make_world(session, clock)
    auditor = make_identity(session, clock, "auditor@contoso.example", role=UserRole.AUDITOR)
    audit_group = make_resource(session, clock, world.integration, name="Audit readers")
    flow = make_flow(
        session, clock, world.integration, approver_policy=OWNER_POLICY, settings=EXTENSION
    )
    pending = submit(session, clock, world.alice, [world.finance], duration_min=60)
    approved = submit(session, clock, world.alice, [world.payroll], duration_min=60)
    # Payroll has no owner, so the integration owner (the admin) approves it.
    approve_request(
        session=session,
        clock=clock,
        actor=actor_for(world.admin),
        request_id=approved.id,
        reason="matrix",
    )
    session.commit()
    spare_connector, _ = make_connector(session, clock, name="spare")
    spare = make_integration(session, clock, name="Spare Entra", connector=spare_connector)
    unused_connector, _ = make_connector(session, clock, name="unused")
    standing = record_standing(
        session=session,
        clock=clock,
        actor=Actor.system(),
        key=MembershipKey(
            world.integration.id,
            world.finance.id,
            "member",
            "/",
            "0b0b0b0b-0000-4000-8000-000000000b0b",
        ),
        source="drift",
    )
    headers = {
        ANON: {},
        USER: bearer(session, clock, world.alice),
        APPROVER: bearer(session, clock, world.carol),
        AUDITOR: bearer(session, clock, auditor),
        ADMIN: bearer(session, clock, world.admin),
    }
    alice_token = session.scalars(
        select(ApiToken).where(ApiToken.identity_id == world.alice.id)
    ).first()
    flow_body = {
        "name": "Second flow",
        "targets": [
            {
                "integration_id": world.integration.id,
                "resource_type": "entra-group",
                "permissions": ["member"],
            }
        ],
        "settings": {"justification_required": False},
    }
    request_body = {"resource_ids": [audit_group.id], "permissions": ["member"], "duration_min": 30}
    ids = {
        "ref": world.bob.upn,
        "identity_id": world.bob.id,
        "token_id": alice_token.id,
        "type_id": "entra-id",
        "connector_id": unused_connector.id,
        "integration_id": spare.id,
        "flow_id": flow.id,
        "request_id": pending.id,
        "approved_request_id": approved.id,
        "job_id": "00000000-0000-0000-0000-000000000000",
        "standing_id": standing.id,
    }
    bodies = {
        ("POST", "/api/v1/identities"): {"upn": "new@contoso.example", "display_name": "New"},
        ("PUT", "/api/v1/identities/{identity_id}/role"): {"role": "auditor"},
        ("POST", "/api/v1/tokens"): {"name": "matrix"},
        ("POST", "/api/v1/connectors"): {"name": "another"},
        ("POST", "/api/v1/integrations"): {
            "name": "Third Entra",
            "connector_id": spare_connector.id,
            "resource_types": ["entra-group"],
        },
        ("PATCH", "/api/v1/integrations/{integration_id}"): {"custom_access_details": "Hi"},
        ("POST", "/api/v1/flows"): flow_body,
        ("PUT", "/api/v1/flows/{flow_id}"): {**flow_body, "name": "Renamed flow"},
        ("POST", "/api/v1/requests"): request_body,
        ("POST", "/api/v1/requests/dry-run"): request_body,
        ("POST", "/api/v1/requests/{request_id}/approve"): {"reason": "ok"},
        ("POST", "/api/v1/requests/{request_id}/reject"): {"reason": "no"},
        ("POST", "/api/v1/requests/{request_id}/revoke"): {"reason": "done"},
        ("PATCH", "/api/v1/standing-memberships/{standing_id}"): {"allowed": True},
        ("POST", "/api/v1/audit/verify"): {"checkpoints": [{"seq": 1}]},
    }
    return Cell(ids=ids, bodies=bodies, headers=headers)


def _path(template: str, ids: dict[str, str]) -> str:
    values = dict(ids)
    if template in USES_APPROVED_REQUEST:
        values["request_id"] = ids["approved_request_id"]
    return template.format(**values)


def _routes(app) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }


def _unlisted(app) -> tuple[set[tuple[str, str]], list[str]]:
    """The routes outside the OpenAPI document (HEAD aside), and the mounts' paths."""
    routes: set[tuple[str, str]] = set()
    mounts: list[str] = []
    for route in app.router.routes:
        if isinstance(route, Mount):
            mounts.append(route.path)
        elif isinstance(route, Route) and not route.include_in_schema:
            routes |= {(method, route.path) for method in route.methods or () if method != "HEAD"}
    return routes, mounts


def test_matrix_covers_every_route_and_no_other(settings, clock, sessions):
    app = create_app(settings, clock=clock, sessions=sessions)
    routes = _routes(app)
    assert routes - MATRIX.keys() == set(), "routes without a row in the matrix"
    assert MATRIX.keys() - routes == set(), "rows for routes that no longer exist"
    unlisted, mounts = _unlisted(app)
    listed = PAGES.keys() | OWN_TOKEN
    assert unlisted - listed == set(), "routes without a row in PAGES"
    for mount in mounts:
        assert any(path.startswith(mount + "/") for _, path in PAGES), f"{mount}: no row"
    gone = {
        key
        for key in listed - unlisted
        if not any(key[1].startswith(mount + "/") for mount in mounts)
    }
    assert gone == set(), "rows for routes that no longer exist"


@pytest.mark.parametrize(("method", "path"), sorted(PAGES))
def test_a_public_page_by_role(client, session, clock, *, method, path):
    cell = _arrange(session, clock)
    for role in ROLES:
        response = client.request(method, path, headers=cell.headers[role], follow_redirects=False)
        assert response.status_code == PAGES[(method, path)], f"{role}: {response.status_code}"


@pytest.mark.parametrize(("method", "template"), sorted(MATRIX))
def test_route_by_role(client, connection, session, clock, *, method, template):
    cell = _arrange(session, clock)
    body = cell.bodies.get((method, template))
    path = _path(template, cell.ids)
    for role in ROLES:
        # Each role's call runs in a savepoint rolled back afterwards: every role meets the
        # world as arranged, whatever the previous role's call changed.
        savepoint = connection.begin_nested()
        try:
            response = client.request(
                method,
                path,
                headers=cell.headers[role],
                json=body
                if body is not None
                else ({} if method in {"POST", "PUT", "PATCH"} else None),
            )
        finally:
            savepoint.rollback()
        _check(method, template, role, response)


def _check(method: str, template: str, role: str, response: Any) -> None:
    allowed = role in MATRIX[(method, template)]
    where = f"{role}: {response.status_code} {response.text}"
    if role == ANON and not allowed:
        assert response.status_code == 401, where
    elif allowed:
        assert 200 <= response.status_code < 300, where
    elif template.startswith("/api/connector/") or (method, template) in OTHER_CREDENTIAL:
        assert response.status_code == 401, where
    elif role in HIDDEN.get((method, template), NOBODY):
        assert response.status_code == 404, where
    else:
        assert response.status_code == 403, where


@pytest.mark.parametrize(
    ("method", "template", "role"),
    sorted((m, t, r) for (m, t), roles in HIDDEN.items() for r in roles),
)
def test_hidden_object_answers_like_a_missing_one(
    client, session, clock, *, method, template, role
):
    cell = _arrange(session, clock)
    body = cell.bodies.get((method, template))
    hidden = client.request(
        method, _path(template, cell.ids), headers=cell.headers[role], json=body
    )
    missing_ids = dict.fromkeys(cell.ids, MISSING_ID)
    missing = client.request(
        method, _path(template, missing_ids), headers=cell.headers[role], json=body
    )
    assert hidden.status_code == missing.status_code == 404, (hidden.text, missing.text)
    assert hidden.json()["type"] == missing.json()["type"]
    assert hidden.json()["title"] == missing.json()["title"]
