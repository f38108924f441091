"""accounts: server-side staff sessions, token lineage and revocation reason, login throttle

Revision ID: a5ae95ba43ef
Revises: 03c16a05fde2
Create Date: 2026-12-07 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import healthstack.kernel.db

revision: str = "a5ae95ba43ef"
down_revision: str | None = "03c16a05fde2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_AT = healthstack.kernel.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("api_token") as batch:
        batch.add_column(sa.Column("parent_id", _ID, nullable=True))
        batch.add_column(sa.Column("revoked_reason", sa.String(length=32), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_api_token_parent_id_api_token"), "api_token", ["parent_id"], ["id"]
        )
        batch.create_index(batch.f("ix_api_token_parent_id"), ["parent_id"], unique=False)

    op.create_table(
        "staff_session",
        sa.Column("user_id", _ID, nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("expires_at", _AT, nullable=False),
        sa.Column("last_seen_at", _AT, nullable=False),
        sa.Column("ended_at", _AT, nullable=True),
        sa.Column("end_reason", sa.String(length=32), nullable=True),
        sa.Column("client_address", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=160), nullable=True),
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("public_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["staff_user.id"], name=op.f("fk_staff_session_user_id_staff_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_session")),
        sa.UniqueConstraint("public_id", name=op.f("uq_staff_session_public_id")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_staff_session_secret_hash")),
    )
    with op.batch_alter_table("staff_session") as batch:
        batch.create_index(batch.f("ix_staff_session_user_id"), ["user_id"], unique=False)

    op.create_table(
        "login_throttle",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", _AT, nullable=False),
        sa.Column("locked_until", _AT, nullable=True),
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("public_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_throttle")),
        sa.UniqueConstraint("kind", "key", name=op.f("uq_login_throttle_kind")),
        sa.UniqueConstraint("public_id", name=op.f("uq_login_throttle_public_id")),
    )


def downgrade() -> None:
    op.drop_table("login_throttle")
    with op.batch_alter_table("staff_session") as batch:
        batch.drop_index(batch.f("ix_staff_session_user_id"))
    op.drop_table("staff_session")
    with op.batch_alter_table("api_token") as batch:
        batch.drop_index(batch.f("ix_api_token_parent_id"))
        batch.drop_constraint(batch.f("fk_api_token_parent_id_api_token"), type_="foreignkey")
        batch.drop_column("revoked_reason")
        batch.drop_column("parent_id")
