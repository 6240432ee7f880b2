"""Check an integration's settings against its type's config metadata (the one source of truth).

``validate_config`` is pure: it takes the complete settings (after an update is merged in) and a
callable that tells whether a connector exists, and returns one ``{"field", "message"}`` per broken
rule. Nothing here knows a rule that the catalog does not publish.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from jitgate.core.names import name_problem
from jitgate.server.catalog.registry import ParamSpec, ParamType

if TYPE_CHECKING:
    from collections.abc import Callable

    from jitgate.server.catalog.registry import IntegrationType

FieldError = dict[str, str]


def _empty(value: object) -> bool:
    return value is None or value in ("", [], {})


def _encodable(value: str) -> bool:
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def _check_string(spec: ParamSpec, path: str, value: object) -> list[FieldError]:
    if not isinstance(value, str):
        return [{"field": path, "message": "must be a string"}]
    if "\x00" in value or (not value.isprintable() and not _encodable(value)):
        return [{"field": path, "message": "must be text without NUL or unpaired surrogates"}]
    if spec.min_length is not None and len(value) < spec.min_length:
        return [{"field": path, "message": f"must be at least {spec.min_length} characters"}]
    if spec.max_length is not None and len(value) > spec.max_length:
        return [{"field": path, "message": f"must be at most {spec.max_length} characters"}]
    return _check_form(spec, path, value)


def _check_form(spec: ParamSpec, path: str, value: str) -> list[FieldError]:
    """The name rule or the pattern, reported in words (never the pattern itself)."""
    if spec.name_rule is not None and (problem := name_problem(value, spec.name_rule)):
        return [{"field": path, "message": problem}]
    if spec.pattern is not None and not re.fullmatch(spec.pattern, value):
        return [{"field": path, "message": spec.pattern_words or "is not in the expected form"}]
    return []


def _check_integer(spec: ParamSpec, path: str, value: object) -> list[FieldError]:
    if isinstance(value, bool) or not isinstance(value, int):
        return [{"field": path, "message": "must be a whole number of days"}]
    if (spec.minimum is not None and value < spec.minimum) or (
        spec.maximum is not None and value > spec.maximum
    ):
        return [{"field": path, "message": f"must be between {spec.minimum} and {spec.maximum}"}]
    return []


def _check_boolean(spec: ParamSpec, path: str, value: object) -> list[FieldError]:
    del spec
    if not isinstance(value, bool):
        return [{"field": path, "message": "must be true or false"}]
    return []


def _check_enum(spec: ParamSpec, path: str, value: object) -> list[FieldError]:
    if value not in spec.values:
        return [{"field": path, "message": f"must be one of {', '.join(spec.values)}"}]
    return []


def _check_multi(spec: ParamSpec, path: str, value: object) -> list[FieldError]:
    if not isinstance(value, list):
        return [{"field": path, "message": "must be a list"}]
    errors: list[FieldError] = []
    if not value and not spec.optional:
        errors.append({"field": path, "message": "choose at least one"})
    if spec.max_items is not None and len(value) > spec.max_items:
        errors.append({"field": path, "message": f"at most {spec.max_items} entries"})
    if len(set(map(str, value))) != len(value):
        errors.append({"field": path, "message": "entries must not repeat"})
    for index, item in enumerate(value):
        item_path = f"{path}.{index}"
        if spec.values:
            errors += _check_enum(spec, item_path, item)
        else:
            errors += _check_string(spec, item_path, item)
    return errors


def _check_object(spec: ParamSpec, path: str, value: object) -> list[FieldError]:
    if not isinstance(value, dict):
        return [{"field": path, "message": "must be an object"}]
    errors: list[FieldError] = []
    known = {f.id for f in spec.fields}
    errors += [
        {"field": f"{path}.{key}", "message": "is not a known field"}
        for key in value
        if key not in known
    ]
    for sub in spec.fields:
        errors += check_param(sub, f"{path}.{sub.id}", value.get(sub.id))
    return errors


def _check_owners(spec: ParamSpec, path: str, value: object) -> list[FieldError]:
    if not isinstance(value, list):
        return [{"field": path, "message": "must be a list"}]
    errors: list[FieldError] = []
    if spec.max_items is not None and len(value) > spec.max_items:
        errors.append({"field": path, "message": f"at most {spec.max_items} entries"})
    for index, item in enumerate(value):
        errors += _check_object(spec, f"{path}.{index}", item)
    return errors


def check_param(spec: ParamSpec, path: str, value: object) -> list[FieldError]:
    """Check one value against its parameter's metadata."""
    if value is None or (_empty(value) and spec.type is not ParamType.MULTI_ENUM):
        return [] if spec.optional else [{"field": path, "message": "is required"}]
    return _CHECKS[spec.type](spec, path, value)


_CHECKS: dict[ParamType, Callable[[ParamSpec, str, object], list[FieldError]]] = {
    ParamType.STRING: _check_string,
    ParamType.TEXT: _check_string,
    ParamType.CONNECTOR: _check_string,
    ParamType.INTEGER: _check_integer,
    ParamType.BOOLEAN: _check_boolean,
    ParamType.ENUM: _check_enum,
    ParamType.MULTI_ENUM: _check_multi,
    ParamType.OWNERS: _check_owners,
    ParamType.RESOURCE_OWNER: _check_object,
}


def validate_config(
    itype: IntegrationType,
    values: dict[str, Any],
    *,
    connector_exists: Callable[[str], bool],
) -> list[FieldError]:
    """Return every broken rule in ``values`` (the full settings of one integration)."""
    errors: list[FieldError] = []
    for spec in itype.params:
        value = values.get(spec.id)
        own = check_param(spec, spec.id, value)
        errors += own
        if own or _empty(value):
            continue
        if spec.type is ParamType.CONNECTOR and not connector_exists(str(value)):
            errors.append({"field": spec.id, "message": f"no connector {value!r}"})
        errors += [
            {"field": spec.id, "message": f"needs {itype.param(req).label.lower()} to be set"}
            for req in spec.requires
            if _empty(values.get(req))
        ]
    return errors
