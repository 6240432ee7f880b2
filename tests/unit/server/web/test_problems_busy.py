"""A lost lock race (a lock wait that timed out, a deadlock, a serialisation failure) is a 503
problem with Retry-After, never a 500."""

from __future__ import annotations

import sqlite3

import psycopg.errors
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from jitgate.server.web.problems import PROBLEM_JSON, install_problem_handlers


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/locked")
    def locked() -> None:
        raise OperationalError("UPDATE x", {}, sqlite3.OperationalError("database is locked"))

    @app.get("/deadlock")
    def deadlock() -> None:
        raise OperationalError("UPDATE x", {}, psycopg.errors.DeadlockDetected("deadlock detected"))

    @app.get("/serialization")
    def serialization() -> None:
        raise OperationalError(
            "UPDATE x", {}, psycopg.errors.SerializationFailure("could not serialize access")
        )

    @app.get("/broken")
    def broken() -> None:
        raise OperationalError("SELECT x", {}, sqlite3.OperationalError("no such table: x"))

    return app


@pytest.mark.parametrize("path", ["/locked", "/deadlock", "/serialization"])
def test_a_lost_lock_race_is_a_503_problem_with_retry_after(path: str) -> None:
    with TestClient(_app(), raise_server_exceptions=False) as client:
        response = client.get(path)
    assert response.status_code == 503
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert response.headers["retry-after"] == "1"
    body = response.json()
    assert body["status"] == 503
    assert body["type"].endswith("/database-busy")
    assert not {"locked", "deadlock", "serialize"} & set(body["detail"].split())  # no driver text


def test_other_operational_errors_stay_internal_errors() -> None:
    with TestClient(_app(), raise_server_exceptions=False) as client:
        response = client.get("/broken")
    assert response.status_code == 500
    assert response.json()["type"].endswith("/internal-error")
