"""Factories: build objects through the real operations, so the audit chain stays whole."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from jitgate.core.db import make_engine
from jitgate.core.settings import Settings
from jitgate.server.actor import Actor, Source, UserRole
from jitgate.server.audit.keys import bind_key_ring, load_ring
from jitgate.server.audit.operations import record_event
from jitgate.server.connectors.operations import create_connector
from jitgate.server.flows.operations import create_flow
from jitgate.server.flows.schemas import AccessFlowCreate
from jitgate.server.identities.operations import create_api_token, create_identity
from jitgate.server.identities.schemas import IdentityCreate
from jitgate.server.integrations.discovery import upsert_resource
from jitgate.server.integrations.operations import create_integration
from jitgate.server.integrations.schemas import IntegrationCreate
from jitgate.server.requests.integration_uses import INTEGRATION_USES
from jitgate.server.requests.operations import submit_request
from jitgate.server.requests.schemas import RequestCreate

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session

    from jitgate.core.clock import Clock
    from jitgate.server.connectors.models import Connector
    from jitgate.server.flows.models import AccessFlow
    from jitgate.server.identities.models import Identity
    from jitgate.server.integrations.models import Integration, Resource
    from jitgate.server.requests.models import AccessRequest

BOOTSTRAP = Actor(identity_id=None, name="bootstrap", role=UserRole.ADMIN, source=Source.CLI)


def actor_for(identity: Identity, source: Source = Source.API) -> Actor:
    """The actor for a person."""
    return Actor(identity_id=identity.id, name=identity.upn, role=identity.role, source=source)


def make_identity(
    session: Session,
    clock: Clock,
    upn: str,
    *,
    role: UserRole = UserRole.USER,
    manager: str | None = None,
    groups: list[dict[str, str]] | None = None,
    **extra: Any,
) -> Identity:
    """Add a person."""
    data = IdentityCreate(
        upn=upn,
        display_name=upn.split("@", maxsplit=1)[0].replace(".", " ").title(),
        mail=upn,
        manager=manager,
        groups=groups or [],
        role=role,
        **extra,
    )
    identity = create_identity(session=session, clock=clock, actor=BOOTSTRAP, data=data)
    session.commit()
    return identity


def bearer(session: Session, clock: Clock, identity: Identity) -> dict[str, str]:
    """Issue a token for ``identity`` and return the Authorization header."""
    _, secret = create_api_token(
        session=session,
        clock=clock,
        actor=BOOTSTRAP,
        identity_id=identity.id,
        name="test",
        expires_in_days=1,
    )
    session.commit()
    return {"Authorization": f"Bearer {secret}"}


def make_connector(session: Session, clock: Clock, name: str = "contoso") -> tuple[Connector, str]:
    """Register a connector; return it and its token."""
    connector, token = create_connector(session=session, clock=clock, actor=BOOTSTRAP, name=name)
    session.commit()
    return connector, token


def make_integration(
    session: Session,
    clock: Clock,
    name: str = "Contoso Entra",
    *,
    connector: Connector | None = None,
    resource_types: list[str] | None = None,
    owners: list[dict[str, Any]] | None = None,
    resource_owner: dict[str, str] | None = None,
    custom_access_details: str | None = None,
    **settings: Any,
) -> Integration:
    """Add an ``entra-id`` integration (and a connector for it unless one is given).

    ``owners`` are ``{"attribute": "user" | "group", "values": [...]}``; ``resource_owner`` is
    ``{"key_name": "owner", "attribute": "user.upn"}``; ``settings`` are any other
    ``IntegrationCreate`` fields (``grant_mode``, ``credential_rotation_days``, ...).
    """
    if connector is None:
        connector, _ = make_connector(session, clock, name=f"{name} connector"[:64])
    data = IntegrationCreate.model_validate(
        {
            "name": name,
            "connector_id": connector.id,
            "resource_types": resource_types or ["entra-group", "entra-role"],
            "owners": owners or [],
            "resource_owner": resource_owner,
            "custom_access_details": custom_access_details,
            **settings,
        }
    )
    integration = create_integration(
        uses=INTEGRATION_USES, session=session, clock=clock, actor=BOOTSTRAP, data=data
    )
    session.commit()
    return integration


def make_resource(
    session: Session,
    clock: Clock,
    integration: Integration,
    *,
    type: str = "entra-group",  # noqa: A002 - matches the resource's field name
    name: str = "Finance Readers",
    external_id: str | None = None,
    description: str | None = None,
    tags: dict[str, str] | None = None,
    owners: list[str] | None = None,
    attributes: dict[str, Any] | None = None,
) -> Resource:
    """Stand in for discovery: record one resource of ``integration``."""
    resource = upsert_resource(
        session=session,
        clock=clock,
        integration=integration,
        type_=type,
        external_id=external_id or str(uuid.uuid4()),
        name=name,
        description=description,
        attributes=attributes,
        tags=tags,
        owners=owners,
    )
    session.commit()
    return resource


def make_flow(
    session: Session,
    clock: Clock,
    integration: Integration,
    name: str = "Finance groups",
    *,
    resource_type: str = "entra-group",
    permissions: list[str] | None = None,
    approver_policy: dict[str, Any] | None = None,
    settings: dict[str, Any] | None = None,
    **fields: Any,
) -> AccessFlow:
    """Add an access flow over one resource type of ``integration`` (no approval unless given).

    ``fields`` are any other ``AccessFlowCreate`` fields (``requestors``, ``request_for``,
    ``escalation_policy``, ``timeframe``, ``max_duration_min``, ``trigger``, ``targets``...).
    """
    target = {
        "integration_id": integration.id,
        "resource_type": resource_type,
        "permissions": permissions or (["active"] if resource_type == "entra-role" else ["member"]),
    }
    data = AccessFlowCreate.model_validate(
        {
            "name": name,
            "targets": [target],
            "approver_policy": approver_policy,
            "settings": {"justification_required": False, **(settings or {})},
            **fields,
        }
    )
    flow = create_flow(session=session, clock=clock, actor=BOOTSTRAP, data=data)
    session.commit()
    return flow


def make_request(
    session: Session,
    clock: Clock,
    requester: Identity,
    resources: list[Resource],
    *,
    permissions: list[str] | None = None,
    **fields: Any,
) -> AccessRequest:
    """Submit a request as ``requester`` (``fields``: any other ``RequestCreate`` fields)."""
    data = RequestCreate(
        resource_ids=[r.id for r in resources],
        permissions=permissions or ["member"],
        **fields,
    )
    request = submit_request(session=session, clock=clock, actor=actor_for(requester), data=data)
    session.commit()
    return request


def keyed_engine(url: str) -> Engine:
    """An engine that signs audit events with the key ring of the environment's settings.

    A test that arranges rows in a database that a server (or the CLI) later verifies must sign
    with the same key, exactly as every jitgate process does.
    """
    engine = make_engine(url)
    bind_key_ring(engine, load_ring(Settings()))
    return engine


def write_events(session: Session, clock: Clock, n: int) -> None:
    """Record ``n`` plain audit events (``test.event`` about things 0..n-1) and flush them."""
    for i in range(n):
        record_event(
            session=session,
            clock=clock,
            actor=BOOTSTRAP,
            action="test.event",
            target_type="thing",
            target_id=str(i),
            after={"i": i},
        )
    session.flush()
