r"""Request body limits and the NUL check, applied while the body streams in.

Invariants: the body is never buffered here; bytes are counted as they pass through
``receive``. A declared Content-Length over the limit is refused before anything is
read; a chunked body is refused (413) as soon as the count passes the limit and no
further chunk is read. A NUL (raw or a ``\u0000`` escape, even split across chunks)
is refused with 422, as is ``%00`` in the path or query.
"""

from __future__ import annotations

import contextlib
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

PROBLEM_JSON = b"application/problem+json"
NUL_MARKERS = (b"\\u0000", b"\x00")
_TAIL = len(b"\\u0000") - 1
CONNECTOR_PREFIX = "/api/connector/v1"


class _BodyRefusedError(Exception):
    """The streamed body broke a rule; carries the problem to answer."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def _problem(status: int, path: str, limit: int) -> dict[str, Any]:
    if status == 413:  # noqa: PLR2004
        return {
            "type": "https://jitgate.dev/problems/payload-too-large",
            "title": "Payload too large",
            "status": 413,
            "detail": f"the request body is larger than {limit} bytes",
            "instance": path,
        }
    return {
        "type": "https://jitgate.dev/problems/validation-failed",
        "title": "Validation failed",
        "status": 422,
        "detail": "the request contains a NUL character, which no field accepts",
        "instance": path,
    }


async def _send_problem(send: Send, status: int, path: str, limit: int) -> None:
    body = json.dumps(_problem(status, path, limit)).encode()
    headers = [(b"content-type", PROBLEM_JSON), (b"content-length", str(len(body)).encode())]
    if status == 413:  # noqa: PLR2004
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _inspect(state: dict[str, Any], chunk: bytes, limit: int) -> None:
    """Count one chunk and look for NUL, keeping a tail for escapes split across chunks."""
    state["seen"] += len(chunk)
    window = state["tail"] + chunk
    state["tail"] = window[-_TAIL:]
    if state["seen"] > limit:
        state["refused"] = 413
    elif any(marker in window for marker in NUL_MARKERS):
        state["refused"] = 422


class BodyLimits:
    """Pure ASGI middleware: size limit and NUL check on the streaming body."""

    def __init__(self, app: ASGIApp, *, default_limit: int, connector_limit: int) -> None:
        """Wrap ``app`` with the two limits."""
        self.app = app
        self.default_limit = default_limit
        self.connector_limit = connector_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the path, then stream the body through the counting ``receive``."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        limit = self.connector_limit if path.startswith(CONNECTOR_PREFIX) else self.default_limit
        raw_path = (scope.get("raw_path") or path.encode()).lower()
        if b"%00" in raw_path or b"%00" in scope.get("query_string", b"").lower():
            await _send_problem(send, 422, path, limit)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _send_problem(send, 413, path, limit)
            return
        await self._stream(scope, receive, send, path, limit)

    async def _stream(
        self, scope: Scope, receive: Receive, send: Send, path: str, limit: int
    ) -> None:
        state: dict[str, Any] = {"seen": 0, "tail": b"", "refused": None, "started": False}

        async def counted() -> Message:
            if state["refused"] is not None:
                raise _BodyRefusedError(state["refused"])
            message = await receive()
            if message["type"] == "http.request":
                _inspect(state, message.get("body", b""), limit)
                if state["refused"] is not None:
                    raise _BodyRefusedError(state["refused"])
            return message

        async def guarded(message: Message) -> None:
            if state["refused"] is not None:
                return
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        with contextlib.suppress(_BodyRefusedError):
            await self.app(scope, counted, guarded)
        if state["refused"] is not None and not state["started"]:
            await _send_problem(send, state["refused"], path, limit)
