"""Fixtures for the FHIR validator's tests: the IG 6.0.0 package from ../shared/abdm
(the tests skip when it is absent) and helpers that derive test-only profiles from it."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from healthstack.protocol.fhir.validation import IgPackage, load_ig
from tests.conftest import shared_path

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


def structure_definition(resources: list[dict[str, Any]], name: str) -> dict[str, Any]:
    """A deep copy of the IG's StructureDefinition called ``name``."""
    sd = next(
        r for r in resources if r["resourceType"] == "StructureDefinition" and r["name"] == name
    )
    return copy.deepcopy(sd)


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


def element(elements: list[dict[str, Any]], element_id: str) -> dict[str, Any]:
    return next(e for e in elements if e["id"] == element_id)


def add_slice(
    elements: list[dict[str, Any]],
    base_id: str,
    slice_name: str,
    *,
    minimum: int,
    maximum: str,
    change: Callable[[dict[str, Any]], None] | None = None,
) -> None:
    """Copy ``base_id`` and its descendants as slice ``slice_name`` (as a snapshot
    generator would), placed after the base element's subtree; ``change`` edits each copy."""
    subtree = [e for e in elements if e["id"] == base_id or e["id"].startswith(base_id + ".")]
    copies = []
    for e in subtree:
        c = copy.deepcopy(e)
        c["id"] = base_id + ":" + slice_name + e["id"][len(base_id) :]
        if e["id"] == base_id:
            c.update(sliceName=slice_name, min=minimum, max=maximum)
            c.pop("slicing", None)
        if change is not None:
            change(c)
        copies.append(c)
    last = max(i for i, e in enumerate(elements) if e["id"].startswith(base_id))
    elements[last + 1 : last + 1] = copies
