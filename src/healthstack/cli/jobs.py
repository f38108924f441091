"""``healthstack jobs``: the worker's scheduled jobs, listed or run once by hand.

With ``HEALTHSTACK_CLOCK_OFFSET_DAYS`` (development only) a job runs as if it were that
many days later: how a demo shows what the escalation ladder does over weeks. Serve
with the same offset to see the lists it produced as they would be on that day.
"""

from __future__ import annotations

import logging

import typer
from rich.console import Console
from rich.table import Table

from healthstack.cli.common import cli_runtime, console, fail
from healthstack.kernel.logs import log_unexpected
from healthstack.kernel.uow import unit_of_work

log = logging.getLogger("healthstack.jobs")

app = typer.Typer(help="The worker's scheduled jobs.", no_args_is_help=True)


@app.command("list")
def list_() -> None:
    """The scheduled jobs and how often the worker runs each."""
    from healthstack.jobs.worker import SCHEDULE

    table = Table("job", "every")
    for job in SCHEDULE:
        seconds = job.every_seconds
        table.add_row(job.name, f"{seconds:g} s" if seconds < 60 else f"{seconds / 60:g} min")
    Console().print(table)


@app.command("run")
def run(
    name: str = typer.Argument(..., help="The job, e.g. compliance.escalate (see `jobs list`)."),
) -> None:
    """Run one scheduled job once, in its own transaction, and say what it did."""
    from healthstack.jobs.worker import SCHEDULE

    jobs = {job.name: job for job in SCHEDULE}
    job = jobs.get(name)
    if job is None:
        fail(f"There is no job {name!r}. The jobs are: {', '.join(jobs)}.", 2)
        return
    with cli_runtime() as runtime:
        try:
            with unit_of_work(runtime.session_factory) as session:
                done = job.run(session, runtime)
        except Exception as exc:
            # One line, as the worker logs it: a traceback would print the data.
            log_unexpected(log, exc, f"job {name}")
            fail(f"{name} failed ({type(exc).__name__}); nothing was changed.")
            return
        offset = runtime.settings.clock_offset_days
        when = (
            f" as of {runtime.clock.now().date().isoformat()} ({offset:+g} days)" if offset else ""
        )
    console.print(f"[green]{name}[/green]{when}: {done:,}.")
