"""Structured JSON logs with a request id carried in a context variable.

uvicorn's own loggers (``uvicorn.error``, ``uvicorn.access``) go through the same handler, so
every line has one format: a server started with ``uvicorn.Config(log_config=None)`` keeps
them (uvicorn's default config would replace them with its own text lines).
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "jitgate_request_id", default=None
)

# ``color_message`` is uvicorn's copy of a message with terminal colours.
_RESERVED = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "color_message"}
#: The web server's loggers, routed through jitgate's handler (``uvicorn.*`` propagate to it).
UVICORN_LOGGERS = ("uvicorn.error", "uvicorn.access", "uvicorn.asgi")


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request id and extras."""

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as a JSON line."""
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = request_id_var.get()
        if rid:
            entry["request_id"] = rid
        entry.update(
            (key, value)
            for key, value in record.__dict__.items()
            if key not in _RESERVED and not key.startswith("_")
        )
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class PlainFormatter(logging.Formatter):
    """Human-readable lines: time, level, message, then the extras as key=value."""

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as one line."""
        extras = " ".join(
            f"{key}={value}"
            for key, value in record.__dict__.items()
            if key not in _RESERVED and not key.startswith("_")
        )
        stamp = datetime.fromtimestamp(record.created, UTC).strftime("%H:%M:%S")
        line = f"{stamp} {record.levelname:<7} {record.getMessage()} {extras}".rstrip()
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure_logging(level: str = "INFO", *, json_lines: bool = True) -> None:
    """Send jitgate's logs to stderr, as JSON lines unless told otherwise."""
    handler = logging.StreamHandler(sys.stderr)
    if json_lines:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(PlainFormatter())
    root = logging.getLogger("jitgate")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    web = logging.getLogger("uvicorn")
    web.handlers[:] = [handler]
    web.setLevel(level)
    web.propagate = False
    for name in UVICORN_LOGGERS:
        child = logging.getLogger(name)
        child.handlers.clear()
        child.propagate = True
