"""The signed-in person as every portal view sees them.

A ``PortalUser`` is built from a live portal session on each request; views never read the
session row or the cookie themselves. Its ``actor()`` is what operations are called with, so
the audit records the portal as the source and the MFA the sign-in proved.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from jitgate.server.actor import Actor, Source, UserRole

if TYPE_CHECKING:
    from datetime import datetime


@dataclass(frozen=True, slots=True)
class PortalUser:
    """A person signed in to the portal, through one session."""

    session_id: str  # the session row's public id (never the cookie's secret value)
    identity_id: str
    display_name: str
    upn: str
    role: UserRole
    csrf_token: str
    auth_time: datetime
    mfa_at: datetime | None  # when the sign-in proved MFA (amr "mfa"); None when it did not
    amr: tuple[str, ...] = ()
    acrs: tuple[str, ...] = ()

    @property
    def is_admin(self) -> bool:
        """Tell whether the person holds the admin role."""
        return self.role is UserRole.ADMIN

    @property
    def can_read_all(self) -> bool:
        """Admins and auditors read everything."""
        return self.role in {UserRole.ADMIN, UserRole.AUDITOR}

    def actor(self) -> Actor:
        """The actor operations are called with: the portal as source, the proved MFA."""
        return Actor(
            identity_id=self.identity_id,
            name=self.display_name or self.upn,
            role=self.role,
            source=Source.PORTAL,
            mfa_at=self.mfa_at,
            amr=self.amr,
        )
