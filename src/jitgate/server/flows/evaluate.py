"""Pure flow evaluation: requestor conditions, target coverage and time windows. No I/O.

Identities and resources are read as plain values (their ORM objects are never lazily loaded
here), so these functions are tested without a database.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from jitgate.server.flows.schemas import (
    WEEKDAYS,
    Condition,
    ConditionType,
    LogicalOperator,
    MatchOperator,
    Requestors,
    ScopeMode,
    ScopeType,
    Target,
    Timeframe,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

    from jitgate.server.identities.models import Identity
    from jitgate.server.integrations.models import Resource


def identity_keys(identity: Identity | None) -> set[str]:
    """The lower-cased references that name a person: id, object id, UPN, mail."""
    if identity is None:
        return set()
    keys = {identity.id, identity.object_id, identity.upn, identity.mail}
    return {k.lower() for k in keys if k}


def group_keys(identity: Identity) -> set[str]:
    """The lower-cased ids and names of a person's groups."""
    keys: set[str] = set()
    for group in identity.groups or []:
        keys.update(str(v).lower() for k, v in group.items() if k in {"id", "name"} and v)
    return keys


def _attribute_keys(identity: Identity, name: str) -> set[str]:
    value: Any = (identity.attributes or {}).get(name)
    if value is None:
        return set()
    if isinstance(value, list | tuple | set):
        return {str(v) for v in value}
    return {str(value)}


def _compare(operator: MatchOperator, keys: set[str], values: Iterable[str]) -> bool:
    values = list(values)
    if operator is MatchOperator.IS:
        return any(v in keys for v in values)
    if operator is MatchOperator.IS_NOT:
        return not any(v in keys for v in values)
    if operator is MatchOperator.CONTAINS:
        return any(v in k for k in keys for v in values)
    if operator is MatchOperator.DOES_NOT_CONTAIN:
        return not any(v in k for k in keys for v in values)
    return any(k.startswith(v) for k in keys for v in values)


def matches_condition(identity: Identity, condition: Condition, manager: Identity | None) -> bool:
    """Tell whether one condition holds for ``identity`` (``manager`` is their manager)."""
    if condition.type is ConditionType.ATTRIBUTE:
        keys = _attribute_keys(identity, condition.attribute or "")
        return _compare(condition.match_operator, keys, condition.values)
    if condition.type is ConditionType.USER:
        keys = identity_keys(identity)
    elif condition.type is ConditionType.GROUP:
        keys = group_keys(identity)
    else:
        keys = identity_keys(manager)
    return _compare(condition.match_operator, keys, (v.lower() for v in condition.values))


def matches_requestor(
    identity: Identity, conditions: Requestors, manager: Identity | None = None
) -> bool:
    """Tell whether ``identity`` meets the conditions (no conditions: everyone does)."""
    if not conditions.conditions:
        return True
    results = (matches_condition(identity, c, manager) for c in conditions.conditions)
    if conditions.logical_operator is LogicalOperator.AND:
        return all(results)
    return any(results)


def _scope_matches(
    scope_type: ScopeType, key: str | None, values: list[str], res: Resource
) -> bool:
    if scope_type is ScopeType.NAME:
        return res.name.lower() in {v.lower() for v in values}
    if scope_type is ScopeType.ID:
        return res.id in values or res.external_id in values
    tag = (res.tags or {}).get(key or "")
    if tag is None:
        return False
    return not values or str(tag) in values


def resource_in_target(target: Target, resource: Resource) -> bool:
    """Tell whether the target's include/exclude scopes cover ``resource``."""
    if resource.integration_id != target.integration_id or resource.type != target.resource_type:
        return False
    includes = [s for s in target.scopes if s.mode is ScopeMode.INCLUDE]
    excludes = [s for s in target.scopes if s.mode is ScopeMode.EXCLUDE]
    if any(_scope_matches(s.type, s.key, s.values, resource) for s in excludes):
        return False
    return not includes or any(_scope_matches(s.type, s.key, s.values, resource) for s in includes)


def target_covers(target: Target, resource: Resource, permission: str, scope: str = "/") -> bool:
    """Tell whether ``target`` allows ``permission`` (at ``scope``) on ``resource``."""
    if permission not in target.permissions or not resource_in_target(target, resource):
        return False
    return target.role_scopes is None or scope in target.role_scopes


def within_window(timeframe: Timeframe | None, now: datetime) -> bool:
    """Tell whether ``now`` falls inside the flow's time window (no window: always)."""
    if timeframe is None:
        return True
    local = now.astimezone(ZoneInfo(timeframe.time_zone))
    start, end, current = timeframe.start(), timeframe.end(), local.time()
    days = set(timeframe.days_of_week)
    if start < end:
        return start <= current < end and WEEKDAYS[local.weekday()] in days
    # The window spans midnight: the part after midnight belongs to the day it started on.
    if current >= start:
        return WEEKDAYS[local.weekday()] in days
    if current < end:
        return WEEKDAYS[(local - timedelta(days=1)).weekday()] in days
    return False


def describe_window(timeframe: Timeframe) -> str:
    """A readable form of a time window, for error messages."""
    days = ",".join(str(d) for d in timeframe.days_of_week)
    return f"{days} {timeframe.start_time}-{timeframe.end_time} {timeframe.time_zone}"
