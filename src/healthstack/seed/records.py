"""The demo's health records: seeded ABHA holders with visits and documents at several
facilities that run the state HMIS (the HIPs), so a doctor elsewhere can ask for them.

- HIPs: the HMIS facilities after the first (the first, GMC Srinagar, is where the demo
  doctor works and asks), ``HIP_COUNT`` of them.
- Patients: the first ``PATIENTS`` adult ABHA holders with a mobile, in account order.
  Each is registered at three HIPs: at two with their ABHA (number and preferred
  address) and at the third with only their mobile and demographics, as a facility that
  never saw the ABHA card would have them.
- Visits and documents (all eight ABDM record types): an OPD visit with a consultation,
  prescription, lab report and invoice; an IPD admission with a discharge summary, an
  imaging report and an invoice; a later OPD visit with an immunization record and a
  wellness record; at the mobile-only facility an OPD visit with a consultation and
  scanned old records (HealthDocumentRecord). Every bundle goes through
  ``records.care_contexts.add_document`` (validated like any other record).

Linking is *not* done here: the consent manager's tables are not ours to write, and the
gateway is not registered yet when the seed runs. Care contexts with a known ABHA are
left ``pending`` and go through the protocol when the demo runs (``healthstack demo``
registers the HMIS bridge and queues them; ``healthstack records link-pending`` does it
by hand); the mobile-only ones stay ``unlinked`` until the patient discovers them from
the PHR and links them with the HIP's OTP.

Deterministic for a seed: one RNG from (seed, "records"); bundle ids from ``seeded_ids``.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from healthstack.kernel.context import SYSTEM_ACTOR, Purpose, RequestContext
from healthstack.records.documents.bundle import seeded_ids
from healthstack.records.documents.model import (
    Allergy,
    Attachment,
    CarePlan,
    Concept,
    Condition,
    Diagnosis,
    DischargeSummary,
    Document,
    Dosage,
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
    Practitioner,
    Prescription,
    Quantity,
    RecordContent,
    ReferenceRange,
    Specimen,
    Vaccination,
    VaccineRecommendation,
    Wellness,
)
from healthstack.records.terminology import (
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
    EncounterClass,
    loinc,
    snomed,
)
from healthstack.runtime import Runtime

PATIENTS = 8
_HEP_B = snomed("836374004", "Hepatitis B virus antigen-containing vaccine product")
HIP_COUNT = 4
IST = timezone(timedelta(hours=5, minutes=30))
SEED_CONTEXT = RequestContext(actor=SYSTEM_ACTOR, purpose=Purpose.SEEDING)

_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def _image(fmt: str, shade: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (shade, shade, shade)).save(buf, format=fmt)
    return buf.getvalue()


@dataclass
class RecordsSeedResult:
    hips: list[str] = field(default_factory=list)
    patients: int = 0
    facility_patients: int = 0
    care_contexts: int = 0
    documents: int = 0
    by_type: dict[str, int] = field(default_factory=dict)


# --------------------------------------------------------------------------- contents

_COMPLAINTS = [
    (snomed("29857009", "Chest pain"), snomed("194828000", "Angina")),
    (
        snomed("25064002", "Headache"),
        snomed("38341003", "Hypertensive disorder, systemic arterial"),
    ),
    (snomed("49727002", "Cough"), snomed("195662009", "Acute viral pharyngitis")),
    (snomed("386661006", "Fever"), snomed("38362002", "Dengue")),
    (snomed("21522001", "Abdominal pain"), snomed("235595009", "Gastroesophageal reflux disease")),
]
_MEDICINES = [
    ("Paracetamol 500 mg tablet", snomed("322236009", "Acetaminophen 500 mg oral tablet")),
    ("Amlodipine 5 mg tablet", None),
    ("Pantoprazole 40 mg tablet", None),
    ("Cetirizine 10 mg tablet", None),
    ("Metformin 500 mg tablet", None),
]


def _medication(rng: random.Random) -> MedicationOrder:
    text, coding = rng.choice(_MEDICINES)
    times = rng.choice((1, 2, 3))
    days = rng.choice((3, 5, 7, 30))
    return MedicationOrder(
        Concept.of(coding, text=text) if coding else Concept(text),
        Dosage(
            f"1 tablet {('once', 'twice', 'three times')[times - 1]} a day for {days} days",
            dose=Quantity(1, "{tbl}", "tablet"),
            frequency=times,
            duration_days=days,
            route=Concept.of(ROUTE_ORAL),
        ),
    )


def _vitals(rng: random.Random, at: datetime) -> tuple[Observation, ...]:
    return (
        Observation(
            Concept.of(VITAL_SIGNS["heart_rate"].coding, text="Pulse"),
            Quantity(rng.randint(64, 104), "/min", "beats/min"),
            effective=at,
        ),
        Observation(
            Concept.of(BLOOD_PRESSURE_PANEL, text="Blood pressure"),
            components=(
                ObservationComponent(
                    Concept.of(SYSTOLIC.coding), Quantity(rng.randint(104, 162), "mm[Hg]", "mmHg")
                ),
                ObservationComponent(
                    Concept.of(DIASTOLIC.coding), Quantity(rng.randint(66, 98), "mm[Hg]", "mmHg")
                ),
            ),
            effective=at,
        ),
    )


def op_consultation(rng: random.Random, at: datetime) -> OPConsultation:
    complaint, diagnosis = rng.choice(_COMPLAINTS)
    return OPConsultation(
        chief_complaints=(Condition(Concept.of(complaint), onset=(at - timedelta(days=3)).date()),),
        physical_examination=_vitals(rng, at),
        allergies=(
            (Allergy(Concept.of(snomed("91936005", "Allergy to penicillin"))),)
            if rng.random() < 0.3
            else ()
        ),
        investigation_advice=(
            Investigation(Concept.of(snomed("26604007", "Complete blood count"))),
        ),
        medications=(_medication(rng), _medication(rng)),
        follow_up=FollowUp(at + timedelta(days=14), "Review with reports"),
        diagnoses=(Diagnosis(Concept.of(diagnosis)),),
    )


def prescription(rng: random.Random, at: datetime) -> Prescription:
    return Prescription(medications=(_medication(rng), _medication(rng)))


def lab_report(rng: random.Random, at: datetime) -> LabReport:
    hb = Decimal(rng.randint(95, 160)) / 10
    return LabReport(
        code=Concept.of(loinc("58410-2", "CBC panel - Blood by Automated count")),
        results=(
            Observation(
                Concept.of(loinc("718-7", "Hemoglobin [Mass/volume] in Blood"), text="Haemoglobin"),
                Quantity(hb, "g/dL", "g/dL"),
                reference_range=ReferenceRange(Quantity(12, "g/dL"), Quantity("15.5", "g/dL")),
                interpretation="L" if hb < 12 else "N",
            ),
            Observation(
                Concept.of(loinc("777-3", "Platelets [#/volume] in Blood by Automated count")),
                Quantity(rng.randint(150, 400), "10*3/uL", "×10³/µL"),
                reference_range=ReferenceRange(
                    Quantity(150, "10*3/uL", "×10³/µL"), Quantity(410, "10*3/uL", "×10³/µL")
                ),
            ),
        ),
        conclusion="Mild anaemia." if hb < 12 else "Within normal limits.",
        issued=at + timedelta(hours=4),
        specimen=Specimen(
            Concept.of(SPECIMEN_BLOOD), at + timedelta(hours=1), at + timedelta(hours=2)
        ),
        pdf=Attachment("application/pdf", _PDF, "CBC report"),
    )


def imaging_report(rng: random.Random, at: datetime, n: int) -> ImagingReport:
    return ImagingReport(
        code=Concept.of(loinc("36643-5", "XR Chest 2 Views"), text="Chest X-ray PA view"),
        modality="DX",
        study_uid=f"1.2.826.0.1.3680043.8.498.{1000 + n}{rng.randint(10**9, 10**10 - 1)}",
        conclusion=rng.choice(
            ("No active lung lesion.", "Mild cardiomegaly; lungs clear.", "Right lower zone haze.")
        ),
        issued=at + timedelta(hours=6),
        key_image=Attachment("image/jpeg", _image("JPEG", 40 + n % 150), "PA view"),
        pdf=Attachment("application/pdf", _PDF, "Chest X-ray report"),
    )


def discharge_summary(
    rng: random.Random, at: datetime, end: datetime, imaging: ImagingReport
) -> DischargeSummary:
    return DischargeSummary(
        chief_complaints=(
            Condition(Concept.of(snomed("267036007", "Dyspnea"), text="Breathlessness")),
        ),
        physical_examination=_vitals(rng, at),
        medical_history=(Condition(Concept.of(snomed("44054006", "Diabetes mellitus type 2"))),),
        investigations=(imaging,),
        medications=(_medication(rng),),
        care_plan=CarePlan(
            "Discharge advice",
            "Low-salt diet, walk 30 minutes daily, review in OPD after two weeks.",
            start=end.date(),
            end=(end + timedelta(days=14)).date(),
        ),
        diagnoses=(Diagnosis(Concept.of(snomed("233604007", "Pneumonia")), final=True),),
    )


def immunization(rng: random.Random, at: datetime) -> Immunizations:
    return Immunizations(
        immunizations=(
            Vaccination(
                Concept.of(_HEP_B, text="Hepatitis B vaccine"),
                occurred=at,
                lot_number=f"HB-{rng.randint(1000, 9999)}",
                dose_number=1,
                route=Concept.of(ROUTE_INTRAMUSCULAR),
                site=Concept.of(SITE_LEFT_UPPER_ARM),
            ),
        ),
        recommendation=VaccineRecommendation(
            Concept.of(_HEP_B, text="Hepatitis B vaccine"),
            due=(at + timedelta(days=30)).date(),
            dose_number=2,
        ),
    )


def wellness(rng: random.Random, at: datetime) -> Wellness:
    return Wellness(
        vital_signs=_vitals(rng, at),
        body_measurements=(
            Observation(
                Concept.of(BODY_MEASUREMENTS["body_weight"].coding),
                Quantity(rng.randint(48, 90), "kg", "kg"),
            ),
            Observation(
                Concept.of(BODY_MEASUREMENTS["body_height"].coding),
                Quantity(rng.randint(150, 182), "cm", "cm"),
            ),
        ),
        physical_activity=(
            Observation(
                Concept.of(PHYSICAL_ACTIVITY["steps"].coding),
                Quantity(rng.randint(2000, 9000), "{steps}", "steps"),
            ),
        ),
        general_assessment=(
            Observation(
                Concept.of(GENERAL_ASSESSMENT["blood_glucose"].coding),
                Quantity(rng.randint(80, 160), "mg/dL", "mg/dL"),
            ),
        ),
        lifestyle=(Observation(Concept.of(TOBACCO_SMOKING), Concept.of(NEVER_SMOKED)),),
    )


def invoice(rng: random.Random, at: datetime, number: str, *, ipd: bool) -> Invoice:
    lines = [
        InvoiceLine(
            Concept("Consultation"),
            BillingCode.CONSULTATION,
            Decimal(1),
            Decimal(100 if not ipd else 300),
        ),
        InvoiceLine(
            Concept("Medicines"),
            BillingCode.MEDICINES,
            quantity=Decimal(rng.randint(5, 20)),
            unit_price=Decimal("2.50"),
            cgst_percent=Decimal(6),
            sgst_percent=Decimal(6),
        ),
    ]
    if ipd:
        lines.append(
            InvoiceLine(Concept("Ward charges"), BillingCode.NURSING, Decimal(3), Decimal(500))
        )
    return Invoice(
        number=number,
        type=BillingCode.IPD if ipd else BillingCode.OPD,
        date=at,
        lines=tuple(lines),
    )


def health_documents(rng: random.Random, at: datetime) -> HealthDocuments:
    return HealthDocuments(
        documents=(
            Document(
                Attachment(
                    "application/pdf", _PDF, "Old discharge card", created=at - timedelta(days=900)
                ),
                description="Discharge card from an earlier admission (scanned)",
            ),
            Document(Attachment("image/png", _image("PNG", 200), "Old prescription (photo)")),
        ),
    )


# --------------------------------------------------------------------------- who and where


def _hips(session: Session) -> list[tuple[str, str]]:
    from healthstack.facilities.models import Facility

    rows = session.execute(
        select(Facility.hfr_id, Facility.name)
        .where(Facility.hmis.is_not(None), Facility.status == "verified")
        .order_by(Facility.hfr_id)
        .limit(HIP_COUNT + 1)
    ).all()
    return [(str(h), str(n)) for h, n in rows[1:]]


def _doctor(session: Session, hfr_id: str, n: int) -> Practitioner:
    from healthstack.professionals.models import Professional, ProfessionalWorkplace

    row = session.execute(
        select(Professional.hpr_id, Professional.name)
        .join(ProfessionalWorkplace, ProfessionalWorkplace.professional_id == Professional.id)
        .where(ProfessionalWorkplace.hfr_id == hfr_id, Professional.category == "doctor")
        .order_by(Professional.id)
        .limit(1)
        .offset(n % 3)
    ).first()
    if row is None:
        return Practitioner(hpr_id=f"7100000000{n % 10000:04d}", name="Duty Medical Officer")
    return Practitioner(hpr_id=str(row[0]), name=f"Dr. {row[1]}")


def _patients(session: Session, now: datetime) -> list[Any]:
    from healthstack.abha.models import AbhaAccount

    return list(
        session.scalars(
            select(AbhaAccount)
            .where(
                AbhaAccount.mobile.is_not(None),
                AbhaAccount.status == "ACTIVE",
                AbhaAccount.year_of_birth <= now.year - 18,
            )
            .order_by(AbhaAccount.id)
            .limit(PATIENTS)
        )
    )


def _address(account: Any, cm_id: str) -> str:
    preferred = next((a for a in account.addresses if a.is_preferred), None)
    handle = (
        preferred.handle
        if preferred
        else (account.addresses[0].handle if account.addresses else None)
    )
    return f"{handle or account.abha_number}@{cm_id}"


# --------------------------------------------------------------------------- seeding


def seed_records(session: Session, runtime: Runtime, *, seed: int = 42) -> RecordsSeedResult:
    """Seed the demo's facility records in the caller's transaction (see the module
    docstring). Nothing is seeded when there are no HMIS facilities or ABHA holders."""
    from healthstack.records import care_contexts as cc

    result = RecordsSeedResult()
    now = runtime.clock.now()
    hips = _hips(session)
    accounts = _patients(session, now)
    if not hips or not accounts:
        return result
    result.hips = [h for h, _ in hips]
    rng = random.Random(f"{seed}:records")
    ids = seeded_ids(seed)
    ctx = SEED_CONTEXT
    cm_id = runtime.settings.abha.cm_id

    def add(visit: Any, content: RecordContent, doctor: Practitioner, at: datetime) -> None:
        doc = cc.record_document(
            session,
            ctx,
            runtime,
            care_context=visit,
            content=content,
            practitioner=doctor,
            ids=ids,
            now=at,
            link=False,
        )
        result.documents += 1
        result.by_type[doc.hi_type] = result.by_type.get(doc.hi_type, 0) + 1

    for i, account in enumerate(accounts):
        result.patients += 1
        slots = [hips[(i + k) % len(hips)] for k in range(min(3, len(hips)))]
        for k, (hfr_id, name) in enumerate(slots):
            with_abha = k < 2 or len(slots) < 3
            patient = cc.ensure_patient(
                session,
                ctx,
                runtime,
                hip_id=hfr_id,
                mrn=f"MRN-{hfr_id[-4:]}-{100000 + i:06d}",
                name=account.name,
                gender=account.gender,
                year_of_birth=account.year_of_birth,
                mobile=account.mobile,
                abha_number=account.abha_number if with_abha else None,
                abha_address=_address(account, cm_id) if with_abha else None,
            )
            result.facility_patients += 1
            doctor = _doctor(session, hfr_id, i)
            base = (
                (now - timedelta(days=rng.randint(300, 700)))
                .astimezone(IST)
                .replace(hour=10, minute=rng.randint(0, 59), second=0, microsecond=0)
            )
            if k == 0:
                visit = cc.open_care_context(
                    session,
                    ctx,
                    runtime,
                    patient=patient,
                    kind=EncounterClass.OPD,
                    start=base,
                    facility=name,
                )
                result.care_contexts += 1
                add(visit, op_consultation(rng, base), doctor, base + timedelta(minutes=20))
                add(visit, prescription(rng, base), doctor, base + timedelta(minutes=25))
                add(visit, lab_report(rng, base), doctor, base + timedelta(hours=4))
                add(
                    visit,
                    invoice(rng, base, f"{hfr_id[-4:]}/OPD/{i + 1:05d}", ipd=False),
                    doctor,
                    base + timedelta(minutes=30),
                )
            elif k == 1 and with_abha:
                start = base + timedelta(days=100)
                end = start + timedelta(days=4)
                admission = cc.open_care_context(
                    session,
                    ctx,
                    runtime,
                    patient=patient,
                    kind=EncounterClass.IPD,
                    start=start,
                    end=end,
                    facility=name,
                )
                result.care_contexts += 1
                imaging = imaging_report(rng, start, i)
                add(admission, imaging, doctor, start + timedelta(hours=6))
                add(admission, discharge_summary(rng, start, end, imaging), doctor, end)
                add(
                    admission,
                    invoice(rng, end, f"{hfr_id[-4:]}/IPD/{i + 1:05d}", ipd=True),
                    doctor,
                    end,
                )
                later = (
                    (now - timedelta(days=rng.randint(20, 60)))
                    .astimezone(IST)
                    .replace(hour=11, minute=0, second=0, microsecond=0)
                )
                visit = cc.open_care_context(
                    session,
                    ctx,
                    runtime,
                    patient=patient,
                    kind=EncounterClass.OPD,
                    start=later,
                    facility=name,
                )
                result.care_contexts += 1
                add(visit, immunization(rng, later), doctor, later + timedelta(minutes=15))
                add(visit, wellness(rng, later), doctor, later + timedelta(minutes=20))
            else:
                start = base + timedelta(days=200)
                visit = cc.open_care_context(
                    session,
                    ctx,
                    runtime,
                    patient=patient,
                    kind=EncounterClass.OPD,
                    start=start,
                    facility=name,
                )
                result.care_contexts += 1
                add(visit, op_consultation(rng, start), doctor, start + timedelta(minutes=20))
                add(visit, health_documents(rng, start), doctor, start + timedelta(minutes=30))
    session.flush()
    return result
