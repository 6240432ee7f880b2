"""Routes for connectors: admins change them; admins and auditors read them."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from jitgate.server.connectors import operations, service
from jitgate.server.connectors.protocol.deps import RuntimeDep
from jitgate.server.connectors.schemas import ConnectorCreate, ConnectorCreated, ConnectorRead
from jitgate.server.web.deps import AdminActor, ClockDep, ReaderActor, SessionDep
from jitgate.server.web.params import IdPath

router = APIRouter(tags=["connectors"])


@router.get("/connectors", summary="List connectors")
def list_connectors(
    session: SessionDep, clock: ClockDep, actor: ReaderActor, runtime: RuntimeDep
) -> list[ConnectorRead]:
    """Return every connector with its status (derived from its instances' last contact)."""
    del actor
    return [
        service.connector_read(
            session=session, clock=clock, connector=c, integrations=runtime.integrations
        )
        for c in service.list_connectors(session=session)
    ]


@router.post("/connectors", status_code=status.HTTP_201_CREATED, summary="Register a connector")
def create_connector(
    session: SessionDep,
    clock: ClockDep,
    actor: AdminActor,
    runtime: RuntimeDep,
    body: ConnectorCreate,
) -> ConnectorCreated:
    """Register a connector; its token (`jg_ct_…`) is in this response only."""
    connector, token = operations.create_connector(
        session=session, clock=clock, actor=actor, name=body.name
    )
    read = service.connector_read(
        session=session, clock=clock, connector=connector, integrations=runtime.integrations
    )
    return ConnectorCreated.with_token(read, token)


@router.get("/connectors/{connector_id}", summary="Get a connector")
def get_connector(
    session: SessionDep,
    clock: ClockDep,
    actor: ReaderActor,
    runtime: RuntimeDep,
    connector_id: IdPath,
) -> ConnectorRead:
    """Return a connector: status, instances (version, metadata, last seen) and self-check."""
    del actor
    connector = service.get_connector(session=session, connector_id=connector_id)
    return service.connector_read(
        session=session, clock=clock, connector=connector, integrations=runtime.integrations
    )


@router.post("/connectors/{connector_id}/token:rotate", summary="Rotate a connector's token")
def rotate_token(
    session: SessionDep,
    clock: ClockDep,
    actor: AdminActor,
    runtime: RuntimeDep,
    connector_id: IdPath,
) -> ConnectorCreated:
    """Issue a new token, shown once; the old token stops working at once."""
    connector, token = operations.rotate_connector_token(
        session=session, clock=clock, actor=actor, connector_id=connector_id
    )
    read = service.connector_read(
        session=session, clock=clock, connector=connector, integrations=runtime.integrations
    )
    return ConnectorCreated.with_token(read, token)


@router.delete(
    "/connectors/{connector_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a connector",
    response_class=Response,
)
def delete_connector(
    session: SessionDep,
    clock: ClockDep,
    actor: AdminActor,
    runtime: RuntimeDep,
    connector_id: IdPath,
) -> Response:
    """Delete a connector; refused (409) while a live integration uses it."""
    operations.delete_connector(
        session=session,
        clock=clock,
        actor=actor,
        connector_id=connector_id,
        integrations=runtime.integrations,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
