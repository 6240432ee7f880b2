"""Factories: build objects through the real operations, so the audit chain stays whole."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jitgate.server.actor import Actor, Source
from jitgate.server.identities.models import Identity, UserRole
from jitgate.server.identities.operations import create_api_token, create_identity
from jitgate.server.identities.schemas import IdentityCreate

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from jitgate.core.clock import Clock

BOOTSTRAP = Actor(identity_id=None, name="bootstrap", role=UserRole.ADMIN, source=Source.CLI)


def actor_for(identity: Identity, source: Source = Source.API) -> Actor:
    """The actor for a person."""
    return Actor(identity_id=identity.id, name=identity.upn, role=identity.role, source=source)


def make_identity(
    session: Session,
    clock: Clock,
    upn: str,
    *,
    role: UserRole = UserRole.USER,
    manager: str | None = None,
    groups: list[dict[str, str]] | None = None,
    **extra: Any,
) -> Identity:
    """Add a person."""
    data = IdentityCreate(
        upn=upn,
        display_name=upn.split("@", maxsplit=1)[0].replace(".", " ").title(),
        mail=upn,
        manager=manager,
        groups=groups or [],
        role=role,
        **extra,
    )
    identity = create_identity(session=session, clock=clock, actor=BOOTSTRAP, data=data)
    session.commit()
    return identity


def bearer(session: Session, clock: Clock, identity: Identity) -> dict[str, str]:
    """Issue a token for ``identity`` and return the Authorization header."""
    _, secret = create_api_token(
        session=session,
        clock=clock,
        actor=BOOTSTRAP,
        identity_id=identity.id,
        name="test",
        expires_in_days=1,
    )
    session.commit()
    return {"Authorization": f"Bearer {secret}"}
