"""Free-text search in SQL: one helper turns what a person typed into a literal LIKE pattern.

``%`` and ``_`` are wildcards in SQL ``LIKE``; typed into a search box they must match
themselves, or ``_`` matches every character and ``%`` everything. Every ``LIKE`` in the server
goes through ``contains``, which escapes them (and the escape character) and lower-cases the
text for a case-insensitive match on ``lower(column)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement
    from sqlalchemy.orm import InstrumentedAttribute

ESCAPE = "\\"


def like_literal(text: str) -> str:
    """``text`` with the LIKE wildcards and the escape character escaped."""
    return text.replace(ESCAPE, ESCAPE * 2).replace("%", ESCAPE + "%").replace("_", ESCAPE + "_")


def contains(
    column: InstrumentedAttribute[str] | InstrumentedAttribute[str | None], text: str
) -> ColumnElement[bool]:
    """``column`` contains ``text``, case-insensitively, with no wildcard in ``text``."""
    return func.lower(column).like(f"%{like_literal(text.lower())}%", escape=ESCAPE)
