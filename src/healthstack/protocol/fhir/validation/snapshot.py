"""A StructureDefinition snapshot as a tree the validator can walk.

A snapshot is a flat list of ElementDefinitions whose ``id`` says where each sits:
``Composition.section:ChiefComplaints.code.coding.code`` is the ``code`` child of the
``coding`` child of the ``code`` child of the ``ChiefComplaints`` slice of
``Composition.section``. This module parses that list once, at package load, into
``ElementDef`` nodes with their children and their named slices, so validation never
searches the list again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_BEST_PRACTICE = "http://hl7.org/fhir/StructureDefinition/elementdefinition-bestpractice"
# Element.id is typed with this FHIRPath system type; its JSON value is a plain string.
SYSTEM_STRING = "http://hl7.org/fhirpath/System.String"


@dataclass(frozen=True, slots=True)
class TypeRef:
    code: str
    profiles: tuple[str, ...] = ()
    target_profiles: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Discriminator:
    type: str  # value | pattern | exists | type | profile
    path: str


@dataclass(frozen=True, slots=True)
class Slicing:
    discriminators: tuple[Discriminator, ...]
    rules: str  # closed | open | openAtEnd
    ordered: bool


@dataclass(frozen=True, slots=True)
class Constraint:
    key: str
    severity: str
    human: str
    expression: str | None
    # "best practice" invariants (dom-6: resources should carry narrative) are advice.
    best_practice: bool = False


@dataclass(eq=False, slots=True)
class ElementDef:
    id: str
    path: str
    name: str  # the last path segment, e.g. "section" or "value[x]"
    min: int
    max: int | None  # None: unbounded
    base_max: int | None  # the core definition's max decides array or single value in JSON
    types: tuple[TypeRef, ...]
    fixed: tuple[str, Any] | None  # ("fixedUri", "http://snomed.info/sct")
    pattern: tuple[str, Any] | None
    binding_strength: str | None
    binding_valueset: str | None
    constraints: tuple[Constraint, ...]
    slicing: Slicing | None
    slice_name: str | None
    content_reference: str | None
    children: list[ElementDef] = field(default_factory=list, repr=False)
    slices: list[ElementDef] = field(default_factory=list, repr=False)
    is_choice: bool = False
    # Derived once: the invariants other than ele-1 (checked natively on every value), and
    # for a choice element the JSON key suffix of each allowed type ("Quantity" -> type).
    checks: tuple[Constraint, ...] = ()
    single_type: str | None = None  # the type code when the element has exactly one
    suffixes: dict[str, str] = field(default_factory=dict, repr=False)
    lookups: dict[str, ElementDef | None] = field(default_factory=dict, repr=False)  # slicing
    _index: ChildIndex | None = field(default=None, repr=False)

    def index(self) -> ChildIndex:
        """The children by JSON key, built once (validation looks keys up, not lists)."""
        if self._index is None:
            self._index = ChildIndex(
                by_name={c.name: c for c in self.children if not c.is_choice},
                choices=[(c.name[:-3], c) for c in self.children if c.is_choice],
                required=[c for c in self.children if c.min > 0],
            )
        return self._index

    @property
    def label(self) -> str:
        """How messages name the element: its id, which includes slice names."""
        return self.id

    def child(self, name: str) -> ElementDef | None:
        for c in self.children:
            if c.name == name or (c.is_choice and c.name[:-3] == name):
                return c
        return None

    def type_codes(self) -> tuple[str, ...]:
        return tuple(t.code for t in self.types)


@dataclass(slots=True)
class ChildIndex:
    by_name: dict[str, ElementDef]
    choices: list[tuple[str, ElementDef]]  # (key prefix, element): "value" -> value[x]
    required: list[ElementDef]  # min > 0: checked for absence

    def choice_for(self, key: str) -> ElementDef | None:
        for prefix, el in self.choices:
            if key.startswith(prefix) and key[len(prefix) : len(prefix) + 1].isupper():
                return el
        return None


@dataclass(eq=False, slots=True)
class Profile:
    url: str
    name: str
    type: str  # the resource type it constrains
    base: str | None  # baseDefinition
    root: ElementDef = field(repr=False)
    by_id: dict[str, ElementDef] = field(repr=False)

    def element(self, element_id: str) -> ElementDef | None:
        return self.by_id.get(element_id)

    def content_target(self, ref: str) -> ElementDef | None:
        """Resolve ``contentReference`` (``#Composition.section`` or ``<url>#...``)."""
        return self.by_id.get(ref.split("#", 1)[1] if "#" in ref else ref)


def _max(raw: str | None) -> int | None:
    if raw is None or raw == "*":
        return None
    return int(raw)


def _prefixed(raw: dict[str, Any], prefix: str) -> tuple[str, Any] | None:
    for key, value in raw.items():
        if key.startswith(prefix) and len(key) > len(prefix):
            return key, value
    return None


def _type_code(raw: dict[str, Any]) -> str:
    code = str(raw.get("code", ""))
    if code == SYSTEM_STRING:
        return "string"
    # Other FHIRPath system types appear only on primitive .value elements.
    if code.startswith("http://hl7.org/fhirpath/System."):
        return code.rsplit(".", 1)[1].lower()
    return code


def parse_element(raw: dict[str, Any]) -> ElementDef:
    path = raw["path"]
    slicing = None
    if "slicing" in raw:
        s = raw["slicing"]
        slicing = Slicing(
            discriminators=tuple(
                Discriminator(d["type"], d["path"]) for d in s.get("discriminator", [])
            ),
            rules=s.get("rules", "open"),
            ordered=bool(s.get("ordered", False)),
        )
    binding = raw.get("binding") or {}
    base = raw.get("base") or {}
    el = ElementDef(
        id=raw.get("id") or path,
        path=path,
        name=path.rsplit(".", 1)[-1],
        min=int(raw.get("min", 0)),
        max=_max(raw.get("max")),
        base_max=_max(base.get("max", raw.get("max"))),
        types=tuple(
            TypeRef(
                _type_code(t),
                tuple(t.get("profile", ())),
                tuple(t.get("targetProfile", ())),
            )
            for t in raw.get("type", ())
        ),
        fixed=_prefixed(raw, "fixed"),
        pattern=_prefixed(raw, "pattern"),
        binding_strength=binding.get("strength"),
        binding_valueset=binding.get("valueSet"),
        constraints=tuple(
            Constraint(
                c["key"],
                c.get("severity", "error"),
                c.get("human", ""),
                c.get("expression"),
                any(
                    x.get("url") == _BEST_PRACTICE and x.get("valueBoolean") is True
                    for x in c.get("extension", ())
                ),
            )
            for c in raw.get("constraint", ())
        ),
        slicing=slicing,
        slice_name=raw.get("sliceName"),
        content_reference=raw.get("contentReference"),
        is_choice=path.endswith("[x]"),
    )
    el.checks = tuple(c for c in el.constraints if c.key != "ele-1")
    el.single_type = el.types[0].code if len(el.types) == 1 else None
    el.suffixes = {t.code[:1].upper() + t.code[1:]: t.code for t in el.types}
    return el


# The last id segment of a slice looks like "section:ChiefComplaints" (or a re-slice
# "entry:A/B"); slice names never contain dots in this IG, which keeps the split simple.
_SLICE_TAIL = re.compile(r":[^.:]+$")


def build_profile(sd: dict[str, Any]) -> Profile:
    """Parse a StructureDefinition's snapshot into a ``Profile`` tree."""
    elements = (sd.get("snapshot") or {}).get("element") or []
    if not elements:
        raise ValueError(f"StructureDefinition {sd.get('url')} has no snapshot")
    by_id: dict[str, ElementDef] = {}
    root: ElementDef | None = None
    for raw in elements:
        el = parse_element(raw)
        by_id[el.id] = el
        if root is None:
            root = el
            continue
        tail = _SLICE_TAIL.search(el.id)
        if tail and el.slice_name is not None:
            owner = by_id.get(el.id[: tail.start()])
            if owner is not None:
                owner.slices.append(el)
                continue
        parent = by_id.get(el.id.rsplit(".", 1)[0])
        if parent is not None:
            parent.children.append(el)
    assert root is not None
    # A slice whose children the snapshot does not spell out has its owner's children.
    for el in by_id.values():
        for s in el.slices:
            if not s.children:
                s.children = el.children
    return Profile(
        url=sd["url"],
        name=sd.get("name") or sd["url"].rsplit("/", 1)[-1],
        type=sd["type"],
        base=sd.get("baseDefinition"),
        root=root,
        by_id=by_id,
    )
