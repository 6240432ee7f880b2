"""The demo's seed, written through the normal operations (so every row is audited) and idempotent.

Before the server starts: the connector (a fresh token on every run: the old one stops working)
and the ``entra-id`` integration, whose creation queues its first discovery. After discovery has
brought in the demo tenant's users: the demo people's roles and tokens (earlier ``jitgate up``
tokens are revoked), and the access flows (created once, by name).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jitgate.core.errors import JitgateError
from jitgate.server.actor import Actor, Source, UserRole
from jitgate.server.connectors.operations import create_connector, rotate_connector_token
from jitgate.server.connectors.service import find_connector_by_name
from jitgate.server.flows.operations import create_flow
from jitgate.server.flows.schemas import AccessFlowCreate
from jitgate.server.flows.service import list_flows
from jitgate.server.identities.operations import (
    create_api_token,
    revoke_api_token,
    set_identity_role,
)
from jitgate.server.identities.service import find_identity, list_tokens
from jitgate.server.integrations.operations import create_integration, update_integration
from jitgate.server.integrations.schemas import IntegrationCreate, IntegrationUpdate
from jitgate.server.integrations.service import find_live_integration_by_name
from jitgate.server.requests.integration_uses import INTEGRATION_USES

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from jitgate.core.clock import Clock
    from jitgate.server.connectors.models import Connector
    from jitgate.server.integrations.models import Integration

ACTOR = Actor(identity_id=None, name="jitgate up", role=UserRole.ADMIN, source=Source.CLI)
CONNECTOR_NAME = "Contoso connector"
INTEGRATION_NAME = "Contoso Entra"
TOKEN_NAME = "jitgate up"  # noqa: S105 - a label, not a secret
TOKEN_DAYS = 30
DOMAIN = "contoso.onmicrosoft.com"
DEMO_GROUP = "Production Access"
ACCESS_DETAILS = (
    "Group access: sign out and in again (or open https://myapps.microsoft.com) so your token "
    "carries the new membership. Directory roles: open https://entra.microsoft.com; the role "
    "applies to tokens issued after the grant."
)


class SeedError(JitgateError):
    """The demo could not be seeded (e.g. discovery did not bring in the demo people)."""


@dataclass(frozen=True)
class PersonSpec:
    """A demo person: a user of the demo tenant and the jitgate role they get."""

    key: str  # admin | requester | approver
    upn: str
    role: UserRole
    why: str


PEOPLE = (
    PersonSpec("admin", f"lynne@{DOMAIN}", UserRole.ADMIN, "IT Administrator, integration owner"),
    PersonSpec("requester", f"grady@{DOMAIN}", UserRole.USER, "Backend Engineer, asks for access"),
    PersonSpec(
        "approver",
        f"alex@{DOMAIN}",
        UserRole.USER,
        "Grady's manager, owner of Production Access",
    ),
)


def _flows(integration_id: str) -> list[dict[str, Any]]:
    def target(type_: str, names: list[str]) -> dict[str, Any]:
        permission = "active" if type_ == "entra-role" else "member"
        return {
            "integration_id": integration_id,
            "resource_type": type_,
            "permissions": [permission],
            "scopes": [{"mode": "include", "type": "name", "values": names}],
        }

    either = {
        "approval_mode": "ANY_OF",
        "approver_groups": [
            {"approvers": [{"type": "manager"}]},
            {"approvers": [{"type": "resource_owner"}]},
        ],
    }
    both = {
        "approval_mode": "ALL_OF",
        "approver_groups": [
            {"approvers": [{"type": "manager"}]},
            {"approvers": [{"type": "integration_owner"}]},
        ],
    }
    return [
        {
            "name": "Engineering groups: manager or owner approves",
            "description": "Self-serve group access; 1 h by default, at most 8 h.",
            "targets": [target("entra-group", [DEMO_GROUP, "Database Admins"])],
            "approver_policy": either,
            "default_duration_min": 60,
            "max_duration_min": 480,
            "settings": {"justification_required": True},
        },
        {
            "name": "Finance Readers: auto-approved",
            "description": "Low-risk read access, granted at once.",
            "trigger": "automatic",
            "targets": [target("entra-group", ["Finance Readers"])],
            "default_duration_min": 60,
            "max_duration_min": 240,
            "settings": {"justification_required": False},
        },
        {
            "name": "Directory roles: manager and integration owner approve",
            "description": "Admin roles need two approvals (ALL_OF).",
            "targets": [target("entra-role", ["Helpdesk Administrator", "User Administrator"])],
            "approver_policy": both,
            "default_duration_min": 60,
            "max_duration_min": 240,
            "settings": {"justification_required": True},
        },
    ]


def ensure_connector(*, session: Session, clock: Clock) -> tuple[Connector, str]:
    """The demo connector and a fresh token for it."""
    connector = find_connector_by_name(session=session, name=CONNECTOR_NAME)
    if connector is None:
        return create_connector(session=session, clock=clock, actor=ACTOR, name=CONNECTOR_NAME)
    return rotate_connector_token(
        session=session, clock=clock, actor=ACTOR, connector_id=connector.id
    )


def ensure_integration(*, session: Session, clock: Clock, connector: Connector) -> Integration:
    """The demo integration (its creation queues the first discovery)."""
    integration = find_live_integration_by_name(session=session, name=INTEGRATION_NAME)
    if integration is None:
        data = IntegrationCreate.model_validate(
            {
                "name": INTEGRATION_NAME,
                "connector_id": connector.id,
                "resource_types": ["entra-group", "entra-role"],
                "custom_access_details": ACCESS_DETAILS,
                "owners": [{"attribute": "user", "values": [PEOPLE[0].upn]}],
            }
        )
        return create_integration(
            uses=INTEGRATION_USES, session=session, clock=clock, actor=ACTOR, data=data
        )
    if integration.connector_id != connector.id:
        change = IntegrationUpdate.model_validate({"connector_id": connector.id})
        integration = update_integration(
            session=session,
            clock=clock,
            actor=ACTOR,
            integration_id=integration.id,
            data=change,
        )
    return integration


def ensure_people(*, session: Session, clock: Clock) -> dict[str, tuple[PersonSpec, str, str]]:
    """Give each demo person their role and a new token; return key -> (spec, name, token)."""
    people = {}
    for spec in PEOPLE:
        identity = find_identity(session=session, ref=spec.upn)
        if identity is None:
            raise SeedError(f"discovery did not bring in {spec.upn}")
        if identity.role is not spec.role:
            set_identity_role(
                session=session, clock=clock, actor=ACTOR, identity_id=identity.id, role=spec.role
            )
        for old in list_tokens(session=session, identity_id=identity.id):
            if old.name == TOKEN_NAME and old.revoked_at is None:
                revoke_api_token(session=session, clock=clock, actor=ACTOR, token_id=old.id)
        _, token = create_api_token(
            session=session,
            clock=clock,
            actor=ACTOR,
            identity_id=identity.id,
            name=TOKEN_NAME,
            expires_in_days=TOKEN_DAYS,
        )
        people[spec.key] = (spec, identity.display_name, token)
    return people


def ensure_flows(*, session: Session, clock: Clock, integration: Integration) -> list[str]:
    """Create the demo flows that do not exist yet (by name); return every demo flow's name."""
    existing = {flow.name for flow in list_flows(session=session)}
    names = []
    for document in _flows(integration.id):
        names.append(document["name"])
        if document["name"] not in existing:
            data = AccessFlowCreate.model_validate(document)
            create_flow(session=session, clock=clock, actor=ACTOR, data=data)
    return names
