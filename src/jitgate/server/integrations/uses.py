"""What the integrations area asks of the areas above it, passed in from above.

Access flows name the groups discovery reads, and requests and grants use integrations; those
areas sit above this one (they name integrations and resources). The operations that need them
take an ``IntegrationUses`` (``requests.integration_uses.INTEGRATION_USES``); the API routes get
the app's through ``UsesDep`` (``jitgate.server.app`` puts it on ``app.state``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Protocol

from fastapi import Depends, Request

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


class IntegrationUses(Protocol):
    """How the areas above use integrations."""

    def member_groups(self, session: Session) -> list[str]:
        """Group ids and display names whose members discovery reads (sorted, deduplicated)."""
        ...

    def live_use(self, session: Session, integration_id: str) -> tuple[int, int]:
        """Count the live requests and live grants on an integration."""
        ...


def integration_uses(request: Request) -> IntegrationUses:
    """Return the app's ``IntegrationUses``."""
    uses: IntegrationUses = request.app.state.integration_uses
    return uses


UsesDep = Annotated[IntegrationUses, Depends(integration_uses)]
