"""audit_event.key_id, audit_head.legacy_seq (the cut-over), audit_checkpoint

Every event already in the log becomes legacy (unkeyed sha256): the head's seq at upgrade time
is recorded as ``legacy_seq``; every later event must be keyed.

Revision ID: d4a9f2c6b1e7
Revises: e3a9d4c6b1f7
Create Date: 2026-12-02 10:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d4a9f2c6b1e7"
down_revision: str | None = "e3a9d4c6b1f7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_event") as batch:
        batch.add_column(sa.Column("key_id", sa.String(length=32), nullable=True))
    with op.batch_alter_table("audit_head") as batch:
        batch.add_column(
            sa.Column("legacy_seq", sa.BigInteger(), nullable=False, server_default="0")
        )
    op.execute("UPDATE audit_head SET legacy_seq = seq")
    op.create_table(
        "audit_checkpoint",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("legacy_seq", sa.BigInteger(), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("signature", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_checkpoint")),
    )


def downgrade() -> None:
    op.drop_table("audit_checkpoint")
    with op.batch_alter_table("audit_head") as batch:
        batch.drop_column("legacy_seq")
    with op.batch_alter_table("audit_event") as batch:
        batch.drop_column("key_id")
