"""Walk a resource instance against a profile's element tree.

For every element the profile defines, at every place it occurs in the instance, the
walker checks cardinality (including each slice's), the JSON shape and primitive type,
choice types, fixed and pattern values, required (and extensible) bindings, reference
targets, and the element's invariants; then it descends into the element's children.
Instance keys the profile does not define are reported.

Resources inside ``Bundle.entry.resource`` are boundaries: the validator checks each one
against its own profile (``ValidationContext.profile_issues``), cached, so a reference
check that needs "does the target conform to profile X" reuses the same result.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from healthstack.protocol.fhir.validation.bindings import check_binding
from healthstack.protocol.fhir.validation.invariants import InvariantEngine
from healthstack.protocol.fhir.validation.package import IgPackage, canonical
from healthstack.protocol.fhir.validation.primitives import CHECKS as PRIMITIVE_CHECKS
from healthstack.protocol.fhir.validation.primitives import json_kind
from healthstack.protocol.fhir.validation.references import BundleIndex, Entry, Resolution
from healthstack.protocol.fhir.validation.report import Issue, IssueSink, Severity, article
from healthstack.protocol.fhir.validation.slicing import matches, pattern_matches, values_equal
from healthstack.protocol.fhir.validation.snapshot import ElementDef, Profile
from healthstack.protocol.fhir.validation.terminology import Terminology

# Keys FHIR JSON allows besides the elements themselves.
_ALWAYS_ALLOWED = frozenset({"resourceType", "fhir_comments"})
_UNTYPED = frozenset({"BackboneElement", "Element", "Resource"})
# Types whose values are shown in messages: codes and identifiers of systems, never text.
_SHOWN = frozenset({"code", "uri", "url", "canonical", "id", "boolean", "Coding"})


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 120 else text[:117] + "..."


def _count(n: int | None) -> str:
    return "*" if n is None else str(n)


class ValidationContext:
    """Everything one bundle's validation shares: package, index, caches, counters."""

    def __init__(self, package: IgPackage, index: BundleIndex) -> None:
        self.package = package
        self.index = index
        self.terminology = Terminology(package)
        self.invariants = InvariantEngine(package.cache)
        self.evaluated = 0
        self.skipped: Counter[str] = Counter()
        # entry index -> the profiles the validator checks that entry against anyway
        self.selected: dict[int, list[Profile]] = {}
        self._issues: dict[tuple[int, str], list[Issue]] = {}
        self._running: set[tuple[int, str]] = set()
        self._types: dict[str, str] = package.cache.setdefault("profile-types", {})

    # ------------------------------------------------------------ per-resource results

    def profile_issues(self, entry: Entry, profile: Profile) -> list[Issue]:
        """The issues of ``entry``'s resource against ``profile`` (computed once)."""
        key = (entry.index, profile.url)
        if key in self._issues:
            return self._issues[key]
        if key in self._running:  # a reference cycle: assume conformance while inside it
            return []
        self._running.add(key)
        try:
            sink = IssueSink()
            assert entry.resource is not None
            ResourceWalker(self, profile, entry.resource, entry, sink).run(f"{entry.path}.resource")
            self._issues[key] = sink.issues
        finally:
            self._running.discard(key)
        return self._issues[key]

    def conformance(self, res: Resolution, profile: Profile) -> list[Issue]:
        """Errors that keep the resolved target from conforming to ``profile``."""
        target = res.target or {}
        claimed = (target.get("meta") or {}).get("profile") or []
        if any(isinstance(u, str) and self.package.derives_from(u, profile.url) for u in claimed):
            return []  # it claims the profile (and is validated against its claim)
        if res.entry is not None:
            issues = self.profile_issues(res.entry, profile)
        else:  # a contained resource: not cached
            sink = IssueSink()
            ResourceWalker(self, profile, target, None, sink).run("contained")
            issues = sink.issues
        return [i for i in issues if i.severity is Severity.ERROR]

    # ------------------------------------------------------------ SliceContext

    def resolve_target(self, reference: Any) -> dict[str, Any] | None:
        if isinstance(reference, dict) and isinstance(reference.get("reference"), str):
            return self.index.resolve(reference["reference"], source=None).target
        return None

    def conforms_to(self, resource: dict[str, Any], profile_url: str) -> bool:
        profile = self.package.profile(profile_url)
        if profile is None:
            return resource.get("resourceType") == profile_url.rsplit("/", 1)[-1]
        if resource.get("resourceType") != profile.type:
            return False
        entry = next((e for e in self.index.entries if e.resource is resource), None)
        return not self.conformance(Resolution(resource, entry, "fullUrl"), profile)

    def type_of_profile(self, profile_url: str) -> str:
        hit = self._types.get(profile_url)
        if hit is None:
            profile = self.package.profile(profile_url)
            hit = profile.type if profile else canonical(profile_url).rsplit("/", 1)[-1]
            self._types[profile_url] = hit
        return hit


class ResourceWalker:
    def __init__(
        self,
        ctx: ValidationContext,
        profile: Profile,
        resource: dict[str, Any],
        entry: Entry | None,
        sink: IssueSink,
    ) -> None:
        self.ctx = ctx
        self.profile = profile
        self.resource = resource
        self.entry = entry
        self.sink = sink
        self.pname = f"profile {profile.name}"

    def run(self, path: str) -> None:
        if self.resource.get("resourceType") != self.profile.type:
            self.sink.error(
                path,
                "profile",
                f"{self.pname} constrains {self.profile.type}, but this resource is "
                f"{article(self.resource.get('resourceType'))}.",
            )
            return
        self.item(self.profile.root, self.resource, path, None)

    # ------------------------------------------------------------------ one value

    def item(self, el: ElementDef, value: Any, path: str, type_code: str | None) -> None:
        if value is None or value == "" or value == {} or value == []:
            self.sink.error(
                path,
                "invariant:ele-1",
                f"{el.id} is present but empty; FHIR requires every element to have a value "
                f"or children (ele-1, {self.pname}).",
            )
            return
        t = type_code or el.single_type
        if t is not None and not self._type_ok(el, t, value, path):
            return
        if el.fixed is not None and not values_equal(value, el.fixed[1]):
            self._fixed_issue(el, value, path, t)
        elif el.pattern is not None and not pattern_matches(value, el.pattern[1]):
            self.sink.error(
                path,
                "pattern",
                f"{el.id} must contain {_show(el.pattern[1])} (pattern set by {self.pname}).",
            )
        if el.binding_strength in ("required", "extensible") and el.binding_valueset:
            check_binding(self.ctx.terminology, self.sink, el, value, path, t, self.pname)
        if t == "Reference" and isinstance(value, dict):
            self._reference(el, value, path)
        if el.checks:
            self._invariants(el, value, path, t)
        if isinstance(value, dict) and t != "Resource":
            holder: ElementDef | None = el
            if not el.children and el.content_reference:
                holder = self.profile.content_target(el.content_reference)
            if holder is not None and holder.children:
                self.children(el, holder, value, path)

    def _type_ok(self, el: ElementDef, t: str, value: Any, path: str) -> bool:
        check = PRIMITIVE_CHECKS.get(t)
        if check is not None:
            if check(value):
                return True
            self.sink.error(path, "type", f"{el.id} must be {json_kind(t)} ({t}).")
            return False
        if t[:1].isupper() and not isinstance(value, dict):  # complex types and Resource
            self.sink.error(path, "type", f"{el.id} must be a JSON object ({t}).")
            return False
        return True

    def _fixed_issue(self, el: ElementDef, value: Any, path: str, t: str | None) -> None:
        found = f"; found {_show(value)}" if t in _SHOWN else ""
        self.sink.error(
            path,
            "fixed",
            f"{el.id} must be {_show(el.fixed[1] if el.fixed else None)} "
            f"(fixed by {self.pname}){found}.",
        )

    # ------------------------------------------------------------------ children

    def children(
        self, parent: ElementDef, holder: ElementDef, obj: dict[str, Any], path: str
    ) -> None:
        """Check ``obj``'s keys against the children of ``holder`` (``parent`` itself, or
        the element its contentReference points to)."""
        index = holder.index()
        choices: dict[int, list[tuple[str, str | None]]] = {}
        for key, raw in obj.items():
            child = index.by_name.get(key)
            if child is not None:
                self._values(child, raw, f"{path}.{key}", None)
                continue
            if key in _ALWAYS_ALLOWED:
                continue
            if key[:1] == "_":  # the extension/id part of a primitive
                base = key[1:]
                if base in index.by_name or index.choice_for(base) is not None:
                    if base not in obj:
                        self._shadow_only(index, base, raw, f"{path}.{base}")
                    continue
            choice = index.choice_for(key)
            if choice is not None:
                rest = key[len(choice.name) - 3 :]
                choices.setdefault(id(choice), []).append((key, choice.suffixes.get(rest)))
                continue
            self.sink.error(
                f"{path}.{key}",
                "structure",
                f"'{key}' is not an element of {parent.path} in {self.pname}.",
            )
        for prefix, choice in index.choices:
            found = choices.get(id(choice))
            if found:
                self._choice(choice, found, obj, path)
            elif choice.min > 0 and not any(
                k[:1] == "_" and index.choice_for(k[1:]) is choice for k in obj
            ):
                self._cardinality(choice, 0, f"{path}.{prefix}[x]")
        for child in index.required:
            if child.is_choice or child.name in obj or "_" + child.name in obj:
                continue
            self._cardinality(child, 0, f"{path}.{child.name}")

    def _shadow_only(self, index: Any, base: str, raw: Any, path: str) -> None:
        """A primitive present only through ``_name`` (extensions, no value) counts once
        per item towards its element's cardinality."""
        child = index.by_name.get(base)
        if child is not None and child.max is not None:
            count = len(raw) if isinstance(raw, list) else 1
            if count > child.max:
                self._cardinality(child, count, path)

    def _choice(
        self, child: ElementDef, found: list[tuple[str, str | None]], obj: dict[str, Any], path: str
    ) -> None:
        prefix = child.name[:-3]
        good = [(k, t) for k, t in found if t is not None]
        for key, t in found:
            if t is None:
                self.sink.error(
                    f"{path}.{key}",
                    "type",
                    f"{child.id} does not allow type {key[len(prefix) :]} in {self.pname}; "
                    f"allowed: {', '.join(x.code for x in child.types)}.",
                )
        if len(found) > 1:
            self.sink.error(
                f"{path}.{prefix}[x]",
                "cardinality",
                f"{child.id} takes one type at a time; found {len(found)} "
                f"({', '.join(k for k, _ in found)}).",
            )
        for key, t in good:
            self._values(child, obj[key], f"{path}.{key}", t)

    def _values(self, el: ElementDef, raw: Any, path: str, type_code: str | None) -> None:
        repeating = el.base_max is None or el.base_max > 1
        if repeating and not isinstance(raw, list):
            self.sink.error(path, "type", f"{el.id} repeats, so it must be a JSON array.")
            raw = [raw]
        elif not repeating and isinstance(raw, list):
            self.sink.error(path, "type", f"{el.id} is a single value, not an array.")
        items = raw if isinstance(raw, list) else [raw]
        n = len(items)
        if n < el.min or (el.max is not None and n > el.max):
            self._cardinality(el, n, path)
        if el.slices:
            self._sliced(el, items, path, type_code)
            return
        for i, value in enumerate(items):
            self.item(el, value, f"{path}[{i}]" if repeating else path, type_code)

    def _cardinality(self, el: ElementDef, count: int, path: str) -> None:
        rng = f"{el.min}..{_count(el.max)}"
        if count < el.min:
            what = "is missing" if count == 0 else f"occurs {count} time(s)"
            self.sink.error(path, "cardinality", f"{el.id} {what}; {self.pname} requires {rng}.")
        elif el.max is not None and count > el.max:
            self.sink.error(
                path,
                "cardinality",
                f"{el.id} occurs {count} times; {self.pname} allows at most {el.max} ({rng}).",
            )

    # ------------------------------------------------------------------ slicing

    def _sliced(self, el: ElementDef, items: list[Any], path: str, type_code: str | None) -> None:
        discs = el.slicing.discriminators if el.slicing else ()
        rules = el.slicing.rules if el.slicing else "open"
        assigned: list[ElementDef | None] = []
        for value in items:
            assigned.append(
                next((s for s in el.slices if matches(s, value, discs, self, type_code)), None)
            )
        counts = Counter(id(s) for s in assigned if s is not None)
        for s in el.slices:
            n = counts.get(id(s), 0)
            if n < s.min:
                self.sink.error(
                    path,
                    "slice",
                    f"{s.id} is missing: {self.pname} requires {s.min}..{_count(s.max)} "
                    f"{el.path} matching slice {s.slice_name} ({_describe(discs)}); found {n}.",
                )
            elif s.max is not None and n > s.max:
                self.sink.error(
                    path,
                    "slice",
                    f"{s.id} occurs {n} times; {self.pname} allows at most {s.max} "
                    f"({_describe(discs)}).",
                )
        seen_unmatched = False
        last_order = -1
        order = {id(s): i for i, s in enumerate(el.slices)}
        for i, (value, match) in enumerate(zip(items, assigned, strict=True)):
            item_path = f"{path}[{i}]"
            if match is None:
                seen_unmatched = True
                if rules == "closed":
                    self.sink.error(
                        item_path,
                        "slice",
                        f"{el.id} is closed to the slices "
                        f"{', '.join(str(x.slice_name) for x in el.slices)} in {self.pname}; "
                        f"this one matches none of them ({_describe(discs)}).",
                    )
                self.item(el, value, item_path, type_code)
                continue
            if rules == "openAtEnd" and seen_unmatched:
                self.sink.error(
                    item_path,
                    "slice",
                    f"{el.id}: in {self.pname} items that match no slice must come after all "
                    f"slices (openAtEnd), but this {match.slice_name} follows one.",
                )
            if el.slicing is not None and el.slicing.ordered:
                if order[id(match)] < last_order:
                    self.sink.error(
                        item_path,
                        "slice",
                        f"{el.id}: {self.pname} orders its slices; "
                        f"{match.slice_name} is out of order.",
                    )
                last_order = order[id(match)]
            self.item(match, value, item_path, type_code)

    def trial(self, element: ElementDef, item: Any, type_code: str | None) -> bool:
        scratch = ResourceWalker(self.ctx, self.profile, self.resource, self.entry, IssueSink())
        scratch.item(element, item, "trial", type_code)
        return not scratch.sink.has_errors()

    # SliceContext, delegated to the shared context
    def resolve_target(self, reference: Any) -> dict[str, Any] | None:
        if isinstance(reference, dict) and isinstance(reference.get("reference"), str):
            res = self.ctx.index.resolve(
                reference["reference"], source=self.entry, resource=self.resource
            )
            return res.target
        return None

    def conforms_to(self, resource: dict[str, Any], profile_url: str) -> bool:
        return self.ctx.conforms_to(resource, profile_url)

    def type_of_profile(self, profile_url: str) -> str:
        return self.ctx.type_of_profile(profile_url)

    # ------------------------------------------------------------------ references

    def _reference(self, el: ElementDef, value: dict[str, Any], path: str) -> None:
        ref = value.get("reference")
        if not isinstance(ref, str):
            return
        targets = [p for t in el.types if t.code == "Reference" for p in t.target_profiles]
        if not targets:
            return
        res = self.ctx.index.resolve(ref, source=self.entry, resource=self.resource)
        if res.target is None:
            return  # an unresolved reference is reported once, by the core rules
        rtype = res.target.get("resourceType")
        allowed: dict[str, list[str]] = {}
        for url in targets:
            allowed.setdefault(self.ctx.type_of_profile(url), []).append(url)
        if "Resource" in allowed:
            return
        where = res.entry.path if res.entry is not None else "the contained resource"
        if rtype not in allowed:
            self.sink.error(
                f"{path}.reference",
                "reference",
                f"{el.id} must reference {' or '.join(sorted(allowed))} ({self.pname}); "
                f"{where} is {article(rtype)}.",
            )
            return
        ig_profiles = [self.ctx.package.profile(u) for u in allowed[str(rtype)]]
        if any(p is None for p in ig_profiles):
            return  # a core target (e.g. any Device): the type is all that is asked
        checked_anyway = self.ctx.selected.get(res.entry.index, []) if res.entry else []
        if any(p in checked_anyway for p in ig_profiles):
            return  # the target's own errors against that profile are reported on it
        failures: list[tuple[str, Issue]] = []
        for p in ig_profiles:
            assert p is not None
            errors = self.ctx.conformance(res, p)
            if not errors:
                return
            failures.append((p.name, errors[0]))
        names = " or ".join(n for n, _ in failures)
        first = failures[0][1]
        self.sink.error(
            f"{path}.reference",
            "reference",
            f"{el.id} must reference {article(rtype)} conforming to {names} ({self.pname}); "
            f"{where} does not ({first.rule} at {first.path}).",
        )

    # ------------------------------------------------------------------ invariants

    def _invariants(self, el: ElementDef, value: Any, path: str, t: str | None) -> None:
        # fhirpathpy resolves choice elements by type name: an Extension's "value" is found
        # through "Extension", not "Patient.extension"; backbone elements need their path.
        typed = t is not None and t[:1].isupper() and t not in _UNTYPED
        base = t if typed and t is not None else el.path
        for c in el.checks:  # ele-1 is checked on every value before anything else
            ok = self.ctx.invariants.evaluate(c, value, base, self.resource)
            if ok is None:
                self.ctx.skipped[c.key] += 1
                continue
            self.ctx.evaluated += 1
            if ok:
                continue
            if c.best_practice:
                severity, kind = Severity.INFORMATION, "best-practice invariant"
            elif c.severity == "warning":
                severity, kind = Severity.WARNING, "invariant"
            else:
                severity, kind = Severity.ERROR, "invariant"
            self.sink.add(
                severity,
                path,
                f"invariant:{c.key}",
                f"{el.id} breaks {kind} {c.key} of {self.pname}: {c.human}",
            )


def _describe(discs: Any) -> str:
    parts = [f"{d.type} of {d.path}" for d in discs]
    return "by " + ", ".join(parts) if parts else "no discriminator"
