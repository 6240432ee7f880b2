"""State changes on identities and API tokens; each writes one audit event."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from jitgate.core.errors import Conflict, Forbidden, NotFound
from jitgate.core.ids import hash_token, new_token
from jitgate.server.actor import UserRole, require_admin
from jitgate.server.audit.operations import record_event
from jitgate.server.identities.models import ApiToken, Identity
from jitgate.server.identities.schemas import IdentityCreate
from jitgate.server.identities.service import find_identity, get_identity
from jitgate.server.identities.sessions import revoke_identity_sessions
from jitgate.server.locking import locked

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.orm import Session

    from jitgate.core.clock import Clock
    from jitgate.server.actor import Actor

TOKEN_PREFIX = "jg_at"  # noqa: S105 - a public prefix, not a secret


def identity_summary(identity: Identity) -> dict[str, object]:
    """The audit form of an identity."""
    return {"upn": identity.upn, "role": str(identity.role), "object_id": identity.object_id}


def create_identity(
    *, session: Session, clock: Clock, actor: Actor, data: IdentityCreate
) -> Identity:
    """Add a local identity (admins only)."""
    require_admin(actor, "add identities")
    if find_identity(session=session, ref=data.upn) is not None:
        raise Conflict(f"an identity with UPN {data.upn!r} exists")
    if data.object_id and find_identity(session=session, ref=data.object_id) is not None:
        raise Conflict(f"an identity with object id {data.object_id!r} exists")
    manager_id = None
    if data.manager:
        manager_id = get_identity(session=session, ref=data.manager).id
    now = clock.now()
    identity = Identity(
        object_id=data.object_id,
        upn=data.upn.lower(),
        mail=str(data.mail).lower() if data.mail else None,
        display_name=data.display_name,
        manager_id=manager_id,
        groups=data.groups,
        attributes=data.attributes,
        role=data.role,
        source="local",
        created_at=now,
        updated_at=now,
    )
    session.add(identity)
    session.flush()
    record_event(
        session=session,
        clock=clock,
        actor=actor,
        action="identity.create",
        target_type="identity",
        target_id=identity.id,
        after=identity_summary(identity),
    )
    return identity


def set_identity_role(
    *, session: Session, clock: Clock, actor: Actor, identity_id: str, role: UserRole
) -> Identity:
    """Change a person's jitgate role (admins only; an admin cannot demote themself)."""
    require_admin(actor, "change roles")
    identity = locked(session, Identity, identity_id, what="identity")
    if identity.id == actor.identity_id and role is not UserRole.ADMIN:
        raise Conflict("an admin cannot remove their own admin role")
    before = identity_summary(identity)
    changed = identity.role is not role
    identity.role = role
    identity.updated_at = clock.now()
    if changed:  # a portal session keeps the role it began with: end them
        revoke_identity_sessions(
            session=session,
            clock=clock,
            identity_id=identity.id,
            reason="role_changed",
            actor=actor,
        )
    record_event(
        session=session,
        clock=clock,
        actor=actor,
        action="identity.set_role",
        target_type="identity",
        target_id=identity.id,
        before=before,
        after=identity_summary(identity),
    )
    return identity


def create_api_token(
    *,
    session: Session,
    clock: Clock,
    actor: Actor,
    identity_id: str,
    name: str,
    expires_in_days: int | None,
    lifetime: timedelta | None = None,
) -> tuple[ApiToken, str]:
    """Issue a token for ``identity_id``; return the row and the secret (shown once)."""
    if identity_id != actor.identity_id and not actor.is_admin:
        raise Forbidden("you may only create tokens for yourself")
    if session.get(Identity, identity_id) is None:
        raise NotFound(f"no identity {identity_id!r}")
    secret = new_token(TOKEN_PREFIX)
    now = clock.now()
    token = ApiToken(
        identity_id=identity_id,
        name=name,
        token_hash=hash_token(secret),
        prefix=secret[: len(TOKEN_PREFIX) + 5],
        created_at=now,
        expires_at=_expiry(now, expires_in_days, lifetime),
    )
    session.add(token)
    session.flush()
    record_event(
        session=session,
        clock=clock,
        actor=actor,
        action="api_token.create",
        target_type="api_token",
        target_id=token.id,
        after={"identity_id": identity_id, "name": name, "prefix": token.prefix},
    )
    return token, secret


def _expiry(now: datetime, days: int | None, lifetime: timedelta | None) -> datetime | None:
    if lifetime is not None:  # a short-lived token (the CLI's browser sign-in)
        return now + lifetime
    return now + timedelta(days=days) if days else None


def revoke_api_token(*, session: Session, clock: Clock, actor: Actor, token_id: str) -> ApiToken:
    """Revoke a token (its owner or an admin)."""
    token = session.get(ApiToken, token_id, with_for_update=True)
    if token is None or (token.identity_id != actor.identity_id and not actor.is_admin):
        raise NotFound(f"no API token {token_id!r}")
    if token.revoked_at is not None:
        raise Conflict("the token is already revoked")
    token.revoked_at = clock.now()
    record_event(
        session=session,
        clock=clock,
        actor=actor,
        action="api_token.revoke",
        target_type="api_token",
        target_id=token.id,
        after={"identity_id": token.identity_id, "prefix": token.prefix},
    )
    return token


def bootstrap_token(
    *,
    session: Session,
    clock: Clock,
    actor: Actor,
    upn: str,
    role: UserRole,
    name: str,
    expires_in_days: int | None,
) -> str:
    """Server-side bootstrap: make sure ``upn`` exists with ``role`` and issue a token."""
    identity = find_identity(session=session, ref=upn)
    if identity is None:
        data = IdentityCreate(upn=upn, display_name=upn.split("@", maxsplit=1)[0], role=role)
        identity = create_identity(session=session, clock=clock, actor=actor, data=data)
    elif identity.role is not role:
        set_identity_role(
            session=session, clock=clock, actor=actor, identity_id=identity.id, role=role
        )
    _, secret = create_api_token(
        session=session,
        clock=clock,
        actor=actor,
        identity_id=identity.id,
        name=name,
        expires_in_days=expires_in_days,
    )
    return secret
