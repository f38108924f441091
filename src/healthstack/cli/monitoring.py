"""``healthstack monitoring``: keep the dashboard's aggregates in step with the registries."""

from __future__ import annotations

import typer

from healthstack.cli.common import cli_runtime, console
from healthstack.kernel.uow import unit_of_work

app = typer.Typer(help="The coverage dashboard's aggregates.", no_args_is_help=True)


@app.command("rebuild")
def rebuild(
    indicator: list[str] = typer.Option(  # noqa: B008 - Typer's way
        [], "--indicator", help="Only these indicators (repeatable); all when left out."
    ),
) -> None:
    """Recompute the dashboard's figures from the registries (after a bulk load; the
    worker also does it nightly)."""
    from healthstack.programme.monitoring.aggregates import rebuild as rebuild_aggregates

    with cli_runtime() as rt, unit_of_work(rt.session_factory) as session:
        try:
            report = rebuild_aggregates(session, clock=rt.clock, only=indicator or None)
        except ValueError as exc:
            console.print(f"[red]Error:[/red] {exc}")
            raise typer.Exit(2) from exc
    console.print(
        f"[green]Rebuilt[/green] {', '.join(report.rebuilt) or 'nothing'} "
        f"({report.cells:,} cells, {report.absorbed_events:,} pending events absorbed) "
        f"in {report.seconds:.1f} s."
    )
    if report.skipped:
        console.print(f"Skipped (registry not installed): {', '.join(report.skipped)}.")
