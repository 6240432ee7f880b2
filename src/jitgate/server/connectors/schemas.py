"""API shapes for connectors and their running instances."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from jitgate.core.names import IDENTIFIER_NAME


class ConnectorStatus(StrEnum):
    """Derived on read: CONNECTED while some instance was seen within the grace period."""

    CONNECTED = "CONNECTED"
    DISCONNECTED = "DISCONNECTED"


class ConnectorCreate(BaseModel):
    """A new connector; the response carries its token once."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, IDENTIFIER_NAME] = Field(
        min_length=1,
        max_length=64,
        description="Unique name: letters and digits of any script, spaces, `.`, `_`, `-`; "
        "starts with a letter or digit; no invisible characters or look-alike forms.",
        examples=["contoso-prod"],
    )


class ConnectorInstanceRead(BaseModel):
    """One running copy of a connector."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    instance_key: str = Field(description="The instance's own id (host name, pod name).")
    version: str
    metadata: dict[str, Any] = Field(validation_alias="meta")
    first_seen_at: datetime
    last_seen_at: datetime
    connected: bool = Field(description="Seen within the grace period.")


class ConnectorRead(BaseModel):
    """A connector with its derived status and instances."""

    id: str
    name: str
    status: ConnectorStatus
    token_prefix: str = Field(
        description="The first characters of the token, to tell tokens apart."
    )
    created_at: datetime
    token_rotated_at: datetime | None
    last_seen_at: datetime | None = Field(description="The latest last-seen of any instance.")
    instances: list[ConnectorInstanceRead]
    self_check: dict[str, Any] | None = Field(
        description="The last self-check: Graph permissions and Entra roles the connector holds."
    )
    self_checked_at: datetime | None
    integration_count: int = Field(description="Live integrations that use this connector.")


class ConnectorCreated(ConnectorRead):
    """A new (or re-keyed) connector: ``token`` is shown this once and never again."""

    token: str = Field(description="The connector's secret: `jg_ct_…`. Store it now.")

    @classmethod
    def with_token(cls, read: ConnectorRead, token: str) -> ConnectorCreated:
        """The read model plus its token: fields are taken as they are, not dumped and re-parsed.

        A dump names an instance's metadata ``metadata`` while its input alias is ``meta``, so a
        dump-and-parse round trip fails on every connector with an instance.
        """
        return cls(**dict(read), token=token)
