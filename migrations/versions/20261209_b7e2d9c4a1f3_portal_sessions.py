"""portal_session (signed-in browsers, by the hash of their cookie) and portal_sign_in (pending)

Revision ID: b7e2d9c4a1f3
Revises: b6e2d9a4c1f3
Create Date: 2026-12-09 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "b7e2d9c4a1f3"
down_revision: str | None = "b6e2d9a4c1f3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[object]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "portal_session",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("identity_id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("object_id", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("role_from_claim", sa.Boolean(), nullable=False),
        sa.Column("amr", _json(), nullable=False),
        sa.Column("acrs", _json(), nullable=False),
        sa.Column("auth_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("mfa_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("entra_sid", sa.String(length=128), nullable=True),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("user_agent", sa.String(length=512), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_reason", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["identity_id"],
            ["identity.id"],
            name=op.f("fk_portal_session_identity_id_identity"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_session")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_portal_session_token_hash")),
    )
    with op.batch_alter_table("portal_session") as batch:
        batch.create_index(batch.f("ix_portal_session_identity_id"), ["identity_id"], unique=False)
    op.create_table(
        "portal_sign_in",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("flow", _json(), nullable=False),
        sa.Column("return_to", sa.String(length=2048), nullable=False),
        sa.Column("step_up", sa.Boolean(), nullable=False),
        sa.Column("saved_form", _json(), nullable=True),
        sa.Column("session_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_sign_in")),
        sa.UniqueConstraint("state_hash", name=op.f("uq_portal_sign_in_state_hash")),
    )
    with op.batch_alter_table("portal_sign_in") as batch:
        batch.create_index(batch.f("ix_portal_sign_in_session_id"), ["session_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("portal_sign_in") as batch:
        batch.drop_index(batch.f("ix_portal_sign_in_session_id"))
    op.drop_table("portal_sign_in")
    with op.batch_alter_table("portal_session") as batch:
        batch.drop_index(batch.f("ix_portal_session_identity_id"))
    op.drop_table("portal_session")
