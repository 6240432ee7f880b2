"""One way to take a row lock for a state change: ``locked(session, Model, id, what=…)``.

The row is read with ``SELECT … FOR UPDATE`` and read afresh from the database once locked
(``populate_existing``): a copy already in the session may predate the lock, and a decision
taken on it would race the writer that held the lock. A missing row, or one soft-deleted
(``deleted_at`` set, where the model has the column), is ``NotFound`` — "no <what> '<id>'" —
before anything is written. Locks are taken in the canonical order of ``jitgate.core.db``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from jitgate.core.db import Base
from jitgate.core.errors import NotFound

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

M = TypeVar("M", bound=Base)


def locked(session: Session, model: type[M], row_id: str, *, what: str) -> M:
    """``model``'s row ``row_id``, locked for this transaction and freshly read."""
    row = session.get(model, row_id, with_for_update=True, populate_existing=True)
    if row is None or getattr(row, "deleted_at", None) is not None:
        raise NotFound(f"no {what} {row_id!r}")
    return row
