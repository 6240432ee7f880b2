"""What the home page shows each person, read through the API's own read operations.

Everyone is a person who may request: their live access (with the time left) and their pending
requests; requests waiting for their decision when there are any (approval rights come from
access flows, not from a role). Auditors also get the latest audit events; admins the health of
connectors and integrations. Nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from jitgate.server.actor import UserRole
from jitgate.server.audit.service import AuditFilter, last_seq, list_events
from jitgate.server.portal.health import Health, read_health
from jitgate.server.requests.read import read_requests
from jitgate.server.requests.service import list_requests
from jitgate.server.requests.states import LIVE, RequestStatus

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.orm import Session

    from jitgate.core.clock import Clock
    from jitgate.server.audit.models import AuditEvent
    from jitgate.server.portal.user import PortalUser
    from jitgate.server.requests.schemas import AccessRequestRead

#: How many rows each home section shows at most.
SECTION_LIMIT = 20


@dataclass(frozen=True, slots=True)
class Home:
    """The home page's sections (``health``: admins; ``audit_events``: auditors)."""

    now: datetime
    active: list[AccessRequestRead]
    pending: list[AccessRequestRead]
    awaiting: list[AccessRequestRead]
    audit_events: list[AuditEvent] | None = None
    health: Health | None = None
    awaiting_total: int = 0


def _requests(
    session: Session,
    user: PortalUser,
    now: datetime,
    *,
    scope: str,
    statuses: list[RequestStatus],
) -> tuple[list[AccessRequestRead], int]:
    contexts, total = list_requests(
        session=session,
        actor=user.actor(),
        scope=scope,
        statuses=statuses,
        now=now,
        limit=SECTION_LIMIT,
        offset=0,
    )
    return read_requests(session=session, contexts=contexts, now=now), total


def latest_events(*, session: Session, limit: int = SECTION_LIMIT) -> list[AuditEvent]:
    """The newest ``limit`` audit events, newest first."""
    after = max(0, last_seq(session=session) - limit)
    events = list_events(session=session, flt=AuditFilter(after_seq=after), limit=limit)
    return events[::-1]


def read_home(*, session: Session, clock: Clock, user: PortalUser) -> Home:
    """Read the sections of ``user``'s home page."""
    now = clock.now()
    active, _ = _requests(session, user, now, scope="mine", statuses=sorted(LIVE))
    pending, _ = _requests(session, user, now, scope="mine", statuses=[RequestStatus.PENDING])
    awaiting, awaiting_total = _requests(session, user, now, scope="approvals", statuses=[])
    return Home(
        now=now,
        active=active,
        pending=pending,
        awaiting=awaiting,
        awaiting_total=awaiting_total,
        audit_events=latest_events(session=session) if user.role is UserRole.AUDITOR else None,
        health=read_health(session=session, clock=clock) if user.is_admin else None,
    )
