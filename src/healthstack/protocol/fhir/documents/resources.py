"""One function per clinical resource: input entry → FHIR R4 resource in the document.

Each ``add_*`` takes the ``DocumentAssembly`` and one input entry, adds the resource (and
any it needs, such as a lab report's Observations and Specimen) with the IG profile it
must meet, and returns the fullUrl the Composition's section refers to. The shapes follow
the IG 6.0.0 profiles: which elements are required, which systems a coding may use.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from healthstack.protocol.fhir.documents.bundle import (
    DocumentAssembly,
    annotation,
    attachment,
    coded,
    coding,
    concept,
    date_time,
    instant,
    number,
    quantity,
    ref,
)
from healthstack.protocol.fhir.documents.model import (
    Allergy,
    Attachment,
    CarePlan,
    Concept,
    Condition,
    Document,
    FamilyHistory,
    FollowUp,
    ImagingReport,
    Investigation,
    Invoice,
    InvoiceLine,
    LabReport,
    MedicationOrder,
    Observation,
    ObservationComponent,
    Procedure,
    Quantity,
    ReferenceRange,
    Referral,
    Vaccination,
    VaccineRecommendation,
)
from healthstack.protocol.fhir.terminology import (
    ALLERGY_ACTIVE,
    ALLERGY_CONFIRMED,
    BRAND_NAME_EXTENSION,
    CONDITION_DIAGNOSIS,
    CONDITION_PROBLEM,
    CURRENCY,
    DATE_VACCINE_DUE,
    DICOM_UID,
    HEALTH_DOCUMENT_TYPE,
    IMAGING_CATEGORY,
    IMAGING_REPORT_TYPE,
    INTERPRETATION,
    LAB_REPORT_TYPE,
    MODALITY,
    OBSERVATION_LABORATORY,
    PRICE_CGST,
    PRICE_DISCOUNT,
    PRICE_MRP,
    PRICE_RATE,
    PRICE_SGST,
    RELATIONSHIP_DISPLAY,
    V3_ROLE_CODE,
    Coding,
    billing_coding,
    facility_system,
)

PAISA = Decimal("0.01")


def _value(value: Quantity | str | Concept) -> dict[str, Any]:
    if isinstance(value, Quantity):
        return {"valueQuantity": quantity(value)}
    if isinstance(value, Concept):
        return {"valueCodeableConcept": concept(value)}
    return {"valueString": value}


def _range(r: ReferenceRange) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if r.low is not None:
        out["low"] = quantity(r.low)
    if r.high is not None:
        out["high"] = quantity(r.high)
    if r.text:
        out["text"] = r.text
    return out


# --------------------------------------------------------------------------- findings


def add_condition(doc: DocumentAssembly, c: Condition, *, diagnosis: bool = False) -> str:
    onset = date_time(c.onset) if c.onset is not None else None
    return doc.add(
        {
            "resourceType": "Condition",
            "clinicalStatus": coded(c.status),
            "category": [coded(CONDITION_DIAGNOSIS if diagnosis else CONDITION_PROBLEM)],
            "code": concept(c.code),
            "subject": doc.subject(),
            "encounter": doc.encounter_ref(),
            "onsetDateTime": onset,
            "recordedDate": instant(doc.now),
            "recorder": doc.author(),
            "note": annotation(c.note),
        },
        "Condition",
    )


def add_allergy(doc: DocumentAssembly, a: Allergy) -> str:
    reaction = [{"manifestation": [concept(a.reaction)]}] if a.reaction is not None else None
    return doc.add(
        {
            "resourceType": "AllergyIntolerance",
            "clinicalStatus": coded(ALLERGY_ACTIVE),
            "verificationStatus": coded(ALLERGY_CONFIRMED),
            "criticality": a.criticality,
            "code": concept(a.substance),
            "patient": doc.subject(),
            "encounter": doc.encounter_ref(),
            "recordedDate": instant(doc.now),
            "recorder": doc.author(),
            "reaction": reaction,
            "note": annotation(a.note),
        },
        "AllergyIntolerance",
    )


def _component(c: ObservationComponent) -> dict[str, Any]:
    return {"code": concept(c.code), **_value(c.value)}


def add_observation(
    doc: DocumentAssembly,
    o: Observation,
    *,
    profile: str = "Observation",
    category: Coding | None = None,
    specimen: str | None = None,
) -> str:
    body: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "category": [coded(category)] if category is not None else None,
        "code": concept(o.code),
        "subject": doc.subject(),
        "encounter": doc.encounter_ref(),
        "effectiveDateTime": instant(o.effective or doc.now),
        "performer": [doc.author()],
    }
    if o.value is not None:
        body.update(_value(o.value))
    body["interpretation"] = [coded(INTERPRETATION[o.interpretation])] if o.interpretation else None
    body["note"] = annotation(o.note)
    body["specimen"] = ref(specimen) if specimen else None
    body["referenceRange"] = [_range(o.reference_range)] if o.reference_range else None
    body["component"] = [_component(c) for c in o.components] or None
    return doc.add(body, profile)


def add_procedure(doc: DocumentAssembly, p: Procedure) -> str:
    return doc.add(
        {
            "resourceType": "Procedure",
            "status": "completed",
            "code": concept(p.code),
            "subject": doc.subject(),
            "encounter": doc.encounter_ref(),
            "performedDateTime": date_time(p.performed) if p.performed is not None else None,
            "recorder": doc.author(),
            "note": annotation(p.note),
        },
        "Procedure",
    )


def add_family_history(doc: DocumentAssembly, f: FamilyHistory) -> str:
    relation = Coding(V3_ROLE_CODE, f.relationship.value, RELATIONSHIP_DISPLAY[f.relationship])
    return doc.add(
        {
            "resourceType": "FamilyMemberHistory",
            "status": "completed",
            "patient": doc.subject(),
            "date": instant(doc.now),
            "relationship": coded(relation),
            "condition": [{"code": concept(f.condition)}],
            "note": annotation(f.note),
        },
        "FamilyMemberHistory",
    )


# --------------------------------------------------------------------------- orders


def _dosage(m: MedicationOrder) -> dict[str, Any]:
    d = m.dosage
    out: dict[str, Any] = {"text": d.text}
    if d.instruction is not None:
        out["additionalInstruction"] = [concept(d.instruction)]
    repeat: dict[str, Any] = {}
    if d.frequency is not None:
        repeat.update(
            frequency=d.frequency, period=number(Decimal(d.period)), periodUnit=d.period_unit
        )
    if d.duration_days is not None:
        repeat["boundsDuration"] = {
            "value": d.duration_days,
            "unit": "days",
            "system": "http://unitsofmeasure.org",
            "code": "d",
        }
    if repeat:
        out["timing"] = {"repeat": repeat}
    if d.as_needed:
        out["asNeededBoolean"] = True
    if d.route is not None:
        out["route"] = concept(d.route)
    if d.dose is not None:
        out["doseAndRate"] = [{"doseQuantity": quantity(d.dose)}]
    return out


def add_medication_request(doc: DocumentAssembly, m: MedicationOrder) -> str:
    dispense = {"quantity": quantity(m.dispense)} if m.dispense is not None else None
    return doc.add(
        {
            "resourceType": "MedicationRequest",
            "status": "active",
            "intent": "order",
            "medicationCodeableConcept": concept(m.medicine),
            "subject": doc.subject(),
            "encounter": doc.encounter_ref(),
            "authoredOn": instant(doc.now),
            "requester": doc.author(),
            "reasonCode": [concept(m.reason)] if m.reason is not None else None,
            "note": annotation(m.note),
            "dosageInstruction": [_dosage(m)],
            "dispenseRequest": dispense,
        },
        "MedicationRequest",
    )


def add_investigation(doc: DocumentAssembly, i: Investigation) -> str:
    return doc.add(
        {
            "resourceType": "ServiceRequest",
            "status": "active",
            "intent": "order",
            "code": concept(i.code),
            "subject": doc.subject(),
            "encounter": doc.encounter_ref(),
            "authoredOn": instant(doc.now),
            "requester": doc.author(),
            "note": annotation(i.note),
        },
        "ServiceRequest",
    )


def add_referral(doc: DocumentAssembly, r: Referral) -> str:
    # The referred-to service is named, not referenced: it is not part of this document.
    return doc.add(
        {
            "resourceType": "ServiceRequest",
            "status": "active",
            "intent": "order",
            "code": concept(r.service),
            "subject": doc.subject(),
            "encounter": doc.encounter_ref(),
            "authoredOn": instant(doc.now),
            "requester": doc.author(),
            "performer": [{"display": r.to}] if r.to else None,
            "reasonCode": [{"text": r.reason}] if r.reason else None,
        },
        "ServiceRequest",
    )


def add_appointment(doc: DocumentAssembly, f: FollowUp) -> str:
    return doc.add(
        {
            "resourceType": "Appointment",
            "status": "booked",
            "serviceType": [concept(f.service)] if f.service is not None else None,
            "description": f.description,
            "start": instant(f.start),
            "end": instant(f.until),
            "created": instant(doc.now),
            "participant": [
                {"actor": doc.subject(), "status": "accepted"},
                {"actor": doc.author(), "status": "accepted"},
            ],
        },
        "Appointment",
    )


def add_care_plan(doc: DocumentAssembly, c: CarePlan) -> str:
    period: dict[str, str] = {}
    if c.start is not None:
        period["start"] = c.start.isoformat()
    if c.end is not None:
        period["end"] = c.end.isoformat()
    return doc.add(
        {
            "resourceType": "CarePlan",
            "status": "active",
            "intent": "plan",
            "title": c.title,
            "description": c.description,
            "subject": doc.subject(),
            "encounter": doc.encounter_ref(),
            "period": period or None,
            "created": instant(doc.now),
            "author": doc.author(),
        },
        "CarePlan",
    )


# --------------------------------------------------------------------------- documents


def add_document_reference(
    doc: DocumentAssembly, d: Document, *, default_type: Coding = HEALTH_DOCUMENT_TYPE
) -> str:
    kind = concept(d.kind) if d.kind is not None else coded(default_type)
    context: dict[str, Any] = {}
    if doc.encounter:
        context["encounter"] = [ref(doc.encounter)]
    return doc.add(
        {
            "resourceType": "DocumentReference",
            "status": "current",
            "docStatus": "final",
            "type": kind,
            "subject": doc.subject(),
            "date": instant(doc.now),
            "author": [doc.author()],
            "custodian": ref(doc.organization, doc.context.organization.name),
            "description": d.description or d.attachment.title,
            "content": [{"attachment": attachment(d.attachment)}],
            "context": context or None,
        },
        "DocumentReference",
    )


def add_binary(doc: DocumentAssembly, a: Attachment) -> str:
    return doc.add(
        {"resourceType": "Binary", "contentType": a.content_type, "data": attachment(a)["data"]},
        "Binary",
    )


# --------------------------------------------------------------------------- reports


def add_lab_report(doc: DocumentAssembly, r: LabReport) -> str:
    specimen: str | None = None
    if r.specimen is not None:
        specimen = doc.add(
            {
                "resourceType": "Specimen",
                "type": concept(r.specimen.type),
                "subject": doc.subject(),
                "receivedTime": instant(r.specimen.received),
                "collection": {"collectedDateTime": instant(r.specimen.collected)},
            },
            "Specimen",
        )
    results = [
        add_observation(doc, o, category=OBSERVATION_LABORATORY, specimen=specimen)
        for o in r.results
    ]
    return doc.add(
        {
            "resourceType": "DiagnosticReport",
            "status": "final",
            "category": [coded(r.category)],
            "code": concept(r.code),
            "subject": doc.subject(),
            "encounter": doc.encounter_ref(),
            "issued": instant(r.issued),
            "performer": [ref(doc.organization, doc.context.organization.name)],
            "resultsInterpreter": [doc.author()],
            "specimen": [ref(specimen)] if specimen else None,
            "result": [ref(u) for u in results],
            "conclusion": r.conclusion,
            "conclusionCode": [coded(c) for c in r.conclusion_codes] or None,
            "presentedForm": [attachment(r.pdf)] if r.pdf is not None else None,
        },
        "DiagnosticReportLab",
    )


def add_imaging_report(doc: DocumentAssembly, r: ImagingReport) -> str:
    modality = MODALITY[r.modality]
    series = None
    if r.series_uid is not None:
        series = [{"uid": r.series_uid, "modality": coding(modality)}]
    study = doc.add(
        {
            "resourceType": "ImagingStudy",
            "identifier": [{"system": DICOM_UID, "value": f"urn:oid:{r.study_uid}"}],
            "status": "available",
            "modality": [coding(modality)],
            "subject": doc.subject(),
            "encounter": doc.encounter_ref(),
            "started": instant(r.issued),
            "interpreter": [doc.author()],
            "procedureCode": [concept(r.procedure)] if r.procedure is not None else None,
            "numberOfSeries": 1 if series else None,
            "series": series,
        },
        "ImagingStudy",
    )
    media = doc.add(
        {
            "resourceType": "Media",
            "status": "completed",
            "modality": coded(modality),
            "subject": doc.subject(),
            "encounter": doc.encounter_ref(),
            "createdDateTime": instant(r.key_image.created or r.issued),
            "content": attachment(r.key_image),
        },
        "Media",
    )
    return doc.add(
        {
            "resourceType": "DiagnosticReport",
            "status": "final",
            "category": [coded(IMAGING_CATEGORY)],
            "code": concept(r.code),
            "subject": doc.subject(),
            "encounter": doc.encounter_ref(),
            "issued": instant(r.issued),
            "performer": [ref(doc.organization, doc.context.organization.name)],
            "resultsInterpreter": [doc.author()],
            "imagingStudy": [ref(study)],
            "media": [{"comment": r.key_image.title, "link": ref(media)}],
            "conclusion": r.conclusion,
            "conclusionCode": [coded(c) for c in r.conclusion_codes] or None,
            "presentedForm": [attachment(r.pdf)] if r.pdf is not None else None,
        },
        "DiagnosticReportImaging",
    )


def report_type(r: LabReport | ImagingReport) -> Coding:
    return IMAGING_REPORT_TYPE if isinstance(r, ImagingReport) else LAB_REPORT_TYPE


# --------------------------------------------------------------------------- immunization


def add_immunization(doc: DocumentAssembly, v: Vaccination) -> str:
    extension = None
    if v.brand_name:
        extension = [{"url": BRAND_NAME_EXTENSION, "valueString": v.brand_name}]
    protocol: dict[str, Any] = {}
    if v.series:
        protocol["series"] = v.series
    if v.dose_number is not None:
        protocol["doseNumberPositiveInt"] = v.dose_number
    return doc.add(
        {
            "resourceType": "Immunization",
            "extension": extension,
            "status": "completed",
            "vaccineCode": concept(v.vaccine),
            "patient": doc.subject(),
            "encounter": doc.encounter_ref(),
            "occurrenceDateTime": date_time(v.occurred),
            "recorded": instant(doc.now),
            "primarySource": True,
            "lotNumber": v.lot_number,
            "expirationDate": v.expiration_date.isoformat() if v.expiration_date else None,
            "site": concept(v.site) if v.site is not None else None,
            "route": concept(v.route) if v.route is not None else None,
            "performer": [{"actor": doc.author()}],
            "protocolApplied": [protocol] if protocol else None,
        },
        "Immunization",
    )


def add_recommendation(doc: DocumentAssembly, r: VaccineRecommendation) -> str:
    item: dict[str, Any] = {
        "vaccineCode": [concept(r.vaccine)],
        "forecastStatus": coded(r.status),
        "dateCriterion": [{"code": coded(DATE_VACCINE_DUE), "value": r.due.isoformat()}],
    }
    if r.dose_number is not None:
        item["doseNumberPositiveInt"] = r.dose_number
    return doc.add(
        {
            "resourceType": "ImmunizationRecommendation",
            "patient": doc.subject(),
            "date": instant(doc.now),
            "authority": ref(doc.organization, doc.context.organization.name),
            "recommendation": [item],
        },
        "ImmunizationRecommendation",
    )


# --------------------------------------------------------------------------- invoice


def _money(amount: Decimal) -> dict[str, Any]:
    return {"value": number(amount.quantize(PAISA, rounding=ROUND_HALF_UP)), "currency": CURRENCY}


def line_amounts(line: InvoiceLine) -> dict[str, Decimal]:
    """The money on one line: base (rate × quantity), discount, CGST, SGST, net, gross;
    taxes on the discounted amount, each rounded to the paisa."""
    base = (line.unit_price * line.quantity).quantize(PAISA, rounding=ROUND_HALF_UP)
    net = base - line.discount.quantize(PAISA, rounding=ROUND_HALF_UP)
    cgst = (net * line.cgst_percent / 100).quantize(PAISA, rounding=ROUND_HALF_UP)
    sgst = (net * line.sgst_percent / 100).quantize(PAISA, rounding=ROUND_HALF_UP)
    return {
        "base": base,
        "discount": base - net,
        "cgst": cgst,
        "sgst": sgst,
        "net": net,
        "gross": net + cgst + sgst,
    }


def add_invoice(doc: DocumentAssembly, inv: Invoice) -> str:
    hfr = doc.context.organization.hfr_id
    items: list[dict[str, Any]] = []
    total_net = Decimal(0)
    total_gross = Decimal(0)
    for seq, line in enumerate(inv.lines, start=1):
        amounts = line_amounts(line)
        total_net += amounts["net"]
        total_gross += amounts["gross"]
        charge = doc.add(
            {
                "resourceType": "ChargeItem",
                "status": "billed",
                "code": coded(billing_coding(line.billing)),
                "subject": doc.subject(),
                "context": doc.encounter_ref(),
                "occurrenceDateTime": instant(inv.date),
                "performer": [{"actor": doc.author()}],
                "quantity": {"value": number(line.quantity)},
                "productCodeableConcept": concept(line.item),
            },
            "ChargeItem",
        )
        components: list[dict[str, Any]] = [
            {"type": "base", "code": coded(PRICE_RATE), "amount": _money(amounts["base"])}
        ]
        if line.mrp is not None:
            components.append(
                {
                    "type": "informational",
                    "code": coded(PRICE_MRP),
                    "amount": _money(line.mrp * line.quantity),
                }
            )
        if amounts["discount"]:
            components.append(
                {
                    "type": "discount",
                    "code": coded(PRICE_DISCOUNT),
                    "amount": _money(amounts["discount"]),
                }
            )
        for code, key, percent in (
            (PRICE_CGST, "cgst", line.cgst_percent),
            (PRICE_SGST, "sgst", line.sgst_percent),
        ):
            if percent:
                components.append(
                    {
                        "type": "tax",
                        "code": coded(code),
                        "factor": number(percent / 100),
                        "amount": _money(amounts[key]),
                    }
                )
        items.append(
            {
                "sequence": seq,
                "chargeItemReference": ref(charge, line.item.text),
                "priceComponent": components,
            }
        )
    return doc.add(
        {
            "resourceType": "Invoice",
            "identifier": [{"system": facility_system(hfr, "invoice"), "value": inv.number}],
            "status": inv.status,
            "type": coded(billing_coding(inv.type)),
            "subject": doc.subject(),
            "date": instant(inv.date),
            "participant": [{"actor": doc.author()}],
            "issuer": ref(doc.organization, doc.context.organization.name),
            "lineItem": items,
            "totalNet": _money(total_net),
            "totalGross": _money(total_gross),
            "note": annotation(inv.note),
        },
        "Invoice",
    )
