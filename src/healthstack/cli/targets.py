"""``healthstack targets``: the dashboard's targets per district and indicator."""

from __future__ import annotations

from datetime import date

import typer
from rich.table import Table

from healthstack.cli.common import cli_runtime, console, fail
from healthstack.kernel.clock import ist_date
from healthstack.kernel.uow import unit_of_work

app = typer.Typer(help="Dashboard targets per district and indicator.", no_args_is_help=True)


@app.command("set")
def set_(
    indicator: str = typer.Option(..., help="Indicator key, e.g. abha.accounts."),
    district: int = typer.Option(
        ..., help="District LGD code (of the state profile), e.g. 13 for Srinagar."
    ),
    value: int = typer.Option(..., help="The target (a whole number)."),
    valid_from: str | None = typer.Option(
        None, help="First day it holds (YYYY-MM-DD); today when left out."
    ),
) -> None:
    """Set a district's target for an indicator (the earlier ones stay on record)."""
    from healthstack.programme.monitoring.service import district_name
    from healthstack.programme.monitoring.targets import set_target

    start = None
    if valid_from:
        try:
            start = date.fromisoformat(valid_from)
        except ValueError:
            fail("--valid-from must be a date written YYYY-MM-DD.", 2)
    with cli_runtime() as rt, unit_of_work(rt.session_factory) as session:
        target = set_target(
            session,
            profile=rt.settings.profile,
            indicator=indicator,
            district_lgd=district,
            value=value,
            valid_from=start,
            set_by="cli",
            clock=rt.clock,
        )
        console.print(
            f"[green]Target set:[/green] {target.indicator} in "
            f"{district_name(rt.settings.profile, district)} "
            f"= {target.value:,} from {target.valid_from.isoformat()}."
        )


@app.command("list")
def list_(
    indicator: str | None = typer.Option(None, help="Only this indicator."),
) -> None:
    """The targets in force today, per district."""
    from healthstack.programme.monitoring.service import check_indicator_key, district_name
    from healthstack.programme.monitoring.targets import targets_in_force

    with cli_runtime() as rt, unit_of_work(rt.session_factory) as session:
        if indicator:
            check_indicator_key(indicator)
        in_force = targets_in_force(session, on=ist_date(rt.clock.now()))
    profile = rt.settings.profile
    table = Table("indicator", "district", "LGD", "target")
    for (ind, lgd), value in sorted(in_force.items()):
        if indicator and ind != indicator:
            continue
        table.add_row(ind, district_name(profile, lgd), str(lgd), f"{value:,}")
    console.print(table)
