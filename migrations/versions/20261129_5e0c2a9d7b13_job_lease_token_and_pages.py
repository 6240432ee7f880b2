"""job lease token, finished time, and pages of items posted before a result

A result must quote the lease it was claimed under (``job.lease_token``), so a connector whose
lease was reclaimed cannot report over the new lease. ``job_page`` holds discovery items posted in
pages before the final result.

Revision ID: 5e0c2a9d7b13
Revises: 3b9e2d7a5c41
Create Date: 2026-11-29 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "5e0c2a9d7b13"
down_revision: str | None = "3b9e2d7a5c41"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "job_page",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("job_id", sa.String(length=36), nullable=False),
        sa.Column("lease_token", sa.String(length=36), nullable=False),
        sa.Column("page", sa.Integer(), nullable=False),
        sa.Column("items", JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["job.id"], name=op.f("fk_job_page_job_id_job"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_page")),
        sa.UniqueConstraint(
            "job_id", "lease_token", "page", name=op.f("uq_job_page_job_id_lease_token_page")
        ),
    )
    with op.batch_alter_table("job_page", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_job_page_job_id"), ["job_id"], unique=False)
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lease_token", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.drop_column("finished_at")
        batch_op.drop_column("lease_token")
    with op.batch_alter_table("job_page", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_job_page_job_id"))
    op.drop_table("job_page")
