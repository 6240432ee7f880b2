"""API shapes for integrations and resources.

Inputs declare only types and descriptions; every limit and rule comes from the catalog's config
metadata and is enforced by ``jitgate.server.catalog.validation`` (one source of truth).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from jitgate.core.names import NFC
from jitgate.protocol.v1 import GrantMode
from jitgate.server.catalog.registry import ENTRA_ID
from jitgate.server.integrations.models import IntegrationStatus, MembershipMode


def _doc(param_id: str) -> str:
    return ENTRA_ID.param(param_id).description


class OwnerRule(BaseModel):
    """Integration owners: people or groups of one kind."""

    model_config = ConfigDict(extra="forbid")

    attribute: str = Field(description="`user` or `group`.", examples=["group"])
    values: list[str] = Field(
        description="UPNs, mails or object ids of users; names or object ids of groups.",
        examples=[["Identity Admins"]],
    )


class ResourceOwnerMapping(BaseModel):
    """Which resource tag names a resource's owners, and how its value is matched."""

    model_config = ConfigDict(extra="forbid")

    key_name: str = Field(description="The tag key, e.g. `owner`.", examples=["owner"])
    attribute: str = Field(
        description="`user.upn`, `user.mail`, `user.id`, `group.name` or `group.id`.",
        examples=["user.upn"],
    )


class IntegrationCreate(BaseModel):
    """A new integration; see `GET /api/v1/catalog/{type}` for every parameter's rules."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Contoso Entra",
                    "type": "entra-id",
                    "connector_id": "7f0c1c2e-7a43-4f57-9a43-6f2b5cf0a111",
                    "resource_types": ["entra-group", "entra-role"],
                    "custom_access_details": "Open https://myapps.microsoft.com after approval.",
                    "owners": [{"attribute": "group", "values": ["Identity Admins"]}],
                    "resource_owner": {"key_name": "owner", "attribute": "user.upn"},
                }
            ]
        },
    )

    name: Annotated[str, NFC] = Field(description=_doc("name"))
    type: str = Field(default=ENTRA_ID.type, description="An integration type from the catalog.")
    connector_id: str = Field(description=_doc("connector_id"))
    resource_types: list[str] = Field(
        default_factory=lambda: list(ENTRA_ID.param("resource_types").default),
        description=_doc("resource_types"),
    )
    credential_rotation_days: int | None = Field(
        default=None, description=_doc("credential_rotation_days")
    )
    user_cleanup_days: int | None = Field(default=None, description=_doc("user_cleanup_days"))
    invite_guests: bool = Field(default=False, description=_doc("invite_guests"))
    invite_redirect_url: str | None = Field(default=None, description=_doc("invite_redirect_url"))
    custom_access_details: str | None = Field(
        default=None, description=_doc("custom_access_details")
    )
    owners: list[OwnerRule] = Field(default_factory=list, description=_doc("owners"))
    resource_owner: ResourceOwnerMapping | None = Field(
        default=None, description=_doc("resource_owner")
    )
    grant_mode: GrantMode = Field(default=GrantMode.DIRECT, description=_doc("grant_mode"))
    membership_mode: MembershipMode = Field(
        default=MembershipMode.ADDITIVE, description=_doc("membership_mode")
    )


class IntegrationUpdate(BaseModel):
    """A partial change: only the fields present are changed; `null` clears an optional one."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"custom_access_details": "Sign out and in again to refresh your groups."},
                {"owners": [{"attribute": "user", "values": ["adele.vance@contoso.example"]}]},
            ]
        },
    )

    name: Annotated[str, NFC] | None = Field(default=None, description=_doc("name"))
    connector_id: str | None = Field(default=None, description=_doc("connector_id"))
    resource_types: list[str] | None = Field(default=None, description=_doc("resource_types"))
    credential_rotation_days: int | None = Field(
        default=None, description=_doc("credential_rotation_days")
    )
    user_cleanup_days: int | None = Field(default=None, description=_doc("user_cleanup_days"))
    invite_guests: bool | None = Field(default=None, description=_doc("invite_guests"))
    invite_redirect_url: str | None = Field(default=None, description=_doc("invite_redirect_url"))
    custom_access_details: str | None = Field(
        default=None, description=_doc("custom_access_details")
    )
    owners: list[OwnerRule] | None = Field(default=None, description=_doc("owners"))
    resource_owner: ResourceOwnerMapping | None = Field(
        default=None, description=_doc("resource_owner")
    )
    grant_mode: GrantMode | None = Field(default=None, description=_doc("grant_mode"))
    membership_mode: MembershipMode | None = Field(
        default=None, description=_doc("membership_mode")
    )


class IntegrationRead(BaseModel):
    """An integration with its settings and where its discovery stands."""

    id: str
    name: str
    type: str
    connector_id: str | None
    resource_types: list[str]
    status: IntegrationStatus
    status_message: str | None
    last_sync_at: datetime | None
    credential_rotation_days: int | None
    credential_rotation_due_at: datetime | None = Field(
        description="When the connector's token must be rotated by (its issue time plus "
        "`credential_rotation_days`); null without a rotation policy."
    )
    credential_rotation_overdue: bool
    user_cleanup_days: int | None
    invite_guests: bool
    invite_redirect_url: str | None
    custom_access_details: str | None = Field(
        description="Shown to requesters with their access to this integration's resources."
    )
    owners: list[OwnerRule]
    resource_owner: ResourceOwnerMapping | None
    grant_mode: GrantMode
    membership_mode: MembershipMode
    created_at: datetime
    updated_at: datetime


class IntegrationAsCode(BaseModel):
    """An integration as Terraform: HCL text and the same settings as JSON."""

    hcl: str = Field(description="A `jitgate_integration` resource block in HCL.")
    terraform_json: dict[str, Any] = Field(
        description="The same resource in Terraform's JSON syntax (`*.tf.json`)."
    )


class ResourceRead(BaseModel):
    """A discovered resource that people can request."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    integration_id: str
    type: str = Field(examples=["entra-group"])
    external_id: str = Field(description="The Entra object id (or role definition id).")
    name: str
    description: str | None
    attributes: dict[str, Any]
    tags: dict[str, str]
    owners: list[str]
    discovered_at: datetime
    last_seen_at: datetime
