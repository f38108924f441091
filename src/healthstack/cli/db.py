"""``healthstack db``: migrations."""

from __future__ import annotations

import typer

from healthstack.cli.common import (
    console,
    open_database_or_exit,
    prepare_data_dir,
    settings_or_exit,
)
from healthstack.kernel import migrate

app = typer.Typer(help="Database migrations.", no_args_is_help=True)


@app.command()
def upgrade(revision: str = typer.Argument("head")) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    settings = settings_or_exit()
    prepare_data_dir(settings)
    open_database_or_exit(settings, migrated=False)
    migrate.upgrade(settings.database_url, revision)
    console.print(f"[green]Database at {revision}.[/green]")


@app.command()
def downgrade(revision: str = typer.Argument(..., help="Target revision, or 'base'.")) -> None:
    """Revert migrations down to REVISION."""
    settings = settings_or_exit()
    open_database_or_exit(settings, migrated=False)
    migrate.downgrade(settings.database_url, revision)
    console.print(f"[yellow]Database at {revision}.[/yellow]")
