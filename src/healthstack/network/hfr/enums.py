"""The registry's vocabularies. Values are stored and sent as they are written here;
``LABELS`` hold what a person reads."""

from __future__ import annotations

from enum import StrEnum


class FacilityType(StrEnum):
    # A sub-centre upgraded to an Ayushman Arogya Mandir (health and wellness centre)
    # keeps its place in the network, so both are one type.
    SUB_CENTRE = "sub_centre"
    PHC = "phc"  # primary health centre
    CHC = "chc"  # community health centre
    SUB_DISTRICT_HOSPITAL = "sub_district_hospital"
    DISTRICT_HOSPITAL = "district_hospital"
    MEDICAL_COLLEGE_HOSPITAL = "medical_college_hospital"
    DISPENSARY = "dispensary"
    LABORATORY = "laboratory"
    IMAGING_CENTRE = "imaging_centre"
    PHARMACY = "pharmacy"
    CLINIC = "clinic"


FACILITY_TYPE_LABELS: dict[FacilityType, str] = {
    FacilityType.SUB_CENTRE: "Sub-centre / Health and Wellness Centre",
    FacilityType.PHC: "Primary Health Centre (PHC)",
    FacilityType.CHC: "Community Health Centre (CHC)",
    FacilityType.SUB_DISTRICT_HOSPITAL: "Sub-district hospital",
    FacilityType.DISTRICT_HOSPITAL: "District hospital",
    FacilityType.MEDICAL_COLLEGE_HOSPITAL: "Medical college hospital",
    FacilityType.DISPENSARY: "Dispensary",
    FacilityType.LABORATORY: "Laboratory",
    FacilityType.IMAGING_CENTRE: "Imaging centre",
    FacilityType.PHARMACY: "Pharmacy",
    FacilityType.CLINIC: "Clinic",
}


class Ownership(StrEnum):
    PUBLIC = "public"  # government: a department owns it
    PRIVATE = "private"


class SystemOfMedicine(StrEnum):
    MODERN_MEDICINE = "modern_medicine"  # allopathy
    AYURVEDA = "ayurveda"
    YOGA_NATUROPATHY = "yoga_naturopathy"
    UNANI = "unani"
    SIDDHA = "siddha"
    SOWA_RIGPA = "sowa_rigpa"
    HOMOEOPATHY = "homoeopathy"


SYSTEM_OF_MEDICINE_LABELS: dict[SystemOfMedicine, str] = {
    SystemOfMedicine.MODERN_MEDICINE: "Modern medicine (allopathy)",
    SystemOfMedicine.AYURVEDA: "Ayurveda",
    SystemOfMedicine.YOGA_NATUROPATHY: "Yoga and naturopathy",
    SystemOfMedicine.UNANI: "Unani",
    SystemOfMedicine.SIDDHA: "Siddha",
    SystemOfMedicine.SOWA_RIGPA: "Sowa-Rigpa",
    SystemOfMedicine.HOMOEOPATHY: "Homoeopathy",
}


class Service(StrEnum):
    OPD = "opd"
    IPD = "ipd"
    LAB = "lab"
    RADIOLOGY = "radiology"
    PHARMACY = "pharmacy"
    EMERGENCY = "emergency"


SERVICE_LABELS: dict[Service, str] = {
    Service.OPD: "OPD",
    Service.IPD: "IPD (in-patient beds)",
    Service.LAB: "Laboratory",
    Service.RADIOLOGY: "Radiology",
    Service.PHARMACY: "Pharmacy",
    Service.EMERGENCY: "Emergency",
}


class FacilityStatus(StrEnum):
    SUBMITTED = "submitted"  # waiting for a registry verifier
    VERIFIED = "verified"
    REJECTED = "rejected"  # with a reason; an edit resubmits it


class ChangeKind(StrEnum):
    """Why a ``facility_version`` row was written."""

    REGISTERED = "registered"
    EDITED = "edited"
    VERIFIED = "verified"
    REJECTED = "rejected"


class MatchStatus(StrEnum):
    """Where a state-master entry or an HFR facility stands after reconciliation."""

    MATCHED = "matched"
    MASTER_ONLY = "master_only"  # in the state's list, not (yet) in HFR
    HFR_ONLY = "hfr_only"  # a public facility in HFR the state's list lacks
    AMBIGUOUS = "ambiguous"  # candidates found; a person must settle it


class MatchMethod(StrEnum):
    CODE = "code"  # the HFR facility carries the master code
    NAME = "name"  # same name after normalisation, within district and type
    SIMILAR = "similar"  # similar name within district and type, clearly the best
    MANUAL = "manual"  # settled on the review screen
