"""Every ORM model, imported in one place so Alembic and tests see the whole schema."""

from __future__ import annotations

from jitgate.core.db import Base
from jitgate.server.audit.models import AuditEvent, AuditHead
from jitgate.server.connectors.models import Connector, ConnectorInstance
from jitgate.server.flows.models import AccessFlow
from jitgate.server.grants.models import Grant, Membership, StandingMembership
from jitgate.server.guests.models import InvitedGuest
from jitgate.server.identities.models import ApiToken, Identity
from jitgate.server.identities.session_models import PortalSession, PortalSignIn
from jitgate.server.integrations.models import Integration, Resource
from jitgate.server.integrations.sync_models import (
    IntegrationSync,
    ObservedMember,
    ResourceSync,
)
from jitgate.server.jobs.models import Job, JobPage
from jitgate.server.requests.models import AccessRequest, AccessRequestUnit, Approval

__all__ = [
    "AccessFlow",
    "AccessRequest",
    "AccessRequestUnit",
    "ApiToken",
    "Approval",
    "AuditEvent",
    "AuditHead",
    "Base",
    "Connector",
    "ConnectorInstance",
    "Grant",
    "Identity",
    "Integration",
    "IntegrationSync",
    "InvitedGuest",
    "Job",
    "JobPage",
    "Membership",
    "ObservedMember",
    "PortalSession",
    "PortalSignIn",
    "Resource",
    "ResourceSync",
    "StandingMembership",
]
