"""Test-only profiles derived from the IG 6.0.0 package (see the ``derive`` fixture of
tests/unit/records/conftest.py): a copy of one of its StructureDefinitions, one of a
snapshot's elements, and a slice added as a snapshot generator would add it."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any


def structure_definition(resources: list[dict[str, Any]], name: str) -> dict[str, Any]:
    """A deep copy of the IG's StructureDefinition called ``name``."""
    sd = next(
        r for r in resources if r["resourceType"] == "StructureDefinition" and r["name"] == name
    )
    return copy.deepcopy(sd)


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
