"""``healthstack audit``: seal the audit trail's chain now, and verify it.

``verify`` is what an auditor runs (by hand or from cron): it walks the whole chain and
exits 0 with "N rows, chain intact", or 1 with the first broken link or the rows that
waited too long for the sealer (docs/adr/0012-audit-chain-sealed-after-commit.md).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import typer

from healthstack.cli.common import cli_runtime
from healthstack.kernel.audit_chain import SEAL_BATCH, ChainKey, seal, verify
from healthstack.kernel.uow import unit_of_work
from healthstack.web.timefmt import local_time

app = typer.Typer(help="The audit trail's tamper-evident chain.", no_args_is_help=True)


def _both(at: datetime) -> str:
    return f"{local_time(at, '%d %b %Y, %H:%M:%S')}, {at.isoformat()}"


@app.command("seal")
def seal_now() -> None:
    """Seal every committed row not sealed yet (the worker does it every few seconds)."""
    with cli_runtime() as runtime:
        key = ChainKey.from_hasher(runtime.hasher)
        total = 0
        while True:
            with unit_of_work(runtime.session_factory) as session:
                done = seal(session, key=key, clock=runtime.clock)
            total += done
            if done < SEAL_BATCH:  # the last batch, or another sealer holds the chain
                break
    typer.echo(f"{total:,} rows sealed.")


@app.command("verify")
def verify_chain(
    grace_minutes: int = typer.Option(
        5,
        "--grace-minutes",
        min=0,
        max=10_080,
        help="Rows unsealed for longer than this fail the check (the sealer is not running).",
    ),
) -> None:
    """Walk the chain by sequence: the first broken link (exit 1), or "N rows, chain
    intact" (exit 0)."""
    with cli_runtime() as runtime, unit_of_work(runtime.session_factory) as session:
        report = verify(
            session,
            key=ChainKey.from_hasher(runtime.hasher),
            clock=runtime.clock,
            grace=timedelta(minutes=grace_minutes),
        )
    typer.echo(report.summary(show_time=_both))
    if report.problem is None:
        typer.echo(f"Head: row {report.head_seq:,}, {report.head_hash}")
    if not report.intact:
        raise typer.Exit(1)
