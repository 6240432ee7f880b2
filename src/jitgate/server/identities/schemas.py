"""API shapes for identities and API tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from jitgate.core.names import TEXT_NAME
from jitgate.server.actor import UserRole


def _mail(value: str) -> str:
    local, at, domain = value.partition("@")
    if not (local and at and domain) or "@" in domain or any(c.isspace() for c in value):
        raise PydanticCustomError(
            "mail", "must be a mail address: one '@' with text on both sides, no spaces"
        )
    return value


#: A mail address, refused in words (any script: Entra takes internationalised addresses).
MAIL = AfterValidator(_mail)


class IdentityRead(BaseModel):
    """A person known to jitgate."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    object_id: str | None = Field(description="The Entra object id, when synced from Entra.")
    upn: str = Field(examples=["adele.vance@contoso.example"])
    mail: str | None
    display_name: str
    user_type: str
    account_enabled: bool
    manager_id: str | None
    groups: list[dict[str, str]]
    attributes: dict[str, Any]
    role: UserRole
    source: str


class IdentityCreate(BaseModel):
    """A local identity (Entra identities arrive through discovery)."""

    model_config = ConfigDict(extra="forbid")

    upn: str = Field(min_length=3, max_length=320, examples=["adele.vance@contoso.example"])
    display_name: Annotated[str, TEXT_NAME] = Field(
        min_length=1, max_length=256, examples=["Adele Vance"]
    )
    mail: Annotated[str, MAIL] | None = Field(
        default=None, max_length=320, examples=["adele.vance@contoso.example"]
    )
    object_id: str | None = Field(default=None, max_length=64)
    manager: str | None = Field(default=None, description="Manager's id, UPN or mail.")
    groups: list[dict[str, str]] = Field(default_factory=list)
    attributes: dict[str, Any] = Field(default_factory=dict)
    role: UserRole = UserRole.USER


class IdentityRoleUpdate(BaseModel):
    """Change a person's jitgate role."""

    model_config = ConfigDict(extra="forbid")

    role: UserRole = Field(examples=["auditor"])


class ApiTokenCreate(BaseModel):
    """Ask for a new API token for yourself."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, TEXT_NAME] = Field(min_length=1, max_length=128, examples=["laptop cli"])
    expires_in_days: int | None = Field(default=90, ge=1, le=3650)


class ApiTokenRead(BaseModel):
    """An API token's metadata (never the secret)."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    identity_id: str
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiTokenCreated(ApiTokenRead):
    """A new token: ``token`` is shown this once and never again."""

    token: str
