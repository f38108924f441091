"""The ``healthstack`` command. One module per noun; this one wires them together."""

from __future__ import annotations

import typer

from healthstack.cli import db, serve, staff

app = typer.Typer(
    name="healthstack",
    help="HealthStack: ABHA health accounts and the ABDM stack as a state runs it.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(db.app, name="db")
app.add_typer(staff.app, name="staff")
app.command("serve")(serve.serve)
app.command("worker")(serve.worker)


def _optional(module: str, name: str) -> None:
    """Sub-commands contributed by domains (seed, kyc, ...)."""
    import importlib

    mod = importlib.import_module(f"healthstack.cli.{module}")
    if hasattr(mod, "app"):
        app.add_typer(mod.app, name=name)
    else:  # a single command
        app.command(name)(getattr(mod, name))


for _module, _name in (
    ("seed", "seed"),
    ("kyc", "kyc"),
    ("demo", "demo"),
    ("targets", "targets"),
    ("monitoring", "monitoring"),
    ("jobs", "jobs"),
    ("fhir", "fhir"),
    ("fidelius", "fidelius"),
    ("gateway", "gateway"),
    ("records", "records"),
    ("audit", "audit"),
):
    try:
        _optional(_module, _name)
    except ModuleNotFoundError as exc:  # pragma: no cover - during development only
        if exc.name != f"healthstack.cli.{_module}":
            raise

if __name__ == "__main__":  # pragma: no cover
    app()
