"""IG-driven rules: each test breaks one rule in a valid OPConsultRecord bundle and checks
that exactly that rule fires, at that path, with a message naming element and profile."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from healthstack.protocol.fhir.validation import (
    IgPackage,
    Severity,
    ValidationReport,
    validate_bundle,
)
from tests.unit.records import bundles as b
from tests.unit.records.profiles import add_slice, element, structure_definition

Derive = Callable[..., tuple[IgPackage, str]]


def problems(report: ValidationReport) -> list[tuple[str, str, str]]:
    """(severity, rule, path) of every error and warning."""
    return [
        (i.severity.value, i.rule, i.path)
        for i in report.issues
        if i.severity is not Severity.INFORMATION
    ]


def only(report: ValidationReport, rule: str) -> Any:
    found = [i for i in report.issues if i.rule == rule and i.severity is not Severity.INFORMATION]
    assert len(found) == 1, report.issues
    return found[0]


def test_the_hand_made_bundle_is_valid(ig: IgPackage) -> None:
    report = validate_bundle(b.op_consult(), ig=ig)
    assert problems(report) == []
    assert report.valid
    assert report.ig_version == "6.0.0"
    assert report.profiles["Bundle"].endswith("/DocumentBundle")
    assert report.profiles["Bundle.entry[0].resource"].endswith("/OPConsultRecord")
    assert report.profiles["Bundle.entry[6].resource"].endswith("/MedicationRequest")
    assert report.invariants_evaluated > 50
    assert not report.invariants_skipped


# ------------------------------------------------------------------ cardinality


def test_dropping_a_required_element_is_a_cardinality_error(ig: IgPackage) -> None:
    bundle = b.op_consult()
    del b.composition(bundle)["title"]
    report = validate_bundle(bundle, ig=ig)
    assert problems(report) == [("error", "cardinality", "Bundle.entry[0].resource.title")]
    issue = only(report, "cardinality")
    assert "Composition.title is missing" in issue.message
    assert "OPConsultRecord requires 1..1" in issue.message
    # The core rule for the same element is folded into the IG's issue.
    assert not report.by_rule("core:composition-title")


def test_a_required_child_of_a_repeating_element(ig: IgPackage) -> None:
    bundle = b.op_consult()
    del b.resource(bundle, "Patient")["identifier"][0]["type"]
    report = validate_bundle(bundle, ig=ig)
    assert problems(report) == [
        ("error", "cardinality", "Bundle.entry[1].resource.identifier[0].type")
    ]
    message = only(report, "cardinality").message
    assert "Patient.identifier.type is missing; profile Patient requires 1..1" in message


def test_too_many_of_an_element_the_profile_limits_to_one(ig: IgPackage) -> None:
    bundle = b.op_consult()
    codings = b.composition(bundle)["type"]["coding"]
    codings.append(dict(codings[0]))  # the base allows 0..*, OPConsultRecord 1..1
    report = validate_bundle(bundle, ig=ig)
    assert problems(report) == [("error", "cardinality", "Bundle.entry[0].resource.type.coding")]
    assert "occurs 2 times; profile OPConsultRecord allows at most 1 (1..1)" in (
        only(report, "cardinality").message
    )


def test_an_array_for_a_single_valued_element(ig: IgPackage) -> None:
    bundle = b.op_consult()
    comp = b.composition(bundle)
    comp["encounter"] = [comp["encounter"]]
    report = validate_bundle(bundle, ig=ig)
    assert ("error", "type", "Bundle.entry[0].resource.encounter") in problems(report)
    assert "Composition.encounter is a single value, not an array" in only(report, "type").message


# ------------------------------------------------------------------ fixed, pattern, types


def test_a_wrong_fixed_value(ig: IgPackage) -> None:
    bundle = b.op_consult()
    b.composition(bundle)["type"]["coding"][0]["code"] = "440545006"
    report = validate_bundle(bundle, ig=ig)
    assert problems(report) == [("error", "fixed", "Bundle.entry[0].resource.type.coding[0].code")]
    message = only(report, "fixed").message
    assert 'Composition.type.coding.code must be "371530004"' in message
    assert "fixed by profile OPConsultRecord" in message
    assert 'found "440545006"' in message  # codes are quoted; free text never is


def test_a_wrong_fixed_display_inside_a_slice_does_not_echo_the_text(ig: IgPackage) -> None:
    bundle = b.op_consult()
    b.composition(bundle)["section"][0]["code"]["coding"][0]["display"] = "Complaints"
    report = validate_bundle(bundle, ig=ig)
    assert problems(report) == [
        ("error", "fixed", "Bundle.entry[0].resource.section[0].code.coding[0].display")
    ]
    message = only(report, "fixed").message
    assert message.startswith("Composition.section:ChiefComplaints.code.coding.display")
    assert "Complaints" not in message.replace("ChiefComplaints", "")


def test_a_pattern_value(derive: Derive) -> None:
    def edit(elements: list[dict[str, Any]]) -> None:
        element(elements, "Encounter.class")["patternCoding"] = {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode"
        }

    package, url = derive("Encounter", "TestPatternEncounter", edit)
    bundle = b.op_consult()
    encounter = b.resource(bundle, "Encounter")
    encounter["meta"]["profile"] = [url]
    assert problems(validate_bundle(bundle, ig=package)) == []
    encounter["class"]["system"] = "http://example.org/classes"
    report = validate_bundle(bundle, ig=package)
    assert problems(report) == [("error", "pattern", "Bundle.entry[4].resource.class")]
    assert "TestPatternEncounter" in only(report, "pattern").message


def test_a_wrong_choice_type(ig: IgPackage) -> None:
    bundle = b.op_consult()
    request = b.resource(bundle, "MedicationRequest")
    request["medicationReference"] = {"reference": b.CONDITION}
    del request["medicationCodeableConcept"]
    report = validate_bundle(bundle, ig=ig)
    # Reported once, as a type error; not again as a missing medication[x].
    assert problems(report) == [("error", "type", "Bundle.entry[6].resource.medicationReference")]
    message = only(report, "type").message
    assert "MedicationRequest.medication[x] does not allow type Reference" in message
    assert "allowed: CodeableConcept" in message


def test_two_types_of_one_choice_element(ig: IgPackage) -> None:
    bundle = b.op_consult()
    b.resource(bundle, "Condition")["onsetDateTime"] = "2024-02-27"
    b.resource(bundle, "Condition")["onsetString"] = "three days ago"
    report = validate_bundle(bundle, ig=ig)
    assert problems(report) == [("error", "cardinality", "Bundle.entry[5].resource.onset[x]")]


def test_a_primitive_of_the_wrong_form(ig: IgPackage) -> None:
    bundle = b.op_consult()
    b.composition(bundle)["date"] = "01-03-2024"
    report = validate_bundle(bundle, ig=ig)
    assert problems(report) == [("error", "type", "Bundle.entry[0].resource.date")]
    assert "Composition.date must be a date" in only(report, "type").message
    assert not report.by_rule("core:composition-date")


def test_an_element_the_profile_does_not_define(ig: IgPackage) -> None:
    bundle = b.op_consult()
    b.composition(bundle)["titel"] = "Consultation"
    report = validate_bundle(bundle, ig=ig)
    assert problems(report) == [("error", "structure", "Bundle.entry[0].resource.titel")]


def test_an_empty_element_breaks_ele_1(ig: IgPackage) -> None:
    bundle = b.op_consult()
    b.resource(bundle, "Patient")["name"][0] = {}
    report = validate_bundle(bundle, ig=ig)
    assert ("error", "invariant:ele-1", "Bundle.entry[1].resource.name[0]") in problems(report)


# ------------------------------------------------------------------ terminology


def test_a_code_outside_a_required_binding(ig: IgPackage) -> None:
    bundle = b.op_consult()
    b.composition(bundle)["status"] = "draft"
    report = validate_bundle(bundle, ig=ig)
    assert problems(report) == [("error", "binding", "Bundle.entry[0].resource.status")]
    message = only(report, "binding").message
    assert "Composition.status ('draft') must come from value set composition-status" in message
    assert "required binding in profile OPConsultRecord" in message


def test_a_codeable_concept_outside_a_required_binding(ig: IgPackage) -> None:
    bundle = b.op_consult()
    b.resource(bundle, "Condition")["clinicalStatus"]["coding"][0]["code"] = "Active"
    report = validate_bundle(bundle, ig=ig)
    assert problems(report) == [("error", "binding", "Bundle.entry[5].resource.clinicalStatus")]


def test_an_extensible_binding_warns_on_a_foreign_system(ig: IgPackage) -> None:
    bundle = b.op_consult()
    coding = b.resource(bundle, "Patient")["identifier"][0]["type"]["coding"][0]
    coding["system"] = "http://www.example.com"
    report = validate_bundle(bundle, ig=ig)
    assert report.valid
    assert problems(report) == [
        ("warning", "binding", "Bundle.entry[1].resource.identifier[0].type")
    ]
    assert "IdentifierTypeCode (extensible binding in profile Patient)" in (
        only(report, "binding").message
    )


def test_an_external_code_system_is_checked_by_system_and_says_so(ig: IgPackage) -> None:
    bundle = b.op_consult()
    b.resource(bundle, "Organization")["identifier"][0]["type"]["coding"][0] = {
        "system": "http://terminology.hl7.org/CodeSystem/v2-0203",
        "code": "PRN",
        "display": "Provider number",
    }
    report = validate_bundle(bundle, ig=ig)
    assert problems(report) == []
    notes = [i for i in report.issues if i.rule == "binding"]
    assert notes[0].severity is Severity.INFORMATION
    assert "checked only for their system" in notes[0].message
    assert "v2-0203" in notes[0].message


def test_a_code_in_an_ig_value_set_is_checked_against_its_concepts(ig: IgPackage) -> None:
    bundle = b.op_consult()
    coding = b.resource(bundle, "Patient")["identifier"][0]["type"]["coding"][0]
    coding["code"] = "NOT-A-TYPE"  # the IG ships ndhm-identifier-type-code in full
    report = validate_bundle(bundle, ig=ig)
    assert problems(report) == [
        ("warning", "binding", "Bundle.entry[1].resource.identifier[0].type")
    ]
    assert "the code is not in it" in only(report, "binding").message


# ------------------------------------------------------------------ references


def test_a_dangling_reference_is_reported_once(ig: IgPackage) -> None:
    bundle = b.op_consult()
    b.composition(bundle)["section"][0]["entry"][0]["reference"] = (
        "urn:uuid:00000000-0000-4000-8000-000000000000"
    )
    report = validate_bundle(bundle, ig=ig)
    assert problems(report) == [
        (
            "error",
            "core:reference-resolves",
            "Bundle.entry[0].resource.section[0].entry[0].reference",
        )
    ]
    assert "Composition.section.entry.reference resolves to no entry" in report.errors[0].message


def test_a_reference_to_the_wrong_resource_type(ig: IgPackage) -> None:
    bundle = b.op_consult()
    b.composition(bundle)["section"][0]["entry"][0]["reference"] = b.MEDICATION_REQUEST
    report = validate_bundle(bundle, ig=ig)
    assert problems(report) == [
        ("error", "reference", "Bundle.entry[0].resource.section[0].entry[0].reference")
    ]
    message = only(report, "reference").message
    assert message.startswith("Composition.section:ChiefComplaints.entry must reference Condition")
    assert "Bundle.entry[6] is a MedicationRequest" in message


def test_a_reference_to_a_resource_that_breaks_the_target_profile(
    ig_resources: list[dict[str, Any]],
) -> None:
    # The record's ChiefComplaints entries must conform to a stricter Condition profile
    # than the one the Condition entry is checked against: the reference check validates
    # the target against the referenced profile and names the first failure.
    strict = structure_definition(ig_resources, "Condition")
    strict.update(url=b.NRCES + "TestStrictCondition", name="TestStrictCondition")
    element(strict["snapshot"]["element"], "Condition.onset[x]")["min"] = 1
    record = structure_definition(ig_resources, "OPConsultRecord")
    record.update(url=b.NRCES + "TestOPConsult", name="TestOPConsult")
    target = element(record["snapshot"]["element"], "Composition.section:ChiefComplaints.entry")
    target["type"][0]["targetProfile"] = [strict["url"]]
    package = IgPackage.from_resources([*ig_resources, strict, record], source="test")
    bundle = b.op_consult()
    b.composition(bundle)["meta"]["profile"] = [record["url"]]
    report = validate_bundle(bundle, ig=package)
    assert problems(report) == [
        ("error", "reference", "Bundle.entry[0].resource.section[0].entry[0].reference")
    ]
    message = only(report, "reference").message
    assert "must reference a Condition conforming to TestStrictCondition" in message
    assert "Bundle.entry[5] does not (cardinality at Bundle.entry[5].resource.onset[x])" in message
    b.resource(bundle, "Condition")["onsetDateTime"] = "2024-02-27"
    assert problems(validate_bundle(bundle, ig=package)) == []


# ------------------------------------------------------------------ slicing


def test_a_missing_required_section_slice(derive: Derive) -> None:
    def edit(elements: list[dict[str, Any]]) -> None:
        element(elements, "Composition.section:Allergies")["min"] = 1

    package, url = derive("OPConsultRecord", "TestOPConsultWithAllergies", edit)
    bundle = b.op_consult()
    b.composition(bundle)["meta"]["profile"] = [url]
    report = validate_bundle(bundle, ig=package)
    assert problems(report) == [("error", "slice", "Bundle.entry[0].resource.section")]
    message = only(report, "slice").message
    assert message.startswith("Composition.section:Allergies is missing")
    assert "TestOPConsultWithAllergies requires 1..1" in message
    assert "value of code.coding.code" in message


def test_a_section_slice_used_twice(ig: IgPackage) -> None:
    bundle = b.op_consult()
    sections = b.composition(bundle)["section"]
    sections.append(dict(sections[0]))
    report = validate_bundle(bundle, ig=ig)
    assert problems(report) == [("error", "slice", "Bundle.entry[0].resource.section")]
    assert "Composition.section:ChiefComplaints occurs 2 times" in only(report, "slice").message


def test_unknown_sections_must_come_last_when_slicing_is_open_at_end(ig: IgPackage) -> None:
    bundle = b.op_consult()
    sections = b.composition(bundle)["section"]
    other = {
        "title": "Notes",
        "code": {"coding": [{"system": b.SNOMED, "code": "371531000", "display": "Report"}]},
        "entry": [{"reference": b.CONDITION}],
    }
    sections.append(other)
    assert problems(validate_bundle(bundle, ig=ig)) == []
    sections.insert(0, sections.pop())
    report = validate_bundle(bundle, ig=ig)
    assert problems(report) == [
        ("error", "slice", "Bundle.entry[0].resource.section[1]"),
        ("error", "slice", "Bundle.entry[0].resource.section[2]"),
    ]
    assert "openAtEnd" in report.errors[0].message


def _prescription(bundle: dict[str, Any]) -> dict[str, Any]:
    comp = b.composition(bundle)
    comp["meta"]["profile"] = [b.NRCES + "PrescriptionRecord"]
    comp["type"]["coding"][0].update(code="440545006", display="Prescription record")
    comp["type"]["text"] = "Prescription record"
    comp["section"] = [
        {
            "title": "Prescription",
            "code": {
                "coding": [
                    {"system": b.SNOMED, "code": "440545006", "display": "Prescription record"}
                ]
            },
            "entry": [{"reference": b.MEDICATION_REQUEST, "type": "MedicationRequest"}],
        }
    ]
    return bundle


def test_closed_slicing_rejects_an_entry_that_matches_no_slice(ig: IgPackage) -> None:
    bundle = _prescription(b.op_consult())
    report = validate_bundle(bundle, ig=ig)
    assert problems(report) == []
    assert report.profiles["Bundle.entry[0].resource"].endswith("/PrescriptionRecord")
    del b.composition(bundle)["section"][0]["entry"][0]["type"]
    report = validate_bundle(bundle, ig=ig)
    assert problems(report) == [("error", "slice", "Bundle.entry[0].resource.section[0].entry[0]")]
    message = only(report, "slice").message
    assert "closed to the slices MedicationRequest, Binary in profile PrescriptionRecord" in message
    assert "value of type" in message


def test_bundle_entries_sliced_by_resource_type(derive: Derive) -> None:
    def edit(elements: list[dict[str, Any]]) -> None:
        element(elements, "Bundle.entry")["slicing"] = {
            "discriminator": [{"type": "type", "path": "resource"}],
            "rules": "open",
        }

        def patient_only(e: dict[str, Any]) -> None:
            if e["id"].endswith(":patient.resource"):
                e.update(min=1, type=[{"code": "Patient"}])

        add_slice(elements, "Bundle.entry", "patient", minimum=1, maximum="1", change=patient_only)

    package, url = derive("DocumentBundle", "TestTypedBundle", edit)
    bundle = b.op_consult()
    bundle["meta"]["profile"] = [url]
    assert problems(validate_bundle(bundle, ig=package)) == []
    bundle["entry"].append(dict(bundle["entry"][1]))
    bundle["entry"][-1]["fullUrl"] = "urn:uuid:1b0c8e0a-7d0e-4c3f-9a61-0f9d6a1e0099"
    report = validate_bundle(bundle, ig=package)
    assert ("error", "slice", "Bundle.entry") in problems(report)
    assert "Bundle.entry:patient occurs 2 times" in only(report, "slice").message
    del bundle["entry"][-1]
    del bundle["entry"][1]
    report = validate_bundle(bundle, ig=package)
    assert "Bundle.entry:patient is missing" in only(report, "slice").message


def test_bundle_entries_sliced_by_profile(derive: Derive) -> None:
    def edit(elements: list[dict[str, Any]]) -> None:
        element(elements, "Bundle.entry")["slicing"] = {
            "discriminator": [{"type": "profile", "path": "resource"}],
            "rules": "open",
        }

        def record(e: dict[str, Any]) -> None:
            if e["id"].endswith(":record.resource"):
                e.update(
                    min=1,
                    type=[{"code": "Composition", "profile": [b.NRCES + "OPConsultRecord"]}],
                )

        add_slice(elements, "Bundle.entry", "record", minimum=1, maximum="1", change=record)

    package, url = derive("DocumentBundle", "TestProfiledBundle", edit)
    bundle = b.op_consult()
    bundle["meta"]["profile"] = [url]
    assert problems(validate_bundle(bundle, ig=package)) == []
    # A Composition that claims no profile and breaks OPConsultRecord fills no slice.
    comp = b.composition(bundle)
    del comp["meta"]
    comp["type"]["coding"][0]["display"] = "Consultation"
    report = validate_bundle(bundle, ig=package)
    slice_issue = only(report, "slice")
    assert slice_issue.path == "Bundle.entry"
    assert "Bundle.entry:record is missing" in slice_issue.message
    assert "profile of resource" in slice_issue.message


def test_identifier_slices_by_system(derive: Derive) -> None:
    # IG 6.0.0 slices no identifiers; a derived Patient profile that requires an ABHA
    # identifier (sliced by value of system) shows the same machinery at work.
    def edit(elements: list[dict[str, Any]]) -> None:
        element(elements, "Patient.identifier")["slicing"] = {
            "discriminator": [{"type": "value", "path": "system"}],
            "rules": "open",
        }

        def abha(e: dict[str, Any]) -> None:
            if e["id"].endswith(":abha.system"):
                e.update(min=1, fixedUri="https://healthid.abdm.gov.in")

        add_slice(elements, "Patient.identifier", "abha", minimum=1, maximum="1", change=abha)

    package, url = derive("Patient", "TestAbhaPatient", edit)
    bundle = b.op_consult()
    patient = b.resource(bundle, "Patient")
    patient["meta"]["profile"] = [url]
    assert problems(validate_bundle(bundle, ig=package)) == []
    patient["identifier"][0]["system"] = "https://hip.example.org/mrn"
    report = validate_bundle(bundle, ig=package)
    assert problems(report) == [("error", "slice", "Bundle.entry[1].resource.identifier")]
    assert "Patient.identifier:abha is missing" in only(report, "slice").message


# ------------------------------------------------------------------ invariants


def test_an_invariant_of_the_profile(ig: IgPackage) -> None:
    bundle = b.op_consult()
    b.composition(bundle)["section"][0]["emptyReason"] = {"text": "nothing found"}
    report = validate_bundle(bundle, ig=ig)
    assert problems(report) == [("error", "invariant:cmp-2", "Bundle.entry[0].resource.section[0]")]
    assert "breaks invariant cmp-2 of profile OPConsultRecord" in (
        only(report, "invariant:cmp-2").message
    )


def test_a_best_practice_invariant_is_a_note(ig: IgPackage) -> None:
    # con-3 (clinicalStatus for problem-list items) is marked best practice in R4.
    bundle = b.op_consult()
    condition = b.resource(bundle, "Condition")
    del condition["clinicalStatus"]
    condition["category"] = [{"text": "problem list"}]
    report = validate_bundle(bundle, ig=ig)
    assert report.valid
    assert problems(report) == []
    note = next(i for i in report.issues if i.rule == "invariant:con-3")
    assert note.severity is Severity.INFORMATION
    assert note.path == "Bundle.entry[5].resource"
    assert "best-practice invariant con-3 of profile Condition" in note.message


def test_invariants_without_a_native_twin_go_to_fhirpathpy(derive: Derive) -> None:
    def edit(elements: list[dict[str, Any]]) -> None:
        section = element(elements, "Composition.section:ChiefComplaints")
        section["constraint"].append(
            {
                "key": "test-1",
                "severity": "error",
                "human": "a chief complaints section has a title",
                "expression": "title.exists()",
            }
        )
        section["constraint"].append(
            {
                "key": "test-2",
                "severity": "error",
                "human": "uses a function fhirpathpy lacks",
                "expression": "title.hasValue()",
            }
        )

    package, url = derive("OPConsultRecord", "TestInvariants", edit)
    bundle = b.op_consult()
    b.composition(bundle)["meta"]["profile"] = [url]
    report = validate_bundle(bundle, ig=package)
    assert problems(report) == []
    assert report.invariants_skipped == {"test-2": 1}
    del b.composition(bundle)["section"][0]["title"]
    report = validate_bundle(bundle, ig=package)
    assert problems(report) == [
        ("error", "invariant:test-1", "Bundle.entry[0].resource.section[0]")
    ]


# ------------------------------------------------------------------ profile choice


def test_a_composition_without_meta_profile_is_matched_by_its_type(ig: IgPackage) -> None:
    bundle = b.op_consult()
    del b.composition(bundle)["meta"]
    report = validate_bundle(bundle, ig=ig)
    assert problems(report) == [("warning", "profile", "Bundle.entry[0].resource.meta.profile")]
    assert report.profiles["Bundle.entry[0].resource"].endswith("/OPConsultRecord")


def test_a_composition_type_no_record_profile_knows(ig: IgPackage) -> None:
    bundle = b.op_consult()
    comp = b.composition(bundle)
    del comp["meta"]
    comp["type"] = {"coding": [{"system": b.SNOMED, "code": "11488-4"}], "text": "Consult note"}
    report = validate_bundle(bundle, ig=ig)
    assert problems(report) == [("warning", "profile", "Bundle.entry[0].resource.type")]
    assert "Bundle.entry[0].resource" not in report.profiles


def test_an_unknown_meta_profile_falls_back_to_the_ig_profile_of_the_type(ig: IgPackage) -> None:
    bundle = b.op_consult()
    b.resource(bundle, "Patient")["meta"]["profile"] = ["http://www.example.com"]
    report = validate_bundle(bundle, ig=ig)
    assert problems(report) == [("warning", "profile", "Bundle.entry[1].resource.meta.profile[0]")]
    assert report.profiles["Bundle.entry[1].resource"].endswith("/Patient")


def test_a_profile_for_another_resource_type(ig: IgPackage) -> None:
    bundle = b.op_consult()
    b.resource(bundle, "Patient")["meta"]["profile"] = [b.NRCES + "Practitioner"]
    report = validate_bundle(bundle, ig=ig)
    assert ("error", "profile", "Bundle.entry[1].resource.meta.profile[0]") in problems(report)


@pytest.mark.parametrize("core_only", [True, False])
def test_the_caller_bundle_is_not_modified(ig: IgPackage, core_only: bool) -> None:
    bundle = b.op_consult()
    validate_bundle(bundle, ig=None if core_only else ig)
    assert bundle == b.op_consult()
