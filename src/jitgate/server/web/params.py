"""Shared parameter types: ids, free text every database can store, times (query and body)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Path
from pydantic import AfterValidator, BeforeValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from jitgate.protocol.v1.common import INSTANCE_KEY_PATTERN, INSTANCE_KEY_WORDS

# PostgreSQL text cannot hold NUL; refusing it up front keeps a 500 from becoming possible.
NO_NUL = r"^[^\x00]*$"

ID_PATTERN = r"^[A-Za-z0-9_-]+$"

IdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN, examples=["3f1c…"])]

#: What each pattern of the API means, in words: a refusal never shows a regular expression
#: (``web.problems``). A pattern not listed is refused as "is not in the expected form".
PATTERN_WORDS = {
    NO_NUL: "must not contain NUL characters",
    ID_PATTERN: "must be an id: letters A-Z and a-z, digits, '_' and '-'",
    INSTANCE_KEY_PATTERN: INSTANCE_KEY_WORDS,
}

BARE_NUMBER = re.compile(r"\s*[+-]?\d+(\.\d*)?\s*")
DATETIME_HINT = "give a date and time with a time zone offset, e.g. 2026-01-31T09:00:00Z"


def _no_bare_number(value: object) -> object:
    """Refuse what pydantic would read as seconds since 1970: a time on the wire is ISO 8601.

    A ``datetime`` passes: only Python callers (the CLI, tests) can hand one over.
    """
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or BARE_NUMBER.fullmatch(value):
        raise PydanticCustomError("datetime_iso", f"{DATETIME_HINT}; a bare number is not a time")
    return value


def _aware_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise PydanticCustomError("datetime_offset", DATETIME_HINT)
    try:
        return value.astimezone(UTC)
    except OverflowError as err:
        # 0001-01-01T00:00+01:00 or 9999-12-31T23:00-05:00: no UTC time exists for it.
        raise PydanticCustomError("datetime_range", "the time lies outside years 1-9999") from err


# A time in a query string or a request body: ISO 8601 with an offset, never a bare number;
# normalised to UTC.
AwareDateTime = Annotated[
    datetime,
    BeforeValidator(_no_bare_number),
    AfterValidator(_aware_utc),
    WithJsonSchema({"type": "string", "format": "date-time", "examples": ["2026-01-31T09:00:00Z"]}),
]
