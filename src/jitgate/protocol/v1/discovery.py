"""Connector protocol v1, discovery pages: the items a discover job posts before its result.

Items are a discriminated union on ``type``; re-posting a page (same lease, same number) is a no-op.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from jitgate.protocol.v1.common import INSTANCE_KEY, MAX_PAGE_ITEMS, Message


class DiscoveredUser(Message):
    """An Entra user."""

    type: Literal["user"] = "user"
    id: str
    user_principal_name: str | None = None
    display_name: str | None = None
    mail: str | None = None
    user_type: str | None = None
    account_enabled: bool | None = None
    manager_id: str | None = Field(
        default=None,
        description="The manager's object id, if read; an empty string: read, and none.",
    )
    group_ids: list[str] | None = Field(
        default=None,
        description="Object ids of the user's groups among the discover job's member_groups, if "
        "read (None: not read).",
    )
    membership_only: bool = Field(
        default=False,
        description="Only group_ids is meant: a member of a group of interest whom this round "
        "did not otherwise read (a delta round); its other fields are left alone.",
    )


class DiscoveredGroup(Message):
    """An Entra group with what decides whether the broker may write to it."""

    type: Literal["group"] = "group"
    id: str
    display_name: str | None = None
    description: str | None = None
    mail: str | None = None
    mail_enabled: bool = False
    security_enabled: bool = True
    group_types: list[str] = Field(default_factory=list)
    is_assignable_to_role: bool = False
    on_premises_sync_enabled: bool = False
    owners: list[str] = Field(default_factory=list)
    tags: dict[str, str | list[str]] = Field(default_factory=dict)


class DiscoveredRole(Message):
    """A directory role definition."""

    type: Literal["role"] = "role"
    id: str
    display_name: str
    template_id: str | None = None
    is_built_in: bool = True
    is_enabled: bool = True
    description: str | None = None


class DiscoveredAdministrativeUnit(Message):
    """An administrative unit (a scope for role assignments)."""

    type: Literal["administrative_unit"] = "administrative_unit"
    id: str
    display_name: str | None = None
    description: str | None = None


class RemovedObject(Message):
    """A delta tombstone."""

    type: Literal["removed"] = "removed"
    id: str
    object_type: Literal["user", "group"]
    reason: str = "deleted"


DiscoveredItem = Annotated[
    DiscoveredUser
    | DiscoveredGroup
    | DiscoveredRole
    | DiscoveredAdministrativeUnit
    | RemovedObject,
    Field(discriminator="type"),
]


class ItemsPage(Message):
    """One page of discovered items, posted before the result; re-posting a page is a no-op."""

    instance_key: str = INSTANCE_KEY
    lease_token: str
    page: int = Field(ge=0, description="0, 1, 2 … in order; the result names how many.")
    items: list[DiscoveredItem] = Field(max_length=MAX_PAGE_ITEMS)


class PageAck(Message):
    """A stored page."""

    job_id: str
    page: int
    stored: bool = Field(description="False when this page had already been stored.")
