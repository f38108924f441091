"""Declarative base, column types, engine and session factory.

One HTTP request, CLI command or job is one unit of work (``kernel.uow.unit_of_work``):
it commits on success and rolls back on any exception, so nothing is ever half
written. Services only ``flush()``.
"""

from __future__ import annotations

import contextlib
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field
from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    Uuid,
    create_engine,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator

from healthstack.kernel.files import ensure_private_file

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments INTEGER PRIMARY KEY; BigInteger keeps PostgreSQL roomy.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")

# What the database holds. An integer from a request that reaches a query must fit,
# or the driver fails (SQLite beyond 64 bits, PostgreSQL's INTEGER beyond 32): bound
# it where it is parsed, so the caller gets a 400 naming the field and the range.
INT_MIN, INT_MAX = -(2**31), 2**31 - 1  # an INTEGER column, a page number
BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1  # a BIGINT column (row keys)
DbInt = Annotated[int, Field(ge=INT_MIN, le=INT_MAX)]
DbBigInt = Annotated[int, Field(ge=BIGINT_MIN, le=BIGINT_MAX)]


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on both SQLite (which drops tzinfo) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use the Clock (UTC aware)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: UTCDateTime,
        dict[str, Any]: JSON,
        uuid.UUID: Uuid,
        bytes: LargeBinary,
    }


class IdMixin:
    """Two ids per row: an internal integer key and a public UUID."""

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    public_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, unique=True, default=uuid.uuid4, nullable=False
    )


def make_engine(url: str, *, echo: bool = False) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": 30},
        )

        database = engine.url.database
        if database and database != ":memory:" and not database.startswith("file:"):
            db_file = Path(database)

            @event.listens_for(engine, "do_connect")
            def _private_file(*_args: Any) -> None:
                # Before SQLite creates the file with the umask's mode (0644 by default):
                # the database, and with it its -wal and -shm, readable by us alone.
                # On failure SQLite's own error says why the file cannot be opened.
                with contextlib.suppress(OSError):
                    ensure_private_file(db_file)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    return create_engine(url, echo=echo, pool_size=20, max_overflow=20, pool_pre_ping=True)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


def is_postgres(session_or_engine: Session | Engine) -> bool:
    bind = (
        session_or_engine.get_bind()
        if isinstance(session_or_engine, Session)
        else session_or_engine
    )
    return bind.dialect.name == "postgresql"
