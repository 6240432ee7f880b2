"""membership.applied_ends_at: the PIM expiry Entra was given, so an extension can move it

Revision ID: 4b8e1c7f3a52
Revises: b2e8c4f1a693
Create Date: 2026-12-03 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "4b8e1c7f3a52"
down_revision: str | None = "b2e8c4f1a693"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("membership") as batch:
        batch.add_column(sa.Column("applied_ends_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("membership") as batch:
        batch.drop_column("applied_ends_at")
