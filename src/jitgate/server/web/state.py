"""What the web app holds for its lifetime: settings, clock, database sessions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from jitgate.core.clock import Clock
    from jitgate.core.settings import Settings


@dataclass(slots=True)
class AppState:
    """Built by ``create_app``; reached through ``request.app.state.jitgate``."""

    settings: Settings
    clock: Clock
    sessions: sessionmaker[Session]
