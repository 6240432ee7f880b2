"""`jitgate server` logs JSON lines only: uvicorn's own loggers go through jitgate's handler."""

from __future__ import annotations

import json
import logging

import pytest
import uvicorn
from fastapi import FastAPI

from jitgate.cli.server_cmd import server_options
from jitgate.core.logging import UVICORN_LOGGERS, configure_logging
from jitgate.core.settings import Settings

NAMES = ("jitgate", "uvicorn", *UVICORN_LOGGERS)


@pytest.fixture
def restore_logging():
    kept = {
        name: (logger.handlers[:], logger.level, logger.propagate)
        for name, logger in ((n, logging.getLogger(n)) for n in NAMES)
    }
    yield
    for name, (handlers, level, propagate) in kept.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate


def _emit_like_uvicorn() -> None:
    error = logging.getLogger("uvicorn.error")
    error.warning("Invalid HTTP request received.")
    error.warning(
        "Started server process [%d]", 42, extra={"color_message": "Started \x1b[36m%d\x1b[0m"}
    )
    try:
        raise RuntimeError("boom")  # noqa: TRY301 - a traceback to log
    except RuntimeError:
        error.exception("Exception in ASGI application\n")
    logging.getLogger("uvicorn.access").warning(
        '%s - "%s %s HTTP/%s" %d', "127.0.0.1:50000", "GET", "/api/v1", "1.1", 200
    )


def test_uvicorn_lines_are_json_after_the_server_log_setup(capsys, restore_logging):
    configure_logging("INFO", json_lines=True)
    # Building the config is where uvicorn would install its own text handlers.
    uvicorn.Config(FastAPI(), **server_options(settings=Settings(), host="127.0.0.1", port=8080))
    _emit_like_uvicorn()
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 4, lines
    entries = [json.loads(line) for line in lines]
    assert [e["logger"] for e in entries] == [
        "uvicorn.error",
        "uvicorn.error",
        "uvicorn.error",
        "uvicorn.access",
    ]
    assert entries[1]["message"] == "Started server process [42]"
    assert "color_message" not in entries[1]
    assert "RuntimeError: boom" in entries[2]["exception"]
    assert entries[3]["message"] == '127.0.0.1:50000 - "GET /api/v1 HTTP/1.1" 200'


def test_uvicorn_default_config_would_have_printed_text(capsys, restore_logging):
    """The check above is not vacuous: uvicorn's own log config writes plain text lines."""
    configure_logging("INFO", json_lines=True)
    uvicorn.Config(FastAPI(), log_level="warning")
    logging.getLogger("uvicorn.error").warning("Invalid HTTP request received.")
    err = capsys.readouterr().err
    assert "Invalid HTTP request received." in err
    assert not err.lstrip().startswith("{")
