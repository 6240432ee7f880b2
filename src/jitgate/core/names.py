"""The one check for names people choose: integrations, connectors, flows, tokens, labels.

Names are how people pick things in access flows, the portal and the CLI, so two names that
look alike must be two names that *are* alike. Every name is refused when it:

* is empty or only spaces, starts or ends with a space, or has two spaces in a row;
* holds an invisible or control character: zero-width characters, bidirectional controls,
  soft hyphens and other format characters, control characters, line or paragraph separators,
  private-use, unassigned or surrogate code points, or a space other than the plain one;
* holds a compatibility form (full-width letters, ligatures, superscripts): it would look like
  a plain name that is a different string;
* mixes Latin, Greek and Cyrillic letters in one word (``Payroll`` typed with a Cyrillic
  ``a``, U+0430).

``NameRule.IDENTIFIER`` (integration and connector names: "alphanumeric, user-friendly") also
allows only letters, digits (of any script, as Entra does), spaces, ``.``, ``_`` and ``-``,
starting with a letter or digit. ``NameRule.TEXT`` (flow and token names, labels) allows any
other visible character. Input is taken in Unicode NFC form (``é`` as one character).
Messages are in words; they never show a pattern.
"""

from __future__ import annotations

import unicodedata
from enum import StrEnum

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"})
CONFUSABLE_SCRIPTS = frozenset({"LATIN", "GREEK", "CYRILLIC"})
IDENTIFIER_PUNCTUATION = frozenset(" ._-")
IDENTIFIER_WORDS = (
    "may contain only letters, digits, spaces, '.', '_' and '-', and must start with a letter "
    "or digit"
)


class NameRule(StrEnum):
    """How strict a name is."""

    IDENTIFIER = "identifier"
    TEXT = "text"


def _describe(char: str) -> str:
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X}" + (f" {name.lower()}" if name else "")


def _invisible(value: str) -> str | None:
    for char in value:
        category = unicodedata.category(char)
        if category in REFUSED_CATEGORIES or (category == "Zs" and char != " "):
            return f"must not contain invisible or control characters ({_describe(char)})"
    return None


def _spacing(value: str) -> str | None:
    if not value.strip():
        return "must not be empty or only spaces"
    if value != value.strip(" "):
        return "must not start or end with a space"
    if "  " in value:
        return "must not contain two spaces in a row"
    return None


def _compatibility(value: str) -> str | None:
    for char in value:
        plain = unicodedata.normalize("NFKC", char)
        if plain != char:
            return f"must not contain the look-alike character {char!r}; write {plain!r} instead"
    return None


def _script(char: str) -> str | None:
    if not char.isalpha():
        return None
    first = unicodedata.name(char, "").split(" ", 1)[0]
    return first if first in CONFUSABLE_SCRIPTS else None


def _mixed_scripts(value: str) -> str | None:
    for word in value.split():
        scripts = {s for s in map(_script, word) if s is not None}
        if len(scripts) > 1:
            mixed = " and ".join(sorted(s.title() for s in scripts))
            return (
                f"must not mix {mixed} letters in one word ({word!r}): it can be mistaken for "
                "another name"
            )
    return None


def _identifier(value: str) -> str | None:
    if not value[0].isalnum():
        return IDENTIFIER_WORDS
    for char in value:
        mark = unicodedata.category(char).startswith("M")  # accents of non-Latin scripts
        if not (char.isalnum() or mark or char in IDENTIFIER_PUNCTUATION):
            return IDENTIFIER_WORDS
    return None


def name_problem(value: str, rule: NameRule) -> str | None:
    """Why ``value`` (taken in NFC form) is not an acceptable name, in words; None if it is."""
    value = unicodedata.normalize("NFC", value)
    for check in (_spacing, _invisible, _compatibility, _mixed_scripts):
        problem = check(value)
        if problem is not None:
            return problem
    return _identifier(value) if rule is NameRule.IDENTIFIER else None


def _validator(rule: NameRule) -> AfterValidator:
    def check(value: str) -> str:
        problem = name_problem(value, rule)
        if problem is not None:
            raise PydanticCustomError("name", problem)
        return _nfc(value)

    return AfterValidator(check)


# For pydantic fields: ``name: Annotated[str, IDENTIFIER_NAME, Field(...)]``.
IDENTIFIER_NAME = _validator(NameRule.IDENTIFIER)
TEXT_NAME = _validator(NameRule.TEXT)


def _nfc(value: str) -> str:
    return unicodedata.normalize("NFC", value)


# Normalisation only, for a field whose rules are checked elsewhere (the catalog's metadata).
NFC = AfterValidator(_nfc)
