"""The health admins see: connectors (status, last seen) and integrations (status, last sync).

Read through the connectors' and integrations' own read models (``connector_read``,
``integration_read``), so the portal shows exactly what the API answers. A connector is a
problem when it is ``DISCONNECTED``; an integration when its status is ``error`` or ``warning``.
``HealthDep`` gives the layout's banner to admins and None to everyone else: a view passes it to
``render`` as ``health``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends

from jitgate.server.connectors.schemas import ConnectorStatus
from jitgate.server.connectors.service import connector_read, list_connectors
from jitgate.server.integrations.models import IntegrationStatus
from jitgate.server.integrations.service import (
    INTEGRATION_FACTS,
    integration_read,
    list_integrations,
)
from jitgate.server.portal.deps import PortalUserDep
from jitgate.server.web.deps import ClockDep, SessionDep

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from jitgate.core.clock import Clock
    from jitgate.server.connectors.schemas import ConnectorRead
    from jitgate.server.integrations.schemas import IntegrationRead

TROUBLED = frozenset({IntegrationStatus.ERROR, IntegrationStatus.WARNING})


@dataclass(frozen=True, slots=True)
class Health:
    """Every connector and integration, and which of them need attention."""

    connectors: list[ConnectorRead] = field(default_factory=list)
    integrations: list[IntegrationRead] = field(default_factory=list)

    @property
    def disconnected(self) -> list[ConnectorRead]:
        """The connectors no instance of which was seen within the grace period."""
        return [c for c in self.connectors if c.status is ConnectorStatus.DISCONNECTED]

    @property
    def troubled(self) -> list[IntegrationRead]:
        """The integrations in error or warning."""
        return [i for i in self.integrations if i.status in TROUBLED]

    @property
    def ok(self) -> bool:
        """Tell whether nothing needs attention."""
        return not self.disconnected and not self.troubled


def read_health(*, session: Session, clock: Clock) -> Health:
    """Read every connector's and live integration's status."""
    connectors = [
        connector_read(session=session, clock=clock, connector=c, integrations=INTEGRATION_FACTS)
        for c in list_connectors(session=session)
    ]
    integrations = [
        integration_read(session=session, clock=clock, integration=i)
        for i in list_integrations(session=session)
    ]
    return Health(connectors=connectors, integrations=integrations)


def health_banner(session: SessionDep, clock: ClockDep, user: PortalUserDep) -> Health | None:
    """The health for the layout's banner: admins only (None for everyone else)."""
    if not user.is_admin:
        return None
    return read_health(session=session, clock=clock)


HealthDep = Annotated[Health | None, Depends(health_banner)]
