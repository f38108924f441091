"""Shared CLI plumbing: settings, runtime and error printing."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.text import Text
from sqlalchemy import inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

from healthstack.kernel.clock import Clock
from healthstack.kernel.db import make_engine
from healthstack.kernel.errors import DomainError
from healthstack.kernel.files import ensure_private_dir
from healthstack.runtime import Runtime, build_runtime
from healthstack.settings import Settings, load_settings

console = Console(stderr=True)


def settings_or_exit(**overrides: object) -> Settings:
    """The settings from the environment (``overrides`` win: a command's options), or
    one line per bad variable and exit 2."""
    try:
        return load_settings(**overrides)
    except ValidationError as exc:
        for err in exc.errors():
            if err["type"] == "default_factory_not_called":
                continue  # a consequence of another error, printed on its own
            where = "_".join(str(part) for part in err["loc"]).upper()
            prefix = f"HEALTHSTACK_{where}: " if where else ""
            console.print(f"[red]Configuration error:[/red] {prefix}{err['msg']}", soft_wrap=True)
        raise typer.Exit(2) from exc


def prepare_data_dir(settings: Settings) -> None:
    """Create the data directory (0700: it holds the keys and the SQLite file)."""
    try:
        ensure_private_dir(settings.data_dir)
    except OSError as exc:
        fail(
            f"cannot create the data directory {settings.data_dir} ({exc.strerror}). "
            "Set HEALTHSTACK_DATA_DIR to a folder this user may write."
        )


# A table every migration level has: its absence means `db upgrade` never ran.
_SCHEMA_PROBE = "outbox_message"


def open_database_or_exit(settings: Settings, *, migrated: bool = True) -> None:
    """Connect once (and on SQLite take the write lock) so that a bad URL, a database
    server that does not answer or an unwritable file gets one line, not a traceback;
    ``migrated``: also refuse a database without the schema."""
    problem = database_problem(settings.database_url, migrated=migrated)
    if problem is not None:
        fail(problem)


def database_problem(url: str, *, migrated: bool = False) -> str | None:
    """Why the database at ``url`` cannot be used (no password in it), or None."""
    try:
        shown = make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return (
            "HEALTHSTACK_DATABASE_URL is not a database URL: set it to sqlite:///path/to/file.db "
            "or postgresql+psycopg://user@host:5432/name."
        )
    check = "Check HEALTHSTACK_DATABASE_URL."
    try:
        engine = make_engine(url)
    except (SQLAlchemyError, ImportError) as exc:
        return f"cannot use the database {shown}: {_first_line(exc)}. {check}"
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                # Reading works on a read-only file; a write lock proves we may write.
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                conn.exec_driver_sql("ROLLBACK")
            if migrated and not inspect(conn).has_table(_SCHEMA_PROBE):
                return (
                    f"the database {shown} has no HealthStack tables yet: "
                    "run `healthstack db upgrade` first."
                )
    except DBAPIError as exc:
        return f"cannot open the database {shown}: {_first_line(exc.orig or exc)}. {check}"
    except (SQLAlchemyError, OSError) as exc:
        return f"cannot open the database {shown}: {_first_line(exc)}. {check}"
    finally:
        engine.dispose()
    return None


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return (lines[0] if lines else type(exc).__name__).rstrip(".")


@contextmanager
def cli_runtime(
    settings: Settings | None = None, *, clock: Clock | None = None
) -> Iterator[Runtime]:
    settings = settings or settings_or_exit()
    prepare_data_dir(settings)
    open_database_or_exit(settings)
    runtime = build_runtime(settings, clock=clock)
    try:
        yield runtime
    except DomainError as exc:
        console.print(f"[red]Error:[/red] {exc.message}")
        raise typer.Exit(1) from exc
    finally:
        runtime.close()


def fail(message: str, code: int = 1) -> NoReturn:
    # soft_wrap: one line however narrow the terminal, so it reads (and greps) whole.
    # No markup in the message: a path or URL may hold brackets.
    console.print(Text.assemble(("Error: ", "red"), message), soft_wrap=True)
    raise typer.Exit(code)


def require_development(settings: Settings, what: str) -> None:
    if not settings.is_development:
        console.print(f"[red]Error:[/red] {what} is available in development mode only.")
        sys.exit(2)
