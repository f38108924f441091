"""The FHIR R4 (4.0.1) value sets that IG 6.0.0 binds with strength *required*.

The IG's definitions package ships only the IG's own ValueSets and CodeSystems, yet every
``required`` binding in its profiles points at a core value set (status codes, genders,
list modes...). These small, closed code lists are copied here from the FHIR R4
specification so that required bindings are really checked. Each entry: value-set URL ->
(code system, codes). For elements of type ``code`` the system is implicit.
"""

from __future__ import annotations

_HL7 = "http://hl7.org/fhir/"
_THO = "http://terminology.hl7.org/CodeSystem/"


def _vs(name: str) -> str:
    return f"{_HL7}ValueSet/{name}"


CORE_REQUIRED: dict[str, tuple[str, frozenset[str]]] = {
    _vs(name): (system, frozenset(codes.split()))
    for name, system, codes in (
        ("administrative-gender", _HL7 + "administrative-gender", "male female other unknown"),
        (
            "allergy-intolerance-category",
            _HL7 + "allergy-intolerance-category",
            "food medication environment biologic",
        ),
        (
            "allergy-intolerance-criticality",
            _HL7 + "allergy-intolerance-criticality",
            "low high unable-to-assess",
        ),
        ("allergy-intolerance-type", _HL7 + "allergy-intolerance-type", "allergy intolerance"),
        (
            "allergyintolerance-clinical",
            _THO + "allergyintolerance-clinical",
            "active inactive resolved",
        ),
        (
            "allergyintolerance-verification",
            _THO + "allergyintolerance-verification",
            "unconfirmed confirmed refuted entered-in-error",
        ),
        (
            "appointmentstatus",
            _HL7 + "appointmentstatus",
            "proposed pending booked arrived fulfilled cancelled noshow entered-in-error "
            "checked-in waitlist",
        ),
        (
            "bundle-type",
            _HL7 + "bundle-type",
            "document message transaction transaction-response batch batch-response history "
            "searchset collection",
        ),
        (
            "care-plan-activity-kind",
            _HL7 + "resource-types",
            "Appointment CommunicationRequest DeviceRequest MedicationRequest NutritionOrder "
            "Task ServiceRequest VisionPrescription",
        ),
        (
            "care-plan-activity-status",
            _HL7 + "care-plan-activity-status",
            "not-started scheduled in-progress on-hold completed cancelled stopped unknown "
            "entered-in-error",
        ),
        ("care-plan-intent", _HL7 + "request-intent", "proposal plan order option"),
        (
            "chargeitem-status",
            _HL7 + "chargeitem-status",
            "planned billable not-billable aborted billed entered-in-error unknown",
        ),
        (
            "composition-attestation-mode",
            _HL7 + "composition-attestation-mode",
            "personal professional legal official",
        ),
        (
            "composition-status",
            _HL7 + "composition-status",
            "preliminary final amended entered-in-error",
        ),
        (
            "condition-clinical",
            _THO + "condition-clinical",
            "active recurrence relapse inactive remission resolved",
        ),
        (
            "condition-ver-status",
            _THO + "condition-ver-status",
            "unconfirmed provisional differential confirmed refuted entered-in-error",
        ),
        (
            "contact-point-system",
            _HL7 + "contact-point-system",
            "phone fax email pager url sms other",
        ),
        ("contact-point-use", _HL7 + "contact-point-use", "home work temp old mobile"),
        ("days-of-week", _HL7 + "days-of-week", "mon tue wed thu fri sat sun"),
        (
            "diagnostic-report-status",
            _HL7 + "diagnostic-report-status",
            "registered partial preliminary final amended corrected appended cancelled "
            "entered-in-error unknown",
        ),
        (
            "document-reference-status",
            _HL7 + "document-reference-status",
            "current superseded entered-in-error",
        ),
        (
            "document-relationship-type",
            _HL7 + "document-relationship-type",
            "replaces transforms signs appends",
        ),
        (
            "encounter-location-status",
            _HL7 + "encounter-location-status",
            "planned active reserved completed",
        ),
        (
            "encounter-status",
            _HL7 + "encounter-status",
            "planned arrived triaged in-progress onleave finished cancelled entered-in-error "
            "unknown",
        ),
        (
            "event-status",
            _HL7 + "event-status",
            "preparation in-progress not-done on-hold stopped completed entered-in-error unknown",
        ),
        (
            "history-status",
            _HL7 + "history-status",
            "partial completed entered-in-error health-unknown",
        ),
        ("http-verb", _HL7 + "http-verb", "GET HEAD POST PUT DELETE PATCH"),
        ("identifier-use", _HL7 + "identifier-use", "usual official temp secondary old"),
        (
            "imagingstudy-status",
            _HL7 + "imagingstudy-status",
            "registered available cancelled entered-in-error unknown",
        ),
        ("immunization-status", _HL7 + "event-status", "completed entered-in-error not-done"),
        (
            "invoice-priceComponentType",
            _HL7 + "invoice-priceComponentType",
            "base surcharge deduction discount tax informational",
        ),
        (
            "invoice-status",
            _HL7 + "invoice-status",
            "draft issued balanced cancelled entered-in-error",
        ),
        ("link-type", _HL7 + "link-type", "replaced-by replaces refer seealso"),
        ("list-mode", _HL7 + "list-mode", "working snapshot changes"),
        (
            "medication-statement-status",
            _HL7 + "CodeSystem/medication-statement-status",
            "active completed entered-in-error intended stopped on-hold unknown not-taken",
        ),
        (
            "medication-status",
            _HL7 + "CodeSystem/medication-status",
            "active inactive entered-in-error",
        ),
        (
            "medicationrequest-intent",
            _HL7 + "CodeSystem/medicationrequest-intent",
            "proposal plan order original-order reflex-order filler-order instance-order option",
        ),
        (
            "medicationrequest-status",
            _HL7 + "CodeSystem/medicationrequest-status",
            "active on-hold cancelled completed entered-in-error stopped draft unknown",
        ),
        ("name-use", _HL7 + "name-use", "usual official temp nickname anonymous old maiden"),
        (
            "observation-status",
            _HL7 + "observation-status",
            "registered preliminary final amended corrected cancelled entered-in-error unknown",
        ),
        ("participantrequired", _HL7 + "participantrequired", "required optional information-only"),
        (
            "participationstatus",
            _HL7 + "participationstatus",
            "accepted declined tentative needs-action",
        ),
        ("reaction-event-severity", _HL7 + "reaction-event-severity", "mild moderate severe"),
        (
            "request-intent",
            _HL7 + "request-intent",
            "proposal plan directive order original-order reflex-order filler-order "
            "instance-order option",
        ),
        ("request-priority", _HL7 + "request-priority", "routine urgent asap stat"),
        (
            "request-status",
            _HL7 + "request-status",
            "draft active on-hold revoked completed entered-in-error unknown",
        ),
        ("search-entry-mode", _HL7 + "search-entry-mode", "match include outcome"),
        (
            "specimen-status",
            _HL7 + "specimen-status",
            "available unavailable unsatisfactory entered-in-error",
        ),
    )
}
CORE_REQUIRED["http://terminology.hl7.org/ValueSet/v3-ConfidentialityClassification"] = (
    _THO + "v3-Confidentiality",
    frozenset({"U", "L", "M", "N", "R", "V"}),
)

# BCP 13 media types: not enumerable, so only their grammar (type/subtype) is checked.
MIMETYPES = _vs("mimetypes")
