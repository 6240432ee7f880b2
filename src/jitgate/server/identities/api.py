"""Routes for identities, roles and API tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from jitgate.core.errors import Forbidden
from jitgate.server.identities import operations, service
from jitgate.server.identities.schemas import (
    ApiTokenCreate,
    ApiTokenCreated,
    ApiTokenRead,
    IdentityCreate,
    IdentityRead,
    IdentityRoleUpdate,
)
from jitgate.server.pagination import LimitQuery, OffsetQuery, Page
from jitgate.server.web.deps import ActorDep, AdminActor, ClockDep, SessionDep

router = APIRouter(tags=["identities"])


@router.get("/me", summary="Who am I")
def me(session: SessionDep, actor: ActorDep) -> IdentityRead:
    """Return the identity behind the presented token."""
    identity = service.get_identity(session=session, ref=actor.identity_id or "")
    return IdentityRead.model_validate(identity)


@router.get("/identities", summary="List identities")
def list_identities(
    session: SessionDep,
    actor: ActorDep,
    search: Annotated[str | None, Query(max_length=200)] = None,
    limit: LimitQuery = 50,
    offset: OffsetQuery = 0,
) -> Page[IdentityRead]:
    """Search people by UPN, mail or display name (any signed-in user, to pick a grantee)."""
    del actor
    rows, total = service.list_identities(
        session=session, search=search, limit=limit, offset=offset
    )
    items = [IdentityRead.model_validate(r) for r in rows]
    return Page(items=items, total=total, limit=limit, offset=offset)


@router.get("/identities/{ref}", summary="Get an identity")
def get_identity(session: SessionDep, actor: ActorDep, ref: str) -> IdentityRead:
    """Return a person by id, Entra object id, UPN or mail."""
    del actor
    return IdentityRead.model_validate(service.get_identity(session=session, ref=ref))


@router.post("/identities", status_code=status.HTTP_201_CREATED, summary="Add a local identity")
def create_identity(
    session: SessionDep, clock: ClockDep, actor: AdminActor, body: IdentityCreate
) -> IdentityRead:
    """Add a person by hand (Entra users arrive through discovery)."""
    identity = operations.create_identity(session=session, clock=clock, actor=actor, data=body)
    return IdentityRead.model_validate(identity)


@router.put("/identities/{identity_id}/role", summary="Set a person's role")
def set_role(
    session: SessionDep,
    clock: ClockDep,
    actor: AdminActor,
    identity_id: str,
    body: IdentityRoleUpdate,
) -> IdentityRead:
    """Make someone an admin, an auditor or a plain user."""
    identity = operations.set_identity_role(
        session=session, clock=clock, actor=actor, identity_id=identity_id, role=body.role
    )
    return IdentityRead.model_validate(identity)


@router.get("/tokens", summary="List my API tokens", tags=["tokens"])
def list_tokens(session: SessionDep, actor: ActorDep) -> list[ApiTokenRead]:
    """Return the caller's API tokens (never their secrets)."""
    rows = service.list_tokens(session=session, identity_id=actor.identity_id or "")
    return [ApiTokenRead.model_validate(r) for r in rows]


@router.post(
    "/tokens",
    status_code=status.HTTP_201_CREATED,
    summary="Create an API token",
    tags=["tokens"],
)
def create_token(
    session: SessionDep, clock: ClockDep, actor: ActorDep, body: ApiTokenCreate
) -> ApiTokenCreated:
    """Issue a token for yourself; the secret is in this response only."""
    if actor.identity_id is None:
        raise Forbidden("only people hold API tokens")
    token, secret = operations.create_api_token(
        session=session,
        clock=clock,
        actor=actor,
        identity_id=actor.identity_id,
        name=body.name,
        expires_in_days=body.expires_in_days,
    )
    return ApiTokenCreated(**ApiTokenRead.model_validate(token).model_dump(), token=secret)


@router.delete("/tokens/{token_id}", summary="Revoke an API token", tags=["tokens"])
def revoke_token(
    session: SessionDep, clock: ClockDep, actor: ActorDep, token_id: str
) -> ApiTokenRead:
    """Revoke one of your tokens (admins: anyone's)."""
    token = operations.revoke_api_token(
        session=session, clock=clock, actor=actor, token_id=token_id
    )
    return ApiTokenRead.model_validate(token)
