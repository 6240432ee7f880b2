"""The factories other tests build on produce what they promise."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from api_world import INSTANCE, make_api_world
from factories import make_integration, make_resource
from jitgate.server.jobs.models import Job, JobStatus

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


def test_the_api_world_holds_what_it_promises(client, session, sessions, clock) -> None:
    world = make_api_world(session, sessions, clock)
    statuses = {
        client.get(f"/api/v1/requests/{rid}", headers=world.admin).json()["status"]
        for rid in world.ids["request_id"]
    }
    assert statuses == {"pending", "active", "rejected", "expired"}
    (connector_id,) = world.ids["connector_id"]
    connector = client.get(f"/api/v1/connectors/{connector_id}", headers=world.admin).json()
    assert connector["status"] == "CONNECTED"
    assert [i["instance_key"] for i in connector["instances"]] == [INSTANCE]
    assert connector["self_check"]["ok"] is False
    leased = session.scalars(select(Job).where(Job.status == JobStatus.LEASED)).all()
    assert {j.lease_token for j in leased} == set(world.ids["lease_token"])
    assert {j.lease_owner for j in leased} == {INSTANCE}
    verified = client.get("/api/v1/audit/verify", headers=world.admin).json()
    assert verified["ok"] is True
    assert client.get("/api/v1/audit/checkpoints", headers=world.admin).json()["items"]
    for who in (world.requester, world.approver):
        assert client.get("/api/v1/me", headers=who).json()["role"] == "user"
