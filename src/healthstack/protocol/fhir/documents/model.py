"""What the document builders take: typed inputs, checked when they are made.

The who and where of every record (``Patient``, ``Practitioner``, ``Organization``,
``Encounter``, gathered in ``RecordContext``), the clinical entries (``Condition``,
``MedicationOrder``, ``Observation``, ...) and one content type per record type
(``OPConsultation`` ... ``Invoice``). Construction rejects what would make a document
the IG refuses or a doctor misreads (a code from a system the IG does not allow there, a
time without a zone, an attachment whose bytes are not what its type says) with a
``DocumentInputError`` that names the field and says what to do, never its value.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Literal

from healthstack.kernel.errors import ValidationFailed
from healthstack.kernel.ids import parse_abha_number, parse_hfr_id, parse_hpr_id
from healthstack.protocol.fhir.terminology import (
    CONDITION_ACTIVE,
    DIAGNOSIS_FINAL,
    DIAGNOSIS_PROVISIONAL,
    ICD10,
    INTERPRETATION,
    INVOICE_TYPES,
    LAB_CATEGORY,
    LOINC,
    MODALITY,
    RECOMMENDATION_DUE,
    SNOMED,
    BillingCode,
    Coding,
    EncounterClass,
    Relationship,
)


class DocumentInputError(ValidationFailed):
    """A record cannot be made into an IG-conformant document as given."""

    code = "HS-4201"


def _fail(field_name: str, message: str) -> DocumentInputError:
    return DocumentInputError(message, field=field_name)


def _aware(value: datetime | None, field_name: str) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise _fail(
            field_name,
            f"{field_name} has no time zone. Give the time with its offset "
            "(India Standard Time is +05:30).",
        )


def _text(value: str | None, field_name: str, *, required: bool = True) -> None:
    if value is None and not required:
        return
    if not isinstance(value, str) or not value.strip():
        raise _fail(field_name, f"{field_name} is empty. Fill it in before saving the record.")


def _decimal(value: Decimal | int | float | str, field_name: str) -> Decimal:
    if isinstance(value, bool):
        raise _fail(field_name, f"{field_name} must be a number.")
    try:
        number = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise _fail(field_name, f"{field_name} must be a number.") from None
    if not number.is_finite():
        raise _fail(field_name, f"{field_name} must be a finite number.")
    return number


# --------------------------------------------------------------------------- data types


@dataclass(frozen=True, slots=True)
class Concept:
    """A coded or free-text clinical concept: ``text`` is what the doctor reads; the
    codings (SNOMED CT, LOINC, ICD-10 ...) are what machines match on."""

    text: str
    codings: tuple[Coding, ...] = ()

    def __post_init__(self) -> None:
        _text(self.text, "concept text")

    @classmethod
    def of(cls, coding: Coding, *more: Coding, text: str | None = None) -> Concept:
        return cls(text or coding.display, (coding, *more))

    def require_systems(self, allowed: frozenset[str], field_name: str) -> None:
        """Refuse codings from systems the IG does not allow at ``field_name``."""
        for coding in self.codings:
            if coding.system not in allowed:
                names = " or ".join(sorted(_SYSTEM_NAMES.get(s, s) for s in allowed))
                raise _fail(
                    field_name,
                    f"{field_name} is coded in a system the ABDM record format does not "
                    f"accept there; use {names} (or leave it as text).",
                )


_SYSTEM_NAMES = {SNOMED: "SNOMED CT", LOINC: "LOINC", ICD10: "ICD-10"}
_SNOMED_ONLY = frozenset({SNOMED})
_LOINC_ONLY = frozenset({LOINC})
_OBSERVATION_SYSTEMS = frozenset({SNOMED, LOINC})
_CONDITION_SYSTEMS = frozenset({SNOMED, ICD10})


@dataclass(frozen=True, slots=True)
class Quantity:
    """A measured amount with its UCUM unit code (``unit``) and how to show the unit."""

    value: Decimal
    unit: str
    unit_display: str | None = None

    def __init__(
        self, value: Decimal | int | float | str, unit: str, unit_display: str | None = None
    ) -> None:
        object.__setattr__(self, "value", _decimal(value, "quantity value"))
        _text(unit, "quantity unit")
        object.__setattr__(self, "unit", unit)
        object.__setattr__(self, "unit_display", unit_display)


@dataclass(frozen=True, slots=True)
class ReferenceRange:
    low: Quantity | None = None
    high: Quantity | None = None
    text: str | None = None

    def __post_init__(self) -> None:
        if self.low is None and self.high is None and not self.text:
            raise _fail("reference range", "A reference range needs a low, a high or a text.")


# Magic numbers of the formats a record attachment may be; the bytes must match the
# declared content type, so a mislabelled upload is caught at the desk, not by the reader.
_SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "application/dicom": (),  # checked at offset 128 below
}


_KIND = {
    "application/pdf": "a PDF",
    "image/jpeg": "a JPEG image",
    "image/png": "a PNG image",
    "application/dicom": "a DICOM file",
}


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file carried inside the record (base64 in the bundle): a scanned page, a
    report PDF, a key image."""

    content_type: str
    data: bytes
    title: str | None = None
    created: datetime | None = None

    def __post_init__(self) -> None:
        if self.content_type not in _SIGNATURES:
            raise _fail(
                "attachment content type",
                "Attach a PDF, JPEG or PNG file (or a DICOM file for images); other file "
                "types cannot be shared as ABDM records.",
            )
        if not self.data:
            raise _fail("attachment", "The attached file is empty. Scan or export it again.")
        if not _matches(self.content_type, self.data):
            raise _fail(
                "attachment",
                f"The attached file is not {_KIND[self.content_type]} though it is labelled "
                "as one. Check that the right file was chosen.",
            )
        _aware(self.created, "attachment creation time")


def _matches(content_type: str, data: bytes) -> bool:
    if content_type == "application/dicom":
        return data[128:132] == b"DICM"
    return any(data.startswith(sig) for sig in _SIGNATURES[content_type])


# What a browser may show from a received record as a document or an image: formats
# that carry no script for the page, and only when the bytes are what the label says
# (the label is the sending HIP's word, and an HIP may be hostile or broken).
SHOWN_INLINE = frozenset({"application/pdf", "image/jpeg", "image/png"})


def inline_type(content_type: str, data: bytes) -> str | None:
    """The type to show ``data`` as, or None when it may only be downloaded."""
    declared = content_type.split(";", 1)[0].strip().lower()
    if declared in SHOWN_INLINE and _matches(declared, data):
        return declared
    return None


Gender = Literal["male", "female", "other", "unknown"]


@dataclass(frozen=True, slots=True)
class Patient:
    """The patient as the facility knows them. ``abha_number`` is stored formatted
    ``xx-xxxx-xxxx-xxxx``; ``birth_date`` may be a year alone (ABHA often has only that)."""

    name: str
    gender: Gender
    abha_number: str | None = None
    abha_address: str | None = None
    birth_date: date | int | None = None
    mrn: str | None = None

    def __post_init__(self) -> None:
        _text(self.name, "patient name")
        if self.gender not in ("male", "female", "other", "unknown"):
            raise _fail("patient gender", "Gender must be male, female, other or unknown.")
        if self.abha_number is not None:
            object.__setattr__(self, "abha_number", parse_abha_number(self.abha_number).formatted)
        if self.abha_address is not None and "@" not in self.abha_address:
            raise _fail("ABHA address", "An ABHA address has the form name@abdm (or name@sbx).")
        if self.abha_number is None and not self.mrn:
            raise _fail(
                "patient identifier",
                "A record needs the patient's ABHA Number or hospital number (MRN).",
            )
        if isinstance(self.birth_date, int) and not 1900 <= self.birth_date <= 2200:
            raise _fail("birth year", "The year of birth must be a four-digit year.")


@dataclass(frozen=True, slots=True)
class Practitioner:
    """The author. ``hpr_id`` is stored formatted ``xx-xxxx-xxxx-xxxx``."""

    hpr_id: str
    name: str

    def __post_init__(self) -> None:
        digits = parse_hpr_id(self.hpr_id)
        formatted = f"{digits[0:2]}-{digits[2:6]}-{digits[6:10]}-{digits[10:14]}"
        object.__setattr__(self, "hpr_id", formatted)
        _text(self.name, "practitioner name")


@dataclass(frozen=True, slots=True)
class Organization:
    """The facility (HIP), by its HFR id."""

    hfr_id: str
    name: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "hfr_id", parse_hfr_id(self.hfr_id))
        _text(self.name, "facility name")


@dataclass(frozen=True, slots=True)
class Encounter:
    """One OPD visit or IPD admission: the care context the record is linked under."""

    care_context: str  # the care context reference number
    kind: EncounterClass
    start: datetime
    end: datetime | None = None

    def __post_init__(self) -> None:
        _text(self.care_context, "care context reference")
        object.__setattr__(self, "kind", EncounterClass(self.kind))
        _aware(self.start, "encounter start")
        _aware(self.end, "encounter end")
        if self.end is not None and self.end < self.start:
            raise _fail("encounter end", "The visit cannot end before it starts.")


@dataclass(frozen=True, slots=True)
class RecordContext:
    """Who the record is about, who wrote it, where, and in which visit."""

    patient: Patient
    practitioner: Practitioner
    organization: Organization
    encounter: Encounter | None = None


# --------------------------------------------------------------------------- entries


@dataclass(frozen=True, slots=True)
class Condition:
    """A complaint, a past illness or a diagnosis (SNOMED CT and/or ICD-10 coded)."""

    code: Concept
    onset: datetime | date | None = None
    status: Coding = CONDITION_ACTIVE
    note: str | None = None

    def __post_init__(self) -> None:
        self.code.require_systems(_CONDITION_SYSTEMS, "condition code")
        if isinstance(self.onset, datetime):
            _aware(self.onset, "condition onset")


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """A diagnosis made in this encounter (Encounter.diagnosis)."""

    code: Concept
    final: bool = False

    def __post_init__(self) -> None:
        self.code.require_systems(_CONDITION_SYSTEMS, "diagnosis code")

    @property
    def use(self) -> Coding:
        return DIAGNOSIS_FINAL if self.final else DIAGNOSIS_PROVISIONAL


@dataclass(frozen=True, slots=True)
class Allergy:
    substance: Concept
    reaction: Concept | None = None
    criticality: Literal["low", "high", "unable-to-assess"] | None = None
    note: str | None = None

    def __post_init__(self) -> None:
        self.substance.require_systems(_SNOMED_ONLY, "allergy code")
        if self.reaction is not None:
            self.reaction.require_systems(_SNOMED_ONLY, "allergy reaction")


@dataclass(frozen=True, slots=True)
class ObservationComponent:
    code: Concept
    value: Quantity | str | Concept

    def __post_init__(self) -> None:
        self.code.require_systems(_OBSERVATION_SYSTEMS, "observation component code")


@dataclass(frozen=True, slots=True)
class Observation:
    """A finding with a value: a vital sign, a lab result, an examination finding.
    ``interpretation`` is an HL7 flag (L, N, H, LL, HH, A)."""

    code: Concept
    value: Quantity | str | Concept | None = None
    effective: datetime | None = None
    reference_range: ReferenceRange | None = None
    interpretation: str | None = None
    components: tuple[ObservationComponent, ...] = ()
    note: str | None = None

    def __post_init__(self) -> None:
        self.code.require_systems(_OBSERVATION_SYSTEMS, "observation code")
        if self.value is None and not self.components:
            raise _fail("observation value", "An observation needs a value; record one.")
        _aware(self.effective, "observation time")
        if self.interpretation is not None and self.interpretation not in INTERPRETATION:
            raise _fail(
                "observation interpretation",
                "The interpretation flag must be one of L, N, H, LL, HH or A.",
            )


@dataclass(frozen=True, slots=True)
class Dosage:
    """How to take a medicine. ``text`` is the instruction as the doctor wrote it
    ("1 tablet twice a day after food for 5 days"); the structured parts are optional."""

    text: str
    dose: Quantity | None = None
    frequency: int | None = None  # times per period
    period: Decimal | int = 1
    period_unit: Literal["h", "d", "wk", "mo"] = "d"
    duration_days: int | None = None
    route: Concept | None = None
    as_needed: bool = False
    instruction: Concept | None = None

    def __post_init__(self) -> None:
        _text(self.text, "dosage instruction")
        if self.route is not None:
            self.route.require_systems(_SNOMED_ONLY, "route")
        if self.instruction is not None:
            self.instruction.require_systems(_SNOMED_ONLY, "additional instruction")
        if self.frequency is not None and self.frequency < 1:
            raise _fail("dosage frequency", "How often must be at least once per period.")
        if self.duration_days is not None and self.duration_days < 1:
            raise _fail("dosage duration", "The duration must be at least one day.")


@dataclass(frozen=True, slots=True)
class MedicationOrder:
    """A medicine prescribed (MedicationRequest); ``medicine`` is SNOMED CT coded or text."""

    medicine: Concept
    dosage: Dosage
    reason: Concept | None = None
    dispense: Quantity | None = None
    note: str | None = None

    def __post_init__(self) -> None:
        self.medicine.require_systems(_SNOMED_ONLY, "medicine code")
        if self.reason is not None:
            self.reason.require_systems(_SNOMED_ONLY, "reason for the medicine")


@dataclass(frozen=True, slots=True)
class Investigation:
    """A test advised (ServiceRequest)."""

    code: Concept
    note: str | None = None

    def __post_init__(self) -> None:
        self.code.require_systems(_SNOMED_ONLY, "investigation code")


@dataclass(frozen=True, slots=True)
class Referral:
    """A referral to another service or facility (ServiceRequest); ``to`` names it."""

    service: Concept
    to: str | None = None
    reason: str | None = None

    def __post_init__(self) -> None:
        self.service.require_systems(_SNOMED_ONLY, "referral service")


@dataclass(frozen=True, slots=True)
class FollowUp:
    """The next visit (Appointment)."""

    start: datetime
    description: str
    end: datetime | None = None
    service: Concept | None = None

    def __post_init__(self) -> None:
        _aware(self.start, "follow-up time")
        _aware(self.end, "follow-up end")
        _text(self.description, "follow-up description")
        if self.service is not None:
            self.service.require_systems(_SNOMED_ONLY, "follow-up service")

    @property
    def until(self) -> datetime:
        # FHIR app-2: start and end go together; a follow-up slot defaults to 15 minutes.
        return self.end or self.start + timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class Procedure:
    code: Concept
    performed: datetime | date | None = None
    note: str | None = None

    def __post_init__(self) -> None:
        self.code.require_systems(_SNOMED_ONLY, "procedure code")
        if isinstance(self.performed, datetime):
            _aware(self.performed, "procedure time")


@dataclass(frozen=True, slots=True)
class FamilyHistory:
    relationship: Relationship
    condition: Concept
    note: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "relationship", Relationship(self.relationship))
        self.condition.require_systems(_SNOMED_ONLY, "family history condition")


@dataclass(frozen=True, slots=True)
class Document:
    """A file shared as a record (DocumentReference)."""

    attachment: Attachment
    kind: Concept | None = None
    description: str | None = None

    def __post_init__(self) -> None:
        if self.kind is not None:
            self.kind.require_systems(_SNOMED_ONLY | _LOINC_ONLY, "document type")


@dataclass(frozen=True, slots=True)
class Specimen:
    type: Concept
    collected: datetime
    received: datetime

    def __post_init__(self) -> None:
        self.type.require_systems(_SNOMED_ONLY, "specimen type")
        _aware(self.collected, "specimen collection time")
        _aware(self.received, "specimen receipt time")


@dataclass(frozen=True, slots=True)
class LabReport:
    """A laboratory report: the panel (LOINC), its results, the specimen, the
    pathologist's conclusion and, optionally, the signed PDF."""

    code: Concept
    results: tuple[Observation, ...]
    conclusion: str
    issued: datetime
    specimen: Specimen | None = None
    category: Coding = LAB_CATEGORY
    pdf: Attachment | None = None
    conclusion_codes: tuple[Coding, ...] = ()

    def __post_init__(self) -> None:
        self.code.require_systems(_LOINC_ONLY, "lab report code")
        if not self.results:
            raise _fail("lab results", "A lab report needs at least one result.")
        _text(self.conclusion, "lab report conclusion")
        _aware(self.issued, "report issue time")
        _check_pdf(self.pdf, "lab report PDF")
        _snomed_codes(self.conclusion_codes, "conclusion code")


@dataclass(frozen=True, slots=True)
class ImagingReport:
    """A radiology report: the study (DICOM Study Instance UID, modality), a key image
    (the IG requires one), the radiologist's conclusion and the report PDF."""

    code: Concept
    modality: str
    study_uid: str
    conclusion: str
    issued: datetime
    key_image: Attachment
    pdf: Attachment | None = None
    series_uid: str | None = None
    procedure: Concept | None = None
    conclusion_codes: tuple[Coding, ...] = ()

    def __post_init__(self) -> None:
        self.code.require_systems(_LOINC_ONLY, "imaging report code")
        if self.modality not in MODALITY:
            raise _fail(
                "modality",
                "The modality must be a DICOM modality code: " + ", ".join(sorted(MODALITY)) + ".",
            )
        for uid, name in ((self.study_uid, "study instance UID"), (self.series_uid, "series UID")):
            if uid is not None and not _is_dicom_uid(uid):
                raise _fail(
                    name,
                    f"The {name} must be a DICOM UID: digits in dot-separated groups, "
                    "no leading zeros, at most 64 characters (copy it from the PACS).",
                )
        _text(self.conclusion, "imaging report conclusion")
        _aware(self.issued, "report issue time")
        if not self.key_image.content_type.startswith("image/"):
            raise _fail("key image", "The key image must be a JPEG or PNG picture.")
        _check_pdf(self.pdf, "imaging report PDF")
        if self.procedure is not None:
            self.procedure.require_systems(_SNOMED_ONLY, "imaging procedure")
        _snomed_codes(self.conclusion_codes, "conclusion code")


def _is_dicom_uid(uid: str) -> bool:
    if not 0 < len(uid) <= 64:
        return False
    parts = uid.split(".")
    return len(parts) >= 2 and all(p.isdigit() and (p == "0" or p[0] != "0") for p in parts)


def _check_pdf(pdf: Attachment | None, field_name: str) -> None:
    if pdf is not None and pdf.content_type != "application/pdf":
        raise _fail(field_name, f"The {field_name} must be a PDF file.")


def _snomed_codes(codes: tuple[Coding, ...], field_name: str) -> None:
    if any(c.system != SNOMED for c in codes):
        raise _fail(field_name, f"A {field_name} must be a SNOMED CT code.")


@dataclass(frozen=True, slots=True)
class CarePlan:
    """Discharge advice and the plan after discharge."""

    title: str
    description: str
    start: date | None = None
    end: date | None = None

    def __post_init__(self) -> None:
        _text(self.title, "care plan title")
        _text(self.description, "care plan")


@dataclass(frozen=True, slots=True)
class Vaccination:
    """One dose given (Immunization)."""

    vaccine: Concept
    occurred: datetime | date
    lot_number: str | None = None
    dose_number: int | None = None
    series: str | None = None
    brand_name: str | None = None
    route: Concept | None = None
    site: Concept | None = None
    expiration_date: date | None = None

    def __post_init__(self) -> None:
        if isinstance(self.occurred, datetime):
            _aware(self.occurred, "vaccination time")
        if self.dose_number is not None and self.dose_number < 1:
            raise _fail("dose number", "The dose number starts at 1.")
        if self.route is not None:
            self.route.require_systems(_SNOMED_ONLY, "vaccination route")


@dataclass(frozen=True, slots=True)
class VaccineRecommendation:
    """The next dose due (ImmunizationRecommendation)."""

    vaccine: Concept
    due: date
    dose_number: int | None = None
    status: Coding = RECOMMENDATION_DUE


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    """One billed item: ``quantity`` × ``unit_price`` (the rate), less ``discount``
    (an amount), plus CGST and SGST at the given percentages of the discounted amount.
    ``mrp`` (per unit) is shown for information."""

    item: Concept
    billing: BillingCode
    quantity: Decimal
    unit_price: Decimal
    discount: Decimal = Decimal(0)
    cgst_percent: Decimal = Decimal(0)
    sgst_percent: Decimal = Decimal(0)
    mrp: Decimal | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "billing", BillingCode(self.billing))
        for name in ("quantity", "unit_price", "discount", "cgst_percent", "sgst_percent"):
            value = _decimal(getattr(self, name), f"invoice {name.replace('_', ' ')}")
            if value < 0:
                raise _fail(f"invoice {name}", "Amounts on an invoice cannot be negative.")
            object.__setattr__(self, name, value)
        if self.mrp is not None:
            object.__setattr__(self, "mrp", _decimal(self.mrp, "invoice MRP"))
        if self.quantity == 0:
            raise _fail("invoice quantity", "A billed item needs a quantity above zero.")
        if self.discount > self.quantity * self.unit_price:
            raise _fail("invoice discount", "The discount is larger than the item's amount.")


# --------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class OPConsultation:
    """An outpatient consultation note, section by section (OPConsultRecord)."""

    chief_complaints: tuple[Condition, ...] = ()
    physical_examination: tuple[Observation, ...] = ()
    allergies: tuple[Allergy, ...] = ()
    medical_history: tuple[Condition | Procedure, ...] = ()
    family_history: tuple[FamilyHistory, ...] = ()
    investigation_advice: tuple[Investigation, ...] = ()
    medications: tuple[MedicationOrder, ...] = ()
    follow_up: FollowUp | None = None
    procedures: tuple[Procedure, ...] = ()
    referrals: tuple[Referral, ...] = ()
    other_observations: tuple[Observation, ...] = ()
    documents: tuple[Document, ...] = ()
    diagnoses: tuple[Diagnosis, ...] = ()
    title: str = "Consultation Report"


@dataclass(frozen=True, slots=True)
class Prescription:
    medications: tuple[MedicationOrder, ...]
    signed_copy: Attachment | None = None
    title: str = "Prescription"

    def __post_init__(self) -> None:
        if not self.medications:
            raise _fail("medications", "A prescription needs at least one medicine.")
        if self.signed_copy is not None and self.signed_copy.content_type == "application/dicom":
            raise _fail("signed prescription", "Attach the signed prescription as a PDF or image.")


@dataclass(frozen=True, slots=True)
class DischargeSummary:
    chief_complaints: tuple[Condition, ...] = ()
    physical_examination: tuple[Observation, ...] = ()
    allergies: tuple[Allergy, ...] = ()
    medical_history: tuple[Condition | Procedure, ...] = ()
    family_history: tuple[FamilyHistory, ...] = ()
    investigations: tuple[LabReport | ImagingReport, ...] = ()
    medications: tuple[MedicationOrder, ...] = ()
    procedures: tuple[Procedure, ...] = ()
    care_plan: CarePlan | None = None
    documents: tuple[Document, ...] = ()
    diagnoses: tuple[Diagnosis, ...] = ()
    title: str = "Discharge Summary"


@dataclass(frozen=True, slots=True)
class Immunizations:
    immunizations: tuple[Vaccination, ...] = ()
    recommendation: VaccineRecommendation | None = None
    documents: tuple[Document, ...] = ()
    title: str = "Immunization Record"

    def __post_init__(self) -> None:
        if not (self.immunizations or self.recommendation or self.documents):
            raise _fail("immunizations", "An immunization record needs at least one dose.")


@dataclass(frozen=True, slots=True)
class HealthDocuments:
    """Scanned or uploaded paper records (HealthDocumentRecord)."""

    documents: tuple[Document, ...]
    title: str = "Health Document"

    def __post_init__(self) -> None:
        if not self.documents:
            raise _fail("documents", "Attach at least one document.")


@dataclass(frozen=True, slots=True)
class Wellness:
    vital_signs: tuple[Observation, ...] = ()
    body_measurements: tuple[Observation, ...] = ()
    physical_activity: tuple[Observation, ...] = ()
    general_assessment: tuple[Observation, ...] = ()
    women_health: tuple[Observation, ...] = ()
    lifestyle: tuple[Observation, ...] = ()
    other_observations: tuple[Observation, ...] = ()
    documents: tuple[Document, ...] = ()
    title: str = "Wellness Record"


@dataclass(frozen=True, slots=True)
class Invoice:
    number: str
    type: BillingCode
    date: datetime
    lines: tuple[InvoiceLine, ...]
    title: str = "Invoice"
    note: str | None = None
    status: Literal["issued", "balanced"] = "issued"

    def __post_init__(self) -> None:
        _text(self.number, "invoice number")
        object.__setattr__(self, "type", BillingCode(self.type))
        if self.type not in INVOICE_TYPES:
            raise _fail(
                "invoice type",
                "The invoice type must be Consultation, Pharmacy, IPD, OPD or Others.",
            )
        _aware(self.date, "invoice date")
        if not self.lines:
            raise _fail("invoice lines", "An invoice needs at least one billed item.")


RecordContent = (
    OPConsultation
    | Prescription
    | LabReport
    | ImagingReport
    | DischargeSummary
    | Immunizations
    | HealthDocuments
    | Wellness
    | Invoice
)
