"""``$expand`` on directory reads (graph.md §2, §3.1, §8).

Groups: ``$expand=owners|members`` on ``GET /groups`` and ``GET /groups/{id}``. Users:
``$expand=manager`` on ``GET /users`` and ``GET /users/{id}``.

What real Graph does, and where it is written down:

* The group ``owners`` (and ``members``) relationship "Supports $expand including nested
  $select", e.g. ``/groups?$select=id,displayName&$expand=owners($select=id,userPrincipalName)``
  [GD:res/group.md, as published on learn.microsoft.com Get-MgGroupOwner] (doc).
* "With Azure AD resources that derive from directoryObject, like user and group, ``$expand``
  typically returns a maximum of 20 items for the expanded relationship and has no
  @odata.nextLink." "Only one relationship can be expanded in a single request."
  [GD:concepts/query-parameters.md#expand-parameter] (doc).
* "Max page size with $expand is 100" whatever ``$top`` says
  [I:microsoftgraph/microsoft-graph-docs#21506, #21516, the known-issues page] (doc), e.g.
  ``/groups?$top=999&$expand=owners`` pages by 100 (techcommunity.microsoft.com, 2024) (obs).
* ``$expand`` costs one more resource unit (graph.md §8; ``throttle.cost``).
* Errors (obs): an unknown name gives 400 ``BadRequest`` "Parsing OData Select and Expand failed:
  Could not find a property named '{x}' on type '...'." [I:microsoftgraph/msgraph-sdk-java#958,
  I:microsoftgraph/msgraph-sdk-powershell#2103]; a plain property gives "... is not a navigation
  property or complex property. Only navigation properties can be expanded."
  [I:OData/odata.net#2831]; two names give "The result of parsing $expand contained at least 2
  items, but the maximum allowed is 1." [I:microsoftgraph/microsoft-graph-docs#96].
  Nested options other than ``$select`` are refused with a 400 of our own wording (infer).

* The user ``manager`` relationship: "GET /users?$expand=manager", "You can specify $select
  inside $expand to select the individual manager's properties", and "$levels ... is only
  supported on a single user (/users/{id} or me) endpoints and not on the entire list of users"
  [GD:api/user-list-manager.md, learn.microsoft.com "List manager"] (doc). A user without a
  manager has no ``manager`` property (infer). The 100-per-page cap applies as for groups.

Gaps: only ``owners`` and ``members`` (groups) and ``manager`` (users) expand; other
relationships answer as unknown names. ``$levels`` is refused (only ``$select`` nests).
"""
# ruff: noqa: E501 - Graph texts stay on one line, verbatim, to grep against reference/graph.md

from __future__ import annotations

from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING

from jitgate.emulator.graph_common import GROUP_DEFAULT, USER_DEFAULT, render
from jitgate.emulator.http import bad_request, unsupported_query

if TYPE_CHECKING:
    from jitgate.emulator.graph_common import Call
    from jitgate.emulator.store import Obj

EXPAND_LIMIT = 20
EXPAND_PAGE_SIZE = 100
RELATIONSHIPS = ("owners", "members")
USER_RELATIONSHIPS = ("manager",)
UNKNOWN_TEXT = "Parsing OData Select and Expand failed: Could not find a property named '{0}' on type 'microsoft.graph.{1}'."
NOT_NAVIGATION_TEXT = "Parsing OData Select and Expand failed: Property '{0}' on type 'microsoft.graph.{1}' is not a navigation property or complex property. Only navigation properties can be expanded."
TOO_MANY_TEXT = (
    "The result of parsing $expand contained at least 2 items, but the maximum allowed is 1."
)
NESTED_TEXT = "Only $select is supported inside $expand on directory objects."  # (infer)


@dataclass(frozen=True, slots=True)
class Expansion:
    """One parsed ``$expand`` item: the relationship and its nested ``$select``."""

    name: str
    select: list[str] | None


def _split_top_level(text: str) -> list[str]:
    """Split on commas that are not inside parentheses."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [part.strip() for part in parts if part.strip()]


def _nested_select(options: str) -> list[str] | None:
    select = None
    for option in (o.strip() for o in options.split(";") if o.strip()):
        key, _, value = option.partition("=")
        if key.strip().lower() != "$select":
            raise unsupported_query(NESTED_TEXT)
        select = [v.strip() for v in value.split(",") if v.strip()]
    return select or None


def parse_expand(call: Call, kind: str = "group") -> Expansion | None:
    """Return the request's ``$expand`` on a group (or user), or raise the 400 Graph gives."""
    text = call.req.query.get("$expand")
    if text is None:
        return None
    items = _split_top_level(text)
    if len(items) > 1:
        raise bad_request(TOO_MANY_TEXT, "BadRequest")
    item = items[0] if items else ""
    name, paren, rest = item.partition("(")
    name = name.strip()
    if paren and not rest.endswith(")"):
        raise bad_request(UNKNOWN_TEXT.format(item, kind), "BadRequest")
    relationships = USER_RELATIONSHIPS if kind == "user" else RELATIONSHIPS
    canonical = next((r for r in relationships if r.lower() == name.lower()), None)
    if canonical is None:
        known = {p.lower() for p in (USER_DEFAULT if kind == "user" else GROUP_DEFAULT)}
        text = NOT_NAVIGATION_TEXT if name.lower() in known else UNKNOWN_TEXT
        raise bad_request(text.format(name, kind), "BadRequest")
    return Expansion(canonical, _nested_select(rest[:-1]) if paren else None)


def expanded(call: Call, expansion: Expansion, group: Obj) -> list[Obj]:
    """The first 20 owners or members of ``group`` as typed directory objects (no nextLink)."""
    tenant = call.tenant
    table = tenant.owners if expansion.name == "owners" else tenant.members
    out = []
    for member_id in islice(tenant.member_ids(table, group["id"], call.cutoff), EXPAND_LIMIT):
        kind = tenant.kinds.get(member_id, "user")
        obj = tenant.get(member_id) or {"id": member_id}
        out.append(render(obj, kind, expansion.select, typed=True))
    return out


def expanded_manager(call: Call, expansion: Expansion, user: Obj) -> Obj | None:
    """The user's manager as a typed directory object, or ``None`` (no ``manager`` property)."""
    manager_id = call.tenant.managers.get(user["id"])
    manager = call.tenant.users.get(manager_id) if manager_id else None
    if manager is None or not call.tenant.visible(manager["id"], call.cutoff):
        return None
    return render(manager, "user", expansion.select, typed=True)


def add_manager(call: Call, expansion: Expansion, user: Obj, item: Obj) -> None:
    """Put the expanded ``manager`` on a rendered user, when the user has one."""
    manager = expanded_manager(call, expansion, user)
    if manager is not None:
        item["manager"] = manager
