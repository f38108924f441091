"""Resolving references inside a document bundle.

ABDM requires every reference in a health-record bundle to resolve inside the bundle
(KD "packaging health data"; absolute URLs to servers are not allowed). A reference is
looked up, in order:

1. ``#id`` -- a contained resource of the referring resource;
2. an entry whose ``fullUrl`` equals the reference (``urn:uuid:...``, or the ``Type/id``
   form many ABDM HIPs use as fullUrl);
3. relative ``Type/id`` against the RESTful base of the referring entry's absolute fullUrl
   (the FHIR bundle rule);
4. an entry whose resource has that type and id, whatever its fullUrl. FHIR does not
   resolve this case; it is accepted with a warning because the target is unambiguous.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

# The 146 resource types of FHIR R4 (4.0.1).
RESOURCE_TYPES = frozenset(
    """Account ActivityDefinition AdverseEvent AllergyIntolerance Appointment
    AppointmentResponse AuditEvent Basic Binary BiologicallyDerivedProduct BodyStructure Bundle
    CapabilityStatement CarePlan CareTeam CatalogEntry ChargeItem ChargeItemDefinition Claim
    ClaimResponse ClinicalImpression CodeSystem Communication CommunicationRequest
    CompartmentDefinition Composition ConceptMap Condition Consent Contract Coverage
    CoverageEligibilityRequest CoverageEligibilityResponse DetectedIssue Device
    DeviceDefinition DeviceMetric DeviceRequest DeviceUseStatement DiagnosticReport
    DocumentManifest DocumentReference EffectEvidenceSynthesis Encounter Endpoint
    EnrollmentRequest EnrollmentResponse EpisodeOfCare EventDefinition Evidence
    EvidenceVariable ExampleScenario ExplanationOfBenefit FamilyMemberHistory Flag Goal
    GraphDefinition Group GuidanceResponse HealthcareService ImagingStudy Immunization
    ImmunizationEvaluation ImmunizationRecommendation ImplementationGuide InsurancePlan
    Invoice Library Linkage List Location Measure MeasureReport Media Medication
    MedicationAdministration MedicationDispense MedicationKnowledge MedicationRequest
    MedicationStatement MedicinalProduct MedicinalProductAuthorization
    MedicinalProductContraindication MedicinalProductIndication MedicinalProductIngredient
    MedicinalProductInteraction MedicinalProductManufactured MedicinalProductPackaged
    MedicinalProductPharmaceutical MedicinalProductUndesirableEffect MessageDefinition
    MessageHeader MolecularSequence NamingSystem NutritionOrder Observation
    ObservationDefinition OperationDefinition OperationOutcome Organization
    OrganizationAffiliation Parameters Patient PaymentNotice PaymentReconciliation Person
    PlanDefinition Practitioner PractitionerRole Procedure Provenance Questionnaire
    QuestionnaireResponse RelatedPerson RequestGroup ResearchDefinition
    ResearchElementDefinition ResearchStudy ResearchSubject RiskAssessment
    RiskEvidenceSynthesis Schedule SearchParameter ServiceRequest Slot Specimen
    SpecimenDefinition StructureDefinition StructureMap Subscription Substance
    SubstanceNucleicAcid SubstancePolymer SubstanceProtein SubstanceReferenceInformation
    SubstanceSourceMaterial SubstanceSpecification SupplyDelivery SupplyRequest Task
    TerminologyCapabilities TestReport TestScript ValueSet VerificationResult
    VisionPrescription""".split()  # noqa: SIM905 - a word list reads better than 146 lines
)

# Type/id, optionally with a version; the FHIR "RESTful URL" shape.
_ID = r"([A-Za-z0-9\-.]{1,64})"
_RELATIVE = re.compile(rf"^([A-Z][A-Za-z]+)/{_ID}(/_history/{_ID})?$")
RESTFUL_ABSOLUTE = re.compile(rf"^(https?://.+)/([A-Z][A-Za-z]+)/{_ID}(/_history/.*)?$")


@dataclass(frozen=True, slots=True)
class Entry:
    index: int
    full_url: str | None
    resource: dict[str, Any] | None
    path: str = ""  # Bundle.entry[i]

    def __post_init__(self) -> None:
        if not self.path:
            object.__setattr__(self, "path", f"Bundle.entry[{self.index}]")

    @property
    def resource_type(self) -> str | None:
        return self.resource.get("resourceType") if self.resource else None


@dataclass(frozen=True, slots=True)
class Resolution:
    target: dict[str, Any] | None
    entry: Entry | None  # None for a contained resource
    how: str  # contained | fullUrl | restful | type-id | unresolved


UNRESOLVED = Resolution(None, None, "unresolved")


def split_relative(ref: str) -> tuple[str, str] | None:
    m = _RELATIVE.match(ref)
    return (m.group(1), m.group(2)) if m and m.group(1) in RESOURCE_TYPES else None


class BundleIndex:
    def __init__(self, bundle: dict[str, Any]) -> None:
        raw = bundle.get("entry")
        self.entries: list[Entry] = []
        self.by_full_url: dict[str, Entry] = {}
        self.by_type_id: dict[tuple[str, str], Entry] = {}
        self.duplicate_full_urls: list[Entry] = []
        for i, e in enumerate(raw if isinstance(raw, list) else []):
            if not isinstance(e, dict):
                self.entries.append(Entry(i, None, None))
                continue
            full_url = e.get("fullUrl") if isinstance(e.get("fullUrl"), str) else None
            res = e.get("resource") if isinstance(e.get("resource"), dict) else None
            entry = Entry(i, full_url, res)
            self.entries.append(entry)
            if full_url:
                if full_url in self.by_full_url:
                    self.duplicate_full_urls.append(entry)
                else:
                    self.by_full_url[full_url] = entry
            if res is not None and isinstance(res.get("id"), str):
                self.by_type_id.setdefault((str(res.get("resourceType")), res["id"]), entry)

    def resolve(
        self, ref: str, *, source: Entry | None, resource: dict[str, Any] | None = None
    ) -> Resolution:
        if ref.startswith("#"):
            holder = resource if resource is not None else (source.resource if source else None)
            if holder is None:
                return UNRESOLVED
            if ref == "#":
                return Resolution(holder, None, "contained")
            for c in holder.get("contained") or ():
                if isinstance(c, dict) and c.get("id") == ref[1:]:
                    return Resolution(c, None, "contained")
            return UNRESOLVED
        hit = self.by_full_url.get(ref)
        if hit is not None:
            return Resolution(hit.resource, hit, "fullUrl")
        rel = split_relative(ref)
        if rel is None:
            return UNRESOLVED
        if source is not None and source.full_url:
            m = RESTFUL_ABSOLUTE.match(source.full_url)
            if m:
                hit = self.by_full_url.get(f"{m.group(1)}/{rel[0]}/{rel[1]}")
                if hit is not None:
                    return Resolution(hit.resource, hit, "restful")
        hit = self.by_type_id.get(rel)
        if hit is not None:
            return Resolution(hit.resource, hit, "type-id")
        return UNRESOLVED


def iter_references(node: Any, path: str, parent_key: str = "") -> Iterator[tuple[str, str]]:
    """Every ``Reference.reference`` string under ``node`` with its path. Contained
    resources are included (their references resolve in the same bundle)."""
    if isinstance(node, dict):
        for key, value in node.items():
            sub = f"{path}.{key}"
            if key == "reference" and isinstance(value, str):
                if not _uri_named_reference(node, parent_key):
                    yield sub, value
            elif isinstance(value, dict | list):
                yield from iter_references(value, sub, key)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            if isinstance(item, dict | list):
                yield from iter_references(item, f"{path}[{i}]", parent_key)


def _uri_named_reference(owner: dict[str, Any], parent_key: str) -> bool:
    # Three R4 elements are called "reference" but are URIs, not References:
    # Immunization.education.reference, DetectedIssue.reference and Expression.reference.
    return (
        parent_key == "education"
        or owner.get("resourceType") == "DetectedIssue"
        or "expression" in owner
    )
