"""Routes for access flows: admins write, admins and auditors read, anyone sees what is theirs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from jitgate.server.flows import operations, service
from jitgate.server.flows.schemas import AccessFlowCreate, AccessFlowRead, AvailableFlow
from jitgate.server.identities.service import get_identity
from jitgate.server.web.deps import ActorDep, AdminActor, ClockDep, ReaderActor, SessionDep

router = APIRouter(tags=["flows"])


@router.get("/flows", summary="List access flows")
def list_flows(
    session: SessionDep,
    actor: ReaderActor,
    active: Annotated[bool | None, Query(description="Only active (or inactive) flows.")] = None,
) -> list[AccessFlowRead]:
    """Return every access flow, by name (admins and auditors)."""
    del actor
    return [service.read_flow(f) for f in service.list_flows(session=session, active=active)]


@router.get("/flows/available", summary="Flows I may request under")
def available_flows(session: SessionDep, actor: ActorDep) -> list[AvailableFlow]:
    """Return the active flows whose requestor conditions the caller meets, with their targets."""
    identity = get_identity(session=session, ref=actor.identity_id or "")
    return service.available_flows(session=session, identity=identity)


@router.get("/flows/{flow_id}", summary="Get an access flow")
def get_flow(session: SessionDep, actor: ReaderActor, flow_id: str) -> AccessFlowRead:
    """Return one access flow (admins and auditors)."""
    del actor
    return service.read_flow(service.get_flow(session=session, flow_id=flow_id))


@router.post("/flows", status_code=status.HTTP_201_CREATED, summary="Create an access flow")
def create_flow(
    session: SessionDep, clock: ClockDep, actor: AdminActor, body: AccessFlowCreate
) -> AccessFlowRead:
    """Add an access flow; targets are checked against the catalog and the integrations."""
    flow = operations.create_flow(session=session, clock=clock, actor=actor, data=body)
    return service.read_flow(flow)


@router.put("/flows/{flow_id}", summary="Replace an access flow")
def update_flow(
    session: SessionDep, clock: ClockDep, actor: AdminActor, flow_id: str, body: AccessFlowCreate
) -> AccessFlowRead:
    """Replace a flow's whole policy; submitted requests keep the policy they were judged by."""
    flow = operations.update_flow(
        session=session, clock=clock, actor=actor, flow_id=flow_id, data=body
    )
    return service.read_flow(flow)


@router.delete(
    "/flows/{flow_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete an access flow"
)
def delete_flow(session: SessionDep, clock: ClockDep, actor: AdminActor, flow_id: str) -> None:
    """Delete a flow; its requests keep a snapshot of it."""
    operations.delete_flow(session=session, clock=clock, actor=actor, flow_id=flow_id)
