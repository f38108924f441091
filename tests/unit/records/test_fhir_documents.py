"""The document builders: every record type makes a well-formed IG document bundle.

Checked without the IG package (test_fhir_documents_ig.py runs the validator): the
Composition comes first with the record's profile, type and section codes; every entry
has a urn:uuid fullUrl and an IG profile; every reference resolves inside the bundle; the
bundle survives JSON; ids and times come only from what the caller injects; the ABDM
identifiers are where the IG puts them; bad input is refused with a message that names
the field and carries no personal data.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from healthstack.facility.records.fhir import (
    Attachment,
    Concept,
    Condition,
    DocumentInputError,
    Dosage,
    Encounter,
    EncounterClass,
    ImagingReport,
    Invoice,
    InvoiceLine,
    MedicationOrder,
    OPConsultation,
    Organization,
    Patient,
    Practitioner,
    Prescription,
    RecordType,
    build_document,
    display_text,
    record_type,
    seeded_ids,
)
from healthstack.protocol.fhir.terminology import (
    ABHA_SYSTEM,
    HFR_SYSTEM,
    HPR_SYSTEM,
    ICD10,
    NRCES_PROFILE,
    SNOMED,
    BillingCode,
    Coding,
    loinc,
    snomed,
)
from tests.unit.records import document_samples as s

NAMES = [name for name, _, _ in s.SAMPLES]


def build(name: str, seed: int = 7) -> dict[str, Any]:
    _, content, ctx = next(x for x in s.SAMPLES if x[0] == name)
    return build_document(ctx, content, now=s.NOW, ids=seeded_ids(seed))


def composition(bundle: dict[str, Any]) -> dict[str, Any]:
    return bundle["entry"][0]["resource"]


def resources(bundle: dict[str, Any], rtype: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == rtype]


def by_url(bundle: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["fullUrl"]: e["resource"] for e in bundle["entry"]}


def references(node: Any) -> list[str]:
    """Every Reference.reference in a resource (no R4 URI element is called so here)."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                found.append(value)
            else:
                found.extend(references(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(references(item))
    return found


def section_codes(bundle: dict[str, Any]) -> list[str]:
    return [
        sec["code"]["coding"][0]["code"] if "code" in sec else sec["title"]
        for sec in composition(bundle)["section"]
    ]


# --------------------------------------------------------------------------- every type


@pytest.mark.parametrize("name", NAMES)
def test_bundle_is_a_document_with_the_composition_first(name: str) -> None:
    bundle = build(name)
    assert bundle["resourceType"] == "Bundle"
    assert bundle["type"] == "document"
    assert bundle["meta"]["profile"] == [NRCES_PROFILE + "DocumentBundle"]
    assert bundle["meta"]["versionId"] == "1"
    assert bundle["meta"]["lastUpdated"] == bundle["timestamp"] == "2026-11-26T11:30:00+05:30"
    assert bundle["meta"]["security"][0]["code"] == "V"
    assert bundle["identifier"] == {
        "system": "urn:ietf:rfc:3986",
        "value": f"urn:uuid:{bundle['id']}",
    }
    assert bundle["entry"][0]["resource"]["resourceType"] == "Composition"
    assert [e["resource"]["resourceType"] for e in bundle["entry"][1:4]] == [
        "Patient",
        "Practitioner",
        "Organization",
    ]


@pytest.mark.parametrize("name", NAMES)
def test_entries_have_uuid_fullurls_and_ig_profiles(name: str) -> None:
    bundle = build(name)
    urls = [e["fullUrl"] for e in bundle["entry"]]
    assert len(set(urls)) == len(urls)
    for entry in bundle["entry"]:
        resource = entry["resource"]
        assert entry["fullUrl"] == f"urn:uuid:{resource['id']}"
        assert uuid.UUID(resource["id"]).version == 4
        (profile,) = resource["meta"]["profile"]
        assert profile.startswith(NRCES_PROFILE)
        profile_name = profile.removeprefix(NRCES_PROFILE)
        if resource["resourceType"] == "Composition":
            continue
        # Each resource claims its own type's profile (Observation* for Observation,
        # DiagnosticReportLab/Imaging for DiagnosticReport).
        assert profile_name.startswith(resource["resourceType"]), profile_name


@pytest.mark.parametrize("name", NAMES)
def test_every_reference_resolves_inside_the_bundle(name: str) -> None:
    bundle = build(name)
    urls = by_url(bundle)
    refs = [r for e in bundle["entry"] for r in references(e["resource"])]
    assert refs
    for ref in refs:
        assert ref in urls, ref
    # And every resource but the Composition is reachable from the Composition's
    # subject, author, custodian, encounter and sections, or from a resource they reach.
    seen = {bundle["entry"][0]["fullUrl"]}
    todo = [bundle["entry"][0]["fullUrl"]]
    while todo:
        for ref in references(urls[todo.pop()]):
            if ref not in seen:
                seen.add(ref)
                todo.append(ref)
    assert seen == set(urls)


@pytest.mark.parametrize("name", NAMES)
def test_composition_header(name: str) -> None:
    bundle = build(name)
    comp = composition(bundle)
    urls = by_url(bundle)
    assert comp["status"] == "final"
    assert comp["date"] == "2026-11-26T11:30:00+05:30"
    assert comp["title"]
    assert urls[comp["subject"]["reference"]]["resourceType"] == "Patient"
    assert urls[comp["author"][0]["reference"]]["resourceType"] == "Practitioner"
    assert urls[comp["custodian"]["reference"]]["resourceType"] == "Organization"
    assert comp["attester"][0]["party"] == comp["custodian"]
    _, _, ctx = next(x for x in s.SAMPLES if x[0] == name)
    if ctx.encounter is None:
        assert "encounter" not in comp
    else:
        encounter = urls[comp["encounter"]["reference"]]
        assert encounter["resourceType"] == "Encounter"
        assert encounter["identifier"][0]["value"] == ctx.encounter.care_context


def empties(node: Any, path: str = "Bundle") -> list[str]:
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if value is None or value == [] or value == {} or value == "":
                found.append(f"{path}.{key}")
            found.extend(empties(value, f"{path}.{key}"))
    elif isinstance(node, list):
        for i, item in enumerate(node):
            found.extend(empties(item, f"{path}[{i}]"))
    return found


@pytest.mark.parametrize("name", NAMES)
def test_no_element_is_null_or_empty(name: str) -> None:
    assert empties(build(name)) == []
    # Optional inputs left out leave no trace either.
    bare = replace(s.CHEST_XRAY, key_image=Attachment("image/jpeg", s.JPEG), pdf=None)
    assert empties(build_document(s.context(None), bare, now=s.NOW)) == []


@pytest.mark.parametrize("name", NAMES)
def test_round_trips_through_json(name: str) -> None:
    bundle = build(name)
    text = json.dumps(bundle, ensure_ascii=False, allow_nan=False)
    assert json.loads(text) == bundle


@pytest.mark.parametrize("name", NAMES)
def test_ids_and_times_come_from_the_caller(name: str) -> None:
    assert build(name, seed=3) == build(name, seed=3)
    one, two = build(name, seed=3), build(name, seed=4)
    assert one["id"] != two["id"]
    assert {e["fullUrl"] for e in one["entry"]}.isdisjoint({e["fullUrl"] for e in two["entry"]})
    _, content, ctx = next(x for x in s.SAMPLES if x[0] == name)
    later = build_document(ctx, content, now=s.NOW + timedelta(hours=1), ids=seeded_ids(3))
    assert later["timestamp"] == "2026-11-26T12:30:00+05:30"


# --------------------------------------------------------------------------- record types

EXPECTED = {
    "op_consultation": (
        "OPConsultRecord",
        "371530004",
        # The IG's OPConsultRecord section codes, in the builder's order.
        [
            "422843007",
            "425044008",
            "722446000",
            "371529009",
            "422432008",
            "721963009",
            "721912009",
            "390906007",
            "371525003",
            "306206005",
            "404684003",
            "371530004",
        ],
    ),
    "prescription": ("PrescriptionRecord", "440545006", ["440545006"]),
    "lab_report": ("DiagnosticReportRecord", "4241000179101", ["4241000179101"]),
    "imaging_report": ("DiagnosticReportRecord", "4201000179104", ["4201000179104"]),
    "discharge_summary": (
        "DischargeSummaryRecord",
        "373942005",
        [
            "422843007",
            "425044008",
            "722446000",
            "1003642006",
            "422432008",
            "721981007",
            "1003606003",
            "1003640003",
            "734163000",
            "373942005",
        ],
    ),
    "immunization": ("ImmunizationRecord", "41000179103", ["41000179103"]),
    "health_document": ("HealthDocumentRecord", "419891008", ["419891008"]),
    "wellness": (
        "WellnessRecord",
        None,
        ["Vital Signs", "Body Measurement", "Physical Activity", "General Assessment", "Lifestyle"],
    ),
    "invoice": ("InvoiceRecord", None, ["Invoice"]),
}


@pytest.mark.parametrize("name", NAMES)
def test_record_profile_type_and_section_codes(name: str) -> None:
    profile, type_code, sections = EXPECTED[name]
    bundle = build(name)
    comp = composition(bundle)
    assert comp["meta"]["profile"] == [NRCES_PROFILE + profile]
    if type_code is None:
        assert comp["type"] == {"text": f"{profile.removesuffix('Record')} Record"}
    else:
        assert comp["type"]["coding"] == [
            {"system": SNOMED, "code": type_code, "display": comp["type"]["text"]}
        ]
    assert section_codes(bundle) == sections


def test_record_type_of_each_content() -> None:
    kinds = {name: record_type(content) for name, content, _ in s.SAMPLES}
    assert kinds == {
        "op_consultation": RecordType.OP_CONSULTATION,
        "prescription": RecordType.PRESCRIPTION,
        "lab_report": RecordType.DIAGNOSTIC_REPORT,
        "imaging_report": RecordType.DIAGNOSTIC_REPORT,
        "discharge_summary": RecordType.DISCHARGE_SUMMARY,
        "immunization": RecordType.IMMUNIZATION,
        "health_document": RecordType.HEALTH_DOCUMENT,
        "wellness": RecordType.WELLNESS,
        "invoice": RecordType.INVOICE,
    }


def test_abdm_identifiers() -> None:
    bundle = build("op_consultation")
    (patient,) = resources(bundle, "Patient")
    abha, address, mrn = patient["identifier"]
    assert (abha["system"], abha["value"]) == (ABHA_SYSTEM, "91-6285-4575-5116")
    assert abha["type"]["coding"][0]["code"] == "ABHA"
    assert (address["system"], address["value"]) == (ABHA_SYSTEM, "asha.devi@sbx")
    assert (mrn["value"], mrn["type"]["coding"][0]["code"]) == ("GMC-000123", "MR")
    assert mrn["system"] == "urn:healthstack:IN0110000123:mrn"
    assert patient["name"] == [{"text": "Asha Devi"}]
    assert (patient["gender"], patient["birthDate"]) == ("female", "1985-04-12")
    (doctor,) = resources(bundle, "Practitioner")
    assert doctor["identifier"][0]["system"] == HPR_SYSTEM
    assert doctor["identifier"][0]["value"] == "71-4321-8765-2109"
    assert doctor["identifier"][0]["type"]["coding"][0]["code"] == "HPID"
    (facility,) = resources(bundle, "Organization")
    assert facility["identifier"][0]["system"] == HFR_SYSTEM
    assert facility["identifier"][0]["value"] == "IN0110000123"
    assert facility["name"] == "GMC Srinagar"


def test_identifiers_are_normalised_from_what_the_desk_types() -> None:
    patient = Patient(name="A B", gender="male", abha_number="91 6285 4575 5116", birth_date=1970)
    doctor = Practitioner(hpr_id="71432187652109", name="Dr. X")
    facility = Organization(hfr_id=" in0110000123 ", name="PHC")
    assert patient.abha_number == "91-6285-4575-5116"
    assert doctor.hpr_id == "71-4321-8765-2109"
    assert facility.hfr_id == "IN0110000123"
    ctx = replace(s.context(), patient=patient, practitioner=doctor, organization=facility)
    bundle = build_document(ctx, s.PRESCRIPTION, now=s.NOW, ids=seeded_ids(1))
    (p,) = resources(bundle, "Patient")
    assert p["birthDate"] == "1970"
    assert [i["type"]["coding"][0]["code"] for i in p["identifier"]] == ["ABHA"]


def test_op_consultation_diagnosis_on_the_encounter() -> None:
    bundle = build("op_consultation")
    urls = by_url(bundle)
    (encounter,) = resources(bundle, "Encounter")
    assert encounter["class"]["code"] == "AMB"
    assert encounter["status"] == "in-progress"
    (diagnosis,) = encounter["diagnosis"]
    condition = urls[diagnosis["condition"]["reference"]]
    assert condition["code"]["text"] == "Stable angina"
    assert condition["category"][0]["coding"][0]["code"] == "encounter-diagnosis"
    assert diagnosis["use"]["coding"][0]["code"] == "148006"


def test_medication_request_carries_the_dosage() -> None:
    bundle = build("prescription")
    first = resources(bundle, "MedicationRequest")[0]
    assert first["medicationCodeableConcept"]["coding"][0]["code"] == "322236009"
    assert first["medicationCodeableConcept"]["text"] == "Paracetamol 500 mg tablet"
    (dosage,) = first["dosageInstruction"]
    assert dosage["text"] == "1 tablet three times a day after food for 3 days"
    assert dosage["timing"]["repeat"] == {
        "frequency": 3,
        "period": 1,
        "periodUnit": "d",
        "boundsDuration": {
            "value": 3,
            "unit": "days",
            "system": "http://unitsofmeasure.org",
            "code": "d",
        },
    }
    assert dosage["doseAndRate"][0]["doseQuantity"]["value"] == 1
    assert dosage["route"]["coding"][0]["code"] == "26643006"
    assert first["requester"]["reference"] == composition(bundle)["author"][0]["reference"]


def test_prescription_section_entries_are_typed_for_the_ig_slices() -> None:
    bundle = build("prescription")
    (section,) = composition(bundle)["section"]
    assert [e["type"] for e in section["entry"]] == [
        "MedicationRequest",
        "MedicationRequest",
        "Binary",
    ]
    (binary,) = resources(bundle, "Binary")
    assert binary["contentType"] == "application/pdf"
    assert base64.b64decode(binary["data"]) == s.PDF


def test_lab_report_results_units_ranges_and_specimen() -> None:
    bundle = build("lab_report")
    urls = by_url(bundle)
    (report,) = resources(bundle, "DiagnosticReport")
    assert report["meta"]["profile"] == [NRCES_PROFILE + "DiagnosticReportLab"]
    assert (
        report["code"]["coding"][0]
        == loinc("58410-2", "CBC panel - Blood by Automated count").as_fhir()
    )
    assert report["conclusion"] == "Mild anaemia; platelets normal."
    hb = urls[report["result"][0]["reference"]]
    assert hb["code"]["coding"][0]["code"] == "718-7"
    assert hb["valueQuantity"] == {
        "value": 10.2,
        "unit": "g/dL",
        "system": "http://unitsofmeasure.org",
        "code": "g/dL",
    }
    assert hb["referenceRange"][0]["low"]["value"] == 12
    assert hb["referenceRange"][0]["high"]["value"] == 15.5
    assert hb["interpretation"][0]["coding"][0]["code"] == "L"
    specimen = urls[report["specimen"][0]["reference"]]
    assert specimen["type"]["coding"][0]["code"] == "119297000"
    assert hb["specimen"] == report["specimen"][0]
    assert base64.b64decode(report["presentedForm"][0]["data"]) == s.PDF


def test_imaging_report_study_uid_key_image_and_pdf() -> None:
    bundle = build("imaging_report")
    urls = by_url(bundle)
    (report,) = resources(bundle, "DiagnosticReport")
    assert report["meta"]["profile"] == [NRCES_PROFILE + "DiagnosticReportImaging"]
    study = urls[report["imagingStudy"][0]["reference"]]
    assert study["identifier"] == [
        {
            "system": "urn:dicom:uid",
            "value": "urn:oid:1.2.826.0.1.3680043.8.498.10368404844741579486264127104402",
        }
    ]
    assert study["modality"][0]["code"] == "DX"
    assert study["series"][0]["uid"].endswith("403")
    media = urls[report["media"][0]["link"]["reference"]]
    assert media["content"]["contentType"] == "image/jpeg"
    assert base64.b64decode(media["content"]["data"]) == s.JPEG
    form = report["presentedForm"][0]
    assert (form["contentType"], form["title"]) == ("application/pdf", "Chest X-ray report")
    assert base64.b64decode(form["data"]) == s.PDF


def test_discharge_summary_needs_its_admission_and_holds_both_reports() -> None:
    bundle = build("discharge_summary")
    (encounter,) = resources(bundle, "Encounter")
    assert encounter["class"]["code"] == "IMP"
    assert encounter["status"] == "finished"
    assert encounter["period"]["end"] == "2026-11-26T10:30:00+05:30"
    investigations = composition(bundle)["section"][5]
    urls = by_url(bundle)
    profiles = [urls[e["reference"]]["meta"]["profile"][0] for e in investigations["entry"]]
    assert profiles == [
        NRCES_PROFILE + "DiagnosticReportLab",
        NRCES_PROFILE + "DiagnosticReportImaging",
    ]
    (plan,) = resources(bundle, "CarePlan")
    assert plan["period"] == {"start": "2026-11-26", "end": "2026-12-10"}
    with pytest.raises(DocumentInputError) as err:
        build_document(s.context(None), s.DISCHARGE_SUMMARY, now=s.NOW)
    assert err.value.field == "encounter"


def test_immunization_dose_lot_and_next_dose() -> None:
    bundle = build("immunization")
    rota, penta = resources(bundle, "Immunization")
    assert rota["vaccineCode"]["coding"][0]["code"] == "871761004"
    assert rota["lotNumber"] == "RV-2026-0915"
    assert rota["protocolApplied"] == [{"series": "Rotavirus (UIP)", "doseNumberPositiveInt": 2}]
    assert rota["extension"][0]["valueString"] == "Rotavac"
    assert penta["site"]["coding"][0]["code"] == "368208006"
    (rec,) = resources(bundle, "ImmunizationRecommendation")
    assert rec["recommendation"][0]["dateCriterion"][0]["value"] == "2026-12-24"
    (section,) = composition(bundle)["section"]
    assert [e["type"] for e in section["entry"]] == [
        "Immunization",
        "Immunization",
        "ImmunizationRecommendation",
    ]


def test_health_document_attachments() -> None:
    bundle = build("health_document")
    pdf, png = resources(bundle, "DocumentReference")
    attachment = pdf["content"][0]["attachment"]
    assert attachment["contentType"] == "application/pdf"
    assert attachment["title"] == "Old discharge card 2019"
    assert attachment["creation"] == "2021-06-05T11:30:00+05:30"
    assert base64.b64decode(attachment["data"]) == s.PDF
    assert png["content"][0]["attachment"]["contentType"] == "image/png"
    assert pdf["type"]["coding"][0]["code"] == "419891008"


def test_wellness_sections_use_their_observation_profiles() -> None:
    bundle = build("wellness")
    urls = by_url(bundle)
    profiles = {
        sec["title"]: {urls[e["reference"]]["meta"]["profile"][0] for e in sec["entry"]}
        for sec in composition(bundle)["section"]
    }
    assert profiles == {
        "Vital Signs": {NRCES_PROFILE + "ObservationVitalSigns"},
        "Body Measurement": {NRCES_PROFILE + "ObservationBodyMeasurement"},
        "Physical Activity": {NRCES_PROFILE + "ObservationPhysicalActivity"},
        "General Assessment": {NRCES_PROFILE + "ObservationGeneralAssessment"},
        "Lifestyle": {NRCES_PROFILE + "ObservationLifestyle"},
    }
    bp = next(r for r in resources(bundle, "Observation") if r["code"]["text"] == "Blood pressure")
    assert [
        (c["code"]["coding"][0]["code"], c["valueQuantity"]["value"]) for c in bp["component"]
    ] == [
        ("8480-6", 150),
        ("8462-4", 95),
    ]


def test_invoice_lines_price_components_and_totals() -> None:
    bundle = build("invoice")
    (invoice,) = resources(bundle, "Invoice")
    assert invoice["identifier"][0]["value"] == "GMC/OPD/2026/004211"
    assert invoice["type"]["coding"][0]["code"] == "03"
    consult, tablets = invoice["lineItem"]
    assert [c["type"] for c in consult["priceComponent"]] == ["base"]
    assert consult["priceComponent"][0]["amount"] == {"value": 100, "currency": "INR"}
    components = {c["code"]["coding"][0]["display"]: c for c in tablets["priceComponent"]}
    assert components["Rate"]["amount"]["value"] == 18
    assert components["MRP"]["amount"]["value"] == 20
    assert components["MRP"]["type"] == "informational"
    assert components["Discount"]["amount"]["value"] == 2
    assert components["CGST"]["amount"]["value"] == 0.96
    assert components["SGST"]["factor"] == 0.06
    # Net excludes tax, gross includes it (FHIR Invoice.totalNet/totalGross).
    assert invoice["totalNet"] == {"value": 116, "currency": "INR"}
    assert invoice["totalGross"] == {"value": 117.92, "currency": "INR"}
    charges = by_url(bundle)
    charge = charges[tablets["chargeItemReference"]["reference"]]
    assert charge["resourceType"] == "ChargeItem"
    assert charge["code"]["coding"][0]["code"] == "05"
    assert charge["quantity"] == {"value": 10}


def test_invoice_rounds_tax_to_the_paisa() -> None:
    line = InvoiceLine(
        Concept("Dressing"),
        BillingCode.OTHERS,
        quantity=Decimal(3),
        unit_price=Decimal("33.33"),
        cgst_percent=Decimal("2.5"),
        sgst_percent=Decimal("2.5"),
    )
    invoice = Invoice("X/1", BillingCode.OTHERS, s.NOW, (line,))
    bundle = build_document(s.context(), invoice, now=s.NOW, ids=seeded_ids(2))
    (inv,) = resources(bundle, "Invoice")
    # 99.99 × 2.5 % = 2.49975 → 2.50 each; gross 99.99 + 5.00.
    assert inv["totalNet"]["value"] == 99.99
    assert inv["totalGross"]["value"] == 104.99


# --------------------------------------------------------------------------- care context


def test_display_text_names_the_visit_not_the_illness() -> None:
    assert display_text(s.OPD_VISIT, s.FACILITY) == "OPD visit, 26 Nov 2026, GMC Srinagar"
    assert display_text(s.ADMISSION, "GMC Srinagar") == "IPD admission, 21 Nov 2026, GMC Srinagar"
    assert display_text(s.OPD_VISIT) == "OPD visit, 26 Nov 2026"
    # The date is the visit's date in India, whatever zone the time was given in.
    late = Encounter("X", EncounterClass.OPD, datetime(2026, 11, 26, 20, 0, tzinfo=UTC))
    assert display_text(late) == "OPD visit, 27 Nov 2026"


# --------------------------------------------------------------------------- bad input


def test_refusals_name_the_field_and_carry_no_personal_data() -> None:
    cases: list[tuple[str, Any]] = [
        ("encounter start", lambda: Encounter("C1", EncounterClass.OPD, datetime(2026, 1, 1))),
        (
            "medicine code",
            lambda: MedicationOrder(
                Concept.of(loinc("718-7", "Hemoglobin")), Dosage("1 tablet daily")
            ),
        ),
        (
            "attachment",
            lambda: Attachment("application/pdf", s.JPEG, "Asha Devi report"),
        ),
        ("medications", lambda: Prescription(medications=())),
        ("invoice type", lambda: Invoice("X/2", BillingCode.MEDICINES, s.NOW, ())),
        (
            "study instance UID",
            lambda: replace(s.CHEST_XRAY, study_uid="1.2.03.4"),
        ),
        (
            "ABHA address",
            lambda: Patient(name="Asha Devi", gender="female", abha_address="asha.devi"),
        ),
        ("patient identifier", lambda: Patient(name="Asha Devi", gender="female")),
    ]
    for field_name, make in cases:
        with pytest.raises(DocumentInputError) as err:
            make()
        assert err.value.field == field_name, err.value.message
        assert "Asha" not in err.value.message and "91-6285" not in err.value.message
        assert err.value.code == "HS-4201"


def test_an_op_consultation_needs_its_visit_and_some_content() -> None:
    with pytest.raises(DocumentInputError) as err:
        build_document(s.context(None), s.OP_CONSULTATION, now=s.NOW)
    assert err.value.field == "encounter"
    with pytest.raises(DocumentInputError) as err:
        build_document(s.context(), OPConsultation(), now=s.NOW)
    assert err.value.field == "sections"


def test_a_document_time_needs_a_zone() -> None:
    with pytest.raises(DocumentInputError):
        build_document(s.context(), s.PRESCRIPTION, now=datetime(2026, 11, 26, 11, 30))


def test_conditions_may_be_coded_in_snomed_and_icd10_or_left_as_text() -> None:
    icd = Condition(
        Concept.of(
            snomed("44054006", "Diabetes mellitus type 2"),
            Coding(ICD10, "E11", "Type 2 diabetes mellitus"),
        )
    )
    text_only = Condition(Concept("Giddiness since morning"))
    content = replace(s.OP_CONSULTATION, chief_complaints=(icd, text_only))
    bundle = build_document(s.context(), content, now=s.NOW, ids=seeded_ids(5))
    first, second = resources(bundle, "Condition")[:2]
    assert [c["system"] for c in first["code"]["coding"]] == [
        SNOMED,
        "http://hl7.org/fhir/sid/icd-10",
    ]
    assert second["code"] == {"text": "Giddiness since morning"}
    with pytest.raises(DocumentInputError):
        Condition(Concept.of(loinc("718-7", "Hemoglobin")))


def test_key_image_must_be_a_picture() -> None:
    with pytest.raises(DocumentInputError) as err:
        replace(s.CHEST_XRAY, key_image=Attachment("application/pdf", s.PDF, "report"))
    assert err.value.field == "key image"
    assert isinstance(s.CHEST_XRAY, ImagingReport)
