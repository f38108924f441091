"""records: the bridge behind a transfer's pages (each page brings its own key
material, so the pinned sender key goes); why a received entry was refused and what
a kept one was warned of

Revision ID: 3b4b95876c1e
Revises: 818f93477dad
Create Date: 2026-12-07 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3b4b95876c1e"
down_revision: str | None = "818f93477dad"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("hiu_data_request") as batch:
        batch.add_column(sa.Column("sender_client_id", sa.String(length=64), nullable=True))
        batch.drop_column("sender_public_key")
        batch.drop_column("sender_nonce")
    with op.batch_alter_table("hiu_received_record") as batch:
        batch.add_column(sa.Column("error_detail", sa.String(length=500), nullable=True))
        batch.add_column(sa.Column("warnings", sa.JSON(none_as_null=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("hiu_received_record") as batch:
        batch.drop_column("warnings")
        batch.drop_column("error_detail")
    with op.batch_alter_table("hiu_data_request") as batch:
        batch.add_column(sa.Column("sender_nonce", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("sender_public_key", sa.String(length=512), nullable=True))
        batch.drop_column("sender_client_id")
