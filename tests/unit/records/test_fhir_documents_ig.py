"""Every record type the builders make validates against the NRCeS IG 6.0.0 package.

Uses the IG validator (``healthstack.protocol.fhir.validation``) with the IG's definitions from
../shared/abdm (the ``ig`` fixture skips when they are absent). A bundle must come out
with no errors and no warnings, and the check must be live: the same bundle with one IG
rule broken fails.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from healthstack.facility.records.fhir import build_document, seeded_ids
from healthstack.protocol.fhir.validation import IgPackage, Severity, validate_bundle
from tests.unit.records import document_samples as s

NAMES = [name for name, _, _ in s.SAMPLES]


def build(name: str) -> dict[str, Any]:
    _, content, ctx = next(x for x in s.SAMPLES if x[0] == name)
    return build_document(ctx, content, now=s.NOW, ids=seeded_ids(11))


@pytest.mark.parametrize("name", NAMES)
def test_validates_against_the_ig_without_errors_or_warnings(name: str, ig: IgPackage) -> None:
    report = validate_bundle(build(name), ig=ig)
    problems = [str(i) for i in report.issues if i.severity is not Severity.INFORMATION]
    assert problems == []
    assert report.valid
    # Every entry was checked against the profile it claims.
    bundle = build(name)
    for n, entry in enumerate(bundle["entry"]):
        assert (
            report.profiles[f"Bundle.entry[{n}].resource"]
            == entry["resource"]["meta"]["profile"][0]
        )


@pytest.mark.parametrize("name", NAMES)
def test_passes_the_core_rules_alone(name: str) -> None:
    report = validate_bundle(build(name), ig=None)
    assert [str(i) for i in report.issues] == []


def test_the_ig_check_is_live(ig: IgPackage) -> None:
    bundle = build("prescription")
    broken = copy.deepcopy(bundle)
    # PrescriptionRecord slices its section's entries by Reference.type (closed).
    del broken["entry"][0]["resource"]["section"][0]["entry"][0]["type"]
    assert not validate_bundle(broken, ig=ig).valid
    broken = copy.deepcopy(bundle)
    broken["entry"][0]["resource"]["type"]["coding"][0]["code"] = "371530004"
    assert not validate_bundle(broken, ig=ig).valid
    imaging = build("imaging_report")
    report = next(
        e["resource"]
        for e in imaging["entry"]
        if e["resource"]["resourceType"] == "DiagnosticReport"
    )
    del report["media"]  # DiagnosticReportImaging.media is 1..*
    assert not validate_bundle(imaging, ig=ig).valid
