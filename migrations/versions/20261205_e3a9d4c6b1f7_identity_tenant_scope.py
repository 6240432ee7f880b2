"""identity.tenant_id (identities keyed by tenant + object id); connector.tenant_id (pinned)

Backfill: until now every discovered identity came from whatever connector reported it, with no
record of which. Identities with an object id are placed in the scope of the connector of the
oldest live integration (``connector:<id>``: exact for the usual one-connector install); the
connector's first report of its tenant id then moves them to that tenant. Local accounts without
an object id stay unscoped.

Downgrade: object ids become unique across the table again; where two tenants hold the same
object id, the oldest identity keeps it and the others lose it (their rows stay).

Revision ID: e3a9d4c6b1f7
Revises: c7d1e5a3f2b8
Create Date: 2026-12-05 00:00:00
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision: str = "e3a9d4c6b1f7"
down_revision: str | None = "c7d1e5a3f2b8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

identity = sa.table(
    "identity",
    sa.column("id", sa.String),
    sa.column("tenant_id", sa.String),
    sa.column("object_id", sa.String),
    sa.column("created_at", sa.DateTime),
)
integration = sa.table(
    "integration",
    sa.column("connector_id", sa.String),
    sa.column("created_at", sa.DateTime),
    sa.column("deleted_at", sa.DateTime),
)


@contextmanager
def _rebuilding_identity() -> Iterator[None]:
    """On SQLite, rebuilding ``identity`` drops the old table: keep what its foreign keys touch.

    Foreign keys cannot be switched off inside the migration's transaction, so the checks are
    deferred to the commit (the rebuilt table has the same ids) and the API tokens, which the
    drop would cascade away, are put back.
    """
    if op.get_bind().dialect.name != "sqlite":
        yield
        return
    op.execute("PRAGMA defer_foreign_keys = ON")
    op.execute("CREATE TEMP TABLE keep_api_token AS SELECT * FROM api_token")
    yield
    op.execute(
        "INSERT INTO api_token SELECT * FROM keep_api_token "
        "WHERE id NOT IN (SELECT id FROM api_token)"
    )
    op.execute("DROP TABLE keep_api_token")


def upgrade() -> None:
    with op.batch_alter_table("connector") as batch:
        batch.add_column(sa.Column("tenant_id", sa.String(length=64), nullable=True))
        batch.create_index("uq_connector_tenant_id", ["tenant_id"], unique=True)
    with _rebuilding_identity(), op.batch_alter_table("identity", recreate="auto") as batch:
        batch.add_column(sa.Column("tenant_id", sa.String(length=64), nullable=True))
        batch.drop_constraint("uq_identity_object_id", type_="unique")
        batch.create_unique_constraint(
            batch.f("uq_identity_tenant_id_object_id"), ["tenant_id", "object_id"]
        )
        batch.create_index(batch.f("ix_identity_object_id"), ["object_id"], unique=False)
    first = op.get_bind().scalar(
        sa.select(integration.c.connector_id)
        .where(integration.c.deleted_at.is_(None), integration.c.connector_id.is_not(None))
        .order_by(integration.c.created_at)
        .limit(1)
    )
    if first is not None:
        op.execute(
            identity.update()
            .where(identity.c.object_id.is_not(None))
            .values(tenant_id=f"connector:{first}")
        )


def downgrade() -> None:
    older = sa.alias(identity, "older")
    shadowed = sa.exists().where(
        older.c.object_id == identity.c.object_id,
        sa.or_(
            older.c.created_at < identity.c.created_at,
            sa.and_(older.c.created_at == identity.c.created_at, older.c.id < identity.c.id),
        ),
    )
    op.execute(identity.update().where(shadowed).values(object_id=None))
    with _rebuilding_identity(), op.batch_alter_table("identity") as batch:
        batch.drop_index(batch.f("ix_identity_object_id"))
        batch.drop_constraint("uq_identity_tenant_id_object_id", type_="unique")
        batch.create_unique_constraint(batch.f("uq_identity_object_id"), ["object_id"])
        batch.drop_column("tenant_id")
    with op.batch_alter_table("connector") as batch:
        batch.drop_index("uq_connector_tenant_id")
    op.drop_column("connector", "tenant_id")
