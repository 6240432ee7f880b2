"""How the CLI reports failure: one readable line on stderr and a non-zero exit."""

from __future__ import annotations

from typing import Any

UNAUTHORIZED = 401


class CliError(Exception):
    """A failure to report as one line; ``code`` is the exit status."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class ApiError(CliError):
    """The server answered with a problem document."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        title = problem.get("title") or "error"
        detail = problem.get("detail") or ""
        message = f"{status} {title}: {detail}".rstrip(": ")
        if status == UNAUTHORIZED:
            message = (
                f"{message}: the saved token is no longer valid (revoked, expired, or from an "
                "earlier `jitgate up`); log in again with `jitgate login --url URL --token TOKEN`"
            )
        super().__init__(message, code=1)
        self.status = status
        self.problem = problem
