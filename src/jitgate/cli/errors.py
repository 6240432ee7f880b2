"""How the CLI reports failure: one readable line on stderr and a non-zero exit."""

from __future__ import annotations

from typing import Any


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
        super().__init__(f"{status} {title}: {detail}".rstrip(": "), code=1)
        self.status = status
        self.problem = problem
