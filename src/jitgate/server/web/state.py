"""What the web app holds for its lifetime: settings, clock, database sessions, the token check.

The web plumbing sits below every domain area: what it needs of one (the API token check) is
passed in here by ``jitgate.server.app``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from jitgate.core.clock import Clock
    from jitgate.core.settings import Settings
    from jitgate.server.actor import Actor

#: Where the API routers are mounted (``jitgate.server.routes``).
API_PREFIX = "/api/v1"


class ApiTokens(Protocol):
    """Check bearer API tokens; each method raises ``Unauthenticated`` for a token not valid."""

    def authenticate(self, *, session: Session, clock: Clock, token: str) -> Actor:
        """Return the actor behind ``token``, its use recorded in ``session``."""
        ...

    def check(self, *, session: Session, clock: Clock, token: str) -> Actor:
        """Return the actor behind ``token``; only reads."""
        ...

    def record_use(self, *, session: Session, clock: Clock, token: str) -> None:
        """Record a use of ``token`` now."""
        ...


@dataclass(slots=True)
class AppState:
    """Built by ``create_app``; reached through ``request.app.state.jitgate``."""

    settings: Settings
    clock: Clock
    sessions: sessionmaker[Session]
    tokens: ApiTokens
