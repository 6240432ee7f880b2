"""Routes for integrations and their resources.

Admins change integrations; admins and auditors read them. Every signed-in user may list an
integration's resources (and read the integration they belong to), since resources are what
people request.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, Field

from jitgate.core.errors import ValidationFailed
from jitgate.server.integrations import operations, service
from jitgate.server.integrations.as_code import render_hcl, render_json
from jitgate.server.integrations.models import IntegrationStatus
from jitgate.server.integrations.schemas import (
    IntegrationAsCode,
    IntegrationCreate,
    IntegrationRead,
    IntegrationUpdate,
    ResourceRead,
)
from jitgate.server.integrations.uses import UsesDep
from jitgate.server.pagination import LimitQuery, OffsetQuery, Page
from jitgate.server.web.deps import ActorDep, AdminActor, ClockDep, ReaderActor, SessionDep
from jitgate.server.web.params import NO_NUL, IdPath

router = APIRouter(tags=["integrations"])

TAG_FILTER = re.compile(r"^([^=\x00]{1,128})=([^\x00]{0,256})$")


class RefreshQueued(BaseModel):
    """A discovery job was queued (or one was already waiting)."""

    integration: IntegrationRead
    job_id: str = Field(description="The discovery job's id.")


@router.get("/integrations", summary="List integrations")
def list_integrations(
    *,
    session: SessionDep,
    clock: ClockDep,
    actor: ActorDep,
    type_: Annotated[str | None, Query(alias="type", max_length=32, pattern=NO_NUL)] = None,
    status_: Annotated[IntegrationStatus | None, Query(alias="status")] = None,
    connector_id: Annotated[str | None, Query(max_length=64, pattern=NO_NUL)] = None,
    name: Annotated[
        str | None,
        Query(max_length=64, pattern=NO_NUL, description="Case-insensitive name substring."),
    ] = None,
) -> list[IntegrationRead]:
    """Return live integrations (any signed-in user: requesters pick from them)."""
    del actor
    rows = service.list_integrations(
        session=session, type_=type_, status=status_, connector_id=connector_id, name=name
    )
    return [service.integration_read(session=session, clock=clock, integration=r) for r in rows]


@router.post("/integrations", status_code=status.HTTP_201_CREATED, summary="Create an integration")
def create_integration(
    session: SessionDep, clock: ClockDep, actor: AdminActor, uses: UsesDep, body: IntegrationCreate
) -> IntegrationRead:
    """Add an integration and queue its first discovery; every rule breaks with a 422."""
    integration = operations.create_integration(
        uses=uses, session=session, clock=clock, actor=actor, data=body
    )
    return service.integration_read(session=session, clock=clock, integration=integration)


@router.get("/integrations/{integration_id}", summary="Get an integration")
def get_integration(
    session: SessionDep, clock: ClockDep, actor: ActorDep, integration_id: IdPath
) -> IntegrationRead:
    """Return an integration, including the custom access details shown to requesters."""
    del actor
    integration = service.get_integration(session=session, integration_id=integration_id)
    return service.integration_read(session=session, clock=clock, integration=integration)


@router.patch("/integrations/{integration_id}", summary="Update an integration")
def update_integration(
    session: SessionDep,
    clock: ClockDep,
    actor: AdminActor,
    integration_id: IdPath,
    body: IntegrationUpdate,
) -> IntegrationRead:
    """Change the fields present in the body; `null` clears an optional setting."""
    integration = operations.update_integration(
        session=session, clock=clock, actor=actor, integration_id=integration_id, data=body
    )
    return service.integration_read(session=session, clock=clock, integration=integration)


@router.delete(
    "/integrations/{integration_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete an integration",
    response_class=Response,
)
def delete_integration(
    session: SessionDep, clock: ClockDep, actor: AdminActor, uses: UsesDep, integration_id: IdPath
) -> Response:
    """Soft-delete an integration (its name becomes free); 409 while requests or grants live."""
    operations.delete_integration(
        uses=uses, session=session, clock=clock, actor=actor, integration_id=integration_id
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/integrations/{integration_id}/refresh",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Refresh an integration",
)
def refresh_integration(
    session: SessionDep, clock: ClockDep, actor: AdminActor, uses: UsesDep, integration_id: IdPath
) -> RefreshQueued:
    """Queue a discovery job on the integration's connector; the status becomes refreshing."""
    integration, job = operations.refresh_integration(
        uses=uses, session=session, clock=clock, actor=actor, integration_id=integration_id
    )
    read = service.integration_read(session=session, clock=clock, integration=integration)
    return RefreshQueued(integration=read, job_id=job.id)


@router.get("/integrations/{integration_id}/as-code", summary="View an integration as code")
def integration_as_code(
    session: SessionDep, actor: ReaderActor, integration_id: IdPath
) -> IntegrationAsCode:
    """Return the integration as a Terraform `jitgate_integration` resource (HCL and JSON)."""
    del actor
    integration = service.get_integration(session=session, integration_id=integration_id)
    values = service.config_values(integration)
    return IntegrationAsCode(
        hcl=render_hcl(values, integration.type),
        terraform_json=render_json(values, integration.type),
    )


@router.get("/integrations/{integration_id}/resources", summary="Search an integration's resources")
def list_resources(
    *,
    session: SessionDep,
    actor: ActorDep,
    integration_id: IdPath,
    search: Annotated[
        str | None,
        Query(max_length=256, pattern=NO_NUL, description="Case-insensitive name substring."),
    ] = None,
    type_: Annotated[
        str | None, Query(alias="type", max_length=32, pattern=NO_NUL, examples=["entra-group"])
    ] = None,
    tag: Annotated[
        str | None, Query(max_length=385, description="`key=value`", examples=["owner=finance"])
    ] = None,
    limit: LimitQuery = 50,
    offset: OffsetQuery = 0,
) -> Page[ResourceRead]:
    """Return a page of the resources discovery found (any signed-in user may pick from them)."""
    del actor
    integration = service.get_integration(session=session, integration_id=integration_id)
    tag_pair = None
    if tag is not None:
        match = TAG_FILTER.fullmatch(tag)
        if match is None:
            raise ValidationFailed.field("tag", "must be key=value")
        tag_pair = (match.group(1), match.group(2))
    rows, total = service.search_resources(
        session=session,
        integration_id=integration.id,
        search=search,
        type_=type_,
        tag=tag_pair,
        limit=limit,
        offset=offset,
    )
    items = [ResourceRead.model_validate(r) for r in rows]
    return Page(items=items, total=total, limit=limit, offset=offset)
