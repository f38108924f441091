"""The validator against the example bundles in ../shared/abdm/fhir/examples.

None of the NHA examples is fully IG-6-valid. Each test lists exactly the errors and
warnings the validator finds, with the reason the example breaks that rule, so a change
in what the validator reports shows up here. The legacy ProjectEKA bundles (pre-IG-6)
must fail, on the specific elements and rules named below.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from healthstack.protocol.fhir.validation import (
    IgPackage,
    Severity,
    ValidationReport,
    load_ig,
    validate_bundle,
)
from tests.conftest import shared_path

Problem = tuple[str, str, str]


@pytest.fixture(scope="module")
def ig() -> IgPackage:
    return load_ig(shared_path("fhir", "ig-6.0.0-definitions"))


def example(*parts: str) -> dict[str, Any]:
    path: Path = shared_path("fhir", "examples", *parts)
    return json.loads(path.read_text())


def problems(report: ValidationReport) -> list[Problem]:
    return [
        (i.severity.value, i.rule, i.path)
        for i in report.issues
        if i.severity is not Severity.INFORMATION
    ]


def message(report: ValidationReport, rule: str, path: str) -> str:
    return next(i.message for i in report.issues if i.rule == rule and i.path == path)


# --------------------------------------------------------------------------- NHA IG-6


def test_nha_wrapper_op_consultation(ig: IgPackage) -> None:
    report = validate_bundle(example("nha-abdm-wrapper", "OP_Consultation_fhir_bundle.json"), ig=ig)
    assert report.profiles["Bundle.entry[0].resource"].endswith("/OPConsultRecord")
    assert problems(report) == [
        # The sample facility's identifier under the HFR system is "4567823", not an HFR
        # id (IN + 10 digits): a placeholder.
        ("error", "core:hfr-id", "Bundle.entry[2].resource.identifier[0].value"),
        # Both prescriptions point at Medication resources (medicationReference), but
        # IG 6.0.0's MedicationRequest profile narrows medication[x] to a SNOMED-coded
        # CodeableConcept.
        ("error", "type", "Bundle.entry[6].resource.medicationReference"),
        ("error", "type", "Bundle.entry[7].resource.medicationReference"),
    ]
    assert "MedicationRequest.medication[x] does not allow type Reference in profile " in (
        message(report, "type", "Bundle.entry[6].resource.medicationReference")
    )
    # Everything else -- DocumentBundle, the OPConsultRecord section slices by code, the
    # references into the sections, the required bindings, every invariant -- passes.
    assert not report.invariants_skipped


def test_nha_wrapper_discharge_summary(ig: IgPackage) -> None:
    report = validate_bundle(example("nha-abdm-wrapper", "TestBundle-DischargeSummary.json"), ig=ig)
    # No Composition.meta.profile (MANIFEST.md): the record profile comes from type 373942005.
    assert report.profiles["Bundle.entry[0].resource"].endswith("/DischargeSummaryRecord")
    assert problems(report) == [
        # The Medications section (1003606003) references "MedicationRequestFamilyHistory/…"
        # but those entries' fullUrls are "FamilyHistory/…": the references dangle.
        (
            "error",
            "core:reference-resolves",
            "Bundle.entry[0].resource.section[6].entry[0].reference",
        ),
        (
            "error",
            "core:reference-resolves",
            "Bundle.entry[0].resource.section[6].entry[1].reference",
        ),
        ("warning", "profile", "Bundle.entry[0].resource.meta.profile"),
        # The ABHA-system identifier is a bare handle: neither a number nor name@abdm.
        ("warning", "core:abha-number", "Bundle.entry[1].resource.identifier[0].value"),
        # "Predator" under the HPR system is not a 14-digit HPR id.
        ("error", "core:hpr-id", "Bundle.entry[2].resource.identifier[0].value"),
        # fullUrl "Organisation/…" (and "ChiefComplaints/…", "FamilyHistory/…" below) look
        # like Type/id but name no FHIR resource type.
        ("warning", "core:fullurl-form", "Bundle.entry[4].fullUrl"),
        # "Predator_HIP" under the HFR system is not an HFR id.
        ("error", "core:hfr-id", "Bundle.entry[4].resource.identifier[0].value"),
        ("warning", "core:fullurl-form", "Bundle.entry[5].fullUrl"),
        ("warning", "core:fullurl-form", "Bundle.entry[6].fullUrl"),
        # clinicalStatus "Active": the required value set allergyintolerance-clinical has
        # "active" (codes are case-sensitive).
        ("error", "binding", "Bundle.entry[7].resource.clinicalStatus"),
        ("warning", "core:fullurl-form", "Bundle.entry[8].fullUrl"),
        ("warning", "core:fullurl-form", "Bundle.entry[9].fullUrl"),
        ("warning", "core:fullurl-form", "Bundle.entry[11].fullUrl"),
        ("warning", "core:fullurl-form", "Bundle.entry[12].fullUrl"),
        # The DiagnosticReport's encounter is a bare id, not Encounter/<id>.
        ("error", "core:reference-resolves", "Bundle.entry[13].resource.encounter.reference"),
    ]
    assert "allergyintolerance-clinical" in message(
        report, "binding", "Bundle.entry[7].resource.clinicalStatus"
    )
    # The ten IG-6 section codes all match their DischargeSummaryRecord slices.
    assert not report.by_rule("slice")


def test_nha_mock_hip_lab_report(ig: IgPackage) -> None:
    report = validate_bundle(
        example("nha-abdm-mock-hip", "example_bundle_1-DiagnosticReportLab.json"), ig=ig
    )
    # Composition.type 721981007 selects DiagnosticReportRecord (its meta.profile is the
    # placeholder http://www.example.com, as on every resource but the DiagnosticReport).
    assert report.profiles["Bundle.entry[0].resource"].endswith("/DiagnosticReportRecord")
    placeholder_profiles = [
        ("warning", "profile", f"Bundle.entry[{i}].resource.meta.profile[0]")
        for i in (0, 1, 2, 3, 5, 6, 7, 8, 9, 10)
    ]
    found = problems(report)
    assert ("warning", "profile", "Bundle.meta.profile[0]") in found
    assert [p for p in found if p[1] == "profile" and p[2] != "Bundle.meta.profile[0]"] == (
        placeholder_profiles
    )
    assert [p for p in found if p[1] != "profile"] == [
        # Codes carried under the placeholder system http://www.example.com where the IG
        # fixes SNOMED CT or LOINC:
        ("error", "fixed", "Bundle.entry[0].resource.type.coding[0].system"),
        ("error", "fixed", "Bundle.entry[0].resource.section[0].code.coding[0].system"),
        # identifier types outside ndhm-identifier-type-code (extensible: a warning)
        ("warning", "binding", "Bundle.entry[1].resource.identifier[0].type"),
        ("warning", "binding", "Bundle.entry[2].resource.identifier[0].type"),
        ("warning", "binding", "Bundle.entry[3].resource.identifier[0].type"),
        ("error", "fixed", "Bundle.entry[4].resource.category[0].coding[0].system"),
        ("error", "fixed", "Bundle.entry[4].resource.code.coding[0].system"),
        ("error", "fixed", "Bundle.entry[4].resource.conclusionCode[0].coding[0].system"),
        # Observation.code.coding is closed-sliced by system (LOINC, SNOMEDCT)
        ("error", "slice", "Bundle.entry[5].resource.code.coding[0]"),
        ("error", "slice", "Bundle.entry[6].resource.code.coding[0]"),
        ("error", "fixed", "Bundle.entry[7].resource.type.coding[0].system"),
        ("error", "fixed", "Bundle.entry[8].resource.code.coding[0].system"),
        ("warning", "binding", "Bundle.entry[9].resource.identifier[0].type"),
    ]
    assert message(report, "fixed", "Bundle.entry[4].resource.code.coding[0].system") == (
        'DiagnosticReport.code.coding.system must be "http://loinc.org" (fixed by profile '
        'DiagnosticReportLab); found "http://www.example.com".'
    )
    # The placeholders break the IG only: the core rules pass.
    assert validate_bundle(
        example("nha-abdm-mock-hip", "example_bundle_1-DiagnosticReportLab.json"), ig=None
    ).valid


# --------------------------------------------------------------------------- legacy

LEGACY = "projecteka-legacy"


def legacy(ig: IgPackage, name: str) -> ValidationReport:
    report = validate_bundle(example(LEGACY, name), ig=ig)
    assert not report.valid
    return report


def test_every_legacy_bundle_fails_on_the_document_bundle_and_people(ig: IgPackage) -> None:
    names = [p.name for p in shared_path("fhir", "examples", LEGACY).glob("*.json")]
    assert len(names) == 5
    for name in names:
        report = legacy(ig, name)
        # Pre-IG-6 bundles carry no meta.versionId (DocumentBundle: 1..1) ...
        assert message(report, "cardinality", "Bundle.meta.versionId") == (
            "Bundle.meta.versionId is missing; profile DocumentBundle requires 1..1."
        )
        # ... and practitioners' identifiers carry no type (IG Practitioner: 1..1).
        practitioner = next(
            i.path
            for i in report.issues
            if i.rule == "cardinality" and "Practitioner.identifier.type" in i.message
        )
        assert practitioner.endswith(".resource.identifier[0].type")


def test_legacy_snomed_system_breaks_the_fixed_type_system(ig: IgPackage) -> None:
    for name, profile in [
        ("MAXRVH1012OPConsultationDoc20190807.json", "OPConsultRecord"),
        ("MAXRVH9999PrescriptionDoc20160805.json", "PrescriptionRecord"),
        ("MAXRVH1012ImmunizationDoc20190806.json", "ImmunizationRecord"),
        ("MAXRVH9999DiagnosticReportDoc20160801.json", "DiagnosticReportRecord"),
    ]:
        report = legacy(ig, name)
        assert message(report, "fixed", "Bundle.entry[0].resource.type.coding[0].system") == (
            f'Composition.type.coding.system must be "http://snomed.info/sct" (fixed by '
            f'profile {profile}); found "https://projecteka.in/sct".'
        )


def test_legacy_section_entries_lack_the_entry_type_the_ig_slices_on(ig: IgPackage) -> None:
    report = legacy(ig, "MAXRVH9999PrescriptionDoc20160805.json")
    assert problems(report) == [
        ("error", "cardinality", "Bundle.meta.versionId"),
        ("warning", "profile", "Bundle.entry[0].resource.meta.profile"),
        ("error", "fixed", "Bundle.entry[0].resource.type.coding[0].system"),
        ("error", "fixed", "Bundle.entry[0].resource.section[0].code.coding[0].system"),
        ("error", "slice", "Bundle.entry[0].resource.section[0].entry[0]"),
        ("error", "cardinality", "Bundle.entry[1].resource.identifier[0].type"),
        ("error", "cardinality", "Bundle.entry[2].resource.identifier"),
    ]
    assert message(report, "slice", "Bundle.entry[0].resource.section[0].entry[0]") == (
        "Composition.section.entry is closed to the slices MedicationRequest, Binary in "
        "profile PrescriptionRecord; this one matches none of them (by value of type)."
    )
    assert message(report, "cardinality", "Bundle.entry[2].resource.identifier") == (
        "Patient.identifier is missing; profile Patient requires 1..*."
    )


def test_legacy_diagnostic_report_conforms_to_neither_lab_nor_imaging(ig: IgPackage) -> None:
    report = legacy(ig, "MAXRVH9999DiagnosticReportDoc20160801.json")
    text = message(report, "reference", "Bundle.entry[0].resource.section[0].entry[0].reference")
    assert text.startswith(
        "Composition.section.entry must reference a DiagnosticReport conforming to "
        "DiagnosticReportLab or DiagnosticReportImaging (profile DiagnosticReportRecord); "
        "Bundle.entry[4] does not"
    )


def test_legacy_organizations_point_at_an_external_endpoint(ig: IgPackage) -> None:
    report = legacy(ig, "MAXRVH1012OPConsultationDoc20190807.json")
    assert message(
        report, "core:reference-resolves", "Bundle.entry[2].resource.endpoint[0].reference"
    ).startswith("Organization.endpoint.reference is an absolute URL")
    assert "MedicationRequest.medication[x] does not allow type Reference" in message(
        report, "type", "Bundle.entry[8].resource.medicationReference"
    )
    assert message(
        report, "cardinality", "Bundle.entry[9].resource.recommendation[0].forecastStatus"
    ) == (
        "ImmunizationRecommendation.recommendation.forecastStatus is missing; profile "
        "ImmunizationRecommendation requires 1..1."
    )


def test_legacy_wellness_record_is_matched_by_its_title_slices(ig: IgPackage) -> None:
    report = legacy(ig, "MAXLIVNO99WellnessRecordDoc20190801.json")
    # Chosen by the type display "Wellness Record" (the IG fixes type.text instead).
    assert report.profiles["Bundle.entry[0].resource"].endswith("/WellnessRecord")
    assert not report.by_rule("slice")  # "Vital Signs", "Body Measurement", ... all match
    assert message(report, "cardinality", "Bundle.entry[2].resource.identifier") == (
        "Patient.identifier is missing; profile Patient requires 1..*."
    )


def test_legacy_bundles_also_fail_the_core_rules_alone(ig: IgPackage) -> None:
    for path in shared_path("fhir", "examples", LEGACY).glob("*.json"):
        report = validate_bundle(json.loads(path.read_text()), ig=None)
        assert not report.valid, path.name
        assert report.by_rule("core:patient-identifier"), path.name
