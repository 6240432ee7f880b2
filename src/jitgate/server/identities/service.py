"""Looking up identities and checking API tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import case, func, or_, select, update

from jitgate.core.errors import NotFound, Unauthenticated
from jitgate.core.ids import hash_token
from jitgate.server.identities.models import ApiToken, Identity
from jitgate.server.search import contains

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.orm import Session

    from jitgate.core.clock import Clock

#: A token's recorded last use is at most this stale (so that reads do not all write).
LAST_USE_RESOLUTION = timedelta(minutes=1)


def find_identity(*, session: Session, ref: str) -> Identity | None:
    """Find a person by jitgate id, Entra object id, UPN or mail (case-insensitive).

    Object ids are unique per tenant only: when several identities match, the jitgate id wins,
    then the UPN, then the oldest identity, so a later tenant's copy never shadows the first.
    """
    lowered = ref.strip().lower()
    rank = case((Identity.id == ref, 0), (func.lower(Identity.upn) == lowered, 1), else_=2)
    return session.scalars(
        select(Identity)
        .where(
            or_(
                Identity.id == ref,
                Identity.object_id == ref,
                func.lower(Identity.upn) == lowered,
                func.lower(Identity.mail) == lowered,
            )
        )
        .order_by(rank, Identity.created_at, Identity.id)
        .limit(1)
    ).first()


def get_identity(*, session: Session, ref: str) -> Identity:
    """Like ``find_identity`` but raise ``NotFound``."""
    identity = find_identity(session=session, ref=ref)
    if identity is None:
        raise NotFound(f"no identity {ref!r}")
    return identity


def list_identities(
    *, session: Session, search: str | None, limit: int, offset: int
) -> tuple[list[Identity], int]:
    """Return a page of identities matching ``search`` (UPN, mail or display name)."""
    query = select(Identity)
    if search:
        query = query.where(
            or_(
                contains(Identity.upn, search),
                contains(Identity.display_name, search),
                contains(Identity.mail, search),
            )
        )
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Identity.upn).limit(limit).offset(offset))
    return list(rows), total


def _valid_token(*, session: Session, now: datetime, token: str) -> tuple[ApiToken, Identity]:
    """Return a bearer token's row and identity if the token is valid at ``now``; else raise."""
    row = session.scalars(
        select(ApiToken).where(ApiToken.token_hash == hash_token(token))
    ).one_or_none()
    if row is None or row.revoked_at is not None:
        raise Unauthenticated("the API token is not valid")
    if row.expires_at is not None and row.expires_at <= now:
        raise Unauthenticated("the API token has expired")
    identity = session.get(Identity, row.identity_id)
    if identity is None or not identity.account_enabled:
        raise Unauthenticated("the API token's identity is disabled")
    return row, identity


def check_token(*, session: Session, clock: Clock, token: str) -> Identity:
    """Return the identity behind a bearer token without recording its use; raise if not valid."""
    return _valid_token(session=session, now=clock.now(), token=token)[1]


def authenticate_token(*, session: Session, clock: Clock, token: str) -> Identity:
    """Return the identity behind a bearer token; raise if not valid.

    The token's last use is recorded when the recorded one is older than
    ``LAST_USE_RESOLUTION`` (the change is left in the session for the caller to commit), so
    most calls only read: a read request writes at most once a minute per token.
    """
    now = clock.now()
    row, identity = _valid_token(session=session, now=now, token=token)
    if row.last_used_at is None or now - row.last_used_at >= LAST_USE_RESOLUTION:
        row.last_used_at = now
    return identity


def record_token_use(*, session: Session, clock: Clock, token: str) -> None:
    """Record a use of ``token`` now, unless a use under ``LAST_USE_RESOLUTION`` ago is recorded."""
    now = clock.now()
    session.execute(
        update(ApiToken)
        .where(
            ApiToken.token_hash == hash_token(token),
            or_(
                ApiToken.last_used_at.is_(None),
                ApiToken.last_used_at <= now - LAST_USE_RESOLUTION,
            ),
        )
        .values(last_used_at=now)
    )


def list_tokens(*, session: Session, identity_id: str) -> list[ApiToken]:
    """Return a person's API tokens, newest first."""
    return list(
        session.scalars(
            select(ApiToken)
            .where(ApiToken.identity_id == identity_id)
            .order_by(ApiToken.created_at.desc())
        )
    )
