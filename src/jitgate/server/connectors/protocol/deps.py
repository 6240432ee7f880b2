"""Dependencies of the connector endpoints: the connector (from its token) and the jobs runtime.

Connector endpoints accept only connector tokens (``jg_ct_…``); user API tokens get 401 here,
and connector tokens get 401 on ``/api/v1`` (they are not API tokens). A rotated token stops
working at once because only the current hash matches.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from jitgate.core.db import read_only
from jitgate.core.errors import Unauthenticated
from jitgate.server.connectors.operations import TOKEN_PREFIX
from jitgate.server.connectors.protocol.instances import connector_actor_for
from jitgate.server.connectors.protocol.runtime import JobsRuntime
from jitgate.server.connectors.service import authenticate_connector
from jitgate.server.web.deps import app_state
from jitgate.server.web.throttle import refuse

if TYPE_CHECKING:
    from jitgate.server.actor import Actor

connector_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ConnectorToken",
    description="A connector token: `Authorization: Bearer jg_ct_…`",
)


@dataclass(frozen=True, slots=True)
class ConnectorPrincipal:
    """The authenticated connector behind a request."""

    connector_id: str
    name: str

    @property
    def actor(self) -> Actor:
        """The audit actor."""
        return connector_actor_for(self.connector_id, self.name)


def connector_token(request: Request, credentials: HTTPAuthorizationCredentials | None) -> str:
    """Return the request's connector token; refuse (and count) a missing or non-connector one."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        refuse(
            request,
            Unauthenticated("a connector token is required (Authorization: Bearer jg_ct_…)"),
        )
    token = credentials.credentials
    if not token.startswith(TOKEN_PREFIX + "_"):
        refuse(request, Unauthenticated("this endpoint accepts connector tokens (jg_ct_…) only"))
    return token


def find_connector(request: Request, token: str) -> ConnectorPrincipal:
    """Look a connector token up in a short read of its own; refuse (and count) an unknown one."""
    with app_state(request).sessions() as session:
        try:
            connector = authenticate_connector(session=session, token=token)
        except Unauthenticated as err:
            refuse(request, err)
        principal = ConnectorPrincipal(connector_id=connector.id, name=connector.name)
        session.rollback()
    return principal


def _check_connector_token(request: Request, token: str) -> None:
    with read_only():
        find_connector(request, token)


async def check_connector_request(request: Request) -> None:
    """Check a connector request's token before its body is read (``web.authfirst``); only reads.

    Refuses (and counts) what ``connector_actor`` would refuse: no token, a token that is not a
    connector token, an unknown one.
    """
    token = connector_token(request, await connector_bearer(request))
    await run_in_threadpool(_check_connector_token, request, token)


def connector_actor(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(connector_bearer)],
) -> ConnectorPrincipal:
    """Authenticate a connector token in a short session of its own (long-polls hold none)."""
    return find_connector(request, connector_token(request, credentials))


def jobs_runtime(request: Request) -> JobsRuntime:
    """Return the app's jobs runtime."""
    runtime: JobsRuntime = request.app.state.jobs
    return runtime


ConnectorDep = Annotated[ConnectorPrincipal, Depends(connector_actor)]
RuntimeDep = Annotated[JobsRuntime, Depends(jobs_runtime)]
