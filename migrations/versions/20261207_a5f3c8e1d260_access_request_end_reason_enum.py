"""access_request.end_reason: free text -> the end reason enum (VARCHAR(32), like grant's)

Every value the broker ever wrote is a member (``expired``, ``revoked``, ``cancelled``,
``failed``) and is kept as it is. A row holding anything else was edited by hand: the upgrade
then stops before changing anything and names the values, to be corrected (or set to NULL)
first; the enum type would refuse to load such a row. The downgrade gives the column TEXT back
and keeps every value.

PostgreSQL changes the column's type in place. SQLite cannot, and rebuilding the table (batch
mode) would drop a table that ``grant`` rows reference while foreign keys are enforced, so there
a new column takes the values and then the name (``DROP COLUMN``: SQLite 3.35 or newer); the
column moves to the end of the table, which nothing depends on.

Revision ID: a5f3c8e1d260
Revises: d4a9f2c6b1e7
Create Date: 2026-12-07 09:00:00
"""

import sqlite3
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a5f3c8e1d260"
down_revision: str | None = "d4a9f2c6b1e7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: ``EndReason``'s values when this revision was written (a migration never imports the app).
END_REASONS = ("expired", "revoked", "cancelled", "failed")


def _refuse_unknown_values() -> None:
    rows = op.get_bind().execute(
        sa.text(
            "SELECT DISTINCT end_reason FROM access_request "
            "WHERE end_reason IS NOT NULL AND end_reason NOT IN :known ORDER BY end_reason"
        ).bindparams(sa.bindparam("known", expanding=True)),
        {"known": list(END_REASONS)},
    )
    unknown = [row[0] for row in rows]
    if unknown:
        shown = ", ".join(repr(value[:40]) for value in unknown[:10])
        msg = (
            f"access_request.end_reason holds {len(unknown)} value(s) that are not an end "
            f"reason ({', '.join(END_REASONS)}): {shown}; correct them (or set them to NULL) "
            "and run the upgrade again"
        )
        raise RuntimeError(msg)


def _retype(old: sa.types.TypeEngine[str], new: sa.types.TypeEngine[str]) -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column(
            "access_request", "end_reason", existing_type=old, type_=new, existing_nullable=True
        )
        return
    if sqlite3.sqlite_version_info < (3, 35):
        found = sqlite3.sqlite_version
        msg = f"this migration needs SQLite 3.35 or newer (DROP COLUMN); found {found}"
        raise RuntimeError(msg)
    op.add_column("access_request", sa.Column("end_reason_new", new, nullable=True))
    op.execute("UPDATE access_request SET end_reason_new = end_reason")
    op.drop_column("access_request", "end_reason")
    op.alter_column("access_request", "end_reason_new", new_column_name="end_reason")


def upgrade() -> None:
    _refuse_unknown_values()
    _retype(sa.Text(), sa.String(length=32))


def downgrade() -> None:
    _retype(sa.String(length=32), sa.Text())
