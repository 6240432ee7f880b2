"""API tokens as the web plumbing checks them: the ``web.state.ApiTokens`` the app is built with.

``web.deps.current_actor`` and ``web.authfirst`` sit below every area, so they reach the token
check through ``AppState.tokens``; ``jitgate.server.app`` passes ``API_TOKENS``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jitgate.server.actor import Actor, Source
from jitgate.server.identities.service import authenticate_token, check_token, record_token_use

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from jitgate.core.clock import Clock
    from jitgate.server.identities.models import Identity


def _actor(identity: Identity) -> Actor:
    return Actor(identity_id=identity.id, name=identity.upn, role=identity.role, source=Source.API)


class ApiTokenCheck:
    """Check bearer API tokens against ``api_token`` rows (``identities.service``)."""

    def authenticate(self, *, session: Session, clock: Clock, token: str) -> Actor:
        """The actor behind ``token``, its use recorded in the session; raise if not valid."""
        return _actor(authenticate_token(session=session, clock=clock, token=token))

    def check(self, *, session: Session, clock: Clock, token: str) -> Actor:
        """The actor behind ``token`` without recording its use; raise if not valid."""
        return _actor(check_token(session=session, clock=clock, token=token))

    def record_use(self, *, session: Session, clock: Clock, token: str) -> None:
        """Record a use of ``token`` now (in a write of its own)."""
        record_token_use(session=session, clock=clock, token=token)


API_TOKENS = ApiTokenCheck()
