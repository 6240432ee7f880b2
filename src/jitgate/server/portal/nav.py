"""The portal's navigation: one list of pages, each with the roles that see it.

A page that exists adds its entry to ``NAV`` (and only then: the nav never links a page that
answers 404). ``roles`` empty means every signed-in person. The layout marks the entry of the
current page with ``aria-current="page"``; an entry is current for its path and the paths below
it (``/request`` and ``/request/...``), ``/`` only for itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlencode

if TYPE_CHECKING:
    from jitgate.server.actor import UserRole
    from jitgate.server.portal.user import PortalUser

EVERYONE: frozenset[UserRole] = frozenset()


@dataclass(frozen=True, slots=True)
class NavItem:
    """One entry of the navigation."""

    label: str
    path: str
    roles: frozenset[UserRole] = EVERYONE

    def shown_to(self, user: PortalUser) -> bool:
        """Tell whether ``user``'s role sees this entry."""
        return not self.roles or user.role in self.roles

    def current_at(self, path: str) -> bool:
        """Tell whether ``path`` is this entry's page (or one below it)."""
        if self.path == "/":
            return path == "/"
        return path == self.path or path.startswith(self.path + "/")


@dataclass(frozen=True, slots=True)
class NavLink:
    """An entry as the layout shows it."""

    label: str
    path: str
    current: bool


#: Every page of the portal's navigation, in the order shown. Requester pages first (everyone
#: may request), then approver, auditor and admin pages as they are added.
NAV: tuple[NavItem, ...] = (
    NavItem("Home", "/"),
    NavItem("Request access", "/request"),
)

#: The sign-in layer's pages: the person's sessions, sign-in (with its way back), sign-out.
SESSIONS_PATH = "/sessions"
SIGN_IN_PATH = "/auth/sign-in"
SIGN_OUT_PATH = "/auth/sign-out"


def sign_in_url(return_to: str, **params: str) -> str:
    """The sign-in page's URL that comes back to ``return_to`` (a path on this server)."""
    return f"{SIGN_IN_PATH}?{urlencode({**params, 'return_to': return_to})}"


def nav_for(user: PortalUser | None, path: str) -> list[NavLink]:
    """The entries ``user`` sees, the one for ``path`` marked current (none when signed out)."""
    if user is None:
        return []
    return [
        NavLink(item.label, item.path, item.current_at(path)) for item in NAV if item.shown_to(user)
    ]
