"""View as code: an integration as a Terraform ``jitgate_integration`` resource.

The output is built from the same settings the API stores, so applying it recreates the
integration. Strings are escaped for HCL (quotes, backslashes, newlines and the ``${`` / ``%{``
template sequences), so no setting can inject HCL.
"""

from __future__ import annotations

import re
from typing import Any

RESOURCE_TYPE = "jitgate_integration"
_ATTRIBUTES = (
    "name",
    "type",
    "connector_id",
    "resource_types",
    "credential_rotation_days",
    "user_cleanup_days",
    "invite_guests",
    "invite_redirect_url",
    "custom_access_details",
    "grant_mode",
    "membership_mode",
)


def resource_label(name: str) -> str:
    """Return a Terraform resource label for an integration name."""
    label = re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_") or "integration"
    return f"i_{label}" if label[0].isdigit() else label


_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_char(char: str) -> str:
    if char in _ESCAPES:
        return _ESCAPES[char]
    if ord(char) < 0x20 or ord(char) == 0x7F:  # noqa: PLR2004 - control characters
        return f"\\u{ord(char):04x}"
    return char


def hcl_string(value: str) -> str:
    """Quote a string for HCL (escapes, and ``${`` / ``%{`` made literal)."""
    escaped = "".join(_escape_char(c) for c in value)
    return '"' + escaped.replace("${", "$${").replace("%{", "%%{") + '"'


def _hcl_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_hcl_value(v) for v in value) + "]"
    return hcl_string(str(value))


def _block(name: str, body: dict[str, Any], indent: str) -> list[str]:
    width = max(len(k) for k in body)
    lines = [f"{indent}{name} {{"]
    lines += [f"{indent}  {k.ljust(width)} = {_hcl_value(v)}" for k, v in body.items()]
    lines.append(f"{indent}}}")
    return lines


def terraform_body(values: dict[str, Any], type_: str) -> dict[str, Any]:
    """Return the resource's arguments (nested blocks as lists of objects, like ``.tf.json``)."""
    body: dict[str, Any] = {}
    merged = {**values, "type": type_}
    for key in _ATTRIBUTES:
        value = merged.get(key)
        if value is not None and value != "":
            body[key] = value
    owners = values.get("owners") or []
    if owners:
        body["owner"] = [{"attribute": o["attribute"], "values": list(o["values"])} for o in owners]
    if values.get("resource_owner"):
        ro = values["resource_owner"]
        body["resource_owner"] = [{"key_name": ro["key_name"], "attribute": ro["attribute"]}]
    return body


def render_hcl(values: dict[str, Any], type_: str) -> str:
    """Render an integration's settings as a ``jitgate_integration`` resource in HCL."""
    body = terraform_body(values, type_)
    label = resource_label(str(values["name"]))
    scalars = {k: v for k, v in body.items() if k not in {"owner", "resource_owner"}}
    width = max(len(k) for k in scalars)
    lines = [f'resource "{RESOURCE_TYPE}" "{label}" {{']
    lines += [f"  {k.ljust(width)} = {_hcl_value(v)}" for k, v in scalars.items()]
    for block_name in ("owner", "resource_owner"):
        for block in body.get(block_name, []):
            lines.append("")
            lines += _block(block_name, block, "  ")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_json(values: dict[str, Any], type_: str) -> dict[str, Any]:
    """Render the same resource in Terraform's JSON syntax."""
    label = resource_label(str(values["name"]))
    return {"resource": {RESOURCE_TYPE: {label: terraform_body(values, type_)}}}
