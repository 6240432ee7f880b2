"""The OData subset Graph's directory endpoints accept, with the errors Graph gives.

``$filter``: eq, ne, not, in, startswith, endswith, ``x/any(c:c eq 'v')``, ``eq null``, and/or,
parentheses. ``ne``, ``not`` and ``endswith`` are *advanced* (they need ``ConsistencyLevel:
eventual`` and ``$count=true``). Strings compare case-insensitively, as the directory does.
"""
# ruff: noqa: E501 - Graph and AADSTS texts stay on one line, verbatim, to grep against reference/graph.md

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from jitgate.emulator.http import GraphError, bad_request, unsupported_query

Obj = dict[str, Any]
Predicate = Callable[[Obj], bool]

ADVANCED_QUERY_TEXT = (
    "Operator '{0}' is not supported because the required parameters might be missing. "
    "Try adding $count=true query parameter and ConsistencyLevel:eventual header. "
    "Refer to https://aka.ms/graph-docs/advanced-queries for more information"
)
SEARCH_HEADER_TEXT = (
    "Request with $search query parameter only works through MSGraph with a special request "
    "header: 'ConsistencyLevel: eventual'"
)
COUNT_TEXT = "$count is not currently supported."
UNSUPPORTED_PROPERTY_TEXT = (
    "Unsupported or invalid query filter clause specified for property '{0}' of resource '{1}'."
)

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?\b)|(?P<punct>[(),:])"
    r"|(?P<word>[A-Za-z_$@][\w./@$#-]*))"
)
_LITERALS: dict[str, object] = {"true": True, "false": False, "null": None}


@dataclass
class Filter:
    """A parsed ``$filter``: its predicate, the advanced operators it uses, and plain id lookups."""

    predicate: Predicate
    advanced: list[str] = field(default_factory=list)
    properties: set[str] = field(default_factory=set)


def _norm(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def _lookup(obj: Obj, path: str) -> object:
    value: object = obj
    for part in path.split("/"):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


class _Parser:
    def __init__(self, text: str, resource: str, allowed: set[str] | None) -> None:
        self.text = text
        self.resource = resource
        self.allowed = allowed
        self.tokens: list[tuple[str, str, int]] = []
        pos = 0
        while pos < len(text):
            match = _TOKEN.match(text, pos)
            if match is None or match.end() == pos:
                if text[pos:].strip() == "":
                    break
                raise self.syntax(pos)
            kind = match.lastgroup or ""
            self.tokens.append((kind, match.group(kind), match.start(kind)))
            pos = match.end()
        self.i = 0
        self.result = Filter(lambda _obj: True)

    def syntax(self, pos: int) -> GraphError:
        return bad_request(
            f"Invalid filter clause: Syntax error at position {pos} in '{self.text}'.", "BadRequest"
        )

    def peek(self) -> tuple[str, str, int]:
        return self.tokens[self.i] if self.i < len(self.tokens) else ("end", "", len(self.text))

    def take(self, value: str | None = None) -> tuple[str, str, int]:
        token = self.peek()
        if token[0] == "end" or (value is not None and token[1].lower() != value):
            raise self.syntax(token[2])
        self.i += 1
        return token

    def parse(self) -> Filter:
        predicate = self.parse_or()
        if self.peek()[0] != "end":
            raise self.syntax(self.peek()[2])
        self.result.predicate = predicate
        return self.result

    def parse_or(self) -> Predicate:
        parts = [self.parse_and()]
        while self.peek()[1].lower() == "or":
            self.take()
            parts.append(self.parse_and())
        if len(parts) == 1:
            return parts[0]
        return lambda obj: any(p(obj) for p in parts)

    def parse_and(self) -> Predicate:
        parts = [self.parse_unary()]
        while self.peek()[1].lower() == "and":
            self.take()
            parts.append(self.parse_unary())
        if len(parts) == 1:
            return parts[0]
        return lambda obj: all(p(obj) for p in parts)

    def parse_unary(self) -> Predicate:
        kind, value, _ = self.peek()
        if kind == "word" and value.lower() == "not":
            self.take()
            self.result.advanced.append("not")
            inner = self.parse_unary()
            return lambda obj: not inner(obj)
        if kind == "punct" and value == "(":
            self.take()
            inner = self.parse_or()
            self.take(")")
            return inner
        return self.parse_term()

    def prop(self, name: str) -> str:
        base = name.split("/", maxsplit=1)[0]
        if self.allowed is not None and base not in self.allowed:
            raise unsupported_query(UNSUPPORTED_PROPERTY_TEXT.format(base, self.resource))
        self.result.properties.add(base)
        return name

    def literal(self) -> object:
        kind, value, pos = self.take()
        if kind == "str":
            return value[1:-1].replace("''", "'")
        if kind == "num":
            return float(value) if "." in value else int(value)
        if kind == "word" and value.lower() in _LITERALS:
            return _LITERALS[value.lower()]
        raise self.syntax(pos)

    def parse_term(self) -> Predicate:
        kind, value, pos = self.take()
        if kind != "word":
            raise self.syntax(pos)
        lowered = value.lower()
        if lowered in {"startswith", "endswith"} and self.peek()[1] == "(":
            return self.parse_function(lowered)
        if lowered.endswith("/any"):
            return self.parse_any(value[: -len("/any")])
        prop = self.prop(value)
        operator = self.take()[1].lower()
        if operator == "in":
            self.take("(")
            values = {_norm(self.literal())}
            while self.peek()[1] == ",":
                self.take()
                values.add(_norm(self.literal()))
            self.take(")")
            return lambda obj: _norm(_lookup(obj, prop)) in values
        expected = _norm(self.literal())
        if operator == "eq":
            return lambda obj: _norm(_lookup(obj, prop)) == expected
        if operator == "ne":
            self.result.advanced.append("ne")
            return lambda obj: _norm(_lookup(obj, prop)) != expected
        if operator in {"ge", "le", "gt", "lt"}:
            return self.compare(prop, operator, expected)
        raise self.syntax(pos)

    def compare(self, prop: str, operator: str, expected: object) -> Predicate:
        checks: dict[str, Callable[[Any, Any], bool]] = {
            "ge": lambda a, b: a >= b,
            "le": lambda a, b: a <= b,
            "gt": lambda a, b: a > b,
            "lt": lambda a, b: a < b,
        }
        check = checks[operator]

        def predicate(obj: Obj) -> bool:
            actual = _norm(_lookup(obj, prop))
            return actual is not None and expected is not None and check(actual, expected)

        return predicate

    def parse_function(self, name: str) -> Predicate:
        self.take("(")
        prop = self.prop(self.take()[1])
        self.take(",")
        text = str(self.literal()).lower()
        self.take(")")
        if name == "endswith":
            self.result.advanced.append("endsWith")
            return lambda obj: str(_lookup(obj, prop) or "").lower().endswith(text)
        return lambda obj: str(_lookup(obj, prop) or "").lower().startswith(text)

    def parse_any(self, collection: str) -> Predicate:
        prop = self.prop(collection)
        self.take("(")
        variable = self.take()[1]
        self.take(":")
        self.take(variable)
        operator = self.take()[1].lower()
        expected = _norm(self.literal())
        self.take(")")
        if operator != "eq":
            raise self.syntax(self.peek()[2])
        return lambda obj: any(_norm(v) == expected for v in (_lookup(obj, prop) or ()))  # type: ignore[attr-defined]


def parse_filter(text: str, resource: str, allowed: set[str] | None = None) -> Filter:
    """Parse ``$filter`` text for ``resource`` (``allowed``: filterable properties, None = any)."""
    return _Parser(text, resource, allowed).parse()


_SEARCH_CLAUSE = re.compile(
    r'\s*"(?P<prop>[^":]+):(?P<value>[^"]*)"\s*(?P<op>AND|OR)?', re.IGNORECASE
)


def parse_search(text: str, searchable: set[str]) -> Predicate:
    """Parse ``$search="prop:value" [AND|OR "prop:value"]``: token-prefix matching, as Graph does."""
    clauses: list[tuple[str, str]] = []
    ops: list[str] = []
    pos = 0
    while pos < len(text):
        match = _SEARCH_CLAUSE.match(text, pos)
        if match is None:
            raise bad_request(
                f"Syntax error: character '{text[pos]}' is not valid at position {pos} in '{text}'."
            )
        prop = match.group("prop").strip()
        if prop not in searchable:
            raise unsupported_query(f"Property '{prop}' is not supported for search.")
        clauses.append((prop, match.group("value").lower()))
        ops.append((match.group("op") or "AND").upper())
        pos = match.end()
    if not clauses:
        raise bad_request(f"Syntax error: the search query '{text}' is empty.")

    def matches(obj: Obj, prop: str, value: str) -> bool:
        field_text = str(obj.get(prop) or "").lower()
        return field_text.startswith(value) or any(
            word.startswith(value) for word in re.split(r"[\s._@-]+", field_text)
        )

    def predicate(obj: Obj) -> bool:
        result = matches(obj, *clauses[0])
        for (prop, value), op in zip(clauses[1:], ops[:-1], strict=True):
            if op == "OR":
                result = result or matches(obj, prop, value)
            else:
                result = result and matches(obj, prop, value)
        return result

    return predicate
