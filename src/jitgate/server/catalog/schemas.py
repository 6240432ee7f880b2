"""API shapes of the catalog: the Integration Config Metadata of each integration type."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from jitgate.server.catalog.registry import (
        IntegrationType,
        ParamSpec,
        ResourceTypeSpec,
    )


class ParamLimits(BaseModel):
    """The limits a parameter's value must keep (absent when they do not apply)."""

    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    minimum: int | None = None
    maximum: int | None = None
    max_items: int | None = None


class ConfigParam(BaseModel):
    """One parameter of an integration type."""

    id: str = Field(examples=["credential_rotation_days"])
    label: str
    type: str = Field(
        description="string, text, integer, enum, multi_enum, connector (a connector id), "
        "owners (a list of {attribute, values}) or resource_owner ({key_name, attribute})."
    )
    step: str = Field(description="The setup step: discovery, connector, config or get_more.")
    values: list[str] = Field(description="Allowed values (enum and multi_enum); else empty.")
    default: Any = None
    optional: bool
    description: str
    limits: ParamLimits
    requires: list[str] = Field(description="Parameters that must be set when this one is.")
    fields: list[ConfigParam] = Field(description="The parts of an object-valued parameter.")

    @classmethod
    def of(cls, spec: ParamSpec) -> ConfigParam:
        """Publish one parameter spec."""
        return cls(
            id=spec.id,
            label=spec.label,
            type=str(spec.type),
            step=spec.step,
            values=list(spec.values),
            default=spec.default,
            optional=spec.optional,
            description=spec.description,
            limits=ParamLimits(
                min_length=spec.min_length,
                max_length=spec.max_length,
                pattern=spec.pattern,
                minimum=spec.minimum,
                maximum=spec.maximum,
                max_items=spec.max_items,
            ),
            requires=list(spec.requires),
            fields=[cls.of(f) for f in spec.fields],
        )


class PermissionRead(BaseModel):
    """A permission that can be requested on a resource type."""

    id: str = Field(examples=["member"])
    label: str
    description: str


class ScopeRead(BaseModel):
    """Where a permission applies."""

    pattern: str = Field(examples=["/administrativeUnits/{id}"])
    label: str
    description: str


class ResourceTypeRead(BaseModel):
    """A kind of resource and its permissions."""

    id: str = Field(examples=["entra-group"])
    label: str
    description: str
    permissions: list[PermissionRead]
    scopes: list[ScopeRead]

    @classmethod
    def of(cls, spec: ResourceTypeSpec) -> ResourceTypeRead:
        """Publish one resource type."""
        return cls(
            id=spec.id,
            label=spec.label,
            description=spec.description,
            permissions=[
                PermissionRead(id=p.id, label=p.label, description=p.description)
                for p in spec.permissions
            ],
            scopes=[
                ScopeRead(pattern=s.pattern, label=s.label, description=s.description)
                for s in spec.scopes
            ],
        )


class IntegrationTypeRead(BaseModel):
    """An integration type with its config metadata."""

    type: str = Field(examples=["entra-id"])
    name: str = Field(examples=["Microsoft Entra ID — Groups and Roles"])
    description: str
    category: str
    requires_secret: bool = Field(
        description="Whether the integration needs a secret; Entra uses the connector's identity."
    )
    supported_secret_types: list[str]
    required_entra_roles: list[str] = Field(
        description="Entra roles the connector's identity must hold."
    )
    params: list[ConfigParam]
    resource_types: list[ResourceTypeRead]

    @classmethod
    def of(cls, itype: IntegrationType) -> IntegrationTypeRead:
        """Publish one integration type."""
        return cls(
            type=itype.type,
            name=itype.name,
            description=itype.description,
            category=itype.category,
            requires_secret=itype.requires_secret,
            supported_secret_types=[],
            required_entra_roles=list(itype.required_entra_roles),
            params=[ConfigParam.of(p) for p in itype.params],
            resource_types=[ResourceTypeRead.of(r) for r in itype.resource_types],
        )
