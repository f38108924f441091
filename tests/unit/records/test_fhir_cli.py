"""``healthstack fhir validate``: output per file and exit status 0 / 1 / 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from healthstack.cli.main import app
from tests.unit.records import bundles as b

runner = CliRunner()


def _write(tmp_path: Path, name: str, bundle: Any) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(bundle))
    return path


@pytest.fixture(autouse=True)
def _no_ig_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HEALTHSTACK_FHIR_IG_PATH", raising=False)


def test_a_valid_bundle_exits_0(tmp_path: Path, ig_dir: Path) -> None:
    path = _write(tmp_path, "ok.json", b.op_consult())
    result = runner.invoke(app, ["fhir", "validate", "--ig", str(ig_dir), str(path)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines() == [
        f"{path}: valid (0 errors, 0 warnings, 8 notes; IG 6.0.0, OPConsultRecord)"
    ]


def test_verbose_also_prints_the_notes(tmp_path: Path, ig_dir: Path) -> None:
    path = _write(tmp_path, "ok.json", b.op_consult())
    result = runner.invoke(app, ["fhir", "validate", "-v", "--ig", str(ig_dir), str(path)])
    assert result.exit_code == 0
    assert "  note    Bundle.entry[0].resource [invariant:dom-6]" in result.stdout


def test_an_invalid_bundle_prints_each_problem_and_exits_1(tmp_path: Path, ig_dir: Path) -> None:
    good = _write(tmp_path, "good.json", b.op_consult())
    bundle = b.op_consult()
    b.composition(bundle)["status"] = "draft"
    del b.composition(bundle)["title"]
    bad = _write(tmp_path, "bad.json", bundle)
    result = runner.invoke(app, ["fhir", "validate", "--ig", str(ig_dir), str(good), str(bad)])
    assert result.exit_code == 1
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith(f"{good}: valid")
    assert lines[1].startswith("  error   Bundle.entry[0].resource.status [binding] ")
    assert lines[2].startswith("  error   Bundle.entry[0].resource.title [cardinality] ")
    assert "Composition.title is missing; profile OPConsultRecord requires 1..1." in lines[2]
    assert lines[3].startswith(f"{bad}: INVALID (2 errors, 0 warnings,")


def test_core_only_needs_no_package(tmp_path: Path) -> None:
    bundle = b.op_consult()
    bundle["type"] = "collection"
    path = _write(tmp_path, "bundle.json", bundle)
    result = runner.invoke(app, ["fhir", "validate", "--core-only", str(path)])
    assert result.exit_code == 1
    assert "  error   Bundle.type [core:bundle-type] Bundle.type must be 'document'" in (
        result.stdout
    )
    assert "core rules only" in result.stdout


def test_without_any_package_it_says_so_and_checks_the_core_rules(tmp_path: Path) -> None:
    path = _write(tmp_path, "ok.json", b.op_consult())
    result = runner.invoke(app, ["fhir", "validate", str(path)])
    assert result.exit_code == 0
    assert "No IG package given (--ig or HEALTHSTACK_FHIR_IG_PATH)" in result.stderr
    assert "core rules only" in result.stdout


def test_the_package_comes_from_the_setting(
    tmp_path: Path, ig_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEALTHSTACK_FHIR_IG_PATH", str(ig_dir))
    path = _write(tmp_path, "ok.json", b.op_consult())
    result = runner.invoke(app, ["fhir", "validate", str(path)])
    assert result.exit_code == 0
    assert "IG 6.0.0, OPConsultRecord" in result.stdout


def test_a_missing_file_exits_2(tmp_path: Path) -> None:
    good = _write(tmp_path, "good.json", b.op_consult())
    missing = tmp_path / "missing.json"
    result = runner.invoke(app, ["fhir", "validate", "--core-only", str(missing), str(good)])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"Error: {missing}: no such file. Check the path and try again."
    assert f"{good}: valid" in result.stdout  # the others are still checked


def test_a_file_that_is_not_json_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "bundle.json"
    path.write_text("<Bundle xmlns='http://hl7.org/fhir'/>")
    result = runner.invoke(app, ["fhir", "validate", "--core-only", str(path)])
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"Error: {path} is not JSON (line 1, column 1:")
    assert line.endswith("pass a FHIR Bundle saved as JSON.")


def test_json_that_is_not_a_bundle_is_invalid_not_a_usage_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "patient.json", {"resourceType": "Patient"})
    result = runner.invoke(app, ["fhir", "validate", "--core-only", str(path)])
    assert result.exit_code == 1
    assert "[core:resource-type]" in result.stdout


def test_a_bad_package_path_exits_2(tmp_path: Path) -> None:
    path = _write(tmp_path, "ok.json", b.op_consult())
    result = runner.invoke(app, ["fhir", "validate", "--ig", str(tmp_path / "nope"), str(path)])
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: IG definitions package not found at")
    assert result.stdout == ""


def test_no_files_is_a_usage_error() -> None:
    result = runner.invoke(app, ["fhir", "validate"])
    assert result.exit_code == 2
