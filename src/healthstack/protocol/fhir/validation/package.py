"""Load an IG's published definitions package and keep it parsed, once per path.

Accepted forms (all as the IG publisher ships them; nothing is ever downloaded):

- a directory of JSON resources (``StructureDefinition-*.json``, ``ValueSet-*.json``...),
  searched recursively, so an unpacked npm package (``package/``) works too;
- the ``definitions.json.zip`` / ``definitions.zip`` archive;
- the npm tarball (``package.tgz`` / ``*.tar.gz``).

Only StructureDefinition (with a snapshot), ValueSet, CodeSystem and ImplementationGuide
resources are kept. ``load_ig`` caches per resolved path and modification time.
"""

from __future__ import annotations

import json
import tarfile
import threading
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from healthstack.kernel.errors import ValidationFailed
from healthstack.protocol.fhir.validation.snapshot import Profile, build_profile

_KEPT = {"StructureDefinition", "ValueSet", "CodeSystem", "ImplementationGuide"}


class IgPackageError(ValidationFailed):
    """The definitions package is missing, unreadable or holds no profiles."""

    code = "HS-4101"


def canonical(url: str) -> str:
    """A canonical URL without its ``|version`` suffix."""
    return url.split("|", 1)[0]


@dataclass(eq=False, repr=False)
class IgPackage:
    source: str
    version: str | None
    canonical_base: str | None
    profiles: dict[str, Profile]
    value_sets: dict[str, dict[str, Any]]
    code_systems: dict[str, dict[str, Any]]
    profiles_by_type: dict[str, list[Profile]] = field(default_factory=dict)
    # Composition.type -> record profile (REFERENCE.md §2.2), read off the profiles' own
    # fixed values: type code -> profile, and fixed type.text -> profile.
    record_by_code: dict[str, Profile] = field(default_factory=dict)
    record_by_text: dict[str, Profile] = field(default_factory=dict)
    # Per-package caches the validator fills (compiled invariants, expanded value sets).
    cache: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return (
            f"IgPackage({self.source!r}, version={self.version!r}, {len(self.profiles)} profiles)"
        )

    @classmethod
    def from_resources(cls, resources: Iterable[dict[str, Any]], *, source: str) -> IgPackage:
        profiles: dict[str, Profile] = {}
        value_sets: dict[str, dict[str, Any]] = {}
        code_systems: dict[str, dict[str, Any]] = {}
        version = base = None
        for res in resources:
            kind = res.get("resourceType")
            if kind == "StructureDefinition" and (res.get("snapshot") or {}).get("element"):
                if res.get("kind") in ("resource", "complex-type") and res.get("url"):
                    profile = build_profile(res)
                    profiles[profile.url] = profile
            elif kind == "ValueSet" and res.get("url"):
                value_sets[canonical(res["url"])] = res
            elif kind == "CodeSystem" and res.get("url"):
                code_systems[canonical(res["url"])] = res
            elif kind == "ImplementationGuide":
                version = res.get("version")
                url = res.get("url", "")
                base = url.split("/ImplementationGuide/", 1)[0] or None
        if not profiles:
            raise IgPackageError(
                f"No StructureDefinition snapshots found in {source}. Point --ig (or "
                "HEALTHSTACK_FHIR_IG_PATH) at the IG's definitions folder, zip or npm tarball."
            )
        pkg = cls(source, version, base, profiles, value_sets, code_systems)
        pkg._index()
        return pkg

    def _index(self) -> None:
        for p in self.profiles.values():
            self.profiles_by_type.setdefault(p.type, []).append(p)
        for p in self.profiles_by_type.get("Composition", []):
            code = p.element("Composition.type.coding.code")
            if code is not None and code.fixed is not None:
                self.record_by_code.setdefault(str(code.fixed[1]), p)
            text = p.element("Composition.type.text")
            if text is not None and text.fixed is not None:
                self.record_by_text.setdefault(str(text.fixed[1]), p)
        # A record profile without a fixed type code (DiagnosticReportRecord) is chosen by
        # the concepts of the value set its Composition.type is bound to.
        for p in self.profiles_by_type.get("Composition", []):
            el = p.element("Composition.type")
            vs = self.value_sets.get(canonical(el.binding_valueset or "")) if el else None
            if vs is None:
                continue
            for inc in (vs.get("compose") or {}).get("include", []):
                for concept in inc.get("concept", []):
                    self.record_by_code.setdefault(str(concept.get("code")), p)

    def profile(self, url: str) -> Profile | None:
        return self.profiles.get(canonical(url))

    def default_profile(self, resource_type: str) -> Profile | None:
        """The profile for a resource that names none: the IG's profile of that type
        that derives straight from core (``Observation``, not ``ObservationVitalSigns``),
        or the only one of its type. Compositions are chosen by type instead."""
        candidates = self.profiles_by_type.get(resource_type, [])
        direct = [
            p
            for p in candidates
            if (p.base or "").startswith("http://hl7.org/fhir/StructureDefinition/")
        ]
        if len(direct) == 1:
            return direct[0]
        if len(candidates) == 1:
            return candidates[0]
        return None

    def derives_from(self, url: str, ancestor: str) -> bool:
        """Whether profile ``url`` is ``ancestor`` or constrains it (via baseDefinition)."""
        seen: set[str] = set()
        current: str | None = canonical(url)
        target = canonical(ancestor)
        while current and current not in seen:
            if current == target:
                return True
            seen.add(current)
            p = self.profiles.get(current)
            current = canonical(p.base) if p is not None and p.base else None
        return False


# --------------------------------------------------------------------------- reading


def _iter_directory(root: Path) -> Iterator[tuple[str, bytes]]:
    for path in sorted(root.rglob("*.json")):
        if path.is_file():
            yield str(path), path.read_bytes()


def _iter_zip(path: Path) -> Iterator[tuple[str, bytes]]:
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            if info.filename.endswith(".json") and not info.is_dir():
                yield info.filename, zf.read(info)


def _iter_tar(path: Path) -> Iterator[tuple[str, bytes]]:
    with tarfile.open(path, "r:*") as tf:
        for member in tf:
            if member.isfile() and member.name.endswith(".json"):
                fh = tf.extractfile(member)
                if fh is not None:
                    yield member.name, fh.read()


def _interesting(name: str, data: bytes) -> dict[str, Any] | None:
    # Cheap pre-filter: the npm index, package.json and examples are skipped unparsed.
    head = data[:400]
    if not any(kind.encode() in head for kind in _KEPT) and b"resourceType" in head:
        return None
    try:
        res = json.loads(data)
    except ValueError as exc:
        raise IgPackageError(f"{name} in the IG package is not valid JSON ({exc}).") from exc
    if isinstance(res, dict) and res.get("resourceType") in _KEPT:
        return res
    return None


def read_package(path: Path) -> IgPackage:
    if not path.exists():
        raise IgPackageError(
            f"IG definitions package not found at {path}. Pass the folder, zip or npm "
            "tarball of the NRCeS IG definitions (--ig or HEALTHSTACK_FHIR_IG_PATH)."
        )
    if path.is_dir():
        files = _iter_directory(path)
    elif zipfile.is_zipfile(path):
        files = _iter_zip(path)
    elif tarfile.is_tarfile(path):
        files = _iter_tar(path)
    else:
        raise IgPackageError(
            f"{path} is neither a folder, a zip nor a tar archive of IG definitions."
        )
    resources = [r for name, data in files if (r := _interesting(name, data)) is not None]
    return IgPackage.from_resources(resources, source=str(path))


# path -> (modification stamp, package): a changed package replaces the old one.
_CACHE: dict[str, tuple[int, IgPackage]] = {}
_LOCK = threading.Lock()


def load_ig(path: str | Path) -> IgPackage:
    """The parsed package at ``path``; parsed once and reused while the path is unchanged."""
    resolved = Path(path).expanduser().resolve()
    try:
        stamp = resolved.stat().st_mtime_ns
    except OSError:
        stamp = -1
    key = str(resolved)
    with _LOCK:
        hit = _CACHE.get(key)
        if hit is not None and hit[0] == stamp:
            return hit[1]
    pkg = read_package(resolved)
    with _LOCK:
        _CACHE[key] = (stamp, pkg)
    return pkg


def clear_cache() -> None:
    with _LOCK:
        _CACHE.clear()
