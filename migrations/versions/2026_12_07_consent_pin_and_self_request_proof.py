"""consent: the patient's consent PIN; a self-request's one-time proof id

Revision ID: 8c2e4b9d1f07
Revises: 5a9e07c3d4f2
Create Date: 2026-12-07 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import healthstack.kernel.db

revision: str = "8c2e4b9d1f07"
down_revision: str | None = "5a9e07c3d4f2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "consent_pin",
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("pin_hash", sa.String(length=64), nullable=False),
        sa.Column("failed_tries", sa.Integer(), nullable=False),
        sa.Column("locked_until", healthstack.kernel.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("set_at", healthstack.kernel.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", healthstack.kernel.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("public_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["abha_account.id"],
            name=op.f("fk_consent_pin_account_id_abha_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_pin")),
        sa.UniqueConstraint("account_id", name=op.f("uq_consent_pin_account_id")),
        sa.UniqueConstraint("public_id", name=op.f("uq_consent_pin_public_id")),
    )
    with op.batch_alter_table("consent_request") as batch:
        batch.add_column(sa.Column("self_proof_id", sa.String(length=64), nullable=True))
        batch.create_unique_constraint(
            batch.f("uq_consent_request_self_proof_id"), ["self_proof_id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("consent_request") as batch:
        batch.drop_constraint(batch.f("uq_consent_request_self_proof_id"), type_="unique")
        batch.drop_column("self_proof_id")
    op.drop_table("consent_pin")
