"""outbox: purge_at, when a sent message loses what it must not keep (an OTP's text)

Revision ID: 03c16a05fde2
Revises: 8c2e4b9d1f07
Create Date: 2026-12-07 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import healthstack.kernel.db

revision: str = "03c16a05fde2"
down_revision: str | None = "8c2e4b9d1f07"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_message") as batch:
        batch.add_column(
            sa.Column("purge_at", healthstack.kernel.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch.create_index(batch.f("ix_outbox_message_purge_at"), ["purge_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox_message") as batch:
        batch.drop_index(batch.f("ix_outbox_message_purge_at"))
        batch.drop_column("purge_at")
