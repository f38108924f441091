"""``healthstack records``: the facility side's care contexts and their links.

``link-pending`` queues HIP-initiated linking (link token, then link) for every care
context that knows its patient's ABHA but is not linked yet (the demo seed leaves them
so); the worker (``healthstack worker``, or the one inside ``healthstack serve``) sends
the calls. ``status`` counts care contexts by link state.
"""

from __future__ import annotations

import typer
from rich.table import Table

from healthstack.cli.common import cli_runtime, console
from healthstack.cli.kyc import table_console
from healthstack.kernel.uow import unit_of_work

app = typer.Typer(help="Health records at the facility (care contexts, links).")


@app.command("link-pending")
def link_pending(
    hip: str | None = typer.Option(None, help="Only this HIP (HFR id)."),
) -> None:
    """Queue the link of every pending care context through the gateway."""
    from healthstack.demo import queue_pending_links

    with cli_runtime() as rt:
        patients = queue_pending_links(rt, hip_id=hip)
    console.print(
        f"[green]Queued linking for {patients} patient(s).[/green] The worker sends the "
        "calls (healthstack serve runs one; or run healthstack worker)."
    )


@app.command("status")
def status(hip: str | None = typer.Option(None, help="Only this HIP (HFR id).")) -> None:
    """Care contexts by link state."""
    from healthstack.facility.records.care_contexts import link_counts

    with cli_runtime() as rt, unit_of_work(rt.session_factory) as session:
        counts = link_counts(session, hip_id=hip)
    table = Table(title="Care contexts by link state", title_justify="left")
    table.add_column("State")
    table.add_column("Care contexts", justify="right")
    for state, n in sorted(counts.items()):
        table.add_row(state, str(n))
    table_console().print(table)
