"""The import contracts of ``pyproject.toml`` (``make lint``) hold on the tree, and they
refuse a crossing import: a copy of the package with one deliberate import added fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", str(tree / "pyproject.toml")],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    shutil.copytree(
        ROOT / "src" / "healthstack",
        tmp_path / "src" / "healthstack",
        ignore=shutil.ignore_patterns("__pycache__", "templates", "static"),
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def add_import(tree: Path, module: str, line: str) -> None:
    path = tree / "src" / Path(*module.split(".")).with_suffix(".py")
    path.write_text(path.read_text() + f"\n{line}\n")


def test_the_tree_keeps_every_contract() -> None:
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "refusal"),
    [
        (
            "healthstack.facility.records.hip.discovery",
            "from healthstack.network.consent import models as _crossing  # noqa",
            "healthstack.facility is not allowed to import healthstack.network",
        ),
        (
            "healthstack.network.consent.linking",
            "from healthstack.facility.records import models as _crossing  # noqa",
            "healthstack.network is not allowed to import healthstack.facility",
        ),
        (
            "healthstack.kernel.clock",
            "from healthstack.web import pages as _upward  # noqa",
            "healthstack.kernel is not allowed to import healthstack.web",
        ),
        (
            "healthstack.web.pages",
            "from healthstack.seed import jk as _demo  # noqa",
            "healthstack.web.pages -> healthstack.seed.jk",
        ),
    ],
    ids=["facility-to-network", "network-to-facility", "kernel-upwards", "production-to-seed"],
)
def test_a_crossing_import_is_refused(copy: Path, module: str, line: str, refusal: str) -> None:
    add_import(copy, module, line)
    result = lint(copy)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout
    assert refusal in " ".join(result.stdout.split()), result.stdout
