"""The factories other tests build on produce what they promise."""

from __future__ import annotations

from typing import TYPE_CHECKING

from factories import make_integration, make_resource

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from jitgate.core.clock import ManualClock


def test_make_integration_and_resource(session: Session, clock: ManualClock) -> None:
    integration = make_integration(
        session,
        clock,
        name="Contoso",
        resource_types=["entra-group"],
        owners=[{"attribute": "user", "values": ["owner@contoso.example"]}],
    )
    resource = make_resource(
        session, clock, integration, name="Finance Readers", tags={"owner": "a@contoso.example"}
    )
    assert integration.resource_types == ["entra-group"]
    assert resource.integration_id == integration.id
    assert resource.tags == {"owner": "a@contoso.example"}
