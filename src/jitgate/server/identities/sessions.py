"""Portal sessions: started at sign-in, checked on every request, revoked on the server.

Invariants:

* the cookie carries a random id; only its SHA-256 is stored (``PortalSession.token_hash``);
* every sign-in makes a new id (a cookie presented at sign-in is revoked, never kept: no
  session fixation);
* a session is refused at use once revoked, past its absolute end (``session_absolute_s`` after
  sign-in), idle longer than ``session_idle_s``, when its identity is disabled, or when the
  role it was started with is no longer the identity's (for a role that did not come from the
  token's ``roles`` claim); every time is the injected clock's;
* disabling a person (discovery) and changing their role (``set_identity_role``) revoke their
  sessions; sign-in, sign-out and every revocation are audited.

People are found by ``(tid, oid)`` only (never by UPN or mail). The role is the token's
``roles`` claim (``Jitgate.Admin``, ``Jitgate.Auditor``, else user) when the claim is present,
the identity's admin-assigned role when it is absent.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from jitgate.core.ids import hash_token
from jitgate.server.actor import Actor, Source, UserRole
from jitgate.server.audit.operations import record_event
from jitgate.server.identities.models import Identity
from jitgate.server.identities.session_models import PortalSession

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.orm import Session

    from jitgate.core.clock import Clock
    from jitgate.core.settings import Settings
    from jitgate.server.identities.entra_tokens import IdTokenClaims

ADMIN_ROLE = "Jitgate.Admin"
AUDITOR_ROLE = "Jitgate.Auditor"
#: A session's last use is written at most this often (each page view would write otherwise).
TOUCH_EVERY = timedelta(seconds=60)


class SignInRefused(Exception):
    """The person may not sign in; the message is shown to them as it is."""


def role_from_claims(roles: tuple[str, ...] | None, fallback: UserRole) -> UserRole:
    """The jitgate role of a sign-in: from the ``roles`` claim if present, else ``fallback``."""
    if roles is None:
        return fallback
    if ADMIN_ROLE in roles:
        return UserRole.ADMIN
    if AUDITOR_ROLE in roles:
        return UserRole.AUDITOR
    return UserRole.USER


def mfa_proved_at(claims: IdTokenClaims, auth_context: str | None) -> datetime | None:
    """When the sign-in proved MFA (``amr`` has ``mfa``, and ``acrs`` the context if one is set)."""
    if not claims.has_mfa or claims.auth_time is None:
        return None
    if auth_context and auth_context not in claims.acrs:
        return None
    return claims.auth_time


def find_person(*, session: Session, tid: str, oid: str) -> Identity:
    """The discovered identity of ``(tid, oid)``; ``SignInRefused`` if unknown or disabled."""
    identity = session.scalar(
        select(Identity).where(Identity.tenant_id == tid, Identity.object_id == oid)
    )
    if identity is None:
        raise SignInRefused(
            "Your account is not known to jitgate yet. People appear after the directory is "
            "discovered; ask an administrator to check the Entra integration."
        )
    if not identity.account_enabled:
        raise SignInRefused("Your account is disabled in jitgate. Ask an administrator.")
    return identity


def session_actor(row: PortalSession, identity: Identity) -> Actor:
    """The actor of a session's own changes (sign-in, sign-out, revoking its sessions)."""
    return Actor(
        identity_id=identity.id,
        name=identity.display_name or identity.upn,
        role=row.role,
        source=Source.PORTAL,
        mfa_at=row.mfa_at,
    )


def _by_cookie(session: Session, cookie: str) -> PortalSession | None:
    return session.scalar(
        select(PortalSession).where(PortalSession.token_hash == hash_token(cookie))
    )


def start_session(
    *,
    session: Session,
    clock: Clock,
    settings: Settings,
    identity: Identity,
    claims: IdTokenClaims,
    user_agent: str,
    old_cookie: str | None,
) -> tuple[PortalSession, str]:
    """Open a session for a validated sign-in; return the row and the cookie value (new)."""
    now = clock.now()
    if old_cookie:
        old = _by_cookie(session, old_cookie)
        if old is not None and old.revoked_at is None:
            _revoke(session, clock, old, reason="replaced", actor=None)
    cookie = secrets.token_urlsafe(32)
    row = PortalSession(
        token_hash=hash_token(cookie),
        identity_id=identity.id,
        tenant_id=claims.tid,
        object_id=claims.oid,
        role=role_from_claims(claims.roles, identity.role),
        role_from_claim=claims.roles is not None,
        amr=list(claims.amr),
        acrs=list(claims.acrs),
        auth_time=claims.auth_time,
        mfa_at=mfa_proved_at(claims, settings.oidc_auth_context),
        entra_sid=claims.sid,
        csrf_token=secrets.token_urlsafe(32),
        user_agent=user_agent[:512],
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(seconds=settings.session_absolute_s),
    )
    session.add(row)
    session.flush()
    record_event(
        session=session,
        clock=clock,
        actor=session_actor(row, identity),
        action="portal.sign_in",
        target_type="portal_session",
        target_id=row.id,
        after={
            "identity_id": identity.id,
            "role": str(row.role),
            "role_from_claim": row.role_from_claim,
            "amr": row.amr,
            "acrs": row.acrs,
            "mfa_at": row.mfa_at.isoformat() if row.mfa_at else None,
        },
        context={"user_agent": row.user_agent},
    )
    return row, cookie


def resolve_session(
    *, session: Session, clock: Clock, settings: Settings, cookie: str
) -> tuple[PortalSession, Identity] | None:
    """The live session of ``cookie`` and its identity, or ``None``; records the use.

    The caller commits (the use is written at most every ``TOUCH_EVERY``).
    """
    row = _by_cookie(session, cookie)
    if row is None or row.revoked_at is not None:
        return None
    now = clock.now()
    if now >= row.expires_at or now - row.last_seen_at >= timedelta(
        seconds=settings.session_idle_s
    ):
        return None
    identity = session.get(Identity, row.identity_id)
    if identity is None or not identity.account_enabled:
        return None
    if not row.role_from_claim and identity.role is not row.role:
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
    return row, identity


def _revoke(
    session: Session, clock: Clock, row: PortalSession, *, reason: str, actor: Actor | None
) -> None:
    row.revoked_at = clock.now()
    row.revoked_reason = reason
    if actor is None:
        identity = session.get(Identity, row.identity_id)
        actor = session_actor(row, identity) if identity is not None else Actor.system("portal")
    record_event(
        session=session,
        clock=clock,
        actor=actor,
        action="portal.sign_out" if reason == "signed_out" else "portal.session_revoke",
        target_type="portal_session",
        target_id=row.id,
        after={"identity_id": row.identity_id, "reason": reason},
    )


def sign_out(*, session: Session, clock: Clock, session_id: str) -> None:
    """End the session ``session_id`` (its own sign-out)."""
    row = session.get(PortalSession, session_id, with_for_update=True)
    if row is not None and row.revoked_at is None:
        _revoke(session, clock, row, reason="signed_out", actor=None)


def revoke_own_session(*, session: Session, clock: Clock, actor: Actor, session_id: str) -> bool:
    """Revoke one of the actor's own sessions; ``False`` if it is not theirs or not live."""
    row = session.get(PortalSession, session_id, with_for_update=True)
    if row is None or row.identity_id != actor.identity_id or row.revoked_at is not None:
        return False
    _revoke(session, clock, row, reason="revoked", actor=actor)
    return True


def revoke_identity_sessions(
    *, session: Session, clock: Clock, identity_id: str, reason: str, actor: Actor
) -> int:
    """Revoke every live session of ``identity_id`` (disabled, role changed); return how many."""
    rows = session.scalars(
        select(PortalSession).where(
            PortalSession.identity_id == identity_id, PortalSession.revoked_at.is_(None)
        )
    ).all()
    for row in rows:
        _revoke(session, clock, row, reason=reason, actor=actor)
    return len(rows)


def live_sessions(
    *, session: Session, clock: Clock, settings: Settings, identity_id: str
) -> list[PortalSession]:
    """The identity's sessions that are still usable, newest first ("my sessions")."""
    now = clock.now()
    idle = timedelta(seconds=settings.session_idle_s)
    rows = session.scalars(
        select(PortalSession)
        .where(
            PortalSession.identity_id == identity_id,
            PortalSession.revoked_at.is_(None),
            PortalSession.expires_at > now,
        )
        .order_by(PortalSession.created_at.desc(), PortalSession.id)
    ).all()
    return [row for row in rows if now - row.last_seen_at < idle]
