"""Reading connectors: status is derived from instances' last-seen times, never stored.

What the connectors area needs to know of integrations (they sit above it: an integration names
its connector) is asked through ``IntegrationFacts``, which ``jitgate.server.app`` passes in
(``integrations.service.INTEGRATION_FACTS``) on the ``JobsRuntime``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import select

from jitgate.core.errors import NotFound, Unauthenticated
from jitgate.core.ids import hash_token
from jitgate.server.connectors.models import Connector, ConnectorInstance
from jitgate.server.connectors.schemas import (
    ConnectorInstanceRead,
    ConnectorRead,
    ConnectorStatus,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from jitgate.core.clock import Clock


class IntegrationFacts(Protocol):
    """What the connectors area asks of the integrations that use connectors."""

    def integrations_using(self, *, session: Session, connector_id: str) -> int:
        """Count the integrations (not deleted) that use a connector."""
        ...

    def resource_types(self, *, session: Session, integration_id: str | None) -> list[str]:
        """The resource types an integration enables (none without an integration)."""
        ...


# An instance long-polls at least every 30 s; three missed polls make it disconnected.
GRACE_PERIOD = timedelta(seconds=90)


def get_connector(*, session: Session, connector_id: str) -> Connector:
    """Return a connector or raise ``NotFound``."""
    connector = session.get(Connector, connector_id)
    if connector is None:
        raise NotFound(f"no connector {connector_id!r}")
    return connector


def find_connector_by_name(*, session: Session, name: str) -> Connector | None:
    """Return the connector with this name, if any."""
    return session.scalars(select(Connector).where(Connector.name == name)).one_or_none()


def list_connectors(*, session: Session) -> list[Connector]:
    """Return every connector, by name."""
    return list(session.scalars(select(Connector).order_by(Connector.name)))


def connector_read(
    *,
    session: Session,
    clock: Clock,
    connector: Connector,
    integrations: IntegrationFacts,
    grace: timedelta = GRACE_PERIOD,
) -> ConnectorRead:
    """Build a connector's read model, deriving its status from its instances."""
    instances = list(
        session.scalars(
            select(ConnectorInstance)
            .where(ConnectorInstance.connector_id == connector.id)
            .order_by(ConnectorInstance.last_seen_at.desc())
        )
    )
    cutoff = clock.now() - grace
    reads = [
        ConnectorInstanceRead.model_validate(
            {
                "id": i.id,
                "instance_key": i.instance_key,
                "version": i.version,
                "meta": i.meta,
                "first_seen_at": i.first_seen_at,
                "last_seen_at": i.last_seen_at,
                "connected": i.last_seen_at >= cutoff,
            }
        )
        for i in instances
    ]
    connected = any(r.connected for r in reads)
    return ConnectorRead(
        id=connector.id,
        name=connector.name,
        status=ConnectorStatus.CONNECTED if connected else ConnectorStatus.DISCONNECTED,
        token_prefix=connector.token_prefix,
        created_at=connector.created_at,
        token_rotated_at=connector.token_rotated_at,
        last_seen_at=instances[0].last_seen_at if instances else None,
        instances=reads,
        self_check=connector.self_check,
        self_checked_at=connector.self_checked_at,
        integration_count=integrations.integrations_using(
            session=session, connector_id=connector.id
        ),
    )


def authenticate_connector(*, session: Session, token: str) -> Connector:
    """Return the connector a ``jg_ct_…`` token belongs to; raise ``Unauthenticated`` if none."""
    connector = session.scalars(
        select(Connector).where(Connector.token_hash == hash_token(token))
    ).one_or_none()
    if connector is None:
        raise Unauthenticated("the connector token is not valid")
    return connector
