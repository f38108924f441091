"""Code membership for bound elements.

A value set is looked up first in the IG package (its ``expansion`` if shipped, else its
``compose``: explicit concepts, whole CodeSystems the package ships, and other value
sets), then in the built-in copy of the FHIR R4 required value sets. Content the package
does not ship -- SNOMED CT, LOINC, v2 tables, or any include that uses a filter -- cannot be
enumerated offline: for those the validator checks only that the coding's *system* is one
the value set draws from, and says so (``Verdict.SYSTEM_ONLY``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from healthstack.protocol.fhir.validation.core_valuesets import CORE_REQUIRED, MIMETYPES
from healthstack.protocol.fhir.validation.package import IgPackage, canonical


class Verdict(Enum):
    IN = "in"  # the code is in the value set
    NOT_IN = "not-in"  # the system's codes are known and this one is not among them
    WRONG_SYSTEM = "wrong-system"  # the value set draws nothing from this system
    SYSTEM_ONLY = "system-only"  # the system is right; its content is not shipped offline
    UNKNOWN = "unknown"  # the value set itself is not available


@dataclass
class ValueSetContent:
    url: str
    name: str
    codes: dict[str, set[str]] = field(default_factory=dict)  # system -> codes
    open_systems: set[str] = field(default_factory=set)  # included, not enumerable here
    builtin: bool = False

    def systems(self) -> list[str]:
        return sorted(set(self.codes) | self.open_systems)


# type "/" subtype, with optional parameters (RFC 6838 names).
_MIME = re.compile(r"^[A-Za-z0-9][\w!#$&^.+-]*/[A-Za-z0-9][\w!#$&^.+-]*(\s*;.*)?$")


def _concepts(items: Iterable[dict[str, Any]]) -> Iterable[str]:
    for c in items:
        if "code" in c:
            yield str(c["code"])
        yield from _concepts(c.get("concept", ()))
        yield from _concepts(c.get("contains", ()))


class Terminology:
    def __init__(self, package: IgPackage | None) -> None:
        self.package = package
        self._cache: dict[str, ValueSetContent | None] = (
            package.cache.setdefault("valuesets", {}) if package is not None else {}
        )

    def valueset(self, url: str) -> ValueSetContent | None:
        key = canonical(url)
        if key not in self._cache:
            self._cache[key] = self._load(key, set())
        return self._cache[key]

    def _load(self, url: str, seen: set[str]) -> ValueSetContent | None:
        if url in seen:
            return None
        seen.add(url)
        vs = self.package.value_sets.get(url) if self.package is not None else None
        if vs is not None:
            return self._from_package(url, vs, seen)
        if url in CORE_REQUIRED:
            system, codes = CORE_REQUIRED[url]
            return ValueSetContent(
                url, url.rsplit("/", 1)[-1] + " (FHIR R4)", {system: set(codes)}, builtin=True
            )
        return None

    def _from_package(self, url: str, vs: dict[str, Any], seen: set[str]) -> ValueSetContent:
        content = ValueSetContent(url, vs.get("name") or url.rsplit("/", 1)[-1])
        expansion = vs.get("expansion") or {}
        if expansion.get("contains"):
            for c in _walk_contains(expansion["contains"]):
                content.codes.setdefault(str(c.get("system")), set()).add(str(c.get("code")))
            return content
        compose = vs.get("compose") or {}
        for inc in compose.get("include", ()):
            for ref in inc.get("valueSet", ()):
                other = self._load(canonical(ref), seen)
                if other is not None:
                    for system, codes in other.codes.items():
                        content.codes.setdefault(system, set()).update(codes)
                    content.open_systems |= other.open_systems
            system = inc.get("system")
            if not system:
                continue
            if inc.get("filter"):
                content.open_systems.add(system)
            elif inc.get("concept"):
                content.codes.setdefault(system, set()).update(_concepts(inc["concept"]))
            else:
                cs = self.package.code_systems.get(system) if self.package else None
                if cs is not None and cs.get("content", "complete") == "complete":
                    content.codes.setdefault(system, set()).update(_concepts(cs.get("concept", ())))
                else:
                    content.open_systems.add(system)
        for exc in compose.get("exclude", ()):
            if exc.get("system") in content.codes and exc.get("concept"):
                content.codes[exc["system"]] -= set(_concepts(exc["concept"]))
        return content

    # ------------------------------------------------------------------ checks

    def check_code(self, url: str, code: str) -> Verdict:
        """A bare ``code`` element: its system is implied by the value set."""
        if canonical(url) == MIMETYPES:
            return Verdict.IN if _MIME.match(code) else Verdict.NOT_IN
        vs = self.valueset(url)
        if vs is None:
            return Verdict.UNKNOWN
        if any(code in codes for codes in vs.codes.values()):
            return Verdict.IN
        return Verdict.SYSTEM_ONLY if vs.open_systems and not vs.codes else Verdict.NOT_IN

    def check_coding(self, url: str, system: str | None, code: str | None) -> Verdict:
        vs = self.valueset(url)
        if vs is None:
            return Verdict.UNKNOWN
        if system is None or code is None:
            return Verdict.WRONG_SYSTEM if system is None else Verdict.NOT_IN
        if system in vs.codes and code in vs.codes[system]:
            return Verdict.IN
        if system in vs.open_systems:
            return Verdict.SYSTEM_ONLY
        if system in vs.codes:
            return Verdict.NOT_IN
        return Verdict.WRONG_SYSTEM


def _walk_contains(items: Iterable[dict[str, Any]]) -> Iterable[dict[str, Any]]:
    for c in items:
        if "code" in c:
            yield c
        yield from _walk_contains(c.get("contains", ()))
