"""The eight record builders: record content → FHIR document bundle (IG 6.0.0).

Each ``build_*`` is a pure function of the ``RecordContext`` (patient, author, facility,
visit), the content, an id factory and the time: it returns the Bundle as a JSON-ready
dict whose Composition carries the record profile, type and sections the IG fixes
(REFERENCE.md §2.2). ``build_document`` picks the builder by the content's type;
``display_text`` is the care context's label, which carries no clinical detail.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone

from healthstack.protocol.fhir.documents import resources as r
from healthstack.protocol.fhir.documents.bundle import (
    DocumentAssembly,
    IdFactory,
    Resource,
    Section,
    coded,
)
from healthstack.protocol.fhir.documents.model import (
    Condition,
    Diagnosis,
    DischargeSummary,
    DocumentInputError,
    Encounter,
    HealthDocuments,
    ImagingReport,
    Immunizations,
    Invoice,
    LabReport,
    OPConsultation,
    Organization,
    Prescription,
    Procedure,
    RecordContent,
    RecordContext,
    Wellness,
)
from healthstack.protocol.fhir.terminology import (
    DISCHARGE_SUMMARY_TYPE,
    DS_ALLERGIES,
    DS_CARE_PLAN,
    DS_CHIEF_COMPLAINTS,
    DS_DOCUMENT_REFERENCE,
    DS_FAMILY_HISTORY,
    DS_INVESTIGATIONS,
    DS_MEDICAL_HISTORY,
    DS_MEDICATIONS,
    DS_PHYSICAL_EXAMINATION,
    DS_PROCEDURES,
    HEALTH_DOCUMENT_SECTION,
    HEALTH_DOCUMENT_TYPE,
    IMMUNIZATION_SECTION,
    IMMUNIZATION_TYPE,
    INVOICE_TYPE_TEXT,
    OBSERVATION_ACTIVITY,
    OBSERVATION_EXAM,
    OBSERVATION_SOCIAL_HISTORY,
    OBSERVATION_VITAL_SIGNS,
    OP_ALLERGIES,
    OP_CHIEF_COMPLAINTS,
    OP_CONSULTATION_TYPE,
    OP_DOCUMENT_REFERENCE,
    OP_FAMILY_HISTORY,
    OP_FOLLOW_UP,
    OP_INVESTIGATION_ADVICE,
    OP_MEDICAL_HISTORY,
    OP_MEDICATIONS,
    OP_OTHER_OBSERVATIONS,
    OP_PHYSICAL_EXAMINATION,
    OP_PROCEDURE,
    OP_REFERRAL,
    PRESCRIPTION_SECTION,
    PRESCRIPTION_TYPE,
    RECORD_PROFILE,
    WELLNESS_DOCUMENT_SECTION_TITLE,
    WELLNESS_PROFILE,
    WELLNESS_TYPE_TEXT,
    EncounterClass,
    RecordType,
    WellnessSection,
)

IST = timezone(timedelta(hours=5, minutes=30), "IST")


def _start(context: RecordContext, ids: IdFactory | None, now: datetime) -> DocumentAssembly:
    return DocumentAssembly(context, ids=ids or uuid.uuid4, now=now)


def _profile(kind: RecordType) -> str:
    return RECORD_PROFILE[kind]


def _history(doc: DocumentAssembly, items: tuple[Condition | Procedure, ...]) -> list[str]:
    return [
        r.add_condition(doc, i) if isinstance(i, Condition) else r.add_procedure(doc, i)
        for i in items
    ]


def _diagnoses(doc: DocumentAssembly, diagnoses: tuple[Diagnosis, ...]) -> None:
    for rank, d in enumerate(diagnoses, start=1):
        url = r.add_condition(doc, Condition(d.code), diagnosis=True)
        doc.add_diagnosis(url, d.use, rank)


def _report(doc: DocumentAssembly, report: LabReport | ImagingReport) -> str:
    if isinstance(report, ImagingReport):
        return r.add_imaging_report(doc, report)
    return r.add_lab_report(doc, report)


# --------------------------------------------------------------------------- builders


def build_op_consultation(
    context: RecordContext,
    content: OPConsultation,
    *,
    now: datetime,
    ids: IdFactory | None = None,
) -> Resource:
    """An OPConsultRecord document; the encounter (the OPD visit) is required."""
    doc = _start(context, ids, now)
    c = content
    sections = [
        Section(
            "Chief complaints",
            [r.add_condition(doc, x) for x in c.chief_complaints],
            OP_CHIEF_COMPLAINTS,
        ),
        Section(
            "Physical examination",
            [r.add_observation(doc, x, category=OBSERVATION_EXAM) for x in c.physical_examination],
            OP_PHYSICAL_EXAMINATION,
        ),
        Section("Allergies", [r.add_allergy(doc, x) for x in c.allergies], OP_ALLERGIES),
        Section("Medical history", _history(doc, c.medical_history), OP_MEDICAL_HISTORY),
        Section(
            "Family history",
            [r.add_family_history(doc, x) for x in c.family_history],
            OP_FAMILY_HISTORY,
        ),
        Section(
            "Investigation advice",
            [r.add_investigation(doc, x) for x in c.investigation_advice],
            OP_INVESTIGATION_ADVICE,
        ),
        Section(
            "Medications",
            [r.add_medication_request(doc, x) for x in c.medications],
            OP_MEDICATIONS,
        ),
        Section(
            "Follow up",
            [r.add_appointment(doc, c.follow_up)] if c.follow_up is not None else [],
            OP_FOLLOW_UP,
        ),
        Section("Procedures", [r.add_procedure(doc, x) for x in c.procedures], OP_PROCEDURE),
        Section("Referrals", [r.add_referral(doc, x) for x in c.referrals], OP_REFERRAL),
        Section(
            "Other observations",
            [r.add_observation(doc, x) for x in c.other_observations],
            OP_OTHER_OBSERVATIONS,
        ),
        Section(
            "Documents",
            [
                r.add_document_reference(doc, x, default_type=OP_CONSULTATION_TYPE)
                for x in c.documents
            ],
            OP_DOCUMENT_REFERENCE,
        ),
    ]
    _diagnoses(doc, c.diagnoses)
    return doc.finish(
        profile=_profile(RecordType.OP_CONSULTATION),
        type_=coded(OP_CONSULTATION_TYPE),
        title=c.title,
        sections=sections,
        encounter_required=True,
    )


def build_prescription(
    context: RecordContext,
    content: Prescription,
    *,
    now: datetime,
    ids: IdFactory | None = None,
) -> Resource:
    """A PrescriptionRecord: one section of MedicationRequests and, optionally, the
    signed prescription as a Binary (each entry typed, as the IG's slicing needs)."""
    doc = _start(context, ids, now)
    orders = [r.add_medication_request(doc, m) for m in content.medications]
    sections = [Section("Prescription", orders, PRESCRIPTION_SECTION, "MedicationRequest")]
    if content.signed_copy is not None:
        binary = r.add_binary(doc, content.signed_copy)
        sections.append(Section("Prescription", [binary], PRESCRIPTION_SECTION, "Binary"))
    # The IG allows exactly one section: MedicationRequests and the Binary share it.
    merged = _merge_typed(sections)
    return doc.finish(
        profile=_profile(RecordType.PRESCRIPTION),
        type_=coded(PRESCRIPTION_TYPE),
        title=content.title,
        sections=[merged],
    )


def build_diagnostic_report(
    context: RecordContext,
    content: LabReport | ImagingReport,
    *,
    now: datetime,
    ids: IdFactory | None = None,
) -> Resource:
    """A DiagnosticReportRecord holding one lab or imaging report."""
    doc = _start(context, ids, now)
    kind = r.report_type(content)
    report = _report(doc, content)
    return doc.finish(
        profile=_profile(RecordType.DIAGNOSTIC_REPORT),
        type_=coded(kind),
        title=kind.display,
        sections=[Section(kind.display, [report], kind, "DiagnosticReport")],
    )


def build_discharge_summary(
    context: RecordContext,
    content: DischargeSummary,
    *,
    now: datetime,
    ids: IdFactory | None = None,
) -> Resource:
    """A DischargeSummaryRecord; the encounter (the IPD admission) is required."""
    doc = _start(context, ids, now)
    c = content
    sections = [
        Section(
            "Chief complaints",
            [r.add_condition(doc, x) for x in c.chief_complaints],
            DS_CHIEF_COMPLAINTS,
        ),
        Section(
            "Physical examination",
            [r.add_observation(doc, x, category=OBSERVATION_EXAM) for x in c.physical_examination],
            DS_PHYSICAL_EXAMINATION,
        ),
        Section("Allergies", [r.add_allergy(doc, x) for x in c.allergies], DS_ALLERGIES),
        Section("Medical history", _history(doc, c.medical_history), DS_MEDICAL_HISTORY),
        Section(
            "Family history",
            [r.add_family_history(doc, x) for x in c.family_history],
            DS_FAMILY_HISTORY,
        ),
        Section("Investigations", [_report(doc, x) for x in c.investigations], DS_INVESTIGATIONS),
        Section(
            "Medications",
            [r.add_medication_request(doc, x) for x in c.medications],
            DS_MEDICATIONS,
        ),
        Section("Procedures", [r.add_procedure(doc, x) for x in c.procedures], DS_PROCEDURES),
        Section(
            "Care plan",
            [r.add_care_plan(doc, c.care_plan)] if c.care_plan is not None else [],
            DS_CARE_PLAN,
        ),
        Section(
            "Documents",
            [
                r.add_document_reference(doc, x, default_type=DISCHARGE_SUMMARY_TYPE)
                for x in c.documents
            ],
            DS_DOCUMENT_REFERENCE,
        ),
    ]
    _diagnoses(doc, c.diagnoses)
    return doc.finish(
        profile=_profile(RecordType.DISCHARGE_SUMMARY),
        type_=coded(DISCHARGE_SUMMARY_TYPE),
        title=c.title,
        sections=sections,
        encounter_required=True,
    )


def build_immunization_record(
    context: RecordContext,
    content: Immunizations,
    *,
    now: datetime,
    ids: IdFactory | None = None,
) -> Resource:
    """An ImmunizationRecord: doses given, the next dose due, supporting documents."""
    doc = _start(context, ids, now)
    typed = [
        Section(
            "Immunizations",
            [r.add_immunization(doc, v) for v in content.immunizations],
            IMMUNIZATION_SECTION,
            "Immunization",
        ),
        Section(
            "Immunizations",
            [r.add_recommendation(doc, content.recommendation)]
            if content.recommendation is not None
            else [],
            IMMUNIZATION_SECTION,
            "ImmunizationRecommendation",
        ),
        Section(
            "Immunizations",
            [
                r.add_document_reference(doc, d, default_type=IMMUNIZATION_TYPE)
                for d in content.documents
            ],
            IMMUNIZATION_SECTION,
            "DocumentReference",
        ),
    ]
    return doc.finish(
        profile=_profile(RecordType.IMMUNIZATION),
        type_=coded(IMMUNIZATION_TYPE),
        title=content.title,
        sections=[_merge_typed(typed)],
    )


def build_health_document_record(
    context: RecordContext,
    content: HealthDocuments,
    *,
    now: datetime,
    ids: IdFactory | None = None,
) -> Resource:
    """A HealthDocumentRecord: scanned or uploaded records as DocumentReferences."""
    doc = _start(context, ids, now)
    refs = [r.add_document_reference(doc, d) for d in content.documents]
    return doc.finish(
        profile=_profile(RecordType.HEALTH_DOCUMENT),
        type_=coded(HEALTH_DOCUMENT_TYPE),
        title=content.title,
        sections=[Section(content.title, refs, HEALTH_DOCUMENT_SECTION, "DocumentReference")],
    )


_WELLNESS_CATEGORY = {
    WellnessSection.VITAL_SIGNS: OBSERVATION_VITAL_SIGNS,
    WellnessSection.BODY_MEASUREMENT: OBSERVATION_VITAL_SIGNS,
    WellnessSection.PHYSICAL_ACTIVITY: OBSERVATION_ACTIVITY,
    WellnessSection.GENERAL_ASSESSMENT: OBSERVATION_EXAM,
    WellnessSection.WOMEN_HEALTH: OBSERVATION_EXAM,
    WellnessSection.LIFESTYLE: OBSERVATION_SOCIAL_HISTORY,
    WellnessSection.OTHER_OBSERVATIONS: None,
}


def build_wellness_record(
    context: RecordContext,
    content: Wellness,
    *,
    now: datetime,
    ids: IdFactory | None = None,
) -> Resource:
    """A WellnessRecord: sections by their fixed titles, each of its Observation profile."""
    doc = _start(context, ids, now)
    groups = {
        WellnessSection.VITAL_SIGNS: content.vital_signs,
        WellnessSection.BODY_MEASUREMENT: content.body_measurements,
        WellnessSection.PHYSICAL_ACTIVITY: content.physical_activity,
        WellnessSection.GENERAL_ASSESSMENT: content.general_assessment,
        WellnessSection.WOMEN_HEALTH: content.women_health,
        WellnessSection.LIFESTYLE: content.lifestyle,
        WellnessSection.OTHER_OBSERVATIONS: content.other_observations,
    }
    sections = [
        Section(
            title.value,
            [
                r.add_observation(
                    doc, o, profile=WELLNESS_PROFILE[title], category=_WELLNESS_CATEGORY[title]
                )
                for o in observations
            ],
        )
        for title, observations in groups.items()
    ]
    sections.append(
        Section(
            WELLNESS_DOCUMENT_SECTION_TITLE,
            [r.add_document_reference(doc, d) for d in content.documents],
        )
    )
    return doc.finish(
        profile=_profile(RecordType.WELLNESS),
        type_={"text": WELLNESS_TYPE_TEXT},
        title=content.title,
        sections=sections,
    )


def build_invoice(
    context: RecordContext,
    content: Invoice,
    *,
    now: datetime,
    ids: IdFactory | None = None,
) -> Resource:
    """An InvoiceRecord: the Invoice (line items priced in INR with NDHM price
    components and totals) and a ChargeItem per line."""
    doc = _start(context, ids, now)
    invoice = r.add_invoice(doc, content)
    return doc.finish(
        profile=_profile(RecordType.INVOICE),
        type_={"text": INVOICE_TYPE_TEXT},
        title=content.title,
        sections=[Section(content.title, [invoice], None, "Invoice")],
    )


def _merge_typed(sections: list[Section]) -> Section:
    """One section holding the entries of several, each entry keeping its ``type``
    (the IG allows a single section and slices its entries by type)."""
    first = sections[0]
    typed = [(url, s.entry_type or "") for s in sections for url in s.entries]
    return Section(first.title, (), first.code, typed=typed)


RECORD_TYPE_OF: dict[type, RecordType] = {
    OPConsultation: RecordType.OP_CONSULTATION,
    Prescription: RecordType.PRESCRIPTION,
    LabReport: RecordType.DIAGNOSTIC_REPORT,
    ImagingReport: RecordType.DIAGNOSTIC_REPORT,
    DischargeSummary: RecordType.DISCHARGE_SUMMARY,
    Immunizations: RecordType.IMMUNIZATION,
    HealthDocuments: RecordType.HEALTH_DOCUMENT,
    Wellness: RecordType.WELLNESS,
    Invoice: RecordType.INVOICE,
}


def record_type(content: RecordContent) -> RecordType:
    """The ABDM HI type a record content makes."""
    return RECORD_TYPE_OF[type(content)]


def build_document(
    context: RecordContext,
    content: RecordContent,
    *,
    now: datetime,
    ids: IdFactory | None = None,
) -> Resource:
    """The document bundle for any record content (dispatches on its type)."""
    if isinstance(content, OPConsultation):
        return build_op_consultation(context, content, now=now, ids=ids)
    if isinstance(content, Prescription):
        return build_prescription(context, content, now=now, ids=ids)
    if isinstance(content, LabReport | ImagingReport):
        return build_diagnostic_report(context, content, now=now, ids=ids)
    if isinstance(content, DischargeSummary):
        return build_discharge_summary(context, content, now=now, ids=ids)
    if isinstance(content, Immunizations):
        return build_immunization_record(context, content, now=now, ids=ids)
    if isinstance(content, HealthDocuments):
        return build_health_document_record(context, content, now=now, ids=ids)
    if isinstance(content, Wellness):
        return build_wellness_record(context, content, now=now, ids=ids)
    if isinstance(content, Invoice):
        return build_invoice(context, content, now=now, ids=ids)
    raise DocumentInputError(
        "This kind of record cannot be shared as an ABDM document.", field="content"
    )


# --------------------------------------------------------------------------- care context


def display_text(encounter: Encounter, facility: Organization | str | None = None) -> str:
    """The care context's display: visit kind, date (IST) and facility, nothing clinical
    (ABDM shows it to the patient and to other facilities before any consent)."""
    when = encounter.start.astimezone(IST).date()
    label = "OPD visit" if encounter.kind is EncounterClass.OPD else "IPD admission"
    parts = [label, _day(when)]
    name = facility.name if isinstance(facility, Organization) else facility
    if name:
        parts.append(name)
    return ", ".join(parts)


def _day(d: date) -> str:
    return f"{d.day} {d.strftime('%b')} {d.year}"
