"""Who is acting, and through which channel: passed to every operation and written to the audit.

The roles a person holds in jitgate (``UserRole``, stored on ``identities.models.Identity``) live
here because every layer checks them through the actor; ``RECONCILER`` is the broker's own actor.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from jitgate.core.errors import Forbidden

if TYPE_CHECKING:
    from datetime import datetime


class UserRole(StrEnum):
    """What a person may do in jitgate itself (approval rights come from access flows)."""

    ADMIN = "admin"
    AUDITOR = "auditor"
    USER = "user"


class Source(StrEnum):
    """The channel a change came through."""

    PORTAL = "portal"
    API = "api"
    CLI = "cli"
    SYSTEM = "system"
    CONNECTOR = "connector"


@dataclass(frozen=True, slots=True)
class Actor:
    """The person (or system component) performing an operation."""

    identity_id: str | None
    name: str
    role: UserRole | None
    source: Source
    mfa_at: datetime | None = None
    amr: tuple[str, ...] = ()  # how the sign-in behind ``mfa_at`` authenticated (Entra ``amr``)

    @property
    def is_admin(self) -> bool:
        """Tell whether the actor holds the admin role."""
        return self.role is UserRole.ADMIN

    @property
    def can_read_all(self) -> bool:
        """Admins and auditors may read everything."""
        return self.role in {UserRole.ADMIN, UserRole.AUDITOR}

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        """The broker itself (reconciler, scheduler)."""
        return cls(identity_id=None, name=name, role=None, source=Source.SYSTEM)


def mfa_record(actor: Actor) -> dict[str, object] | None:
    """The audit form of the MFA the actor's sign-in proved, or ``None`` when it proved none."""
    if actor.mfa_at is None:
        return None
    return {"at": actor.mfa_at.isoformat(), "amr": list(actor.amr)}


def require_admin(actor: Actor, may: str) -> None:
    """Refuse (``Forbidden``: "only admins may <may>") unless ``actor`` holds the admin role.

    Operations that change what only admins may change call this first, whatever the route
    checked: the CLI and the reconciler reach operations without a route.
    """
    if not actor.is_admin:
        raise Forbidden(f"only admins may {may}")


#: The reconciler's actor: every change a tick or a job result makes is audited under it.
RECONCILER = Actor.system("reconciler")
