"""A request that loses a deadlock (or a serialisation failure) is "busy": 503, never a 500."""

from __future__ import annotations

import psycopg.errors
import pytest
from sqlalchemy.exc import OperationalError

from factories import bearer, make_identity
from jitgate.server.requests import operations
from jitgate.server.web.problems import PROBLEM_JSON


@pytest.mark.parametrize(
    "error",
    [
        psycopg.errors.DeadlockDetected("deadlock detected"),
        psycopg.errors.SerializationFailure("could not serialize access"),
    ],
    ids=["40P01", "40001"],
)
def test_submit_losing_a_lock_race_is_a_503_problem(client, session, clock, monkeypatch, error):
    alice = make_identity(session, clock, "alice@contoso.example")
    headers = bearer(session, clock, alice)

    def lose(**_kwargs: object) -> None:
        raise OperationalError("UPDATE access_request", {}, error)

    monkeypatch.setattr(operations, "submit_request", lose)
    response = client.post(
        "/api/v1/requests",
        json={"resource_ids": ["00000000-0000-0000-0000-000000000000"], "permissions": ["member"]},
        headers=headers,
    )
    assert response.status_code == 503
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert response.headers["retry-after"] == "1"
    assert response.json()["type"].endswith("/database-busy")
