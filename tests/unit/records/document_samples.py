"""Sample record contents for the document builders' tests, one per ABDM record type.

All people and ids are synthetic: the ABHA number is a Luhn-valid sandbox-style number,
the HFR id has the IN+10-digit form, the HPR id 14 digits. Attachments are real files:
a minimal PDF and a small JPEG and PNG drawn with Pillow.
"""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from PIL import Image

from healthstack.facility.records.fhir import (
    Allergy,
    Attachment,
    CarePlan,
    Concept,
    Condition,
    Diagnosis,
    DischargeSummary,
    Document,
    Dosage,
    Encounter,
    EncounterClass,
    FamilyHistory,
    FollowUp,
    HealthDocuments,
    ImagingReport,
    Immunizations,
    Investigation,
    Invoice,
    InvoiceLine,
    LabReport,
    MedicationOrder,
    Observation,
    ObservationComponent,
    OPConsultation,
    Organization,
    Patient,
    Practitioner,
    Prescription,
    Procedure,
    Quantity,
    RecordContent,
    RecordContext,
    ReferenceRange,
    Referral,
    Specimen,
    Vaccination,
    VaccineRecommendation,
    Wellness,
)
from healthstack.protocol.fhir.terminology import (
    BLOOD_PRESSURE_PANEL,
    BODY_MEASUREMENTS,
    DIASTOLIC,
    GENERAL_ASSESSMENT,
    NEVER_SMOKED,
    PHYSICAL_ACTIVITY,
    ROUTE_INTRAMUSCULAR,
    ROUTE_ORAL,
    SITE_LEFT_UPPER_ARM,
    SPECIMEN_BLOOD,
    SYSTOLIC,
    TOBACCO_SMOKING,
    VITAL_SIGNS,
    BillingCode,
    Relationship,
    loinc,
    snomed,
)

IST = timezone(timedelta(hours=5, minutes=30))
NOW = datetime(2026, 11, 26, 11, 30, tzinfo=IST)

PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def _image(fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 200, 200)).save(buf, format=fmt)
    return buf.getvalue()


JPEG = _image("JPEG")
PNG = _image("PNG")

PATIENT = Patient(
    name="Asha Devi",
    gender="female",
    abha_number="91-6285-4575-5116",
    abha_address="asha.devi@sbx",
    birth_date=date(1985, 4, 12),
    mrn="GMC-000123",
)
DOCTOR = Practitioner(hpr_id="71-4321-8765-2109", name="Dr. Imran Lone")
FACILITY = Organization(hfr_id="IN0110000123", name="GMC Srinagar")
OPD_VISIT = Encounter(
    care_context="OPD-2026-000042", kind=EncounterClass.OPD, start=NOW - timedelta(minutes=40)
)
ADMISSION = Encounter(
    care_context="IPD-2026-000007",
    kind=EncounterClass.IPD,
    start=NOW - timedelta(days=5),
    end=NOW - timedelta(hours=1),
)


def context(encounter: Encounter | None = OPD_VISIT) -> RecordContext:
    return RecordContext(PATIENT, DOCTOR, FACILITY, encounter)


PARACETAMOL = MedicationOrder(
    Concept.of(
        snomed("322236009", "Acetaminophen 500 mg oral tablet"), text="Paracetamol 500 mg tablet"
    ),
    Dosage(
        "1 tablet three times a day after food for 3 days",
        dose=Quantity(1, "{tbl}", "tablet"),
        frequency=3,
        duration_days=3,
        route=Concept.of(ROUTE_ORAL),
    ),
    dispense=Quantity(9, "{tbl}", "tablets"),
)
AMLODIPINE = MedicationOrder(
    Concept("Amlodipine 5 mg tablet"),
    Dosage("1 tablet once a day in the morning", frequency=1, route=Concept.of(ROUTE_ORAL)),
    reason=Concept.of(snomed("38341003", "Hypertensive disorder, systemic arterial")),
)
HEART_RATE = Observation(
    Concept.of(VITAL_SIGNS["heart_rate"].coding, text="Pulse"), Quantity(88, "/min", "beats/min")
)
BLOOD_PRESSURE = Observation(
    Concept.of(BLOOD_PRESSURE_PANEL, text="Blood pressure"),
    components=(
        ObservationComponent(Concept.of(SYSTOLIC.coding), Quantity(150, "mm[Hg]", "mmHg")),
        ObservationComponent(Concept.of(DIASTOLIC.coding), Quantity(95, "mm[Hg]", "mmHg")),
    ),
    effective=NOW - timedelta(minutes=30),
)
HEMOGLOBIN = Observation(
    Concept.of(loinc("718-7", "Hemoglobin [Mass/volume] in Blood"), text="Haemoglobin"),
    Quantity("10.2", "g/dL", "g/dL"),
    reference_range=ReferenceRange(Quantity(12, "g/dL"), Quantity("15.5", "g/dL")),
    interpretation="L",
)
PLATELETS = Observation(
    Concept.of(loinc("777-3", "Platelets [#/volume] in Blood by Automated count")),
    Quantity(250, "10*3/uL", "×10³/µL"),
    reference_range=ReferenceRange(
        Quantity(150, "10*3/uL", "×10³/µL"), Quantity(410, "10*3/uL", "×10³/µL")
    ),
)
CBC = LabReport(
    code=Concept.of(loinc("58410-2", "CBC panel - Blood by Automated count")),
    results=(HEMOGLOBIN, PLATELETS),
    conclusion="Mild anaemia; platelets normal.",
    issued=NOW - timedelta(hours=2),
    specimen=Specimen(
        Concept.of(SPECIMEN_BLOOD), NOW - timedelta(hours=6), NOW - timedelta(hours=5)
    ),
    pdf=Attachment("application/pdf", PDF, "CBC report"),
)
CHEST_XRAY = ImagingReport(
    code=Concept.of(loinc("36643-5", "XR Chest 2 Views"), text="Chest X-ray PA and lateral"),
    modality="DX",
    study_uid="1.2.826.0.1.3680043.8.498.10368404844741579486264127104402",
    series_uid="1.2.826.0.1.3680043.8.498.10368404844741579486264127104403",
    conclusion="No active lung lesion. Cardiac silhouette normal.",
    issued=NOW - timedelta(hours=1),
    key_image=Attachment("image/jpeg", JPEG, "PA view"),
    pdf=Attachment("application/pdf", PDF, "Chest X-ray report"),
)

OP_CONSULTATION = OPConsultation(
    chief_complaints=(
        Condition(Concept.of(snomed("29857009", "Chest pain")), onset=date(2026, 11, 24)),
    ),
    physical_examination=(HEART_RATE, BLOOD_PRESSURE),
    allergies=(
        Allergy(
            Concept.of(snomed("91936005", "Allergy to penicillin")),
            reaction=Concept.of(snomed("247472004", "Wheal")),
            criticality="high",
        ),
    ),
    medical_history=(
        Condition(
            Concept.of(snomed("38341003", "Hypertensive disorder, systemic arterial")),
            note="On treatment since 2019",
        ),
    ),
    family_history=(
        FamilyHistory(Relationship.FATHER, Concept.of(snomed("22298006", "Myocardial infarction"))),
    ),
    investigation_advice=(
        Investigation(Concept.of(snomed("29303009", "Electrocardiographic procedure"))),
    ),
    medications=(PARACETAMOL, AMLODIPINE),
    follow_up=FollowUp(NOW + timedelta(days=7), "Review with ECG and lipid profile"),
    procedures=(
        Procedure(Concept.of(snomed("29303009", "Electrocardiographic procedure")), performed=NOW),
    ),
    referrals=(
        Referral(
            Concept.of(snomed("306206005", "Referral to service"), text="Cardiology referral"),
            to="SKIMS Soura, Cardiology",
            reason="Exertional chest pain",
        ),
    ),
    other_observations=(Observation(Concept("Pain score"), "4/10"),),
    documents=(Document(Attachment("application/pdf", PDF, "OPD slip")),),
    diagnoses=(Diagnosis(Concept.of(snomed("194828000", "Angina"), text="Stable angina")),),
)

PRESCRIPTION = Prescription(
    medications=(PARACETAMOL, AMLODIPINE),
    signed_copy=Attachment("application/pdf", PDF, "Signed prescription"),
)

DISCHARGE_SUMMARY = DischargeSummary(
    chief_complaints=(
        Condition(Concept.of(snomed("267036007", "Dyspnea"), text="Breathlessness")),
    ),
    physical_examination=(BLOOD_PRESSURE,),
    allergies=(Allergy(Concept.of(snomed("91936005", "Allergy to penicillin"))),),
    medical_history=(
        Condition(Concept.of(snomed("44054006", "Diabetes mellitus type 2"))),
        Procedure(
            Concept.of(snomed("80146002", "Excision of appendix")), performed=date(2010, 5, 1)
        ),
    ),
    family_history=(
        FamilyHistory(
            Relationship.MOTHER, Concept.of(snomed("44054006", "Diabetes mellitus type 2"))
        ),
    ),
    investigations=(CBC, CHEST_XRAY),
    medications=(AMLODIPINE,),
    procedures=(
        Procedure(
            Concept.of(snomed("40701008", "Echocardiography")), performed=NOW - timedelta(days=3)
        ),
    ),
    care_plan=CarePlan(
        "Discharge advice",
        "Low-salt diet, walk 30 minutes daily, review in OPD after 2 weeks.",
        start=date(2026, 11, 26),
        end=date(2026, 12, 10),
    ),
    documents=(Document(Attachment("application/pdf", PDF, "Signed discharge summary")),),
    diagnoses=(Diagnosis(Concept.of(snomed("42343007", "Congestive heart failure")), final=True),),
)

IMMUNIZATIONS = Immunizations(
    immunizations=(
        Vaccination(
            Concept.of(snomed("871761004", "Rotavirus vaccine")),
            occurred=NOW - timedelta(hours=1),
            lot_number="RV-2026-0915",
            dose_number=2,
            series="Rotavirus (UIP)",
            brand_name="Rotavac",
            route=Concept.of(snomed("26643006", "Oral route")),
        ),
        Vaccination(
            Concept.of(
                snomed("871929006", "Diphtheria and hepatitis B and tetanus vaccine"),
                text="Pentavalent (DPT-HepB-Hib)",
            ),
            occurred=NOW - timedelta(hours=1),
            lot_number="PV-7781",
            dose_number=2,
            route=Concept.of(ROUTE_INTRAMUSCULAR),
            site=Concept.of(SITE_LEFT_UPPER_ARM),
        ),
    ),
    recommendation=VaccineRecommendation(
        Concept.of(snomed("871761004", "Rotavirus vaccine")), due=date(2026, 12, 24), dose_number=3
    ),
)

HEALTH_DOCUMENTS = HealthDocuments(
    documents=(
        Document(
            Attachment(
                "application/pdf",
                PDF,
                "Old discharge card 2019",
                created=NOW - timedelta(days=2000),
            ),
            description="Discharge card from SMHS Hospital, 2019",
        ),
        Document(Attachment("image/png", PNG, "Old prescription (photo)")),
    ),
)

WELLNESS = Wellness(
    vital_signs=(HEART_RATE, BLOOD_PRESSURE),
    body_measurements=(
        Observation(
            Concept.of(BODY_MEASUREMENTS["body_weight"].coding), Quantity("62.5", "kg", "kg")
        ),
        Observation(Concept.of(BODY_MEASUREMENTS["body_height"].coding), Quantity(158, "cm", "cm")),
    ),
    physical_activity=(
        Observation(
            Concept.of(PHYSICAL_ACTIVITY["steps"].coding), Quantity(6500, "{steps}", "steps")
        ),
    ),
    general_assessment=(
        Observation(
            Concept.of(GENERAL_ASSESSMENT["blood_glucose"].coding),
            Quantity(142, "mg/dL", "mg/dL"),
            reference_range=ReferenceRange(high=Quantity(140, "mg/dL")),
        ),
    ),
    lifestyle=(Observation(Concept.of(TOBACCO_SMOKING), Concept.of(NEVER_SMOKED)),),
)

INVOICE = Invoice(
    number="GMC/OPD/2026/004211",
    type=BillingCode.OPD,
    date=NOW,
    lines=(
        InvoiceLine(
            Concept("OPD consultation"), BillingCode.CONSULTATION, Decimal(1), Decimal(100)
        ),
        InvoiceLine(
            Concept("Paracetamol 500 mg tablet"),
            BillingCode.MEDICINES,
            quantity=Decimal(10),
            unit_price=Decimal("1.80"),
            mrp=Decimal("2.00"),
            discount=Decimal("2.00"),
            cgst_percent=Decimal(6),
            sgst_percent=Decimal(6),
        ),
    ),
)

# (name, content, context) for every record type; lab and imaging are both
# DiagnosticReport records.
SAMPLES: list[tuple[str, RecordContent, RecordContext]] = [
    ("op_consultation", OP_CONSULTATION, context()),
    ("prescription", PRESCRIPTION, context()),
    ("lab_report", CBC, context()),
    ("imaging_report", CHEST_XRAY, context()),
    ("discharge_summary", DISCHARGE_SUMMARY, context(ADMISSION)),
    ("immunization", IMMUNIZATIONS, context()),
    ("health_document", HEALTH_DOCUMENTS, context(None)),
    ("wellness", WELLNESS, context(None)),
    ("invoice", INVOICE, context()),
]
