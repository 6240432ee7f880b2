"""The CLI's browser sign-in (``jitgate login --browser``), server side.

``GET /auth/cli-config`` tells the CLI where it signs in (tenant, authority, the CLI app's
client id): nothing secret, like an OpenID configuration. The CLI runs the authorization code
flow with PKCE itself, as a public client with a loopback redirect, and then calls
``POST /api/v1/auth/token`` with the Entra id token as its bearer credential and no body.

The id token is checked like the portal's (signature from the tenant's keys, issuer, tenant,
audience = the CLI app, times on the server's clock) and must be fresh (issued in the last
``FRESH``), so an id token found later in a log cannot be traded. The person is the
discovered identity of ``(tid, oid)``; the answer is a new API token of theirs that lasts
``cli_token_lifetime_s`` (8 h), audited as ``api_token.create`` with the CLI as the source. Like
every API token it carries no MFA: a flow with ``mfa_required`` still needs the portal.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials  # noqa: TC002 - FastAPI reads the annotation
from pydantic import BaseModel, Field

from jitgate.core.errors import Unauthenticated
from jitgate.server.actor import Actor, Source
from jitgate.server.identities.entra_tokens import InvalidIdToken, validate_id_token
from jitgate.server.identities.operations import create_api_token
from jitgate.server.identities.sessions import SignInRefused, find_person
from jitgate.server.portal.deps import portal_state
from jitgate.server.web.deps import ClockDep, SessionDep, SettingsDep, bearer
from jitgate.server.web.throttle import refuse

#: An id token older than this is not traded for an API token.
FRESH = timedelta(minutes=10)
TOKEN_NAME = "jitgate login --browser"  # noqa: S105 - the token's name, not a secret


class CliSignInConfig(BaseModel):
    """Where ``jitgate login --browser`` signs in."""

    tenant_id: str
    authority_host: str
    client_id: str


class CliToken(BaseModel):
    """An API token for the person who signed in; shown this once."""

    token: str = Field(description="The API token (`jg_at_…`); the server keeps only its hash.")
    expires_at: datetime
    upn: str
    role: str


def cli_config(request: Request, settings: SettingsDep) -> JSONResponse:
    """Tell the CLI where it signs in; 404 when the CLI's browser sign-in is not configured."""
    oidc = portal_state(request).oidc
    if oidc is None or not settings.oidc_cli_client_id:
        return JSONResponse(
            {"detail": "browser sign-in for the CLI is not configured"}, status_code=404
        )
    body = CliSignInConfig(
        tenant_id=oidc.tenant, authority_host=oidc.host, client_id=settings.oidc_cli_client_id
    )
    return JSONResponse(body.model_dump(), headers={"Cache-Control": "no-store"})


def exchange_id_token(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> CliToken:
    """Trade a fresh Entra id token of the CLI app for a short-lived API token."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        refuse(request, Unauthenticated("an Entra id token is required (Authorization: Bearer …)"))
    oidc = portal_state(request).oidc
    if oidc is None or not settings.oidc_cli_client_id:
        refuse(
            request,
            Unauthenticated(
                "browser sign-in for the CLI is not configured on this server; use an API token"
            ),
        )
    now = clock.now()
    try:
        claims = validate_id_token(
            credentials.credentials,
            keys=oidc.keys(),
            issuer_host=oidc.host,
            tenant_id=oidc.tenant,
            client_id=settings.oidc_cli_client_id,
            nonce=None,  # the CLI checked its own nonce; freshness bounds a replay
            now=now,
        )
    except InvalidIdToken as err:
        refuse(request, Unauthenticated(str(err)))
    if now - claims.issued_at > FRESH:
        refuse(request, Unauthenticated("the id token is too old; run jitgate login again"))
    try:
        person = find_person(session=session, tid=claims.tid, oid=claims.oid)
    except SignInRefused as err:
        refuse(request, Unauthenticated(str(err)))
    actor = Actor(
        identity_id=person.id, name=person.display_name, role=person.role, source=Source.CLI
    )
    token, secret = create_api_token(
        session=session,
        clock=clock,
        actor=actor,
        identity_id=person.id,
        name=TOKEN_NAME,
        expires_in_days=None,
        lifetime=timedelta(seconds=settings.cli_token_lifetime_s),
    )
    session.commit()
    assert token.expires_at is not None  # noqa: S101 - a lifetime was given
    return CliToken(
        token=secret, expires_at=token.expires_at, upn=person.upn, role=str(person.role)
    )
