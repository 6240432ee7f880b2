"""membership.late_write_until: a grant write's answer was lost; it may land in Graph until then

Revision ID: 9d3f6b1e4a27
Revises: 7a4c1e8b2d90
Create Date: 2026-12-01 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9d3f6b1e4a27"
down_revision: str | None = "7a4c1e8b2d90"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("membership") as batch:
        batch.add_column(sa.Column("late_write_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("membership") as batch:
        batch.drop_column("late_write_until")
