"""Which slice an element instance belongs to, by the slicing's discriminators.

Discriminator kinds (FHIR R4 ElementDefinition.slicing.discriminator.type):

- ``value`` / ``pattern``: the value at the discriminator path must equal the slice's
  fixed value (or contain its pattern) at that path -- Composition.section by
  ``code.coding.code`` (OPConsultRecord, DischargeSummaryRecord) or ``title``
  (WellnessRecord), section.entry by ``type`` (PrescriptionRecord), coding by ``system``;
- ``exists``: the path must (min >= 1) or must not (max = 0) be present in the slice;
- ``type``: the instance's type (resourceType of an entry's resource, the target of
  ``resolve()``, or the type of a choice element) must be the slice's type;
- ``profile``: the instance (or the resolved target) must conform to the slice's profile.

Paths are the FHIRPath subset discriminators use: dotted names, ``$this``,
``resolve()``, ``ofType(T)`` and ``extension('url')``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any, Protocol

from healthstack.protocol.fhir.validation.snapshot import Discriminator, ElementDef

_FUNC = re.compile(r"^(ofType|extension)\((['\"]?)(.+?)\2\)$")


class SliceContext(Protocol):
    def resolve_target(self, reference: Any) -> dict[str, Any] | None: ...

    def conforms_to(self, resource: dict[str, Any], profile_url: str) -> bool: ...

    def type_of_profile(self, profile_url: str) -> str: ...

    def trial(self, element: ElementDef, item: Any, type_code: str | None) -> bool: ...


@lru_cache(maxsize=512)
def split_path(path: str) -> tuple[str, ...]:
    parts: list[str] = []
    depth = 0
    current = ""
    for ch in path:
        if ch == "." and depth == 0:
            parts.append(current)
            current = ""
            continue
        depth += ch == "("
        depth -= ch == ")"
        current += ch
    parts.append(current)
    return tuple(p for p in parts if p)


def collect(item: Any, path: str, ctx: SliceContext) -> list[Any]:
    """The values at ``path`` under ``item`` (lists flattened)."""
    values = [item]
    for seg in split_path(path):
        if seg == "$this":
            continue
        nxt: list[Any] = []
        if seg == "resolve()":
            for v in values:
                target = ctx.resolve_target(v)
                if target is not None:
                    nxt.append(target)
        elif (m := _FUNC.match(seg)) is not None:
            fn, arg = m.group(1), m.group(3)
            if fn == "ofType":
                nxt = [v for v in values if _type_name(v) == arg]
            else:
                for v in values:
                    if isinstance(v, dict):
                        nxt.extend(
                            e
                            for e in v.get("extension") or ()
                            if isinstance(e, dict) and e.get("url") == arg
                        )
        else:
            for v in values:
                if not isinstance(v, dict):
                    continue
                if seg in v:
                    raw = v[seg]
                    nxt.extend(raw if isinstance(raw, list) else [raw])
                else:  # a choice element named without its type suffix
                    for key, raw in v.items():
                        if key.startswith(seg) and key[len(seg) : len(seg) + 1].isupper():
                            nxt.extend(raw if isinstance(raw, list) else [raw])
        values = nxt
    return values


def _type_name(value: Any) -> str | None:
    return value.get("resourceType") if isinstance(value, dict) else None


def element_at(slice_el: ElementDef, path: str) -> ElementDef | None:
    """The ElementDef inside the slice that constrains ``path`` (looked up once)."""
    if path not in slice_el.lookups:
        slice_el.lookups[path] = _element_at(slice_el, path)
    return slice_el.lookups[path]


def _element_at(slice_el: ElementDef, path: str) -> ElementDef | None:
    current: ElementDef | None = slice_el
    for seg in split_path(path):
        if current is None:
            return None
        if seg in ("$this", "resolve()") or seg.startswith("ofType("):
            continue
        m = _FUNC.match(seg)
        if m is not None:  # extension('url'): the extension slice with that profile
            ext = current.child("extension")
            current = next(
                (
                    s
                    for s in (ext.slices if ext else ())
                    if any(m.group(3) in t.profiles for t in s.types)
                ),
                None,
            )
            continue
        current = current.child(seg)
    return current


def values_equal(actual: Any, expected: Any) -> bool:
    if isinstance(expected, bool) or isinstance(actual, bool):
        return actual is expected
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return float(actual) == float(expected)
    return bool(actual == expected)


def pattern_matches(actual: Any, pattern: Any) -> bool:
    """``actual`` holds at least what ``pattern`` says (FHIR pattern[x] semantics)."""
    if isinstance(pattern, dict):
        if not isinstance(actual, dict):
            return False
        return all(pattern_matches(actual.get(k), v) for k, v in pattern.items())
    if isinstance(pattern, list):
        items = actual if isinstance(actual, list) else ([] if actual is None else [actual])
        return all(any(pattern_matches(a, p) for a in items) for p in pattern)
    return values_equal(actual, pattern)


def matches(
    slice_el: ElementDef,
    item: Any,
    discriminators: Iterable[Discriminator],
    ctx: SliceContext,
    type_code: str | None,
) -> bool:
    discs = list(discriminators)
    if not discs:  # no discriminator: membership is decided by validating against the slice
        return ctx.trial(slice_el, item, type_code)
    return all(_one(slice_el, item, d, ctx, type_code) for d in discs)


def _one(
    slice_el: ElementDef, item: Any, d: Discriminator, ctx: SliceContext, type_code: str | None
) -> bool:
    target = element_at(slice_el, d.path)
    if d.type in ("value", "pattern"):
        if target is None:
            return True
        expected = target.fixed or target.pattern
        if expected is None:
            return True
        values = collect(item, d.path, ctx)
        if expected[0].startswith("fixed"):
            return any(values_equal(v, expected[1]) for v in values)
        return any(pattern_matches(v, expected[1]) for v in values)
    if d.type == "exists":
        present = bool(collect(item, d.path, ctx))
        if target is None:
            return True
        if target.min >= 1:
            return present
        if target.max == 0:
            return not present
        return True
    resolves = "resolve()" in d.path
    if d.type == "type":
        if target is None:
            return True
        if resolves:
            allowed = {ctx.type_of_profile(p) for t in target.types for p in t.target_profiles}
        else:
            allowed = {t.code for t in target.types}
        if split_path(d.path) == ("$this",) and type_code is not None and "[x]" in slice_el.path:
            return type_code in allowed
        found = {_type_name(v) for v in collect(item, d.path, ctx)}
        return bool(found & allowed)
    if d.type == "profile":
        if target is None:
            return True
        wanted = [p for t in target.types for p in (t.target_profiles if resolves else t.profiles)]
        if not wanted:
            return True
        resources = [v for v in collect(item, d.path, ctx) if isinstance(v, dict)]
        return any(ctx.conforms_to(r, p) for r in resources for p in wanted)
    return False
