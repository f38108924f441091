"""``healthstack staff``: create staff accounts from the command line."""

from __future__ import annotations

import typer

from healthstack.accounts.service import create_staff
from healthstack.cli.common import cli_runtime, console, fail
from healthstack.kernel.context import Role
from healthstack.kernel.uow import unit_of_work

app = typer.Typer(help="Staff accounts.", no_args_is_help=True)


@app.command("create")
def create(
    username: str = typer.Argument(...),
    role: str = typer.Option(..., help="One of: " + ", ".join(r.value for r in Role)),
    full_name: str = typer.Option(..., "--name"),
    password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True),
    facility: str | None = typer.Option(None, help="HFR id, for facility roles."),
    district: int | None = typer.Option(None, help="District LGD code, for district officers."),
) -> None:
    """Create a staff account."""
    try:
        role_value = Role(role)
    except ValueError:
        fail(f"Unknown role {role!r}. Choose one of: " + ", ".join(r.value for r in Role), 2)
        return
    with cli_runtime() as rt, unit_of_work(rt.session_factory) as session:
        user = create_staff(
            session,
            username=username,
            full_name=full_name,
            role=role_value,
            password=password,
            facility_id=facility,
            district_lgd=district,
            clock=rt.clock,
        )
        console.print(f"[green]Created {user.username} ({role_value.value}).[/green]")
