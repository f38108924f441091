"""records: the HIP keeps no transfer-wide key pair (fresh key material per page)

Revision ID: 5a9e07c3d4f2
Revises: 3b4b95876c1e
Create Date: 2026-12-07 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5a9e07c3d4f2"
down_revision: str | None = "3b4b95876c1e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("hip_data_transfer") as batch:
        batch.drop_column("hip_key_sealed")


def downgrade() -> None:
    with op.batch_alter_table("hip_data_transfer") as batch:
        batch.add_column(sa.Column("hip_key_sealed", sa.Text(), nullable=True))
