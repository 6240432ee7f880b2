"""What Entra operations return: small frozen records that carry Graph request ids for the audit.

Invariant: every result of a Graph call names the request ids Graph gave it, so the audit
event for a grant or revocation can point Microsoft support at the exact calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from jitgate.graph.limiter import Priority

if TYPE_CHECKING:
    from jitgate.protocol.v1 import Permission

GRAPH_OBJECT_URL = "https://graph.microsoft.com/v1.0/directoryObjects/"
"""``@odata.id`` prefix for references; Graph (and the emulator) accept the public host."""

T = TypeVar("T")

#: The reserved tag whose value lists a group's native owners (DESIGN.md: resource owner mapping).
OWNERS_TAG = "owners"


class Outcome(StrEnum):
    """What an idempotent write did."""

    APPLIED = "applied"
    ALREADY_PRESENT = "already_present"
    ALREADY_ABSENT = "already_absent"
    FAILED = "failed"


class Action(StrEnum):
    """Add or remove access."""

    GRANT = "grant"
    REVOKE = "revoke"


class PrincipalKind(StrEnum):
    """Directory object types we grant to."""

    USER = "user"
    GROUP = "group"
    SERVICE_PRINCIPAL = "servicePrincipal"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class WriteResult:
    """The result of one idempotent write."""

    outcome: Outcome
    request_ids: tuple[str, ...] = ()
    detail: str = ""
    #: For role assignments and PIM requests: the id Graph gave the assignment or request.
    object_id: str | None = None


@dataclass(frozen=True, slots=True)
class User:
    """A discovered Entra user."""

    id: str
    user_principal_name: str | None
    display_name: str | None
    mail: str | None
    user_type: str | None = None
    account_enabled: bool | None = None
    on_premises_sync_enabled: bool | None = None
    #: The manager's object id; ``""`` when read and there is none; ``None`` when not read.
    manager_id: str | None = None

    @property
    def is_guest(self) -> bool:
        """Guests are ``userType == Guest`` (their UPN usually holds ``#EXT#``)."""
        upn = self.user_principal_name or ""
        return self.user_type == "Guest" or "#EXT#" in upn


@dataclass(frozen=True, slots=True)
class Group:
    """A discovered Entra group with what decides whether we may write to it."""

    id: str
    display_name: str | None
    description: str | None = None
    mail: str | None = None
    mail_enabled: bool = False
    security_enabled: bool = True
    group_types: tuple[str, ...] = ()
    is_assignable_to_role: bool = False
    on_premises_sync_enabled: bool = False
    owners: tuple[str, ...] = ()
    tags: dict[str, str | tuple[str, ...]] = field(default_factory=dict)

    @property
    def is_dynamic(self) -> bool:
        """Membership is rule-based."""
        return "DynamicMembership" in self.group_types

    @property
    def is_unified(self) -> bool:
        """A Microsoft 365 group."""
        return "Unified" in self.group_types


@dataclass(frozen=True, slots=True)
class Removed:
    """A delta tombstone: the object was deleted (``deleted``) or soft-deleted (``changed``)."""

    id: str
    reason: str


@dataclass(frozen=True, slots=True)
class RoleDefinition:
    """A directory role definition."""

    id: str
    display_name: str
    template_id: str | None
    is_built_in: bool
    is_enabled: bool
    description: str | None = None


@dataclass(frozen=True, slots=True)
class AdministrativeUnit:
    """An administrative unit (a scope for role assignments)."""

    id: str
    display_name: str | None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class Principal:
    """A resolved directory object."""

    id: str
    kind: PrincipalKind
    display_name: str | None
    user_principal_name: str | None = None
    mail: str | None = None
    user_type: str | None = None
    request_ids: tuple[str, ...] = ()

    @property
    def is_guest(self) -> bool:
        """A B2B guest."""
        return self.user_type == "Guest" or "#EXT#" in (self.user_principal_name or "")


@dataclass(frozen=True, slots=True)
class DirectoryObjectRef:
    """A member or owner as Graph lists it."""

    id: str
    kind: PrincipalKind
    display_name: str | None = None
    user_principal_name: str | None = None


@dataclass(frozen=True, slots=True)
class Listing(Generic[T]):
    """A small, complete list read from Graph, with the request ids of its pages."""

    items: tuple[T, ...]
    request_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RoleAssignment:
    """A direct (non-PIM) role assignment."""

    id: str
    principal_id: str
    role_definition_id: str
    directory_scope_id: str


@dataclass(frozen=True, slots=True)
class AccessChange:
    """One item for the bulk write API."""

    action: Action
    principal_id: str
    #: A group id, or a role definition (template) id.
    resource_id: str
    permission: Permission
    #: ``/`` for the tenant or ``/administrativeUnits/{id}`` (roles only).
    directory_scope_id: str = "/"
    priority: Priority | None = None
    #: Caller's correlation key, echoed on the result.
    key: str | None = None

    @property
    def effective_priority(self) -> Priority:
        """Revocations before grants unless the caller says otherwise."""
        if self.priority is not None:
            return self.priority
        return Priority.REVOKE if self.action is Action.REVOKE else Priority.GRANT


@dataclass(frozen=True, slots=True)
class ChangeResult:
    """What one ``AccessChange`` did."""

    change: AccessChange
    outcome: Outcome
    request_ids: tuple[str, ...] = ()
    error_code: str | None = None
    detail: str = ""
    retryable: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    #: A write for this change was sent and its answer lost: it may still land (even after a
    #: later remove). The outcome above can be ``applied``/``failed`` all the same.
    ambiguous: bool = False
