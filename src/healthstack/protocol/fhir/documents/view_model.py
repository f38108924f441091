"""What the doctor's record view shows, as display-ready values.

The dataclasses ``view.read_document`` fills (``RecordView`` with its patient header,
parties, visit and ``SectionView``s of entries, one ``Entry`` subclass per kind, whose
``kind`` the templates in ``web/templates/records`` switch on) and the small, forgiving
readers of FHIR datatypes they are made with: texts of concepts, dates in IST, quantities
and ranges, money in rupees. Nothing here raises on an unexpected shape.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from healthstack.protocol.fhir.documents.model import inline_type
from healthstack.protocol.fhir.terminology import RecordType

IST = timezone(timedelta(hours=5, minutes=30), "IST")
NOT_STATED = "not stated"

TEMPLATES: dict[RecordType | None, str] = {
    RecordType.OP_CONSULTATION: "records/_op_consultation.html",
    RecordType.PRESCRIPTION: "records/_prescription.html",
    RecordType.DIAGNOSTIC_REPORT: "records/_diagnostic_report.html",
    RecordType.DISCHARGE_SUMMARY: "records/_discharge_summary.html",
    RecordType.IMMUNIZATION: "records/_immunization.html",
    RecordType.HEALTH_DOCUMENT: "records/_health_document.html",
    RecordType.WELLNESS: "records/_wellness.html",
    RecordType.INVOICE: "records/_invoice.html",
    None: "records/_generic.html",
}


# --------------------------------------------------------------------------- small readers


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def concept_text(value: Any) -> str:
    """The words of a CodeableConcept (or Coding): its text, else its codings' displays,
    else the codes."""
    c = as_dict(value)
    if as_str(c.get("text")):
        return c["text"]
    if as_str(c.get("display")):
        return c["display"]
    codings = [as_dict(x) for x in as_list(c.get("coding"))]
    for x in codings:
        if as_str(x.get("display")):
            return x["display"]
    for x in codings:
        if as_str(x.get("code")):
            return x["code"]
    return ""


def codes_text(value: Any) -> str:
    names = {
        "http://snomed.info/sct": "SNOMED CT",
        "http://loinc.org": "LOINC",
        "http://hl7.org/fhir/sid/icd-10": "ICD-10",
    }
    out = []
    for x in as_list(as_dict(value).get("coding")):
        x = as_dict(x)
        if as_str(x.get("code")):
            out.append(f"{names.get(as_str(x.get('system')), 'code')} {x['code']}")
    return ", ".join(out)


def _parse_time(value: Any) -> datetime | date | None:
    text = as_str(value)
    if not text:
        return None
    try:
        if "T" in text:
            return datetime.fromisoformat(text.replace("Z", "+00:00"))
        if len(text) == 10:
            return date.fromisoformat(text)
    except ValueError:
        return None
    return None


def when(value: Any) -> str:
    """A FHIR date or dateTime for a reader in India: '26 Nov 2026, 11:30' (IST)."""
    parsed = _parse_time(value)
    if isinstance(parsed, datetime):
        local = parsed.astimezone(IST) if parsed.tzinfo else parsed
        return f"{local.day} {local.strftime('%b %Y')}, {local.strftime('%H:%M')}"
    if isinstance(parsed, date):
        return f"{parsed.day} {parsed.strftime('%b %Y')}"
    text = as_str(value)
    return text  # a year or year-month stays as written


def as_decimal(value: Any) -> Decimal | None:
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def as_int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def plain_number(value: Any) -> str:
    d = as_decimal(value)
    if d is None:
        return ""
    return format(d.normalize(), "f") if d == d.to_integral_value() else str(value)


def rupees(value: Any) -> str:
    """Money the Indian way: ₹1,23,456.50."""
    d = as_decimal(value)
    if d is None:
        return NOT_STATED
    sign = "-" if d < 0 else ""
    whole, _, paise = f"{abs(d):.2f}".partition(".")
    head, tail = whole[:-3], whole[-3:]
    groups: list[str] = []
    while len(head) > 2:
        groups.insert(0, head[-2:])
        head = head[:-2]
    if head:
        groups.insert(0, head)
    grouped = ",".join([*groups, tail]) if groups else tail
    return f"{sign}₹{grouped}.{paise}"


def quantity_text(value: Any) -> tuple[str, str]:
    q = as_dict(value)
    number = plain_number(q.get("value"))
    comparator = as_str(q.get("comparator"))
    unit = as_str(q.get("unit")) or as_str(q.get("code"))
    return f"{comparator}{number}", unit


def range_text(value: Any) -> str:
    r = as_dict(value)
    if as_str(r.get("text")):
        return r["text"]
    low, low_unit = quantity_text(r.get("low")) if r.get("low") else ("", "")
    high, high_unit = quantity_text(r.get("high")) if r.get("high") else ("", "")
    unit = high_unit or low_unit
    if low and high:
        return f"{low}–{high} {unit}".strip()
    if high:
        return f"< {high} {unit}".strip()
    if low:
        return f"> {low} {unit}".strip()
    return ""


# --------------------------------------------------------------------------- views


@dataclass
class AttachmentView:
    key: str
    content_type: str
    title: str
    data: str  # base64, as in the bundle

    @property
    def size_bytes(self) -> int:
        return len(self.data) * 3 // 4 - self.data[-2:].count("=")

    @property
    def size_label(self) -> str:
        size = self.size_bytes
        if size >= 1_000_000:
            return f"{size / 1_000_000:.1f} MB"
        if size >= 1_000:
            return f"{size / 1_000:.0f} kB"
        return f"{size} bytes"

    @property
    def kind_label(self) -> str:
        return {
            "application/pdf": "PDF",
            "image/jpeg": "JPEG image",
            "image/png": "PNG image",
            "application/dicom": "DICOM file",
        }.get(self.content_type, self.content_type or "file")

    @property
    def shown_as(self) -> str | None:
        """The type a browser may show this as (a PDF, PNG or JPEG whose first bytes
        match its label), or None: then it is only ever offered as a download."""
        try:
            head = base64.b64decode(self.data[:240], validate=True)
        except (binascii.Error, ValueError):
            return None
        return inline_type(self.content_type, head)

    @property
    def is_image(self) -> bool:
        return self.shown_as in ("image/jpeg", "image/png")

    @property
    def data_uri(self) -> str:
        return f"data:{self.shown_as or 'application/octet-stream'};base64,{self.data}"

    @property
    def filename(self) -> str:
        ext = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}.get(
            self.shown_as or "", "bin"
        )
        stem = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in self.title)[:60]
        return f"{stem.strip('-') or 'attachment'}.{ext}"


@dataclass
class Entry:
    kind: ClassVar[str] = "other"


@dataclass
class OtherEntry(Entry):
    kind: ClassVar[str] = "other"
    resource_type: str = ""
    text: str = ""


@dataclass
class ConditionEntry(Entry):
    kind: ClassVar[str] = "condition"
    text: str = ""
    codes: str = ""
    status: str = ""
    onset: str = ""
    note: str = ""


@dataclass
class AllergyEntry(Entry):
    kind: ClassVar[str] = "allergy"
    text: str = ""
    reaction: str = ""
    criticality: str = ""
    note: str = ""


@dataclass
class ObservationEntry(Entry):
    kind: ClassVar[str] = "observation"
    name: str = ""
    value: str = ""
    unit: str = ""
    reference_range: str = ""
    interpretation: str = ""
    time: str = ""
    note: str = ""
    components: list[ObservationEntry] = field(default_factory=list)

    @property
    def value_with_unit(self) -> str:
        if self.components and not self.value:
            return " / ".join(c.value for c in self.components) + (
                f" {self.components[0].unit}" if self.components[0].unit else ""
            )
        return f"{self.value} {self.unit}".strip()


@dataclass
class MedicationEntry(Entry):
    kind: ClassVar[str] = "medication"
    name: str = ""
    dosage: str = ""
    dose: str = ""
    timing: str = ""
    route: str = ""
    reason: str = ""
    dispense: str = ""
    status: str = ""
    note: str = ""


@dataclass
class RequestEntry(Entry):
    kind: ClassVar[str] = "request"
    name: str = ""
    performer: str = ""
    reason: str = ""
    note: str = ""


@dataclass
class AppointmentEntry(Entry):
    kind: ClassVar[str] = "appointment"
    start: str = ""
    description: str = ""
    service: str = ""


@dataclass
class ProcedureEntry(Entry):
    kind: ClassVar[str] = "procedure"
    name: str = ""
    time: str = ""
    note: str = ""


@dataclass
class FamilyHistoryEntry(Entry):
    kind: ClassVar[str] = "family_history"
    relationship: str = ""
    conditions: str = ""
    note: str = ""


@dataclass
class CarePlanEntry(Entry):
    kind: ClassVar[str] = "care_plan"
    title: str = ""
    description: str = ""
    period: str = ""


@dataclass
class ImagingStudyView:
    study_uid: str
    modality: str
    started: str
    series: int


@dataclass
class ReportEntry(Entry):
    kind: ClassVar[str] = "report"
    name: str = ""
    category: str = ""
    status: str = ""
    issued: str = ""
    performer: str = ""
    interpreter: str = ""
    conclusion: str = ""
    results: list[ObservationEntry] = field(default_factory=list)
    specimen: str = ""
    imaging: list[ImagingStudyView] = field(default_factory=list)
    images: list[AttachmentView] = field(default_factory=list)
    forms: list[AttachmentView] = field(default_factory=list)


@dataclass
class ImmunizationEntry(Entry):
    kind: ClassVar[str] = "immunization"
    vaccine: str = ""
    brand: str = ""
    date: str = ""
    dose: str = ""
    lot: str = ""
    route: str = ""
    site: str = ""
    status: str = ""


@dataclass
class RecommendationEntry(Entry):
    kind: ClassVar[str] = "recommendation"
    vaccine: str = ""
    due: str = ""
    dose: str = ""
    status: str = ""


@dataclass
class DocumentEntry(Entry):
    kind: ClassVar[str] = "document"
    title: str = ""
    type: str = ""
    date: str = ""
    attachments: list[AttachmentView] = field(default_factory=list)


@dataclass
class InvoiceLineView:
    sequence: str
    item: str
    quantity: str
    rate: str
    mrp: str
    discount: str
    tax: str
    amount: str


@dataclass
class InvoiceEntry(Entry):
    kind: ClassVar[str] = "invoice"
    number: str = ""
    type: str = ""
    date: str = ""
    status: str = ""
    lines: list[InvoiceLineView] = field(default_factory=list)
    total_net: str = ""
    total_gross: str = ""
    total_tax: str = ""


@dataclass
class SectionView:
    title: str
    entries: list[Entry]


@dataclass
class PatientView:
    name: str
    gender: str
    birth_date: str
    abha_number: str
    abha_address: str
    mrn: str


@dataclass
class PartyView:
    name: str
    identifier: str


@dataclass
class EncounterView:
    kind: str
    start: str
    end: str
    reference: str
    diagnoses: list[str]


@dataclass
class RecordView:
    kind: RecordType | None
    title: str
    date: str
    status: str
    patient: PatientView
    authors: list[PartyView]
    facility: PartyView
    encounter: EncounterView | None
    sections: list[SectionView]

    @property
    def template(self) -> str:
        return TEMPLATES[self.kind]

    @property
    def kind_label(self) -> str:
        return (
            {
                RecordType.OP_CONSULTATION: "OP consultation",
                RecordType.PRESCRIPTION: "Prescription",
                RecordType.DIAGNOSTIC_REPORT: "Diagnostic report",
                RecordType.DISCHARGE_SUMMARY: "Discharge summary",
                RecordType.IMMUNIZATION: "Immunization record",
                RecordType.HEALTH_DOCUMENT: "Health document",
                RecordType.WELLNESS: "Wellness record",
                RecordType.INVOICE: "Invoice",
            }.get(self.kind, "Health record")
            if self.kind
            else "Health record"
        )

    def entries(self, kind: str) -> list[Any]:
        return [e for s in self.sections for e in s.entries if e.kind == kind]
