"""audit: the tamper-evident chain (sequence, keyed hash and field tags per row; its end)

Existing rows stay unsealed; the worker's audit.seal job chains them on its first pass
(docs/adr/0012-audit-chain-sealed-after-commit.md).

Revision ID: 818f93477dad
Revises: 3f1c0a7d2b61
Create Date: 2026-12-07 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import healthstack.kernel.db

revision: str = "818f93477dad"
down_revision: str | None = "3f1c0a7d2b61"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_event") as batch:
        batch.add_column(sa.Column("chain_seq", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("chain_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("chain_tags", sa.String(length=64), nullable=True))
        batch.create_unique_constraint("uq_audit_event_chain_seq", ["chain_seq"])
    op.create_table(
        "audit_chain",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.Column("head_mac", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("sealed_at", healthstack.kernel.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain")),
    )


def downgrade() -> None:
    op.drop_table("audit_chain")
    with op.batch_alter_table("audit_event") as batch:
        batch.drop_constraint("uq_audit_event_chain_seq", type_="unique")
        batch.drop_column("chain_tags")
        batch.drop_column("chain_hash")
        batch.drop_column("chain_seq")
