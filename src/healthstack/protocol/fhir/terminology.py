"""The codes and identifier systems the facility's FHIR documents use, as data.

Everything a document builder (``protocol.fhir.documents``) writes as a fixed code lives here,
each with the display the NRCeS IG 6.0.0 or the code system gives it (REFERENCE.md §2.2):
record types and their Composition codes, section codes, report types and categories,
identifier systems and types, the vital-sign and wellness LOINC codes, routes and body
sites, invoice billing and price-component codes. Clinical codes a doctor picks
(diagnoses, drugs, tests) come in with the record; the constants below for those are
conveniences for forms and demo data, not a catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

# --------------------------------------------------------------------------- systems

SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
UCUM = "http://unitsofmeasure.org"
DICOM_DCM = "http://dicom.nema.org/resources/ontology/DCM"
# A DICOM UID carried as an identifier: system urn:dicom:uid, value urn:oid:<uid>
# (FHIR R4 ImagingStudy.identifier guidance).
DICOM_UID = "urn:dicom:uid"
# "This value is a URI in its own right" (a urn:uuid): the usual system of a document id.
RFC3986 = "urn:ietf:rfc:3986"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
V3_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
V3_CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
V3_ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
V3_INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
ALLERGY_VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
IMMUNIZATION_RECOMMENDATION_STATUS = (
    "http://terminology.hl7.org/CodeSystem/immunization-recommendation-status"
)

NRCES = "https://nrces.in/ndhm/fhir/r4"
NRCES_PROFILE = f"{NRCES}/StructureDefinition/"
NDHM_IDENTIFIER_TYPE = f"{NRCES}/CodeSystem/ndhm-identifier-type-code"
NDHM_BILLING = f"{NRCES}/CodeSystem/ndhm-billing-codes"
NDHM_PRICE_COMPONENTS = f"{NRCES}/CodeSystem/ndhm-price-components"
BRAND_NAME_EXTENSION = f"{NRCES}/StructureDefinition/BrandName"


@dataclass(frozen=True, slots=True)
class Coding:
    """One code from one code system, with its display (FHIR Coding)."""

    system: str
    code: str
    display: str

    def as_fhir(self) -> dict[str, str]:
        return {"system": self.system, "code": self.code, "display": self.display}


def snomed(code: str, display: str) -> Coding:
    return Coding(SNOMED, code, display)


def loinc(code: str, display: str) -> Coding:
    return Coding(LOINC, code, display)


def profile_url(name: str) -> str:
    return NRCES_PROFILE + name


# --------------------------------------------------------------------------- identifiers

# ABDM ids as the IG's examples write them (REFERENCE.md §2.3). The ABHA number and ABHA
# address are the patient's; the HPR id the practitioner's; the HFR id the facility's
# (it doubles as the HIP id).
ABHA_SYSTEM = "https://healthid.ndhm.gov.in"
HPR_SYSTEM = "https://doctor.ndhm.gov.in"
HFR_SYSTEM = "https://facility.abdm.gov.in"

# Identifier types. The IG binds identifier.type (extensible) to ndhm-identifier-type-code,
# which holds both its own codes and HL7 v2-0203. The IG's own code is used where it says
# exactly what the id is (ABHA, HPID); the IG has none for an HFR id, so v2-0203 PRN, as
# in the IG's examples; a hospital number is v2-0203 MR.
ID_TYPE_ABHA = Coding(NDHM_IDENTIFIER_TYPE, "ABHA", "Ayushman Bharat Health Account (ABHA) ID")
ID_TYPE_HPR = Coding(NDHM_IDENTIFIER_TYPE, "HPID", "Healthcare Professional ID (HPID)")
ID_TYPE_HFR = Coding(V2_0203, "PRN", "Provider number")
ID_TYPE_MRN = Coding(V2_0203, "MR", "Medical record number")


def facility_system(hfr_id: str, kind: str) -> str:
    """The system for ids a facility assigns itself (hospital numbers, care contexts,
    invoice numbers): scoped by its HFR id so two facilities' numbers never collide."""
    return f"urn:healthstack:{hfr_id}:{kind}"


# --------------------------------------------------------------------------- record types


class RecordType(StrEnum):
    """The health-information types ABDM exchanges (HI types in consent and linking);
    the values are ABDM's wire names (REFERENCE.md §2.2)."""

    OP_CONSULTATION = "OPConsultation"
    PRESCRIPTION = "Prescription"
    DIAGNOSTIC_REPORT = "DiagnosticReport"
    DISCHARGE_SUMMARY = "DischargeSummary"
    IMMUNIZATION = "ImmunizationRecord"
    HEALTH_DOCUMENT = "HealthDocumentRecord"
    WELLNESS = "WellnessRecord"
    INVOICE = "Invoice"  # only in ABDM's v3 wrapper's HI-type list


# The Composition profile of each record type (IG 6.0.0).
RECORD_PROFILE: dict[RecordType, str] = {
    RecordType.OP_CONSULTATION: "OPConsultRecord",
    RecordType.PRESCRIPTION: "PrescriptionRecord",
    RecordType.DIAGNOSTIC_REPORT: "DiagnosticReportRecord",
    RecordType.DISCHARGE_SUMMARY: "DischargeSummaryRecord",
    RecordType.IMMUNIZATION: "ImmunizationRecord",
    RecordType.HEALTH_DOCUMENT: "HealthDocumentRecord",
    RecordType.WELLNESS: "WellnessRecord",
    RecordType.INVOICE: "InvoiceRecord",
}

# Composition.type: a fixed SNOMED code, except Wellness and Invoice records, whose
# profiles fix only type.text.
OP_CONSULTATION_TYPE = snomed("371530004", "Clinical consultation report")
PRESCRIPTION_TYPE = snomed("440545006", "Prescription record")
DISCHARGE_SUMMARY_TYPE = snomed("373942005", "Discharge summary")
IMMUNIZATION_TYPE = snomed("41000179103", "Immunization record")
HEALTH_DOCUMENT_TYPE = snomed("419891008", "Record artifact")
WELLNESS_TYPE_TEXT = "Wellness Record"
INVOICE_TYPE_TEXT = "Invoice Record"
# DiagnosticReportRecord binds type (preferred) to ndhm-diagnostic-report-type, which
# holds these two and their descendants.
LAB_REPORT_TYPE = snomed("4241000179101", "Laboratory report")
IMAGING_REPORT_TYPE = snomed("4201000179104", "Imaging report")

# --------------------------------------------------------------------------- sections

# OPConsultRecord's section slices (sliced by code).
OP_CHIEF_COMPLAINTS = snomed("422843007", "Chief complaint section")
OP_PHYSICAL_EXAMINATION = snomed("425044008", "Physical exam section")
OP_ALLERGIES = snomed("722446000", "Allergy record")
OP_MEDICAL_HISTORY = snomed("371529009", "History and physical report")
OP_FAMILY_HISTORY = snomed("422432008", "Family history section")
OP_INVESTIGATION_ADVICE = snomed("721963009", "Order document")
OP_MEDICATIONS = snomed("721912009", "Medication summary document")
OP_FOLLOW_UP = snomed("390906007", "Follow-up encounter")
OP_PROCEDURE = snomed("371525003", "Clinical procedure report")
OP_REFERRAL = snomed("306206005", "Referral to service")
OP_OTHER_OBSERVATIONS = snomed("404684003", "Clinical finding")
OP_DOCUMENT_REFERENCE = snomed("371530004", "Clinical consultation report")

# DischargeSummaryRecord's section slices; four codes differ from the OP consultation's.
DS_CHIEF_COMPLAINTS = OP_CHIEF_COMPLAINTS
DS_PHYSICAL_EXAMINATION = OP_PHYSICAL_EXAMINATION
DS_ALLERGIES = OP_ALLERGIES
DS_MEDICAL_HISTORY = snomed("1003642006", "Past medical history section")
DS_FAMILY_HISTORY = OP_FAMILY_HISTORY
DS_INVESTIGATIONS = snomed("721981007", "Diagnostic studies report")
DS_MEDICATIONS = snomed("1003606003", "Medication history section")
DS_PROCEDURES = snomed("1003640003", "History of past procedure section")
DS_CARE_PLAN = snomed("734163000", "Care plan")
DS_DOCUMENT_REFERENCE = DISCHARGE_SUMMARY_TYPE

# Single-section records: the section carries the record's own code.
PRESCRIPTION_SECTION = PRESCRIPTION_TYPE
IMMUNIZATION_SECTION = IMMUNIZATION_TYPE
HEALTH_DOCUMENT_SECTION = HEALTH_DOCUMENT_TYPE


class WellnessSection(StrEnum):
    """WellnessRecord's sections, sliced by title (the values are the fixed titles),
    each pointing at its own Observation profile."""

    VITAL_SIGNS = "Vital Signs"
    BODY_MEASUREMENT = "Body Measurement"
    PHYSICAL_ACTIVITY = "Physical Activity"
    GENERAL_ASSESSMENT = "General Assessment"
    WOMEN_HEALTH = "Women Health"
    LIFESTYLE = "Lifestyle"
    OTHER_OBSERVATIONS = "Other Observations"


WELLNESS_DOCUMENT_SECTION_TITLE = "Document Reference"

WELLNESS_PROFILE: dict[WellnessSection, str] = {
    WellnessSection.VITAL_SIGNS: "ObservationVitalSigns",
    WellnessSection.BODY_MEASUREMENT: "ObservationBodyMeasurement",
    WellnessSection.PHYSICAL_ACTIVITY: "ObservationPhysicalActivity",
    WellnessSection.GENERAL_ASSESSMENT: "ObservationGeneralAssessment",
    WellnessSection.WOMEN_HEALTH: "ObservationWomenHealth",
    WellnessSection.LIFESTYLE: "ObservationLifestyle",
    WellnessSection.OTHER_OBSERVATIONS: "Observation",
}

# --------------------------------------------------------------------------- encounters


class EncounterClass(StrEnum):
    """How the patient was seen: one care context per OPD visit or IPD admission."""

    OPD = "OPD"
    IPD = "IPD"


# Encounter.class (v3 ActCode): AMB ambulatory for OPD, IMP inpatient for IPD.
ENCOUNTER_CLASS: dict[EncounterClass, Coding] = {
    EncounterClass.OPD: Coding(V3_ACT_CODE, "AMB", "ambulatory"),
    EncounterClass.IPD: Coding(V3_ACT_CODE, "IMP", "inpatient encounter"),
}

# Encounter.diagnosis.use, bound (preferred) to ndhm-diagnosis-use: descendants of
# 106229004 |Qualifier for type of diagnosis|.
DIAGNOSIS_PROVISIONAL = snomed("148006", "Preliminary diagnosis")
DIAGNOSIS_FINAL = snomed("89100005", "Final diagnosis (discharge)")

CONDITION_ACTIVE = Coding(CONDITION_CLINICAL, "active", "Active")
CONDITION_RESOLVED = Coding(CONDITION_CLINICAL, "resolved", "Resolved")
CONDITION_PROBLEM = Coding(CONDITION_CATEGORY, "problem-list-item", "Problem List Item")
CONDITION_DIAGNOSIS = Coding(CONDITION_CATEGORY, "encounter-diagnosis", "Encounter Diagnosis")
ALLERGY_ACTIVE = Coding(ALLERGY_CLINICAL, "active", "Active")
ALLERGY_CONFIRMED = Coding(ALLERGY_VERIFICATION, "confirmed", "Confirmed")

CONFIDENTIALITY_VERY_RESTRICTED = Coding(V3_CONFIDENTIALITY, "V", "very restricted")


class Relationship(StrEnum):
    """A family member (FamilyMemberHistory.relationship, v3 RoleCode)."""

    FATHER = "FTH"
    MOTHER = "MTH"
    BROTHER = "BRO"
    SISTER = "SIS"
    SON = "SON"
    DAUGHTER = "DAU"
    GRANDFATHER = "GRFTH"
    GRANDMOTHER = "GRMTH"
    SPOUSE = "SPS"


RELATIONSHIP_DISPLAY: dict[Relationship, str] = {
    Relationship.FATHER: "father",
    Relationship.MOTHER: "mother",
    Relationship.BROTHER: "brother",
    Relationship.SISTER: "sister",
    Relationship.SON: "natural son",
    Relationship.DAUGHTER: "natural daughter",
    Relationship.GRANDFATHER: "grandfather",
    Relationship.GRANDMOTHER: "grandmother",
    Relationship.SPOUSE: "spouse",
}

# --------------------------------------------------------------------------- diagnostics

# DiagnosticReport.category (the IG fixes the system to SNOMED CT).
LAB_CATEGORY = snomed("310074003", "Pathology service")
IMAGING_CATEGORY = snomed("394914008", "Radiology")

OBSERVATION_LABORATORY = Coding(OBSERVATION_CATEGORY, "laboratory", "Laboratory")
OBSERVATION_VITAL_SIGNS = Coding(OBSERVATION_CATEGORY, "vital-signs", "Vital Signs")
OBSERVATION_EXAM = Coding(OBSERVATION_CATEGORY, "exam", "Exam")
OBSERVATION_ACTIVITY = Coding(OBSERVATION_CATEGORY, "activity", "Activity")
OBSERVATION_SOCIAL_HISTORY = Coding(OBSERVATION_CATEGORY, "social-history", "Social History")

INTERPRETATION: dict[str, Coding] = {
    "L": Coding(V3_INTERPRETATION, "L", "Low"),
    "N": Coding(V3_INTERPRETATION, "N", "Normal"),
    "H": Coding(V3_INTERPRETATION, "H", "High"),
    "LL": Coding(V3_INTERPRETATION, "LL", "Critical low"),
    "HH": Coding(V3_INTERPRETATION, "HH", "Critical high"),
    "A": Coding(V3_INTERPRETATION, "A", "Abnormal"),
}

SPECIMEN_BLOOD = snomed("119297000", "Blood specimen")
SPECIMEN_SERUM = snomed("119364003", "Serum specimen")
SPECIMEN_URINE = snomed("122575003", "Urine specimen")

# Imaging modalities (DICOM CID 29), for ImagingStudy.modality and series.modality.
MODALITY: dict[str, Coding] = {
    "CR": Coding(DICOM_DCM, "CR", "Computed Radiography"),
    "DX": Coding(DICOM_DCM, "DX", "Digital Radiography"),
    "CT": Coding(DICOM_DCM, "CT", "Computed Tomography"),
    "MR": Coding(DICOM_DCM, "MR", "Magnetic Resonance"),
    "US": Coding(DICOM_DCM, "US", "Ultrasound"),
    "MG": Coding(DICOM_DCM, "MG", "Mammography"),
    "NM": Coding(DICOM_DCM, "NM", "Nuclear Medicine"),
    "PT": Coding(DICOM_DCM, "PT", "Positron emission tomography"),
    "XA": Coding(DICOM_DCM, "XA", "X-Ray Angiography"),
}

# --------------------------------------------------------------------------- wellness


@dataclass(frozen=True, slots=True)
class Measure:
    """An observation code with the UCUM unit its value is recorded in."""

    coding: Coding
    unit: str  # UCUM code
    unit_display: str


# The IG's value sets for the wellness sections (codes and displays as the IG has them).
VITAL_SIGNS: dict[str, Measure] = {
    "body_temperature": Measure(loinc("61008-9", "Body surface temperature"), "[degF]", "°F"),
    "respiratory_rate": Measure(loinc("9279-1", "Respiratory rate"), "/min", "breaths/min"),
    "heart_rate": Measure(loinc("8867-4", "Heart rate"), "/min", "beats/min"),
    "oxygen_saturation": Measure(loinc("2708-6", "Oxygen saturation in Arterial blood"), "%", "%"),
}
BLOOD_PRESSURE_PANEL = loinc("85354-9", "Blood pressure panel with all children optional")
SYSTOLIC = Measure(loinc("8480-6", "Systolic blood pressure"), "mm[Hg]", "mmHg")
DIASTOLIC = Measure(loinc("8462-4", "Diastolic blood pressure"), "mm[Hg]", "mmHg")

BODY_MEASUREMENTS: dict[str, Measure] = {
    "body_weight": Measure(loinc("29463-7", "Body weight"), "kg", "kg"),
    "body_height": Measure(loinc("8302-2", "Body height"), "cm", "cm"),
    "bmi": Measure(loinc("39156-5", "Body mass index (BMI) [Ratio]"), "kg/m2", "kg/m²"),
    "waist_circumference": Measure(
        loinc("8280-0", "Waist Circumference at umbilicus by Tape measure"), "cm", "cm"
    ),
}
PHYSICAL_ACTIVITY: dict[str, Measure] = {
    "steps": Measure(
        loinc("55423-8", "Number of steps in unspecified time Pedometer"), "{steps}", "steps"
    ),
    "sleep_duration": Measure(loinc("93832-4", "Sleep duration"), "h", "hours"),
    "calories_burned": Measure(loinc("41981-2", "Calories burned"), "kcal", "kcal"),
}
GENERAL_ASSESSMENT: dict[str, Measure] = {
    "blood_glucose": Measure(loinc("2339-0", "Glucose [Mass/volume] in Blood"), "mg/dL", "mg/dL"),
}
WOMEN_HEALTH: dict[str, Measure] = {
    "age_at_menarche": Measure(loinc("42798-9", "Age at menarche"), "a", "years"),
}
LAST_MENSTRUAL_PERIOD = loinc("8665-2", "Last menstrual period start date")
TOBACCO_SMOKING = snomed("365981007", "Finding of tobacco smoking behavior")
ALCOHOL_DRINKING = snomed("228273003", "Finding relating to alcohol drinking behavior")
NEVER_SMOKED = snomed("266919005", "Never smoked tobacco")
SMOKER = snomed("77176002", "Smoker")
EX_SMOKER = snomed("8517006", "Ex-smoker")

# --------------------------------------------------------------------------- medicines

ROUTE_ORAL = snomed("26643006", "Oral route")
ROUTE_INTRAMUSCULAR = snomed("78421000", "Intramuscular route")
ROUTE_SUBCUTANEOUS = snomed("34206005", "Subcutaneous route")
ROUTE_INTRAVENOUS = snomed("47625008", "Intravenous route")
SITE_LEFT_UPPER_ARM = snomed("368208006", "Left upper arm structure")
SITE_RIGHT_UPPER_ARM = snomed("368209003", "Right upper arm structure")

# ImmunizationRecommendation.
DATE_VACCINE_DUE = loinc("30980-7", "Date vaccine due")
RECOMMENDATION_DUE = Coding(IMMUNIZATION_RECOMMENDATION_STATUS, "due", "Due")
RECOMMENDATION_OVERDUE = Coding(IMMUNIZATION_RECOMMENDATION_STATUS, "overdue", "Overdue")

# --------------------------------------------------------------------------- invoices


class BillingCode(StrEnum):
    """ndhm-billing-codes: Invoice.type (00-03, 99) and ChargeItem.code (all)."""

    CONSULTATION = "00"
    PHARMACY = "01"
    IPD = "02"
    OPD = "03"
    PATHOLOGY = "04"
    MEDICINES = "05"
    NURSING = "06"
    HANDLING = "07"
    DELIVERY = "08"
    OTHERS = "99"


BILLING_DISPLAY: dict[BillingCode, str] = {
    BillingCode.CONSULTATION: "Consultation",
    BillingCode.PHARMACY: "Pharmacy",
    BillingCode.IPD: "IPD",
    BillingCode.OPD: "OPD",
    BillingCode.PATHOLOGY: "Pathology",
    BillingCode.MEDICINES: "Medicines",
    BillingCode.NURSING: "Nursing Charges",
    BillingCode.HANDLING: "Handling Charges",
    BillingCode.DELIVERY: "Delivery Charges",
    BillingCode.OTHERS: "Others",
}

# ndhm-invoice-types allows only these as Invoice.type.
INVOICE_TYPES = frozenset(
    {
        BillingCode.CONSULTATION,
        BillingCode.PHARMACY,
        BillingCode.IPD,
        BillingCode.OPD,
        BillingCode.OTHERS,
    }
)


def billing_coding(code: BillingCode) -> Coding:
    return Coding(NDHM_BILLING, code.value, BILLING_DISPLAY[code])


# ndhm-price-components, with the FHIR priceComponent.type each goes with.
PRICE_MRP = Coding(NDHM_PRICE_COMPONENTS, "00", "MRP")  # informational
PRICE_RATE = Coding(NDHM_PRICE_COMPONENTS, "01", "Rate")  # base
PRICE_DISCOUNT = Coding(NDHM_PRICE_COMPONENTS, "02", "Discount")  # discount
PRICE_CGST = Coding(NDHM_PRICE_COMPONENTS, "03", "CGST")  # tax
PRICE_SGST = Coding(NDHM_PRICE_COMPONENTS, "04", "SGST")  # tax

CURRENCY = "INR"
