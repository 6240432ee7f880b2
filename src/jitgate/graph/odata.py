"""The one way to build an OData ``$filter``: values are always escaped, fields are checked.

Invariant: no ``$filter`` string in jitgate is built with an f-string or concatenation of a
value. String literals are single-quoted with embedded single quotes doubled (OData ABNF,
``SQUOTE-in-string = SQUOTE SQUOTE``), so ``O'Brien`` becomes ``'O''Brien'`` and a value can never
close its literal and inject another clause. Property names must look like property paths.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(/[A-Za-z_][A-Za-z0-9_]*)*$")

Literal = str | bool | int | uuid.UUID | None


def quote(value: Literal) -> str:
    """Render ``value`` as an OData literal (strings quoted, quotes doubled)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, uuid.UUID):
        return "'" + str(value) + "'"
    return "'" + value.replace("'", "''") + "'"


def _field(name: str) -> str:
    if not _FIELD.match(name):
        raise ValueError(f"not an OData property path: {name!r}")
    return name


@dataclass(frozen=True, slots=True)
class Filter:
    """A rendered, safe ``$filter`` expression; build it with the functions below."""

    expression: str

    def __and__(self, other: Filter) -> Filter:
        return and_(self, other)

    def __or__(self, other: Filter) -> Filter:
        return or_(self, other)

    def __str__(self) -> str:
        return self.expression


def eq(field: str, value: Literal) -> Filter:
    """``field eq value``."""
    return Filter(_field(field) + " eq " + quote(value))


def ne(field: str, value: Literal) -> Filter:
    """``field ne value`` (an advanced query on directory objects)."""
    return Filter(_field(field) + " ne " + quote(value))


def startswith(field: str, value: str) -> Filter:
    """``startswith(field, value)``."""
    return Filter("startswith(" + _field(field) + "," + quote(value) + ")")


def in_(field: str, values: Iterable[Literal]) -> Filter:
    """``field in (v1, v2, ...)``; at least one value."""
    rendered = [quote(v) for v in values]
    if not rendered:
        raise ValueError("an 'in' filter needs at least one value")
    return Filter(_field(field) + " in (" + ",".join(rendered) + ")")


def any_eq(collection: str, value: Literal) -> Filter:
    """``collection/any(c:c eq value)``, e.g. ``groupTypes/any(c:c eq 'Unified')``."""
    return Filter(_field(collection) + "/any(c:c eq " + quote(value) + ")")


def and_(*parts: Filter) -> Filter:
    """All of ``parts``."""
    return _join(" and ", parts)


def or_(*parts: Filter) -> Filter:
    """Any of ``parts``."""
    return _join(" or ", parts)


def _join(op: str, parts: tuple[Filter, ...]) -> Filter:
    if not parts:
        raise ValueError("nothing to combine")
    if len(parts) == 1:
        return parts[0]
    return Filter(op.join("(" + p.expression + ")" for p in parts))
