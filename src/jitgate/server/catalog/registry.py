"""The catalog: integration types known to jitgate, defined in code (not in the database).

Each type publishes its *Integration Config Metadata*: the parameters an integration of that type
takes, with label, type, allowed values, default, whether it is required, a description and its
limits. ``jitgate.server.catalog.validation`` checks integrations against exactly this metadata,
so the published schema and the enforced rules cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from jitgate.core.errors import NotFound
from jitgate.core.names import NameRule

NAME_MAX = 64
DAYS_MIN = 1
DAYS_MAX = 3650
ACCESS_DETAILS_MAX = 400
OWNER_ATTRIBUTES = ("user", "group")
RESOURCE_OWNER_ATTRIBUTES = ("user.upn", "user.mail", "user.id", "group.name", "group.id")
OWNER_VALUES_MAX = 50
URL_MAX = 2048
DEFAULT_INVITE_REDIRECT_URL = "https://myapplications.microsoft.com"


class ParamType(StrEnum):
    """The shape of a parameter's value."""

    STRING = "string"
    TEXT = "text"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    ENUM = "enum"
    MULTI_ENUM = "multi_enum"
    CONNECTOR = "connector"
    OWNERS = "owners"
    RESOURCE_OWNER = "resource_owner"


@dataclass(frozen=True, slots=True)
class ParamSpec:
    """One parameter of an integration type, with its limits."""

    id: str
    label: str
    type: ParamType
    description: str
    step: str
    optional: bool = True
    default: Any = None
    values: tuple[str, ...] = ()
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    pattern_words: str | None = None
    name_rule: NameRule | None = None
    minimum: int | None = None
    maximum: int | None = None
    max_items: int | None = None
    requires: tuple[str, ...] = ()
    fields: tuple[ParamSpec, ...] = ()


@dataclass(frozen=True, slots=True)
class PermissionSpec:
    """A permission that can be granted on a resource type."""

    id: str
    label: str
    description: str


@dataclass(frozen=True, slots=True)
class ScopeSpec:
    """Where a permission applies (directory roles: the whole directory or one unit)."""

    pattern: str
    label: str
    description: str


@dataclass(frozen=True, slots=True)
class ResourceTypeSpec:
    """A kind of resource discovery finds and people request."""

    id: str
    label: str
    description: str
    permissions: tuple[PermissionSpec, ...]
    scopes: tuple[ScopeSpec, ...] = ()

    def permission_ids(self) -> tuple[str, ...]:
        """Return the ids of this type's permissions."""
        return tuple(p.id for p in self.permissions)


@dataclass(frozen=True, slots=True)
class IntegrationType:
    """An integration type and its config metadata."""

    type: str
    name: str
    description: str
    category: str
    requires_secret: bool
    params: tuple[ParamSpec, ...]
    resource_types: tuple[ResourceTypeSpec, ...]
    required_entra_roles: tuple[str, ...] = field(default=())

    def param(self, param_id: str) -> ParamSpec:
        """Return one parameter by id."""
        for spec in self.params:
            if spec.id == param_id:
                return spec
        raise KeyError(param_id)

    def resource_type(self, type_id: str) -> ResourceTypeSpec | None:
        """Return one resource type by id, or None."""
        return next((r for r in self.resource_types if r.id == type_id), None)

    def resource_type_ids(self) -> tuple[str, ...]:
        """Return the ids of this type's resource types."""
        return tuple(r.id for r in self.resource_types)


ENTRA_GROUP = ResourceTypeSpec(
    id="entra-group",
    label="Entra group",
    description="A security or Microsoft 365 group in the tenant (cloud-only; on-premises-synced "
    "and dynamic groups are discovered but cannot be granted).",
    permissions=(
        PermissionSpec("member", "Member", "Temporary membership of the group."),
        PermissionSpec("owner", "Owner", "Temporary ownership of the group."),
    ),
)

ENTRA_ROLE = ResourceTypeSpec(
    id="entra-role",
    label="Entra directory role",
    description="A built-in or custom Microsoft Entra directory role definition.",
    permissions=(
        PermissionSpec(
            "active",
            "Active assignment",
            "A temporary active role assignment (direct mode) or a time-bound PIM assignment.",
        ),
    ),
    scopes=(
        ScopeSpec("/", "Directory", "The role applies to the whole directory."),
        ScopeSpec(
            "/administrativeUnits/{id}",
            "Administrative unit",
            "The role applies only inside one administrative unit (its object id).",
        ),
    ),
)

_OWNER_FIELDS = (
    ParamSpec(
        id="attribute",
        label="Attribute",
        type=ParamType.ENUM,
        step="get_more",
        optional=False,
        values=OWNER_ATTRIBUTES,
        description="`user`: the values are people (UPN, mail or Entra object id); `group`: the "
        "values are Entra groups (name or object id) whose members are owners.",
    ),
    ParamSpec(
        id="values",
        label="Value",
        type=ParamType.MULTI_ENUM,
        step="get_more",
        optional=False,
        min_length=1,
        max_length=320,
        max_items=OWNER_VALUES_MAX,
        description="One or more users or groups, as chosen by the attribute.",
    ),
)

_RESOURCE_OWNER_FIELDS = (
    ParamSpec(
        id="key_name",
        label="Key name",
        type=ParamType.STRING,
        step="get_more",
        optional=False,
        min_length=1,
        max_length=128,
        pattern=r"^[^\W_][\w ._:/=+@-]*$",  # \w: letters and digits of any script
        pattern_words="must start with a letter or digit and hold only letters, digits, spaces "
        "and . _ : / = + @ -",
        description="The tag key on each resource whose value names its owner, e.g. `owner`. "
        "Entra groups carry tags as `key=value` entries in their description or extension "
        "attributes; discovery reads them into the resource's tags.",
    ),
    ParamSpec(
        id="attribute",
        label="Attribute",
        type=ParamType.ENUM,
        step="get_more",
        optional=False,
        values=RESOURCE_OWNER_ATTRIBUTES,
        description="How the tag value is matched to people: `user.upn`, `user.mail` or "
        "`user.id` name one person; `group.name` or `group.id` name an Entra group whose current "
        "members are the owners (membership changes in Entra apply at once).",
    ),
)

ENTRA_ID = IntegrationType(
    type="entra-id",
    name="Microsoft Entra ID — Groups and Roles",
    description="On-demand, temporary membership of Microsoft Entra ID groups and temporary "
    "Entra directory-role assignments, made and removed by a connector through Microsoft Graph.",
    category="RESOURCES",
    requires_secret=False,
    required_entra_roles=("Groups Administrator", "Privileged Role Administrator"),
    resource_types=(ENTRA_GROUP, ENTRA_ROLE),
    params=(
        ParamSpec(
            id="resource_types",
            label="Discovery: resource types",
            type=ParamType.MULTI_ENUM,
            step="discovery",
            optional=False,
            values=(ENTRA_GROUP.id, ENTRA_ROLE.id),
            default=[ENTRA_GROUP.id, ENTRA_ROLE.id],
            max_items=2,
            description="Which resource types discovery looks for in the tenant. Only resources "
            "of these types can be requested; removing a type stops discovering it.",
        ),
        ParamSpec(
            id="connector_id",
            label="Connector",
            type=ParamType.CONNECTOR,
            step="connector",
            optional=False,
            description="The connector that reaches this tenant. It runs where the Azure "
            "credentials are, needs the Groups Administrator and Privileged Role Administrator "
            "roles, and performs discovery, grants and revocations for this integration.",
        ),
        ParamSpec(
            id="name",
            label="Integration name",
            type=ParamType.STRING,
            step="config",
            optional=False,
            min_length=1,
            max_length=NAME_MAX,
            name_rule=NameRule.IDENTIFIER,
            description="Unique, user-friendly name used to pick this integration in access "
            "flows: letters and digits of any script, spaces, `-`, `_` and `.`, starting with "
            "a letter or digit; no invisible characters, look-alike forms or mixed Latin, Greek "
            "and Cyrillic letters in one word. Unique among integrations that are not deleted.",
        ),
        ParamSpec(
            id="credential_rotation_days",
            label="Credential rotation (days)",
            type=ParamType.INTEGER,
            step="get_more",
            minimum=DAYS_MIN,
            maximum=DAYS_MAX,
            description="Entra group and role grants create no credentials, so the only "
            "credential jitgate issues for this integration is its connector's token "
            "(`jg_ct_…`). When set, the token must be rotated at most this many days after it "
            "was issued: the integration reports `credential_rotation_due_at`, and once that "
            "passes `credential_rotation_overdue` is true. Rotating the connector's token "
            "restarts the period. Azure credentials stay with the connector and are never "
            "rotated by the server. Empty: no rotation policy.",
        ),
        ParamSpec(
            id="user_cleanup_days",
            label="User cleanup after access is revoked (days)",
            type=ParamType.INTEGER,
            step="get_more",
            minimum=DAYS_MIN,
            maximum=DAYS_MAX,
            description="Group and role grants create no users, except B2B guest users that "
            "jitgate itself invited for an external grantee. When set, a guest jitgate invited is "
            "deleted from the tenant this many days after its last grant through this "
            "integration ended, unless it has a live grant again. Members and guests jitgate did "
            "not invite are never deleted. The connector then needs `User.DeleteRestore.All` (or "
            "`User.ReadWrite.All`). Empty: invited guests are kept.",
        ),
        ParamSpec(
            id="invite_guests",
            label="Invite external grantees as B2B guests",
            type=ParamType.BOOLEAN,
            step="get_more",
            default=False,
            description="When on, a grantee jitgate knows by e-mail but who has no user in the "
            "tenant (no Entra object id) is first invited as a B2B guest (`POST /invitations`); "
            "the grant is made to the new guest. A user that already exists with that mail is "
            "reused and never counts as invited by jitgate. The connector then needs "
            "`User.Invite.All`. Off: such a grant fails with a message saying so.",
        ),
        ParamSpec(
            id="invite_redirect_url",
            label="Invitation redirect URL",
            type=ParamType.STRING,
            step="get_more",
            max_length=URL_MAX,
            pattern=r"^https://[^\s]+$",
            pattern_words="must be an https:// address without spaces",
            description="Where an invited guest lands after redeeming the invitation (an "
            "`https://` URL). Empty: " + DEFAULT_INVITE_REDIRECT_URL + ".",
        ),
        ParamSpec(
            id="custom_access_details",
            label="Custom access details",
            type=ParamType.TEXT,
            step="get_more",
            max_length=ACCESS_DETAILS_MAX,
            description="Instructions shown to requesters with their access to this "
            "integration's resources (the access session view), e.g. which portal to open. Up to "
            "400 characters.",
        ),
        ParamSpec(
            id="owners",
            label="Integration owner",
            type=ParamType.OWNERS,
            step="get_more",
            default=[],
            max_items=10,
            fields=_OWNER_FIELDS,
            description="Fallback approvers: used by access flows whose approver is the "
            "integration owner, and whenever a resource owner is asked for but none is found. "
            "Each entry is an attribute (`user` or `group`) and one or more values.",
        ),
        ParamSpec(
            id="resource_owner",
            label="Resource owner",
            type=ParamType.RESOURCE_OWNER,
            step="get_more",
            requires=("owners",),
            fields=_RESOURCE_OWNER_FIELDS,
            description="Maps a tag on each resource to the people who approve access to it: "
            "the tag named by `key_name` holds a value, matched through `attribute`. Needs an "
            "integration owner, who approves when a resource has no such tag or it names no one.",
        ),
        ParamSpec(
            id="grant_mode",
            label="Grant mode",
            type=ParamType.ENUM,
            step="get_more",
            values=("direct", "pim"),
            default="direct",
            description="`direct`: jitgate adds the membership or role assignment through Graph "
            "and removes it when the grant ends. `pim`: jitgate creates a time-bound Privileged "
            "Identity Management assignment, so Entra itself enforces the end time even if "
            "jitgate is down; jitgate still removes it early on revoke.",
        ),
        ParamSpec(
            id="membership_mode",
            label="Membership mode",
            type=ParamType.ENUM,
            step="get_more",
            values=("additive", "authoritative"),
            default="additive",
            description="`additive`: memberships jitgate did not grant are recorded as standing "
            "and left alone. `authoritative`: on granted resources, members that no grant or "
            "recorded standing access backs are removed by the reconciler.",
        ),
    ),
)

INTEGRATION_TYPES: dict[str, IntegrationType] = {ENTRA_ID.type: ENTRA_ID}


def list_integration_types() -> list[IntegrationType]:
    """Return every integration type, by type id."""
    return [INTEGRATION_TYPES[key] for key in sorted(INTEGRATION_TYPES)]


def get_integration_type(type_id: str) -> IntegrationType:
    """Return an integration type or raise ``NotFound``."""
    try:
        return INTEGRATION_TYPES[type_id]
    except KeyError:
        raise NotFound(f"no integration type {type_id!r} in the catalog") from None
