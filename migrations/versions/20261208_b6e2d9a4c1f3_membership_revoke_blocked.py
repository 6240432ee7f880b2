"""membership: a removal Graph refused for good (revoke_blocked_code/message/since/until)

Four nullable columns; existing rows are not blocked. The downgrade drops them.

Revision ID: b6e2d9a4c1f3
Revises: a5f3c8e1d260
Create Date: 2026-12-08 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b6e2d9a4c1f3"
down_revision: str | None = "a5f3c8e1d260"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (
    ("revoke_blocked_code", sa.String(length=128)),
    ("revoke_blocked_message", sa.Text()),
    ("revoke_blocked_since", sa.DateTime(timezone=True)),
    ("revoke_blocked_until", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    """Add the four columns."""
    with op.batch_alter_table("membership") as batch:
        for name, type_ in COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    """Drop them."""
    with op.batch_alter_table("membership") as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
