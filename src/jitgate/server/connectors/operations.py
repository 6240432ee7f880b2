"""State changes on connectors; each writes one audit event. Tokens are stored only as hashes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from jitgate.core.errors import Conflict, ValidationFailed
from jitgate.core.ids import hash_token, new_token
from jitgate.server.actor import require_admin
from jitgate.server.audit.operations import record_event
from jitgate.server.connectors.models import Connector
from jitgate.server.connectors.service import find_connector_by_name
from jitgate.server.locking import locked

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from jitgate.core.clock import Clock
    from jitgate.server.actor import Actor
    from jitgate.server.connectors.service import IntegrationFacts

TOKEN_PREFIX = "jg_ct"  # noqa: S105 - a public prefix, not a secret
PREFIX_LENGTH = len(TOKEN_PREFIX) + 5


def connector_summary(connector: Connector) -> dict[str, object]:
    """The audit form of a connector (never the token)."""
    return {"name": connector.name, "token_prefix": connector.token_prefix}


def create_connector(
    *, session: Session, clock: Clock, actor: Actor, name: str
) -> tuple[Connector, str]:
    """Register a connector; return it and its token (shown once)."""
    require_admin(actor, "change connectors")
    if find_connector_by_name(session=session, name=name) is not None:
        raise ValidationFailed.field("name", f"a connector named {name!r} exists")
    secret = new_token(TOKEN_PREFIX)
    connector = Connector(
        name=name,
        token_hash=hash_token(secret),
        token_prefix=secret[:PREFIX_LENGTH],
        created_at=clock.now(),
    )
    session.add(connector)
    session.flush()
    record_event(
        session=session,
        clock=clock,
        actor=actor,
        action="connector.create",
        target_type="connector",
        target_id=connector.id,
        after=connector_summary(connector),
    )
    return connector, secret


def rotate_connector_token(
    *, session: Session, clock: Clock, actor: Actor, connector_id: str
) -> tuple[Connector, str]:
    """Issue a new token; the old one stops working at once. Return the new secret."""
    require_admin(actor, "change connectors")
    connector = locked(session, Connector, connector_id, what="connector")
    before = connector_summary(connector)
    secret = new_token(TOKEN_PREFIX)
    connector.token_hash = hash_token(secret)
    connector.token_prefix = secret[:PREFIX_LENGTH]
    connector.token_rotated_at = clock.now()
    session.flush()
    record_event(
        session=session,
        clock=clock,
        actor=actor,
        action="connector.rotate_token",
        target_type="connector",
        target_id=connector.id,
        before=before,
        after=connector_summary(connector),
    )
    return connector, secret


def delete_connector(
    *,
    session: Session,
    clock: Clock,
    actor: Actor,
    connector_id: str,
    integrations: IntegrationFacts,
) -> None:
    """Remove a connector that no live integration uses (its instances and jobs go with it)."""
    require_admin(actor, "change connectors")
    connector = locked(session, Connector, connector_id, what="connector")
    in_use = integrations.integrations_using(session=session, connector_id=connector.id)
    if in_use:
        raise Conflict(f"the connector is used by {in_use} integration(s); move or delete them")
    before = connector_summary(connector)
    session.delete(connector)
    session.flush()
    record_event(
        session=session,
        clock=clock,
        actor=actor,
        action="connector.delete",
        target_type="connector",
        target_id=connector_id,
        before=before,
    )
