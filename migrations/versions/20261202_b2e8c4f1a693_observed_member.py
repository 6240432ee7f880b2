"""observed_member: the member snapshot delta membership reads apply their changes to

``resource_sync.last_full_at``: when a full round last replaced that snapshot.

Revision ID: b2e8c4f1a693
Revises: 9d3f6b1e4a27
Create Date: 2026-12-02 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b2e8c4f1a693"
down_revision: str | None = "9d3f6b1e4a27"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "observed_member",
        sa.Column("resource_id", sa.String(length=36), nullable=False),
        sa.Column("permission", sa.String(length=32), nullable=False),
        sa.Column("scope", sa.String(length=128), nullable=False),
        sa.Column("principal_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id", "permission", "scope"],
            ["resource_sync.resource_id", "resource_sync.permission", "resource_sync.scope"],
            name=op.f("fk_observed_member_resource_id_resource_sync"),
        ),
        sa.PrimaryKeyConstraint(
            "resource_id", "permission", "scope", "principal_id", name=op.f("pk_observed_member")
        ),
    )
    with op.batch_alter_table("resource_sync") as batch:
        batch.add_column(sa.Column("last_full_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("resource_sync") as batch:
        batch.drop_column("last_full_at")
    op.drop_table("observed_member")
