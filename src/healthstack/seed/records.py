"""The demo's health records: seeded ABHA holders with visits and documents at several
facilities that run the state HMIS (the HIPs), so a doctor elsewhere can ask for them.

- HIPs: the HMIS facilities after the first (the first, GMC Srinagar, is where the demo
  doctor works and asks), ``HIP_COUNT`` of them.
- Patients: ABHA holders with a mobile, in account order: the first ``ADULTS`` adults
  and the first ``CHILDREN`` children of school age (their household's mobile). Each is
  registered at three HIPs: at two with their ABHA (number and preferred address) and
  at the third with only their mobile and demographics, as a facility that never saw
  the ABHA card would have them.
- Visits and documents (all eight ABDM record types): an OPD visit with a consultation,
  prescription, lab report and invoice; an IPD admission with a discharge summary, an
  imaging report and an invoice; a later OPD visit with an immunization record and a
  wellness record; at the mobile-only facility an OPD visit with a consultation and
  scanned old records (HealthDocumentRecord). What is in them is clinically coherent
  for the patient's age and sex (``seed.clinical``). Every bundle goes through
  ``facility.records.care_contexts.add_document`` (validated like any other record).

Linking is *not* done here: the consent manager's tables are not ours to write, and the
gateway is not registered yet when the seed runs. Care contexts with a known ABHA are
left ``pending`` and go through the protocol when the demo runs (``healthstack demo``
registers the HMIS bridge and queues them; ``healthstack records link-pending`` does it
by hand); the mobile-only ones stay ``unlinked`` until the patient discovers them from
the PHR and links them with the HIP's OTP.

Deterministic for a seed: one RNG from (seed, "records"); bundle ids from ``seeded_ids``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from healthstack.kernel.context import SYSTEM_ACTOR, Purpose, RequestContext
from healthstack.protocol.fhir.documents.bundle import seeded_ids
from healthstack.protocol.fhir.documents.model import (
    DischargeSummary,
    HealthDocuments,
    ImagingReport,
    Immunizations,
    Invoice,
    LabReport,
    OPConsultation,
    Practitioner,
    Prescription,
    RecordContent,
    Wellness,
)
from healthstack.protocol.fhir.terminology import EncounterClass
from healthstack.runtime import Runtime
from healthstack.seed import clinical
from healthstack.seed.clinical import Person, Profile, plan_patient

ADULTS = 6
CHILDREN = 2
PATIENTS = ADULTS + CHILDREN
CHILD_AGES = (5, 15)  # school age, so every visit of the last two years is at 3 or more
HIP_COUNT = 4
IST = timezone(timedelta(hours=5, minutes=30))
SEED_CONTEXT = RequestContext(actor=SYSTEM_ACTOR, purpose=Purpose.SEEDING)


@dataclass
class RecordsSeedResult:
    hips: list[str] = field(default_factory=list)
    patients: int = 0
    facility_patients: int = 0
    care_contexts: int = 0
    documents: int = 0
    by_type: dict[str, int] = field(default_factory=dict)


# --------------------------------------------------------------------------- samples

# One coherent patient for the records tests and benchmarks that need a document of
# each type: a woman of 52 treated for hypertension since 2015.
SAMPLE = Profile(
    Person("F", date(1974, 5, 1)),
    conditions={"hypertension": date(2015, 1, 10)},
    adult_weight=62.0,
    adult_height=158,
)


def op_consultation(rng: random.Random, at: datetime) -> OPConsultation:
    return clinical.consultation(rng, SAMPLE, at, clinical.PROBLEMS["hypertension"])[0]


def prescription(rng: random.Random, at: datetime) -> Prescription:
    return clinical.consultation(rng, SAMPLE, at, clinical.PROBLEMS["hypertension"])[1]


def lab_report(rng: random.Random, at: datetime) -> LabReport:
    return clinical.cbc(rng, SAMPLE, at)


def imaging_report(rng: random.Random, at: datetime, n: int) -> ImagingReport:
    return _pneumonia(rng, at, n)[0]


def discharge_summary(rng: random.Random, at: datetime, n: int = 0) -> DischargeSummary:
    return _pneumonia(rng, at, n)[1]


def _pneumonia(rng: random.Random, at: datetime, n: int) -> tuple[ImagingReport, DischargeSummary]:
    stay = clinical.ADMISSION_BY_KEY["pneumonia"]
    return clinical.admission(rng, SAMPLE, at, at + timedelta(days=stay.days), stay, n)


def immunization(rng: random.Random, at: datetime) -> Immunizations:
    return clinical.immunization(rng, SAMPLE, at)


def wellness(rng: random.Random, at: datetime) -> Wellness:
    return clinical.wellness(rng, SAMPLE, at)


def invoice(rng: random.Random, at: datetime, number: str, *, ipd: bool) -> Invoice:
    return clinical.invoice(rng, at, number, 2, ipd=ipd, days=4 if ipd else 0)


def health_documents(rng: random.Random, at: datetime) -> HealthDocuments:
    return clinical.health_documents(at)


# --------------------------------------------------------------------------- who and where


def _hips(session: Session) -> list[tuple[str, str]]:
    from healthstack.network.hfr.models import Facility

    rows = session.execute(
        select(Facility.hfr_id, Facility.name)
        .where(Facility.hmis.is_not(None), Facility.status == "verified")
        .order_by(Facility.hfr_id)
        .limit(HIP_COUNT + 1)
    ).all()
    return [(str(h), str(n)) for h, n in rows[1:]]


def _doctor(session: Session, hfr_id: str, n: int) -> Practitioner:
    from healthstack.network.hpr.models import Professional, ProfessionalWorkplace

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


def _years_ago(today: date, years: int) -> date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def _patients(session: Session, now: datetime) -> list[Any]:
    """The first ``ADULTS`` adults and ``CHILDREN`` school-age children with a mobile."""
    from healthstack.network.abha.models import AbhaAccount

    def first(limit: int, *where: Any) -> list[Any]:
        return list(
            session.scalars(
                select(AbhaAccount)
                .where(
                    AbhaAccount.mobile.is_not(None),
                    AbhaAccount.status == "ACTIVE",
                    AbhaAccount.birth_date.is_not(None),
                    *where,
                )
                .order_by(AbhaAccount.id)
                .limit(limit)
            )
        )

    today = now.date()
    young, old = CHILD_AGES
    adults = first(ADULTS, AbhaAccount.birth_date <= _years_ago(today, 18))
    children = first(
        CHILDREN,
        AbhaAccount.birth_date > _years_ago(today, old + 1),
        AbhaAccount.birth_date <= _years_ago(today, young),
    )
    return sorted(adults + children, key=lambda a: a.id)


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
    from healthstack.facility.records import care_contexts as cc
    from healthstack.facility.records.config import ig_for
    from healthstack.integrations.hfr import FixedFacilityNames

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
    # The registry's names of the HIPs seeded (read above).
    names = FixedFacilityNames(dict(hips))
    ig = ig_for(runtime.settings)

    def add(visit: Any, content: RecordContent, doctor: Practitioner, at: datetime) -> None:
        doc = cc.record_document(
            session,
            ctx,
            clock=runtime.clock,
            ig=ig,
            outbox=runtime.abdm_outbox(),
            hasher=runtime.hasher,
            names=names,
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
        starts = [
            (now - timedelta(days=rng.randint(300, 700)))
            .astimezone(IST)
            .replace(hour=10, minute=rng.randint(0, 59), second=0, microsecond=0)
            for _ in slots
        ]
        later = (
            (now - timedelta(days=rng.randint(20, 60)))
            .astimezone(IST)
            .replace(hour=11, minute=0, second=0, microsecond=0)
        )
        plan = plan_patient(
            rng,
            Person(account.gender, account.birth_date),
            starts=starts,
            later=later,
            today=now.date(),
            invoice_numbers=[
                (f"{h[-4:]}/OPD/{i + 1:05d}", f"{h[-4:]}/IPD/{i + 1:05d}") for h, _ in slots
            ],
            n=i,
        )
        for k, ((hfr_id, name), visits) in enumerate(zip(slots, plan.slots, strict=True)):
            with_abha = k < 2 or len(slots) < 3
            patient = cc.ensure_patient(
                session,
                ctx,
                clock=runtime.clock,
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
            for visit in visits:
                context = cc.open_care_context(
                    session,
                    ctx,
                    clock=runtime.clock,
                    names=names,
                    patient=patient,
                    kind=EncounterClass(visit.kind),
                    start=visit.start,
                    end=visit.end,
                    facility=name,
                )
                result.care_contexts += 1
                for content, at in visit.records:
                    add(context, content, doctor, at)
    session.flush()
    return result
