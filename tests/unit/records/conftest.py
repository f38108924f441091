"""Fixtures for the FHIR validator's tests: the IG 6.0.0 package from ../shared/abdm
(the tests skip when it is absent) and ``derive``, a test-only profile made from it
(with the helpers of tests/unit/records/profiles.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from healthstack.protocol.fhir.validation import IgPackage, load_ig
from tests.conftest import shared_path
from tests.unit.records.profiles import structure_definition

IG_PARTS = ("fhir", "ig-6.0.0-definitions")


@pytest.fixture(scope="session")
def ig_dir() -> Path:
    return shared_path(*IG_PARTS)


@pytest.fixture(scope="session")
def ig(ig_dir: Path) -> IgPackage:
    return load_ig(ig_dir)


@pytest.fixture(scope="session")
def ig_resources(ig_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(ig_dir.glob("*.json"))]


@pytest.fixture(scope="session")
def derive(
    ig_resources: list[dict[str, Any]],
) -> Callable[..., tuple[IgPackage, str]]:
    """``derive(name, new_name, edit)``: a package holding the IG plus a copy of profile
    ``name`` renamed ``new_name`` and changed by ``edit(elements)``; returns the package
    and the new profile's URL."""

    def make(
        name: str, new_name: str, edit: Callable[[list[dict[str, Any]]], None]
    ) -> tuple[IgPackage, str]:
        sd = structure_definition(ig_resources, name)
        url = sd["url"].rsplit("/", 1)[0] + "/" + new_name
        sd.update(url=url, name=new_name, id=new_name)
        edit(sd["snapshot"]["element"])
        package = IgPackage.from_resources([*ig_resources, sd], source=f"test:{new_name}")
        return package, url

    return make
