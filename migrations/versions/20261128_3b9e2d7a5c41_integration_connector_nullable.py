"""integration.connector_id nullable, set null when its connector is deleted

A connector can be deleted once no live integration uses it; soft-deleted integrations keep their
history and lose only the link to the deleted connector.

Revision ID: 3b9e2d7a5c41
Revises: 16c1c197f009
Create Date: 2026-11-28 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3b9e2d7a5c41"
down_revision: str | None = "16c1c197f009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FK = "fk_integration_connector_id_connector"


def upgrade() -> None:
    with op.batch_alter_table("integration", schema=None) as batch_op:
        batch_op.drop_constraint(FK, type_="foreignkey")
        batch_op.alter_column("connector_id", existing_type=sa.String(length=36), nullable=True)
        batch_op.create_foreign_key(FK, "connector", ["connector_id"], ["id"], ondelete="SET NULL")


def downgrade() -> None:
    with op.batch_alter_table("integration", schema=None) as batch_op:
        batch_op.drop_constraint(FK, type_="foreignkey")
        batch_op.alter_column("connector_id", existing_type=sa.String(length=36), nullable=False)
        batch_op.create_foreign_key(FK, "connector", ["connector_id"], ["id"])
