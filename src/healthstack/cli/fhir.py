"""``healthstack fhir``: FHIR health-record documents.

``healthstack fhir validate FILE...`` checks document bundles against the NRCeS ABDM IG
(and the built-in core rules). Exit status: 0 when every file is valid, 1 when some file
is invalid, 2 when a file or the IG package cannot be read (a usage problem).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from healthstack.cli.common import settings_or_exit

app = typer.Typer(help="FHIR health-record documents (NRCeS ABDM IG).", no_args_is_help=True)

_LABEL = {"error": "error", "warning": "warning", "information": "note"}


def _note(line: str) -> None:
    # One unwrapped line on stderr, so scripts and people see the whole reason.
    typer.echo(line, err=True)


def _read(path: Path) -> tuple[Any, str | None]:
    """The parsed JSON, or None and a one-line reason the file cannot be used."""
    if not path.exists():
        return None, f"{path}: no such file. Check the path and try again."
    if path.is_dir():
        return None, f"{path} is a folder; pass the bundle's JSON file(s)."
    try:
        return json.loads(path.read_bytes()), None
    except json.JSONDecodeError as exc:
        return None, (
            f"{path} is not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            "pass a FHIR Bundle saved as JSON."
        )
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"{path} cannot be read ({exc.__class__.__name__}); check its permissions."


@app.command("validate")
def validate(
    files: list[Path] = typer.Argument(..., help="FHIR document bundles (JSON files)."),
    ig: Path | None = typer.Option(
        None,
        "--ig",
        help="The IG definitions package: folder, zip or npm tarball. "
        "Default: the HEALTHSTACK_FHIR_IG_PATH setting.",
    ),
    core_only: bool = typer.Option(
        False, "--core-only", help="Check the built-in ABDM core rules only, without the IG."
    ),
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help="Also print notes (what could not be checked)."
    ),
) -> None:
    """Validate FHIR document bundles against the NRCeS ABDM IG and the core rules."""
    from healthstack.protocol.fhir.validation import IgPackageError, load_ig, validate_bundle

    package = None
    if not core_only:
        source = ig if ig is not None else settings_or_exit().fhir_ig_path
        if source is None:
            _note(
                "No IG package given (--ig or HEALTHSTACK_FHIR_IG_PATH): checking the core "
                "rules only."
            )
        else:
            try:
                package = load_ig(source)
            except IgPackageError as exc:
                _note(f"Error: {exc.message}")
                raise typer.Exit(2) from exc
    unreadable = invalid = 0
    for path in files:
        bundle, problem = _read(path)
        if problem is not None:
            _note(f"Error: {problem}")
            unreadable += 1
            continue
        report = validate_bundle(bundle, ig=package)
        shown = [i for i in report.issues if verbose or i.severity != "information"]
        for issue in shown:
            typer.echo(f"  {_LABEL[issue.severity]:<7} {issue.path} [{issue.rule}] {issue.message}")
        counts = {s: sum(1 for i in report.issues if i.severity == s) for s in _LABEL}
        record = report.profiles.get("Bundle.entry[0].resource", "")
        against = (
            f"IG {package.version or '?'}" + (f", {record.rsplit('/', 1)[-1]}" if record else "")
            if package is not None
            else "core rules only"
        )
        skipped = sum(report.invariants_skipped.values())
        tail = f", {skipped} invariant checks skipped" if skipped else ""
        verdict = "valid" if report.valid else "INVALID"
        invalid += not report.valid
        typer.echo(
            f"{path}: {verdict} ({counts['error']} errors, {counts['warning']} warnings, "
            f"{counts['information']} notes; {against}{tail})"
        )
    if unreadable:
        raise typer.Exit(2)
    if invalid:
        raise typer.Exit(1)
