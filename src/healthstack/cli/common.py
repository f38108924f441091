"""Shared CLI plumbing: settings, runtime and error printing."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from pydantic import ValidationError
from rich.console import Console

from healthstack.kernel.clock import Clock
from healthstack.kernel.errors import DomainError
from healthstack.runtime import Runtime, build_runtime
from healthstack.settings import Settings, load_settings

console = Console(stderr=True)


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except ValidationError as exc:
        for err in exc.errors():
            console.print(f"[red]Configuration error:[/red] {err['msg']}")
        raise typer.Exit(2) from exc


@contextmanager
def cli_runtime(
    settings: Settings | None = None, *, clock: Clock | None = None
) -> Iterator[Runtime]:
    settings = settings or settings_or_exit()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    runtime = build_runtime(settings, clock=clock)
    try:
        yield runtime
    except DomainError as exc:
        console.print(f"[red]Error:[/red] {exc.message}")
        raise typer.Exit(1) from exc
    finally:
        runtime.close()


def fail(message: str, code: int = 1) -> None:
    console.print(f"[red]Error:[/red] {message}")
    raise typer.Exit(code)


def require_development(settings: Settings, what: str) -> None:
    if not settings.is_development:
        console.print(f"[red]Error:[/red] {what} is available in development mode only.")
        sys.exit(2)
