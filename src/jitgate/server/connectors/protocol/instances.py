"""Connector instances as the connector protocol sees them: register (upsert) and last-seen.

Audited: a new instance, or an instance whose version changed (``connector.instance_register``)
— a change in what runs with the Azure credentials. Last-seen updates on every claim and
heartbeat are bookkeeping and are not audited. Status (CONNECTED / DISCONNECTED) is derived from
``last_seen_at`` by ``jitgate.server.connectors.service.connector_read``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from jitgate.server.actor import Actor, Source
from jitgate.server.audit.operations import record_event
from jitgate.server.connectors.models import Connector, ConnectorInstance
from jitgate.server.connectors.tenancy import pin_tenant

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from jitgate.core.clock import Clock

UNKNOWN_VERSION = "unknown"


def connector_actor_for(connector_id: str, name: str) -> Actor:
    """The audit actor of a connector."""
    del connector_id
    return Actor(identity_id=None, name=f"connector:{name}", role=None, source=Source.CONNECTOR)


def _find(session: Session, connector_id: str, instance_key: str) -> ConnectorInstance | None:
    return session.scalars(
        select(ConnectorInstance)
        .where(
            ConnectorInstance.connector_id == connector_id,
            ConnectorInstance.instance_key == instance_key,
        )
        .with_for_update()
    ).one_or_none()


def register_instance(
    *,
    session: Session,
    clock: Clock,
    actor: Actor,
    connector_id: str,
    instance_key: str,
    version: str,
    metadata: dict[str, Any],
) -> ConnectorInstance:
    """Create or refresh an instance's record (version, metadata, last seen).

    A ``tenant_id`` in the metadata is pinned on the connector; another tenant is a ``Conflict``.
    """
    reported = metadata.get("tenant_id")
    if reported is not None:
        connector = session.get(Connector, connector_id, with_for_update=True)
        if connector is not None:
            pin_tenant(
                session=session,
                clock=clock,
                actor=actor,
                connector=connector,
                reported=str(reported),
            )
    now = clock.now()
    instance = _find(session, connector_id, instance_key)
    before = None if instance is None else {"version": instance.version}
    if instance is None:
        instance = ConnectorInstance(
            connector_id=connector_id,
            instance_key=instance_key,
            version=version,
            meta=metadata,
            first_seen_at=now,
            last_seen_at=now,
        )
        session.add(instance)
    else:
        instance.version = version
        instance.meta = metadata
        instance.last_seen_at = now
    session.flush()
    if before is None or before["version"] != version:
        record_event(
            session=session,
            clock=clock,
            actor=actor,
            action="connector.instance_register",
            target_type="connector",
            target_id=connector_id,
            before=before,
            after={"instance_key": instance_key, "version": version, "metadata": metadata},
        )
    return instance


def touch_instance(
    *, session: Session, clock: Clock, connector_id: str, instance_key: str
) -> ConnectorInstance:
    """Record that an instance was seen now (an unregistered one is recorded as ``unknown``)."""
    now = clock.now()
    instance = _find(session, connector_id, instance_key)
    if instance is None:
        instance = ConnectorInstance(
            connector_id=connector_id,
            instance_key=instance_key,
            version=UNKNOWN_VERSION,
            meta={},
            first_seen_at=now,
            last_seen_at=now,
        )
        session.add(instance)
    elif instance.last_seen_at < now:
        instance.last_seen_at = now
    session.flush()
    return instance
