"""integration.invite_guests and invite_redirect_url; invited_guest (guests jitgate invited)

Revision ID: c7d1e5a3f2b8
Revises: 4b8e1c7f3a52
Create Date: 2026-11-28 00:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c7d1e5a3f2b8"
down_revision: str | None = "4b8e1c7f3a52"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("integration") as batch:
        batch.add_column(
            sa.Column("invite_guests", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("invite_redirect_url", sa.String(length=2048), nullable=True))
    op.create_table(
        "invited_guest",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("identity_id", sa.String(length=36), nullable=False),
        sa.Column("integration_id", sa.String(length=36), nullable=False),
        sa.Column("entra_user_id", sa.String(length=64), nullable=False),
        sa.Column("invited_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("invite_job_id", sa.String(length=36), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delete_job_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["identity_id"], ["identity.id"], name=op.f("fk_invited_guest_identity_id_identity")
        ),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["integration.id"],
            name=op.f("fk_invited_guest_integration_id_integration"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invited_guest")),
    )
    with op.batch_alter_table("invited_guest") as batch:
        batch.create_index(batch.f("ix_invited_guest_identity_id"), ["identity_id"], unique=False)
        batch.create_index(
            batch.f("ix_invited_guest_entra_user_id"), ["entra_user_id"], unique=False
        )
        batch.create_index("ix_invited_guest_live", ["deleted_at", "integration_id"], unique=False)


def downgrade() -> None:
    op.drop_table("invited_guest")
    with op.batch_alter_table("integration") as batch:
        batch.drop_column("invite_redirect_url")
        batch.drop_column("invite_guests")
