"""FastAPI dependencies: session (committed at the edge), clock, settings, the acting person.

Authorisation is a dependency: ``AdminActor`` and ``ReaderActor`` refuse before a route runs;
finer rules (approver, owner of a request) live in the operations.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from jitgate.core.clock import Clock
from jitgate.core.db import READ_ONLY, writing
from jitgate.core.errors import Forbidden, Unauthenticated
from jitgate.core.settings import Settings
from jitgate.server.actor import Actor
from jitgate.server.web.state import AppState
from jitgate.server.web.throttle import refuse

bearer = HTTPBearer(auto_error=False, description="An API token: `Authorization: Bearer jg_at_…`")


def app_state(request: Request) -> AppState:
    """Return the app's state."""
    state: AppState = request.app.state.jitgate
    return state


def db_session(request: Request) -> Iterator[Session]:
    """One session per request: commit if the route succeeds, roll back if it raises."""
    session = app_state(request).sessions()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def clock(request: Request) -> Clock:
    """Return the injected clock."""
    return app_state(request).clock


def settings(request: Request) -> Settings:
    """Return the settings."""
    return app_state(request).settings


# "function" scope: commit before the response is sent, so a client that sees 2xx can
# read its own write, and a failed commit becomes an error response instead of a lie.
SessionDep = Annotated[Session, Depends(db_session, scope="function")]
ClockDep = Annotated[Clock, Depends(clock)]
SettingsDep = Annotated[Settings, Depends(settings)]


def api_token(request: Request, credentials: HTTPAuthorizationCredentials | None) -> str:
    """Return the request's bearer token; refuse (and count) a request without one."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        refuse(request, Unauthenticated("an API token is required (Authorization: Bearer …)"))
    return credentials.credentials


def token_actor(
    request: Request, session: Session, now: Clock, token: str, *, record_use: bool
) -> Actor:
    """Return the actor behind an API token; refuse (and count) a token that is not valid.

    ``record_use=False`` only reads (``web.authfirst`` checks a token before the body is read).
    The check is the app's (``AppState.tokens``, the identities area's).
    """
    tokens = app_state(request).tokens
    lookup = tokens.authenticate if record_use else tokens.check
    try:
        return lookup(session=session, clock=now, token=token)
    except Unauthenticated as err:
        refuse(request, err)


def current_actor(
    request: Request,
    session: SessionDep,
    now: ClockDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Actor:
    """Authenticate the bearer token; every API route depends on this.

    A refusal counts against the client's address (``web.throttle``): past the limit it is a 429.
    """
    token = api_token(request, credentials)
    actor = token_actor(request, session, now, token, record_use=True)
    if READ_ONLY.get():
        if session.dirty:  # a use to record: leave the read snapshot, write on its own
            session.rollback()
            with writing():
                app_state(request).tokens.record_use(session=session, clock=now, token=token)
                session.commit()
    else:
        session.commit()  # record the use even if the route then fails
    return actor


ActorDep = Annotated[Actor, Depends(current_actor)]


def admin_actor(actor: ActorDep) -> Actor:
    """Allow admins only."""
    if not actor.is_admin:
        raise Forbidden("this needs the admin role")
    return actor


def reader_actor(actor: ActorDep) -> Actor:
    """Allow admins and auditors."""
    if not actor.can_read_all:
        raise Forbidden("this needs the admin or auditor role")
    return actor


AdminActor = Annotated[Actor, Depends(admin_actor)]
ReaderActor = Annotated[Actor, Depends(reader_actor)]
