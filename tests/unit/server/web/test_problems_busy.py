"""A lock wait that timed out is a 503 problem with Retry-After, never a 500."""

from __future__ import annotations

import sqlite3

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

    @app.get("/broken")
    def broken() -> None:
        raise OperationalError("SELECT x", {}, sqlite3.OperationalError("no such table: x"))

    return app


def test_a_database_lock_timeout_is_a_503_problem_with_retry_after() -> None:
    with TestClient(_app(), raise_server_exceptions=False) as client:
        response = client.get("/locked")
    assert response.status_code == 503
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert response.headers["retry-after"] == "1"
    body = response.json()
    assert body["status"] == 503
    assert body["type"].endswith("/database-busy")
    assert "locked" not in body["detail"]  # no driver text leaks


def test_other_operational_errors_stay_internal_errors() -> None:
    with TestClient(_app(), raise_server_exceptions=False) as client:
        response = client.get("/broken")
    assert response.status_code == 500
    assert response.json()["type"].endswith("/internal-error")
