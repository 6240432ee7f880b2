"""Authentication before the body: a request without a valid token is refused unread.

Over a real socket the server answers while the body is still being sent (or never comes);
through the test client an invalid token gets 401 where the body alone would get 413 or 422.
"""

from __future__ import annotations

import json
import socket
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from factories import bearer, make_connector, make_identity
from jitgate.core.ids import hash_token
from jitgate.server.app import create_app
from jitgate.server.identities.models import ApiToken
from jitgate.server.identities.service import authenticate_token, check_token
from live_server import read_response, serve, status_of

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlalchemy.orm import Session, sessionmaker

    from jitgate.core.clock import ManualClock
    from jitgate.core.settings import Settings

API = "/api/v1/requests"
CONNECTOR = "/api/connector/v1/heartbeat"
MIB = 1024 * 1024
#: Over both body limits (1 MiB, and 16 MiB for the connector API): 413 if it were read.
UNREADABLE = b"{" + b" " * (17 * MIB)
NO_API_TOKEN = "an API token is required (Authorization: Bearer …)"
NO_CONNECTOR_TOKEN = "a connector token is required (Authorization: Bearer jg_ct_…)"


def _app_client(
    settings: Settings, clock: ManualClock, sessions: sessionmaker[Session], **changes: Any
) -> TestClient:
    app = create_app(settings.model_copy(update=changes), clock=clock, sessions=sessions)
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def port(settings: Settings, clock: ManualClock, sessions: sessionmaker[Session]) -> Iterator[int]:
    """The API over the test's transaction, on a loopback port."""
    with serve(create_app(settings, clock=clock, sessions=sessions)) as server_port:
        yield server_port


def _read_answer(sock: socket.socket) -> tuple[int, dict[str, str], dict[str, Any]]:
    """Read the response sent while the request's body is still unfinished."""
    data = read_response(sock)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")[1:]
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return status_of(data), headers, json.loads(body)


def _post_unfinished(port: int, path: str, headers: bytes, framing: bytes, first: bytes) -> Any:
    """Send a request's head and the first bytes of its body, never the rest; read the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            b"POST " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\n" + headers + framing + b"\r\n\r\n" + first
        )
        return _read_answer(sock)


def _assert_refused(answer: Any, path: str, detail: str) -> None:
    status, headers, problem = answer
    assert status == 401
    assert headers["content-type"] == "application/problem+json"
    assert headers["www-authenticate"] == "Bearer"
    assert headers["connection"] == "close"
    assert problem["type"] == "https://jitgate.dev/problems/unauthenticated"
    assert problem["title"] == "Authentication required"
    assert problem["detail"] == detail
    assert problem["instance"] == path


@pytest.mark.parametrize("declared", [200 * MIB, 512 * 1024], ids=["over-limit", "in-limit"])
@pytest.mark.parametrize(
    ("path", "detail"), [(API, NO_API_TOKEN), (CONNECTOR, NO_CONNECTOR_TOKEN)], ids=["api", "conn"]
)
def test_no_token_is_refused_before_a_declared_body_arrives(port, path, detail, declared):
    framing = f"Content-Length: {declared}".encode()
    answer = _post_unfinished(port, path, b"", framing, b'{"instance_key": ')
    _assert_refused(answer, path, detail)


@pytest.mark.parametrize(
    ("path", "detail"), [(API, NO_API_TOKEN), (CONNECTOR, NO_CONNECTOR_TOKEN)], ids=["api", "conn"]
)
def test_no_token_is_refused_while_a_chunked_body_is_open(port, path, detail):
    first = b'{"instance_key": "vm-1", '
    chunk = f"{len(first):x}\r\n".encode() + first + b"\r\n"
    answer = _post_unfinished(port, path, b"", b"Transfer-Encoding: chunked", chunk)
    _assert_refused(answer, path, detail)


def test_tokens_that_are_not_valid_are_refused_before_the_body_arrives(port, session, clock):
    alice = make_identity(session, clock, "alice@contoso.example")
    user = bearer(session, clock, alice)["Authorization"].encode()
    _, connector = make_connector(session, clock)
    framing = b"Content-Length: 1000"
    for path, authorization, detail in (
        (API, b"Bearer jg_at_" + b"x" * 43, "the API token is not valid"),
        (API, b"Bearer " + connector.encode(), "the API token is not valid"),
        (CONNECTOR, user, "this endpoint accepts connector tokens (jg_ct_…) only"),
        (CONNECTOR, b"Bearer jg_ct_" + b"x" * 43, "the connector token is not valid"),
    ):
        headers = b"Authorization: " + authorization + b"\r\n"
        _assert_refused(_post_unfinished(port, path, headers, framing, b"{"), path, detail)


def _spoil(kind: str, session: Session, clock: ManualClock) -> dict[str, str]:
    """Authorization headers of one kind that is not a valid API token."""
    if kind == "missing":
        return {}
    if kind == "basic":
        return {"Authorization": "Basic YWxpY2U6c2VjcmV0"}
    if kind == "unknown":
        return {"Authorization": "Bearer jg_at_" + "x" * 43}
    if kind == "connector":
        return {"Authorization": "Bearer " + make_connector(session, clock)[1]}
    alice = make_identity(session, clock, "alice@contoso.example")
    headers = bearer(session, clock, alice)
    if kind == "revoked":
        secret = headers["Authorization"].removeprefix("Bearer ")
        row = session.scalars(select(ApiToken).where(ApiToken.token_hash == hash_token(secret)))
        row.one().revoked_at = clock.now()
    elif kind == "expired":
        clock.advance(timedelta(days=2))
    else:
        alice.account_enabled = False
    session.commit()
    return headers


@pytest.mark.parametrize(
    "kind", ["missing", "basic", "unknown", "connector", "revoked", "expired", "disabled"]
)
def test_an_api_token_that_is_not_valid_gets_401_not_413(settings, clock, sessions, session, kind):
    headers = _spoil(kind, session, clock)
    with _app_client(settings, clock, sessions) as client:
        unread = client.post(API, content=UNREADABLE, headers=headers)
        # Without a body the route's own dependency answers: the refusal must be the same.
        bodyless = client.post(API, headers=headers)
    assert unread.status_code == 401, unread.text
    assert bodyless.status_code == 401, bodyless.text
    assert unread.json() == bodyless.json()
    assert unread.headers["content-type"] == "application/problem+json"
    assert unread.headers["www-authenticate"] == bodyless.headers["www-authenticate"] == "Bearer"
    assert unread.headers["connection"] == "close"


@pytest.mark.parametrize("kind", ["missing", "basic", "user", "unknown"])
def test_the_connector_api_refuses_all_but_a_connector_token_unread(
    settings, clock, sessions, session, kind
):
    alice = make_identity(session, clock, "alice@contoso.example")
    headers = {
        "missing": {},
        "basic": {"Authorization": "Basic YWxpY2U6c2VjcmV0"},
        "user": bearer(session, clock, alice),
        "unknown": {"Authorization": "Bearer jg_ct_" + "x" * 43},
    }[kind]
    with _app_client(settings, clock, sessions) as client:
        unread = client.post(CONNECTOR, content=UNREADABLE, headers=headers)
        bodyless = client.post(CONNECTOR, headers=headers)
    assert unread.status_code == 401, unread.text
    assert unread.json() == bodyless.json()
    assert unread.headers["www-authenticate"] == "Bearer"
    assert unread.headers["connection"] == "close"


def test_valid_tokens_pass_and_their_bodies_are_still_limited(settings, clock, sessions, session):
    alice = make_identity(session, clock, "alice@contoso.example")
    headers = bearer(session, clock, alice)
    connector, token = make_connector(session, clock)
    connector_headers = {"Authorization": f"Bearer {token}"}
    with _app_client(settings, clock, sessions) as client:
        created = client.post("/api/v1/tokens", json={"name": "laptop"}, headers=headers)
        registered = client.post(
            "/api/connector/v1/instances",
            json={"instance_key": "vm-1", "version": "0.1.0"},
            headers=connector_headers,
        )
        too_large = client.post(API, content=UNREADABLE, headers=headers)
        connector_too_large = client.post(CONNECTOR, content=UNREADABLE, headers=connector_headers)
        not_json = client.post(CONNECTOR, content=b"{" * 1000, headers=connector_headers)
    assert created.status_code == 201, created.text
    assert registered.status_code == 200, registered.text
    assert registered.json()["connector_id"] == connector.id
    assert too_large.status_code == 413
    assert connector_too_large.status_code == 413
    assert not_json.status_code == 422
    secret = headers["Authorization"].removeprefix("Bearer ")
    row = session.scalars(select(ApiToken).where(ApiToken.token_hash == hash_token(secret))).one()
    session.refresh(row)
    assert row.last_used_at == clock.now()  # the route's dependency still records the use


def test_checking_a_token_records_nothing(session, clock):
    alice = make_identity(session, clock, "alice@contoso.example")
    secret = bearer(session, clock, alice)["Authorization"].removeprefix("Bearer ")
    assert check_token(session=session, clock=clock, token=secret).id == alice.id
    row = session.scalars(select(ApiToken).where(ApiToken.token_hash == hash_token(secret))).one()
    assert row.last_used_at is None
    assert not session.dirty
    authenticate_token(session=session, clock=clock, token=secret)
    assert row.last_used_at == clock.now()


def test_refusals_before_the_body_count_for_the_throttle(settings, clock, sessions, session):
    alice = make_identity(session, clock, "alice@contoso.example")
    good = bearer(session, clock, alice)
    wrong = {"Authorization": "Bearer jg_at_wrong"}
    with _app_client(
        settings, clock, sessions, auth_failure_limit=3, auth_failure_window_s=60, metrics_open=True
    ) as client:
        refused = [
            client.post(API, content=UNREADABLE).status_code,
            client.post(API, content=UNREADABLE, headers=wrong).status_code,
            client.post(CONNECTOR, content=UNREADABLE, headers=good).status_code,
        ]
        clock.advance(timedelta(seconds=10))
        throttled = client.post(API, content=UNREADABLE, headers=wrong)
        # A valid token is never throttled, even from the throttled address.
        allowed = client.post("/api/v1/tokens", json={"name": "laptop"}, headers=good)
        metrics = client.get("/metrics").text
    assert refused == [401, 401, 401]
    assert throttled.status_code == 429
    assert throttled.headers["content-type"] == "application/problem+json"
    assert throttled.headers["retry-after"] == "50"
    assert throttled.headers["connection"] == "close"
    assert allowed.status_code == 201, allowed.text
    assert "jitgate_auth_failures_total 4.0" in metrics
    assert "jitgate_auth_throttled_total 1.0" in metrics


def test_a_mounted_app_checks_tokens_first_too(settings, clock, sessions):
    app = create_app(settings, clock=clock, sessions=sessions)
    with TestClient(app, root_path="/jit", raise_server_exceptions=False) as client:
        refused = client.post("/jit" + API, content=UNREADABLE)
    assert refused.status_code == 401, refused.text
    assert refused.json()["detail"] == NO_API_TOKEN
