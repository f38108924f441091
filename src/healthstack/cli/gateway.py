"""``healthstack gateway``: register bridges and their services, list them (the
network side's gateway; the same rules as the admin API, acting as the system)."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.table import Table

from healthstack.cli.common import cli_runtime, console
from healthstack.cli.kyc import table_console
from healthstack.kernel.context import Actor, ActorKind, Purpose, RequestContext
from healthstack.kernel.uow import unit_of_work
from healthstack.network.gateway import service

app = typer.Typer(
    help="The ABDM gateway: bridges (clients) and their services.", no_args_is_help=True
)

CLI_ACTOR = Actor(kind=ActorKind.SYSTEM, id="cli:gateway", display="healthstack gateway")


def _ctx() -> RequestContext:
    return RequestContext(actor=CLI_ACTOR, purpose=Purpose.ADMINISTRATION)


@app.command("register-bridge")
def register_bridge(
    client_id: str = typer.Argument(..., help="The bridge's client id, e.g. jk-hmis."),
    url: str = typer.Option(..., help="Its callback base URL, e.g. https://hmis.example.org"),
    name: str = typer.Option(..., help="Who runs it."),
    secret: str | None = typer.Option(
        None,
        help="Use this client secret (16+ characters) instead of a generated one, e.g. to "
        "match HEALTHSTACK_ABDM_CLIENT_SECRET of a facility side.",
    ),
) -> None:
    """Register a bridge; prints its client secret once (only a hash is kept)."""
    with cli_runtime() as rt, unit_of_work(rt.session_factory) as session:
        bridge, plain = service.register_bridge(
            session,
            _ctx(),
            client_id=client_id,
            name=name,
            url=url,
            secret=secret,
            clock=rt.clock,
            settings=rt.settings.gateway,
            development=rt.settings.is_development,
        )
        console.print(f"[green]Registered bridge {bridge.client_id} → {bridge.url}.[/green]")
    if secret is None:
        console.print("Its client secret (shown once; keep it):")
        typer.echo(plain)


@app.command("add-service")
def add_service(
    client_id: str = typer.Argument(..., help="The bridge's client id."),
    service_id: str = typer.Argument(..., help="The facility's HFR id, e.g. IN0110000001."),
    service_type: str = typer.Option(..., "--type", help="HIP or HIU."),
    name: str = typer.Option(..., help="The facility's name."),
) -> None:
    """Let a bridge act for a facility as HIP or HIU."""
    with cli_runtime() as rt, unit_of_work(rt.session_factory) as session:
        svc = service.add_service(
            session,
            _ctx(),
            client_id=client_id,
            service_id=service_id,
            service_type=service_type,
            name=name,
            clock=rt.clock,
        )
        console.print(
            f"[green]{svc.service_id} is now a {svc.service_type} of {client_id}.[/green]"
        )


@app.command("list")
def list_bridges(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """The registered bridges and their services."""
    with cli_runtime() as rt, unit_of_work(rt.session_factory) as session:
        rows: list[dict[str, Any]] = [
            {
                "client_id": b.client_id,
                "name": b.name,
                "url": b.url,
                "is_active": b.is_active,
                "services": [
                    {"service_id": s.service_id, "type": s.service_type, "name": s.name}
                    for s in b.services
                ],
            }
            for b in service.list_bridges(session)
        ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not rows:
        console.print(
            "No bridges yet: healthstack gateway register-bridge CLIENT_ID --url ... --name ..."
        )
        return
    table = Table(title="Gateway bridges", title_justify="left")
    for column in ("Client id", "Name", "URL", "Active", "Services"):
        table.add_column(column)
    for r in rows:
        services = ", ".join(f"{s['service_id']} ({s['type']})" for s in r["services"])
        table.add_row(
            r["client_id"], r["name"], r["url"], "yes" if r["is_active"] else "no", services or "-"
        )
    table_console().print(table)
