"""Pending sign-ins: the MSAL flow of a sign-in sent to Entra, kept on the server until it returns.

Invariants: a row is found only by the SHA-256 of its ``state`` (the browser never holds the
flow: no PKCE verifier or nonce in a cookie), lives ``SIGN_IN_LIFETIME`` and is used once;
``return_to`` is always a path on this server. A step-up may carry the form the person was
submitting; it is handed back once, to the session that sign-in opened (``pop_saved_form``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select

from jitgate.core.ids import hash_token
from jitgate.server.identities.session_models import PortalSignIn

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from jitgate.core.clock import Clock
    from jitgate.server.portal.user import PortalUser

SIGN_IN_LIFETIME = timedelta(minutes=10)
#: Form fields never kept with a pending sign-in.
UNSAVED_FIELDS = frozenset({"csrf_token"})
MAX_RETURN_TO = 2048


class SignInStateError(Exception):
    """The callback's ``state`` names no pending sign-in (forged, used or expired)."""


def safe_return_to(value: str | None) -> str:
    """``value`` if it is a path on this server (``/…``, not ``//…``), else ``/``."""
    if (
        not value
        or not value.startswith("/")
        or value.startswith(("//", "/\\"))
        or "\\" in value
        or any(ord(ch) < 0x20 for ch in value)  # noqa: PLR2004 - control characters
        or len(value) > MAX_RETURN_TO
    ):
        return "/"
    return value


def save_sign_in(
    *,
    session: Session,
    clock: Clock,
    state: str,
    flow: dict[str, Any],
    return_to: str,
    step_up: bool,
    saved_form: dict[str, Any] | None = None,
) -> PortalSignIn:
    """Keep a pending sign-in (and drop those long past their end)."""
    now = clock.now()
    session.execute(delete(PortalSignIn).where(PortalSignIn.expires_at < now - timedelta(days=1)))
    kept = None
    if saved_form is not None:
        kept = {k: v for k, v in saved_form.items() if k not in UNSAVED_FIELDS}
    row = PortalSignIn(
        state_hash=hash_token(state),
        flow=flow,
        return_to=safe_return_to(return_to),
        step_up=step_up,
        saved_form=kept,
        created_at=now,
        expires_at=now + SIGN_IN_LIFETIME,
    )
    session.add(row)
    session.flush()
    return row


def take_sign_in(*, session: Session, clock: Clock, state: str) -> PortalSignIn:
    """The pending sign-in of ``state``, marked used; ``SignInStateError`` if there is none."""
    row = session.scalar(
        select(PortalSignIn).where(PortalSignIn.state_hash == hash_token(state)).with_for_update()
    )
    now = clock.now()
    if row is None or row.used_at is not None or now >= row.expires_at:
        raise SignInStateError(
            "This sign-in response is not one jitgate is waiting for (unknown, already used or "
            "older than 10 minutes). Start again from the sign-in page."
        )
    row.used_at = now
    return row


def pop_saved_form(*, session: Session, user: PortalUser) -> dict[str, Any] | None:
    """The form saved before the step-up sign-in that opened ``user``'s session, once."""
    row = session.scalar(
        select(PortalSignIn)
        .where(PortalSignIn.session_id == user.session_id, PortalSignIn.saved_form.is_not(None))
        .order_by(PortalSignIn.created_at.desc())
        .limit(1)
    )
    if row is None or row.saved_form is None:
        return None
    saved = dict(row.saved_form)
    row.saved_form = None
    return saved
