"""Maps ``METHOD /v1.0/a/b/c`` to a handler by path segments, with Graph's routing errors.

A pattern segment ``{name}`` matches any segment; literal segments win over parameters. A path
that matches some route but not the method is 405; a path that matches nothing is 400
``BadRequest`` naming the first segment no route knows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from jitgate.emulator.http import GraphError

if TYPE_CHECKING:
    from jitgate.emulator.graph_common import Call
    from jitgate.emulator.http import Response

Handler = Callable[["Call"], "Response"]
METHOD_NOT_ALLOWED = "Specified HTTP method is not allowed for the request target."


@dataclass(frozen=True)
class Route:
    """One route: method, pattern segments, handler and a cost label for throttling."""

    method: str
    pattern: tuple[str, ...]
    handler: Handler
    literals: int
    cost_key: str


class Router:
    """A table of routes grouped by segment count."""

    def __init__(self) -> None:
        self._by_len: dict[int, list[Route]] = {}

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        """Register ``handler`` for ``method`` on ``pattern`` (``a/{id}/b``)."""
        parts = tuple(pattern.strip("/").split("/"))
        literals = sum(1 for p in parts if not p.startswith("{"))
        route = Route(method, parts, handler, literals, pattern.strip("/"))
        routes = self._by_len.setdefault(len(parts), [])
        routes.append(route)
        routes.sort(key=lambda r: -r.literals)

    def routes(self) -> list[Route]:
        """Return every route (for docs and tests)."""
        return [route for routes in self._by_len.values() for route in routes]

    def match(self, method: str, segments: list[str]) -> tuple[Route, dict[str, str]]:
        """Return the route and its parameters, or raise the Graph routing error."""
        path_matched = False
        for route in self._by_len.get(len(segments), ()):
            params = _match(route.pattern, segments)
            if params is None:
                continue
            if route.method == method:
                return route, params
            path_matched = True
        if path_matched:
            raise GraphError(405, "Request_BadRequest", METHOD_NOT_ALLOWED)
        raise GraphError(
            400,
            "BadRequest",
            f"Resource not found for the segment '{self._bad_segment(segments)}'.",
        )

    def _bad_segment(self, segments: list[str]) -> str:
        for depth in range(len(segments)):
            prefix = segments[: depth + 1]
            known = any(
                _match(route.pattern[: depth + 1], prefix) is not None
                for length, routes in self._by_len.items()
                if length > depth
                for route in routes
            )
            if not known:
                return segments[depth]
        return segments[-1] if segments else ""


def _match(pattern: tuple[str, ...], segments: list[str]) -> dict[str, str] | None:
    params: dict[str, str] = {}
    for want, have in zip(pattern, segments, strict=True):
        if want.startswith("{"):
            params[want[1:-1]] = have
        elif want != have:
            return None
    return params
