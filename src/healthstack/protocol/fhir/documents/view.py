"""Reading a FHIR document bundle into what the doctor's record view shows.

``read_document(bundle)`` turns any IG-shaped document, ours or another HIP's, into a
``RecordView``: the patient header, author, facility, visit and dates as display strings,
and the Composition's sections with each entry summarised by kind (a condition, a
medicine with its dosage, an observation with value, unit and reference range, a report
with its results, imaging study and attachments, a dose given, an invoice with its lines
and totals ...). It never raises on an unexpected shape: what it cannot read it shows as
"not stated" or as a generic entry. Attachments are addressed by a ``key`` so a page can
serve them (``attachment_content``); the view also offers a ``data:`` URL fallback.
"""

from __future__ import annotations

import base64
import binascii
from decimal import Decimal
from typing import Any

from healthstack.kernel.errors import NotFound
from healthstack.protocol.fhir.documents.view_model import (
    NOT_STATED,
    AllergyEntry,
    AppointmentEntry,
    AttachmentView,
    CarePlanEntry,
    ConditionEntry,
    DocumentEntry,
    EncounterView,
    Entry,
    FamilyHistoryEntry,
    ImagingStudyView,
    ImmunizationEntry,
    InvoiceEntry,
    InvoiceLineView,
    MedicationEntry,
    ObservationEntry,
    OtherEntry,
    PartyView,
    PatientView,
    ProcedureEntry,
    RecommendationEntry,
    RecordView,
    ReportEntry,
    RequestEntry,
    SectionView,
    as_decimal,
    as_dict,
    as_int,
    as_list,
    as_str,
    codes_text,
    concept_text,
    plain_number,
    quantity_text,
    range_text,
    rupees,
    when,
)
from healthstack.protocol.fhir.terminology import (
    DISCHARGE_SUMMARY_TYPE,
    HEALTH_DOCUMENT_TYPE,
    IMMUNIZATION_TYPE,
    INVOICE_TYPE_TEXT,
    OP_CONSULTATION_TYPE,
    PRESCRIPTION_TYPE,
    RECORD_PROFILE,
    WELLNESS_TYPE_TEXT,
    RecordType,
)

_BY_PROFILE = {name: kind for kind, name in RECORD_PROFILE.items()}
_BY_CODE = {
    OP_CONSULTATION_TYPE.code: RecordType.OP_CONSULTATION,
    PRESCRIPTION_TYPE.code: RecordType.PRESCRIPTION,
    DISCHARGE_SUMMARY_TYPE.code: RecordType.DISCHARGE_SUMMARY,
    IMMUNIZATION_TYPE.code: RecordType.IMMUNIZATION,
    HEALTH_DOCUMENT_TYPE.code: RecordType.HEALTH_DOCUMENT,
}
_BY_TEXT = {WELLNESS_TYPE_TEXT: RecordType.WELLNESS, INVOICE_TYPE_TEXT: RecordType.INVOICE}


# --------------------------------------------------------------------------- reading


class _Index:
    """The bundle's entries by fullUrl and by Type/id, to follow references."""

    def __init__(self, bundle: dict[str, Any]) -> None:
        self.entries: list[tuple[int, dict[str, Any]]] = []
        self.by_url: dict[str, tuple[int, dict[str, Any]]] = {}
        self._by_id: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        for i, entry in enumerate(as_list(bundle.get("entry"))):
            resource = as_dict(as_dict(entry).get("resource"))
            if not resource:
                continue
            self.entries.append((i, resource))
            url = as_str(as_dict(entry).get("fullUrl"))
            if url:
                self.by_url[url] = (i, resource)
            rtype, rid = as_str(resource.get("resourceType")), as_str(resource.get("id"))
            if rtype and rid:
                self.by_url.setdefault(f"{rtype}/{rid}", (i, resource))
                self.by_url.setdefault(f"urn:uuid:{rid}", (i, resource))
                self._by_id.setdefault(rid, []).append((i, resource))

    def resolve(self, reference: Any) -> tuple[int, dict[str, Any]] | None:
        target = as_str(as_dict(reference).get("reference"))
        if not target:
            return None
        hit = self.by_url.get(target)
        if hit is None and "/" in target:
            parts = target.rstrip("/").split("/")
            if len(parts) >= 2:
                hit = self.by_url.get(f"{parts[-2]}/{parts[-1]}")
            if hit is None:
                # Some HIPs prefix fullUrls with a section name instead of the type: a
                # resource id that is unique in the bundle is still unambiguous.
                same = self._by_id.get(parts[-1], [])
                hit = same[0] if len(same) == 1 else None
        return hit

    def name_of(self, reference: Any) -> str:
        hit = self.resolve(reference)
        if hit is not None:
            name = _person_name(hit[1])
            if name:
                return name
        return as_str(as_dict(reference).get("display"))


def _person_name(resource: dict[str, Any]) -> str:
    name = resource.get("name")
    if isinstance(name, str):
        return name
    for n in as_list(name):
        n = as_dict(n)
        if as_str(n.get("text")):
            return n["text"]
        parts = [*(as_str(g) for g in as_list(n.get("given"))), as_str(n.get("family"))]
        joined = " ".join(p for p in parts if p)
        if joined:
            return joined
    return ""


def _identifier(resource: dict[str, Any], *needles: str) -> str:
    for ident in as_list(resource.get("identifier")):
        ident = as_dict(ident)
        label = " ".join(
            [
                as_str(ident.get("system")),
                concept_text(ident.get("type")),
                codes_text(ident.get("type")),
            ]
        ).lower()
        if any(n in label for n in needles) and as_str(ident.get("value")):
            return ident["value"]
    return ""


def read_document(bundle: Any) -> RecordView:
    """The doctor's view of a document bundle (see the module docstring)."""
    b = as_dict(bundle)
    index = _Index(b)
    composition = next((r for _, r in index.entries if r.get("resourceType") == "Composition"), {})
    patient = as_dict((index.resolve(composition.get("subject")) or (0, {}))[1])
    authors = [
        _party(index, a, "doctor", "hpr", "hpid", "md") for a in as_list(composition.get("author"))
    ]
    custodian = composition.get("custodian")
    facility = (
        _party(index, custodian, "facility", "hfr", "prn")
        if custodian
        else PartyView(NOT_STATED, "")
    )
    encounter_hit = index.resolve(composition.get("encounter"))
    sections = [
        SectionView(
            as_str(as_dict(s).get("title")) or concept_text(as_dict(s).get("code")) or "Section",
            [_entry(index, e) for e in as_list(as_dict(s).get("entry"))],
        )
        for s in as_list(composition.get("section"))
    ]
    return RecordView(
        kind=_record_kind(composition, sections),
        title=as_str(composition.get("title")) or concept_text(composition.get("type")),
        date=when(composition.get("date")) or when(b.get("timestamp")),
        status=as_str(composition.get("status")),
        patient=PatientView(
            name=_person_name(patient) or NOT_STATED,
            gender=as_str(patient.get("gender")) or NOT_STATED,
            birth_date=when(patient.get("birthDate")) or NOT_STATED,
            abha_number=_abha(patient, number=True),
            abha_address=_abha(patient, number=False),
            mrn=_identifier(patient, "medical record", ":mrn", " mr "),
        ),
        authors=[a for a in authors if a.name] or [PartyView(NOT_STATED, "")],
        facility=facility,
        encounter=_encounter(index, encounter_hit[1]) if encounter_hit else None,
        sections=sections,
    )


def _abha(patient: dict[str, Any], *, number: bool) -> str:
    for ident in as_list(patient.get("identifier")):
        ident = as_dict(ident)
        value = as_str(ident.get("value"))
        label = (as_str(ident.get("system")) + " " + codes_text(ident.get("type"))).lower()
        if not value or not ("healthid" in label or "abha" in label or "hin" in label):
            continue
        if number and "@" not in value:
            return value
        if not number and "@" in value:
            return value
    return ""


def _party(index: _Index, reference: Any, *needles: str) -> PartyView:
    hit = index.resolve(reference)
    if hit is None:
        return PartyView(as_str(as_dict(reference).get("display")) or NOT_STATED, "")
    resource = hit[1]
    return PartyView(
        _person_name(resource) or as_str(as_dict(reference).get("display")) or NOT_STATED,
        _identifier(resource, *needles),
    )


def _encounter(index: _Index, enc: dict[str, Any]) -> EncounterView:
    klass = as_dict(enc.get("class"))
    code = as_str(klass.get("code"))
    kind = {"AMB": "OPD visit", "IMP": "IPD admission", "EMER": "Emergency visit"}.get(
        code, as_str(klass.get("display")) or "Visit"
    )
    period = as_dict(enc.get("period"))
    diagnoses = []
    for d in as_list(enc.get("diagnosis")):
        hit = index.resolve(as_dict(d).get("condition"))
        text = concept_text(as_dict(hit[1]).get("code")) if hit else ""
        use = _use_label(concept_text(as_dict(d).get("use")))
        if text:
            diagnoses.append(f"{text} ({use})" if use else text)
    ident = next((as_dict(i) for i in as_list(enc.get("identifier"))), {})
    return EncounterView(
        kind=kind,
        start=when(period.get("start")),
        end=when(period.get("end")),
        reference=as_str(ident.get("value")),
        diagnoses=diagnoses,
    )


def _use_label(text: str) -> str:
    lowered = text.lower()
    if lowered.startswith("final"):
        return "final"
    if lowered.startswith(("preliminary", "provisional", "working")):
        return "provisional"
    return lowered


def _record_kind(composition: dict[str, Any], sections: list[SectionView]) -> RecordType | None:
    for url in as_list(as_dict(composition.get("meta")).get("profile")):
        name = as_str(url).rsplit("/", 1)[-1].split("|")[0]
        if name in _BY_PROFILE:
            return _BY_PROFILE[name]
    ctype = as_dict(composition.get("type"))
    for c in as_list(ctype.get("coding")):
        code = as_str(as_dict(c).get("code"))
        if code in _BY_CODE:
            return _BY_CODE[code]
    text = as_str(ctype.get("text"))
    if text in _BY_TEXT:
        return _BY_TEXT[text]
    if any(e.kind == "report" for s in sections for e in s.entries):
        return RecordType.DIAGNOSTIC_REPORT
    return None


# --------------------------------------------------------------------------- entries


def _entry(index: _Index, reference: Any) -> Entry:
    hit = index.resolve(reference)
    if hit is None:
        return OtherEntry(resource_type="", text=as_str(as_dict(reference).get("display")))
    position, resource = hit
    reader = _READERS.get(as_str(resource.get("resourceType")))
    if reader is None:
        return OtherEntry(
            resource_type=as_str(resource.get("resourceType")),
            text=concept_text(resource.get("code")) or as_str(resource.get("title")),
        )
    return reader(index, position, resource)


def _notes(resource: dict[str, Any]) -> str:
    return " ".join(as_str(as_dict(n).get("text")) for n in as_list(resource.get("note"))).strip()


def _condition(index: _Index, pos: int, r: dict[str, Any]) -> Entry:
    return ConditionEntry(
        text=concept_text(r.get("code")) or NOT_STATED,
        codes=codes_text(r.get("code")),
        status=concept_text(r.get("clinicalStatus")),
        onset=when(r.get("onsetDateTime")) or as_str(r.get("onsetString")),
        note=_notes(r),
    )


def _allergy(index: _Index, pos: int, r: dict[str, Any]) -> Entry:
    reactions = [
        concept_text(m)
        for x in as_list(r.get("reaction"))
        for m in as_list(as_dict(x).get("manifestation"))
    ]
    return AllergyEntry(
        text=concept_text(r.get("code")) or NOT_STATED,
        reaction=", ".join(x for x in reactions if x),
        criticality=as_str(r.get("criticality")),
        note=_notes(r),
    )


def _value(r: dict[str, Any]) -> tuple[str, str]:
    if "valueQuantity" in r:
        return quantity_text(r["valueQuantity"])
    if "valueCodeableConcept" in r:
        return concept_text(r["valueCodeableConcept"]), ""
    if "valueString" in r:
        return as_str(r["valueString"]), ""
    if "valueBoolean" in r:
        return ("yes" if r["valueBoolean"] else "no"), ""
    if "valueInteger" in r:
        return plain_number(r["valueInteger"]), ""
    if "valueDateTime" in r:
        return when(r["valueDateTime"]), ""
    if "valueRange" in r:
        return range_text(r["valueRange"]), ""
    if "dataAbsentReason" in r:
        return f"not recorded ({concept_text(r['dataAbsentReason'])})", ""
    return "", ""


def _observation(index: _Index, pos: int, r: dict[str, Any]) -> ObservationEntry:
    value, unit = _value(r)
    components = []
    for c in as_list(r.get("component")):
        c = as_dict(c)
        cv, cu = _value(c)
        components.append(ObservationEntry(name=concept_text(c.get("code")), value=cv, unit=cu))
    ranges = [range_text(x) for x in as_list(r.get("referenceRange"))]
    return ObservationEntry(
        name=concept_text(r.get("code")) or NOT_STATED,
        value=value,
        unit=unit,
        reference_range="; ".join(x for x in ranges if x),
        interpretation=", ".join(concept_text(x) for x in as_list(r.get("interpretation"))),
        time=when(r.get("effectiveDateTime"))
        or when(as_dict(r.get("effectivePeriod")).get("start")),
        note=_notes(r),
        components=components,
    )


_PERIOD_UNITS = {"h": "hour", "d": "day", "wk": "week", "mo": "month", "min": "minute"}


def _timing(dosage: dict[str, Any]) -> str:
    repeat = as_dict(as_dict(dosage.get("timing")).get("repeat"))
    parts = []
    frequency, period = repeat.get("frequency"), repeat.get("period")
    unit = _PERIOD_UNITS.get(as_str(repeat.get("periodUnit")), as_str(repeat.get("periodUnit")))
    if isinstance(frequency, int) and unit:
        times = {1: "once", 2: "twice"}.get(frequency, f"{frequency} times")
        every = (
            f"a {unit}"
            if plain_number(period) in ("", "1")
            else f"every {plain_number(period)} {unit}s"
        )
        parts.append(f"{times} {every}")
    bounds = as_dict(repeat.get("boundsDuration"))
    if bounds:
        number, bunit = quantity_text(bounds)
        parts.append(f"for {number} {bunit}".strip())
    if dosage.get("asNeededBoolean"):
        parts.append("when needed")
    code = concept_text(as_dict(dosage.get("timing")).get("code"))
    if code:
        parts.append(code)
    return ", ".join(parts)


def _medication(index: _Index, pos: int, r: dict[str, Any]) -> Entry:
    name = concept_text(r.get("medicationCodeableConcept"))
    if not name and r.get("medicationReference"):
        hit = index.resolve(r["medicationReference"])
        name = concept_text(as_dict(hit[1]).get("code")) if hit else ""
        name = name or as_str(as_dict(r["medicationReference"]).get("display"))
    dosages = [as_dict(d) for d in as_list(r.get("dosageInstruction") or r.get("dosage"))]
    first = dosages[0] if dosages else {}
    doses = []
    for dr in as_list(first.get("doseAndRate")):
        number, unit = quantity_text(as_dict(dr).get("doseQuantity"))
        if number:
            doses.append(f"{number} {unit}".strip())
    dispense = as_dict(as_dict(r.get("dispenseRequest")).get("quantity"))
    dispense_text = " ".join(quantity_text(dispense)).strip() if dispense else ""
    return MedicationEntry(
        name=name or NOT_STATED,
        dosage="; ".join(as_str(d.get("text")) for d in dosages if as_str(d.get("text"))),
        dose=", ".join(doses),
        timing=_timing(first),
        route=concept_text(first.get("route")),
        reason=", ".join(concept_text(x) for x in as_list(r.get("reasonCode"))),
        dispense=dispense_text,
        status=as_str(r.get("status")),
        note=_notes(r),
    )


def _request(index: _Index, pos: int, r: dict[str, Any]) -> Entry:
    performers = [
        as_str(as_dict(p).get("display")) or index.name_of(p) for p in as_list(r.get("performer"))
    ]
    return RequestEntry(
        name=concept_text(r.get("code")) or NOT_STATED,
        performer=", ".join(p for p in performers if p),
        reason=", ".join(concept_text(x) for x in as_list(r.get("reasonCode"))),
        note=_notes(r),
    )


def _appointment(index: _Index, pos: int, r: dict[str, Any]) -> Entry:
    return AppointmentEntry(
        start=when(r.get("start")) or NOT_STATED,
        description=as_str(r.get("description")),
        service=", ".join(concept_text(x) for x in as_list(r.get("serviceType"))),
    )


def _procedure(index: _Index, pos: int, r: dict[str, Any]) -> Entry:
    return ProcedureEntry(
        name=concept_text(r.get("code")) or NOT_STATED,
        time=when(r.get("performedDateTime"))
        or when(as_dict(r.get("performedPeriod")).get("start")),
        note=_notes(r),
    )


def _family(index: _Index, pos: int, r: dict[str, Any]) -> Entry:
    conditions = [concept_text(as_dict(c).get("code")) for c in as_list(r.get("condition"))]
    return FamilyHistoryEntry(
        relationship=concept_text(r.get("relationship")) or NOT_STATED,
        conditions=", ".join(c for c in conditions if c),
        note=_notes(r),
    )


def _care_plan(index: _Index, pos: int, r: dict[str, Any]) -> Entry:
    period = as_dict(r.get("period"))
    span = " – ".join(x for x in (when(period.get("start")), when(period.get("end"))) if x)
    return CarePlanEntry(
        title=as_str(r.get("title")) or "Care plan",
        description=as_str(r.get("description")),
        period=span,
    )


def _attachment(key: str, a: Any, fallback_title: str) -> AttachmentView | None:
    a = as_dict(a)
    data = as_str(a.get("data"))
    if not data:
        return None
    return AttachmentView(
        key=key,
        content_type=as_str(a.get("contentType")),
        title=as_str(a.get("title")) or fallback_title,
        data=data,
    )


def _report(index: _Index, pos: int, r: dict[str, Any]) -> Entry:
    name = concept_text(r.get("code")) or "Report"
    results = []
    for x in as_list(r.get("result")):
        hit = index.resolve(x)
        if hit is not None and hit[1].get("resourceType") == "Observation":
            results.append(_observation(index, hit[0], hit[1]))
    specimens = []
    for x in as_list(r.get("specimen")):
        hit = index.resolve(x)
        if hit is not None:
            s = hit[1]
            collected = when(as_dict(s.get("collection")).get("collectedDateTime"))
            text = concept_text(s.get("type"))
            specimens.append(f"{text}, collected {collected}" if collected else text)
    studies = []
    for x in as_list(r.get("imagingStudy")):
        hit = index.resolve(x)
        if hit is not None:
            studies.append(_study(hit[1]))
    images = []
    for m in as_list(r.get("media")):
        hit = index.resolve(as_dict(m).get("link"))
        if hit is not None:
            view = _attachment(
                f"{hit[0]}:content",
                hit[1].get("content"),
                as_str(as_dict(m).get("comment")) or "Image",
            )
            if view is not None:
                images.append(view)
    forms = [
        v
        for n, a in enumerate(as_list(r.get("presentedForm")))
        if (v := _attachment(f"{pos}:presentedForm.{n}", a, f"{name} (report)")) is not None
    ]
    return ReportEntry(
        name=name,
        category=", ".join(concept_text(c) for c in as_list(r.get("category"))),
        status=as_str(r.get("status")),
        issued=when(r.get("issued")) or when(r.get("effectiveDateTime")),
        performer=", ".join(index.name_of(p) for p in as_list(r.get("performer"))),
        interpreter=", ".join(index.name_of(p) for p in as_list(r.get("resultsInterpreter"))),
        conclusion=as_str(r.get("conclusion")),
        results=results,
        specimen="; ".join(specimens),
        imaging=studies,
        images=images,
        forms=forms,
    )


def _study(s: dict[str, Any]) -> ImagingStudyView:
    uid = ""
    for ident in as_list(s.get("identifier")):
        value = as_str(as_dict(ident).get("value"))
        if value.startswith("urn:oid:"):
            uid = value.removeprefix("urn:oid:")
            break
        uid = uid or value
    modalities = [concept_text(m) for m in as_list(s.get("modality"))]
    series = as_list(s.get("series"))
    return ImagingStudyView(
        study_uid=uid or NOT_STATED,
        modality=", ".join(m for m in modalities if m),
        started=when(s.get("started")),
        series=len(series) or as_int(s.get("numberOfSeries")),
    )


def _study_entry(index: _Index, pos: int, r: dict[str, Any]) -> Entry:
    return ReportEntry(name="Imaging study", imaging=[_study(r)])


def _immunization(index: _Index, pos: int, r: dict[str, Any]) -> Entry:
    brand = next(
        (
            as_str(as_dict(x).get("valueString"))
            for x in as_list(r.get("extension"))
            if as_str(as_dict(x).get("url")).endswith("/BrandName")
        ),
        "",
    )
    doses = []
    for p in as_list(r.get("protocolApplied")):
        p = as_dict(p)
        number = plain_number(p.get("doseNumberPositiveInt")) or as_str(p.get("doseNumberString"))
        series = as_str(p.get("series"))
        if number:
            doses.append(f"dose {number}" + (f" of {series}" if series else ""))
    return ImmunizationEntry(
        vaccine=concept_text(r.get("vaccineCode")) or NOT_STATED,
        brand=brand,
        date=when(r.get("occurrenceDateTime")) or as_str(r.get("occurrenceString")),
        dose=", ".join(doses),
        lot=as_str(r.get("lotNumber")),
        route=concept_text(r.get("route")),
        site=concept_text(r.get("site")),
        status=as_str(r.get("status")),
    )


def _recommendation(index: _Index, pos: int, r: dict[str, Any]) -> Entry:
    items = [as_dict(x) for x in as_list(r.get("recommendation"))]
    first = items[0] if items else {}
    due = ""
    for c in as_list(first.get("dateCriterion")):
        due = due or when(as_dict(c).get("value"))
    vaccines = [concept_text(v) for v in as_list(first.get("vaccineCode"))]
    diseases = [concept_text(v) for v in as_list(first.get("targetDisease"))]
    return RecommendationEntry(
        vaccine=", ".join(x for x in vaccines + diseases if x) or NOT_STATED,
        due=due,
        dose=plain_number(first.get("doseNumberPositiveInt"))
        or as_str(first.get("doseNumberString")),
        status=concept_text(first.get("forecastStatus")),
    )


def _document(index: _Index, pos: int, r: dict[str, Any]) -> Entry:
    attachments = []
    title = as_str(r.get("description")) or concept_text(r.get("type")) or "Document"
    for n, c in enumerate(as_list(r.get("content"))):
        view = _attachment(f"{pos}:content.{n}", as_dict(c).get("attachment"), title)
        if view is not None:
            attachments.append(view)
    return DocumentEntry(
        title=title,
        type=concept_text(r.get("type")),
        date=when(r.get("date")),
        attachments=attachments,
    )


def _binary(index: _Index, pos: int, r: dict[str, Any]) -> Entry:
    view = _attachment(
        f"{pos}:binary",
        {"contentType": r.get("contentType"), "data": r.get("data")},
        "Signed copy",
    )
    return DocumentEntry(title="Signed copy", attachments=[view] if view else [])


def _media(index: _Index, pos: int, r: dict[str, Any]) -> Entry:
    view = _attachment(f"{pos}:content", r.get("content"), "Image")
    return DocumentEntry(
        title=concept_text(r.get("modality")) or "Image",
        date=when(r.get("createdDateTime")),
        attachments=[view] if view else [],
    )


def _invoice(index: _Index, pos: int, r: dict[str, Any]) -> Entry:
    lines = []
    total_tax = Decimal(0)
    for n, item in enumerate(as_list(r.get("lineItem")), start=1):
        item = as_dict(item)
        hit = index.resolve(item.get("chargeItemReference"))
        charge = as_dict(hit[1]) if hit else {}
        name = (
            concept_text(charge.get("productCodeableConcept"))
            or concept_text(item.get("chargeItemCodeableConcept"))
            or as_str(as_dict(item.get("chargeItemReference")).get("display"))
            or concept_text(charge.get("code"))
            or NOT_STATED
        )
        amounts: dict[str, Decimal] = {}
        for pc in as_list(item.get("priceComponent")):
            pc = as_dict(pc)
            value = as_decimal(as_dict(pc.get("amount")).get("value")) or Decimal(0)
            kind = as_str(pc.get("type"))
            label = concept_text(pc.get("code")).lower()
            key = "mrp" if kind == "informational" and "mrp" in label else kind
            amounts[key] = amounts.get(key, Decimal(0)) + value
        base = amounts.get("base", Decimal(0)) + amounts.get("surcharge", Decimal(0))
        discount = amounts.get("discount", Decimal(0)) + amounts.get("deduction", Decimal(0))
        tax = amounts.get("tax", Decimal(0))
        total_tax += tax
        qty = as_decimal(as_dict(charge.get("quantity")).get("value")) or Decimal(1)
        # Price components carry line totals; the rate and MRP are shown per unit.
        lines.append(
            InvoiceLineView(
                sequence=plain_number(item.get("sequence")) or str(n),
                item=name,
                quantity=plain_number(qty),
                rate=rupees(base / qty),
                mrp=rupees(amounts["mrp"] / qty) if "mrp" in amounts else "",
                discount=rupees(discount) if discount else "",
                tax=rupees(tax) if tax else "",
                amount=rupees(base - discount + tax),
            )
        )
    identifier = next((as_dict(i) for i in as_list(r.get("identifier"))), {})
    return InvoiceEntry(
        number=as_str(identifier.get("value")) or NOT_STATED,
        type=concept_text(r.get("type")),
        date=when(r.get("date")),
        status=as_str(r.get("status")),
        lines=lines,
        total_net=rupees(as_dict(r.get("totalNet")).get("value")),
        total_gross=rupees(as_dict(r.get("totalGross")).get("value")),
        total_tax=rupees(total_tax),
    )


_READERS: dict[str, Any] = {
    "Condition": _condition,
    "AllergyIntolerance": _allergy,
    "Observation": _observation,
    "MedicationRequest": _medication,
    "MedicationStatement": _medication,
    "ServiceRequest": _request,
    "Appointment": _appointment,
    "Procedure": _procedure,
    "FamilyMemberHistory": _family,
    "CarePlan": _care_plan,
    "DiagnosticReport": _report,
    "ImagingStudy": _study_entry,
    "Immunization": _immunization,
    "ImmunizationRecommendation": _recommendation,
    "DocumentReference": _document,
    "Binary": _binary,
    "Media": _media,
    "Invoice": _invoice,
}


# --------------------------------------------------------------------------- attachments


class AttachmentNotFound(NotFound):
    """No attachment at that key in the bundle."""

    def __init__(self, key: str):
        super().__init__("This record has no such attachment.", field="attachment")
        self.key = key


def attachment_content(bundle: Any, key: str) -> tuple[str, bytes, str]:
    """The content type, bytes and title of the attachment a ``RecordView`` names by
    ``key`` (``<entry>:content.<n>``, ``<entry>:presentedForm.<n>``, ``<entry>:content``
    for Media, ``<entry>:binary``), for a page that serves it."""
    position, _, where = key.partition(":")
    entries = as_list(as_dict(bundle).get("entry"))
    if not position.isdigit() or int(position) >= len(entries):
        raise AttachmentNotFound(key)
    resource = as_dict(as_dict(entries[int(position)]).get("resource"))
    field_name, _, n = where.partition(".")
    if field_name == "binary":
        att: dict[str, Any] = {
            "contentType": resource.get("contentType"),
            "data": resource.get("data"),
        }
    elif field_name == "content" and not n:
        att = as_dict(resource.get("content"))
    elif field_name == "content" and n.isdigit():
        contents = as_list(resource.get("content"))
        att = as_dict(as_dict(contents[int(n)]).get("attachment")) if int(n) < len(contents) else {}
    elif field_name == "presentedForm" and n.isdigit():
        forms = as_list(resource.get("presentedForm"))
        att = as_dict(forms[int(n)]) if int(n) < len(forms) else {}
    else:
        raise AttachmentNotFound(key)
    data = as_str(att.get("data"))
    if not data:
        raise AttachmentNotFound(key)
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise AttachmentNotFound(key) from None
    return (
        as_str(att.get("contentType")) or "application/octet-stream",
        raw,
        as_str(att.get("title")),
    )
