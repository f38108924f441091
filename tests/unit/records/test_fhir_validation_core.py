"""The built-in core rules (no IG package): each broken on its own, positive and negative."""

from __future__ import annotations

from typing import Any

import pytest

from healthstack.protocol.fhir.validation import Severity, ValidationReport, validate_bundle
from tests.unit.records import bundles as b


def core(bundle: Any) -> ValidationReport:
    return validate_bundle(bundle, ig=None)


def found(report: ValidationReport) -> list[tuple[str, str, str]]:
    return [(i.severity.value, i.rule, i.path) for i in report.issues]


def test_the_valid_bundle_passes_the_core_rules() -> None:
    report = core(b.op_consult())
    assert report.issues == []
    assert report.valid
    assert report.ig_version is None
    assert report.profiles == {}


@pytest.mark.parametrize("value", [None, [], "text", {"resourceType": "Patient"}])
def test_anything_but_a_bundle(value: Any) -> None:
    report = core(value)
    assert found(report) == [("error", "core:resource-type", "Bundle")]


def test_bundle_type_must_be_document() -> None:
    bundle = b.op_consult()
    bundle["type"] = "collection"
    report = core(bundle)
    assert found(report) == [("error", "core:bundle-type", "Bundle.type")]
    assert "'document'" in report.errors[0].message


@pytest.mark.parametrize(
    "identifier", [None, {"value": "x"}, {"system": "https://hip.example.org/bundle"}, "x"]
)
def test_bundle_identifier_needs_system_and_value(identifier: Any) -> None:
    bundle = b.op_consult()
    bundle["identifier"] = identifier
    assert found(core(bundle)) == [("error", "core:bundle-identifier", "Bundle.identifier")]


@pytest.mark.parametrize("timestamp", [None, "2024-03-01", "2024-03-01T10:15:00"])
def test_bundle_timestamp_is_an_instant(timestamp: Any) -> None:
    bundle = b.op_consult()
    bundle["timestamp"] = timestamp
    assert found(core(bundle)) == [("error", "core:bundle-timestamp", "Bundle.timestamp")]


def test_the_composition_comes_first() -> None:
    bundle = b.op_consult()
    bundle["entry"].append(bundle["entry"].pop(0))
    assert found(core(bundle)) == [
        ("error", "core:first-entry-composition", "Bundle.entry[0].resource")
    ]


def test_an_empty_bundle() -> None:
    bundle = b.op_consult()
    bundle["entry"] = []
    assert ("error", "core:first-entry-composition", "Bundle.entry") in found(core(bundle))


def test_every_entry_needs_full_url_and_resource() -> None:
    bundle = b.op_consult()
    bundle["entry"][2].pop("fullUrl")
    bundle["entry"].append({"fullUrl": "urn:uuid:1b0c8e0a-7d0e-4c3f-9a61-0f9d6a1e0077"})
    report = core(bundle)
    assert ("error", "core:entry-fullurl", "Bundle.entry[2].fullUrl") in found(report)
    assert ("error", "core:entry-resource", "Bundle.entry[7].resource") in found(report)


def test_full_urls_are_unique() -> None:
    bundle = b.op_consult()
    bundle["entry"][6]["fullUrl"] = bundle["entry"][5]["fullUrl"]
    report = core(bundle)
    assert ("error", "core:fullurl-unique", "Bundle.entry[6].fullUrl") in found(report)


def test_a_restful_full_url_must_name_its_resource() -> None:
    bundle = b.op_consult()
    patient = bundle["entry"][1]
    patient["fullUrl"] = "Patient/" + patient["resource"]["id"]
    _rewrite(bundle, b.PATIENT, patient["fullUrl"])
    assert core(bundle).issues == []
    patient["fullUrl"] = "Practitioner/" + patient["resource"]["id"]
    _rewrite(bundle, "Patient/" + patient["resource"]["id"], patient["fullUrl"])
    assert found(core(bundle)) == [("error", "core:fullurl-id", "Bundle.entry[1].fullUrl")]


def test_a_type_id_full_url_with_an_unknown_type_is_a_warning() -> None:
    bundle = b.op_consult()
    bundle["entry"][5]["fullUrl"] = "ChiefComplaints/" + bundle["entry"][5]["resource"]["id"]
    _rewrite(bundle, b.CONDITION, bundle["entry"][5]["fullUrl"])
    report = core(bundle)
    assert report.valid
    assert found(report) == [("warning", "core:fullurl-form", "Bundle.entry[5].fullUrl")]
    assert "use Condition/<id> or a urn:uuid" in report.issues[0].message


def test_a_malformed_urn_uuid() -> None:
    bundle = b.op_consult()
    _rewrite(bundle, b.CONDITION, "urn:uuid:not-a-uuid")
    bundle["entry"][5]["fullUrl"] = "urn:uuid:not-a-uuid"
    assert found(core(bundle)) == [("error", "core:fullurl-form", "Bundle.entry[5].fullUrl")]


def _rewrite(bundle: dict[str, Any], old: str, new: str) -> None:
    """Point every reference to ``old`` at ``new``."""

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "reference" and value == old:
                    node[key] = new
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(bundle)


# ------------------------------------------------------------------ references


def test_a_dangling_reference() -> None:
    bundle = b.op_consult()
    b.resource(bundle, "Condition")["subject"]["reference"] = "urn:uuid:deadbeef"
    report = core(bundle)
    assert found(report) == [
        ("error", "core:reference-resolves", "Bundle.entry[5].resource.subject.reference")
    ]
    assert report.errors[0].message.startswith("Condition.subject.reference resolves to no entry")


def test_an_absolute_reference_to_a_server() -> None:
    bundle = b.op_consult()
    b.resource(bundle, "Condition")["subject"]["reference"] = "https://hip.example.org/Patient/1"
    report = core(bundle)
    assert "is an absolute URL" in report.errors[0].message


def test_a_contained_reference_resolves() -> None:
    bundle = b.op_consult()
    request = b.resource(bundle, "MedicationRequest")
    request["contained"] = [{"resourceType": "Medication", "id": "med1"}]
    request["medicationReference"] = {"reference": "#med1"}
    assert core(bundle).issues == []
    request["medicationReference"] = {"reference": "#med2"}
    assert found(core(bundle)) == [
        (
            "error",
            "core:reference-resolves",
            "Bundle.entry[6].resource.medicationReference.reference",
        )
    ]


def test_a_reference_found_only_by_type_and_id_is_a_warning() -> None:
    bundle = b.op_consult()
    patient_id = b.resource(bundle, "Patient")["id"]
    b.resource(bundle, "Condition")["subject"]["reference"] = f"Patient/{patient_id}"
    report = core(bundle)
    assert report.valid
    assert found(report) == [
        ("warning", "core:reference-resolves", "Bundle.entry[5].resource.subject.reference")
    ]
    assert "only by resource type and id" in report.issues[0].message


def test_uri_elements_named_reference_are_not_references() -> None:
    bundle = b.op_consult()
    b.resource(bundle, "Condition")["note"] = [{"text": "see leaflet"}]
    bundle["entry"].append(
        {
            "fullUrl": "urn:uuid:1b0c8e0a-7d0e-4c3f-9a61-0f9d6a1e0010",
            "resource": {
                "resourceType": "Immunization",
                "id": "1b0c8e0a-7d0e-4c3f-9a61-0f9d6a1e0010",
                "education": [{"reference": "https://example.org/leaflet.pdf"}],
            },
        }
    )
    assert core(bundle).issues == []


# ------------------------------------------------------------------ Composition


@pytest.mark.parametrize("name", ["status", "type", "date", "title", "author", "section"])
def test_composition_basics(name: str) -> None:
    bundle = b.op_consult()
    del b.composition(bundle)[name]
    assert found(core(bundle)) == [
        ("error", f"core:composition-{name}", f"Bundle.entry[0].resource.{name}")
    ]


def test_composition_status_must_be_a_composition_status() -> None:
    bundle = b.op_consult()
    b.composition(bundle)["status"] = "draft"
    assert found(core(bundle)) == [
        ("error", "core:composition-status", "Bundle.entry[0].resource.status")
    ]


def test_composition_subject_must_be_the_patient() -> None:
    bundle = b.op_consult()
    b.composition(bundle)["subject"]["reference"] = b.PRACTITIONER
    report = core(bundle)
    assert found(report) == [
        ("error", "core:composition-subject", "Bundle.entry[0].resource.subject.reference")
    ]
    assert "it points to a Practitioner" in report.errors[0].message


def test_composition_author_type() -> None:
    bundle = b.op_consult()
    b.composition(bundle)["author"][0]["reference"] = b.CONDITION
    assert found(core(bundle)) == [
        ("error", "core:composition-author", "Bundle.entry[0].resource.author[0].reference")
    ]


# ------------------------------------------------------------------ people and places


@pytest.mark.parametrize(
    ("resource_type", "index", "rule"),
    [
        ("Patient", 1, "core:patient-identifier"),
        ("Practitioner", 2, "core:practitioner-identifier"),
        ("Organization", 3, "core:organization-identifier"),
    ],
)
def test_identifiers_are_required(resource_type: str, index: int, rule: str) -> None:
    bundle = b.op_consult()
    del b.resource(bundle, resource_type)["identifier"]
    assert found(core(bundle)) == [("error", rule, f"Bundle.entry[{index}].resource.identifier")]


@pytest.mark.parametrize(
    ("resource_type", "index", "rule"),
    [
        ("Patient", 1, "core:patient-name"),
        ("Practitioner", 2, "core:practitioner-name"),
        ("Organization", 3, "core:organization-name"),
    ],
)
def test_names_are_required(resource_type: str, index: int, rule: str) -> None:
    bundle = b.op_consult()
    del b.resource(bundle, resource_type)["name"]
    assert found(core(bundle)) == [("error", rule, f"Bundle.entry[{index}].resource.name")]


def test_patient_gender_and_birth_date() -> None:
    bundle = b.op_consult()
    patient = b.resource(bundle, "Patient")
    patient["gender"] = "F"
    patient["birthDate"] = "12/04/1985"
    assert found(core(bundle)) == [
        ("error", "core:patient-gender", "Bundle.entry[1].resource.gender"),
        ("error", "core:patient-birthdate", "Bundle.entry[1].resource.birthDate"),
    ]


ABHA_PATH = "Bundle.entry[1].resource.identifier[0].value"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("91-6285-4575-5116", []),
        ("asha.devi@abdm", []),
        ("91-6285-4575-511", [("error", "core:abha-number", ABHA_PATH)]),
        ("91628545755116", [("warning", "core:abha-number", ABHA_PATH)]),  # not hyphenated
        ("91-6285-4575-5117", [("warning", "core:abha-number", ABHA_PATH)]),  # fails Luhn
        ("asha@", [("error", "core:abha-address", ABHA_PATH)]),
        ("ashadevi", [("error", "core:abha-number", ABHA_PATH)]),  # typed HIN: a number
    ],
)
def test_abha_number_shape(value: str, expected: list[tuple[str, str, str]]) -> None:
    bundle = b.op_consult()
    b.resource(bundle, "Patient")["identifier"][0]["value"] = value
    report = core(bundle)
    assert found(report) == expected
    assert all(value not in i.message for i in report.issues)  # identifiers are not echoed


def test_a_bare_handle_under_the_abha_system_without_a_type_is_a_warning() -> None:
    bundle = b.op_consult()
    ident = b.resource(bundle, "Patient")["identifier"][0]
    ident["value"] = "ashadevi"
    ident["type"]["coding"][0]["code"] = "MR"
    assert found(core(bundle)) == [("warning", "core:abha-number", ABHA_PATH)]


@pytest.mark.parametrize(
    ("value", "ok"),
    [("21-1521-3828-3227", True), ("imran@hpr.abdm", True), ("MAX5001", False), ("2115", False)],
)
def test_hpr_id_shape(value: str, ok: bool) -> None:
    bundle = b.op_consult()
    b.resource(bundle, "Practitioner")["identifier"][0]["value"] = value
    expected = (
        [] if ok else [("error", "core:hpr-id", "Bundle.entry[2].resource.identifier[0].value")]
    )
    assert found(core(bundle)) == expected


@pytest.mark.parametrize(
    ("value", "ok"), [("IN0110000123", True), ("4567823", False), ("in0110000123", False)]
)
def test_hfr_id_shape(value: str, ok: bool) -> None:
    bundle = b.op_consult()
    b.resource(bundle, "Organization")["identifier"][0]["value"] = value
    expected = (
        [] if ok else [("error", "core:hfr-id", "Bundle.entry[3].resource.identifier[0].value")]
    )
    report = core(bundle)
    assert found(report) == expected
    assert all(i.severity is Severity.ERROR for i in report.issues)


def test_identifiers_under_other_systems_are_left_alone() -> None:
    bundle = b.op_consult()
    ident = b.resource(bundle, "Organization")["identifier"][0]
    ident.update(system="https://hip.example.org/facilities", value="4567823")
    assert core(bundle).issues == []
