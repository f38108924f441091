"""The test tree's own layout: no module under tests/ imports a test module (``test_*``)
or a conftest below the top one. Shared helpers live in the ``tests/factories_*.py``
modules and shared set-ups in fixtures (tests/conftest.py and its plugins), so renaming
or deleting a test module never breaks, or silently skips, another; and a test function
imported into a second module would run twice."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
ROOT_CONFTEST = "tests.conftest"


def module_name(path: Path) -> str:
    parts = path.relative_to(TESTS.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_test_module(name: str) -> bool:
    return name.split(".")[-1].startswith("test_")


def _is_lower_conftest(name: str) -> bool:
    return name.split(".")[-1] == "conftest" and name != ROOT_CONFTEST


def crossings(name: str, source: str, *, is_package: bool = False) -> list[str]:
    """The imports in ``source`` (the module ``name``) of a test module, of a name
    ``test_*`` from the test tree, or of a conftest other than tests/conftest.py."""
    package = name if is_package else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            if module.split(".")[0] != "tests":
                continue
            targets = [module] + [f"{module}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            if target.split(".")[0] != "tests":
                continue
            if (
                _is_test_module(target)
                or _is_lower_conftest(target)
                or any(_is_test_module(part) for part in target.split(".")[:-1])
            ):
                found.append(f"{name}:{node.lineno} imports {target}")
                break
    return found


def test_no_module_of_the_test_tree_imports_a_test_module_or_a_lower_conftest():
    found = []
    for path in sorted(TESTS.rglob("*.py")):
        found += crossings(
            module_name(path), path.read_text(), is_package=path.name == "__init__.py"
        )
    assert not found, "move the shared helper to a tests/factories_*.py module:\n" + "\n".join(
        found
    )


@pytest.mark.parametrize(
    "source",
    [
        "from tests.api.test_abha_pages import alert",
        "import tests.api.test_abha_pages",
        "from tests.api import test_abha_pages",
        "from .test_phr_pages import log_in",
        "from . import test_phr_pages",
        "def f():\n    from tests.integration.test_records_exchange import received",
        "from tests.e2e.conftest import live_server",
        "from .conftest import ig",
    ],
)
def test_the_check_catches_each_way_of_importing_a_test_module(source):
    assert crossings("tests.api.test_example", source)


@pytest.mark.parametrize(
    "source",
    [
        "from tests.conftest import FACILITY_A",
        "from tests.factories_phr import log_in",
        "from tests import factories_pages as pages",
        "from tests.unit.records import bundles as b",
        "from healthstack.network.abha.models import AbhaAccount",
        "import pytest",
    ],
)
def test_the_check_lets_helpers_and_the_top_conftest_be_imported(source):
    assert crossings("tests.api.test_example", source) == []
