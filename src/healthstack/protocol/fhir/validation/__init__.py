"""Validation of FHIR R4 document bundles against the NRCeS ABDM IG (6.0.0).

Used before a record is stored or sent (HIP) and when one is received (HIU)::

    report = validate_bundle(bundle, ig=default_ig())
    if not report.valid: ...  # report.issues: severity, path, rule, message

The validator is driven by the IG's StructureDefinition snapshots (``package``,
``snapshot``, ``walker``, ``slicing``), its ValueSets and CodeSystems plus the FHIR R4
required value sets (``terminology``, ``bindings``, ``core_valuesets``), bundle-internal
references (``references``) and
the profiles' invariants (``invariants``, via fhirpathpy). ``core`` holds the ABDM rules
that apply with or without the package. ``ig=None`` runs the core rules alone.
"""

from __future__ import annotations

from pathlib import Path

from healthstack.protocol.fhir.validation.package import IgPackage, IgPackageError, load_ig
from healthstack.protocol.fhir.validation.report import Issue, Severity, ValidationReport
from healthstack.protocol.fhir.validation.validator import record_profile, validate_bundle

__all__ = [
    "IgPackage",
    "IgPackageError",
    "Issue",
    "Severity",
    "ValidationReport",
    "default_ig",
    "load_ig",
    "record_profile",
    "validate_bundle",
]


def default_ig(path: str | Path | None = None) -> IgPackage | None:
    """The IG package from ``path`` or, when None, from the ``fhir_ig_path`` setting
    (``HEALTHSTACK_FHIR_IG_PATH``); None when neither names one (core rules only)."""
    if path is None:
        from healthstack.settings import load_settings

        path = load_settings().fhir_ig_path
    return load_ig(path) if path is not None else None
