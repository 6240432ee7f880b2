"""How access flows, requests and grants use integrations: the ``IntegrationUses`` the app passes.

The integrations area sits below the areas that name integrations; its operations ask them
through ``integrations.uses.IntegrationUses``. This is the one implementation: flows name the
groups discovery reads (``flows.groups``), and an integration with open requests or live grants
may not be deleted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from jitgate.server.flows.groups import groups_of_interest
from jitgate.server.grants.models import Grant
from jitgate.server.grants.states import GrantStatus
from jitgate.server.requests.models import AccessRequest, AccessRequestUnit
from jitgate.server.requests.states import TERMINAL

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

LIVE_GRANT_STATUSES = (GrantStatus.PENDING, GrantStatus.ACTIVE, GrantStatus.REVOKING)


class UsesOfIntegrations:
    """``integrations.uses.IntegrationUses`` over flows, requests and grants."""

    def member_groups(self, session: Session) -> list[str]:
        """Group ids and display names whose members discovery reads (``flows.groups``)."""
        return groups_of_interest(session)

    def live_use(self, session: Session, integration_id: str) -> tuple[int, int]:
        """Count the live requests and live grants on an integration."""
        requests = session.scalars(
            select(AccessRequest.id)
            .join(AccessRequestUnit, AccessRequestUnit.request_id == AccessRequest.id)
            .where(
                AccessRequestUnit.integration_id == integration_id,
                AccessRequest.status.not_in(TERMINAL),
            )
            .distinct()
        ).all()
        grants = session.scalars(
            select(Grant.id).where(
                Grant.integration_id == integration_id, Grant.status.in_(LIVE_GRANT_STATUSES)
            )
        ).all()
        return len(requests), len(grants)


INTEGRATION_USES = UsesOfIntegrations()
