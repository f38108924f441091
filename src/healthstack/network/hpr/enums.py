"""The registry's vocabularies: categories and their sub-categories, councils, roles.

Codes are stable (stored, sent over the API, emitted in events); labels are what
pages show. A council registers certain sub-categories only (a nursing council does
not register dentists), and a role belongs to a category (a nurse is not a medical
officer): ``credentials.py`` enforces both and names the allowed values.

Sources: the HPR registration form's categories (doctor: modern medicine, dentist,
AYUSH and its systems; nurse and its cadres; other health professionals), the
statutory councils and commissions (NMC Act 2019, NCISM Act 2020, NCH Act 2020,
Dentists Act 1948, Indian Nursing Council Act 1947, Pharmacy Act 1948, NCAHP Act 2021)
and the J&K councils and boards that register professionals working in the state.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Category(StrEnum):
    DOCTOR = "doctor"
    NURSE = "nurse"
    OTHER = "other"  # pharmacists and allied health professionals


class Status(StrEnum):
    SUBMITTED = "SUBMITTED"  # registered, waiting for the council / state verifier
    VERIFIED = "VERIFIED"  # the verifier confirmed the council registration
    REJECTED = "REJECTED"  # the verifier refused it, with a reason; an edit resubmits


class Sector(StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"


# code -> label, per category. AYUSH doctors carry their system of medicine in the
# sub-category itself (one field, as HPR's form shows it).
SUBCATEGORIES: dict[Category, dict[str, str]] = {
    Category.DOCTOR: {
        "modern_medicine": "Modern medicine (allopathy)",
        "dentist": "Dentist",
        "ayush_ayurveda": "AYUSH: Ayurveda",
        "ayush_unani": "AYUSH: Unani",
        "ayush_siddha": "AYUSH: Siddha",
        "ayush_sowa_rigpa": "AYUSH: Sowa-Rigpa",
        "ayush_homoeopathy": "AYUSH: Homoeopathy",
        "ayush_yoga_naturopathy": "AYUSH: Yoga and Naturopathy",
    },
    Category.NURSE: {
        "anm": "Auxiliary Nurse Midwife (ANM)",
        "gnm": "General Nursing and Midwifery (GNM)",
        "bsc_nursing": "B.Sc Nursing",
        "post_basic_bsc_nursing": "Post-basic B.Sc Nursing",
        "msc_nursing": "M.Sc Nursing",
        "nurse_practitioner": "Nurse Practitioner",
        "lhv": "Lady Health Visitor (LHV)",
    },
    Category.OTHER: {
        "pharmacist": "Pharmacist",
        "lab_technician": "Laboratory technician",
        "radiographer": "Radiographer / imaging technologist",
        "physiotherapist": "Physiotherapist",
        "optometrist": "Optometrist",
        "dietitian": "Dietitian / nutritionist",
        "other_allied": "Other allied health professional",
    },
}

_AYUSH_ISM = frozenset({"ayush_ayurveda", "ayush_unani", "ayush_siddha", "ayush_sowa_rigpa"})
_AYUSH_ALL = frozenset(k for k in SUBCATEGORIES[Category.DOCTOR] if k.startswith("ayush_"))
_NURSING = frozenset(SUBCATEGORIES[Category.NURSE])
_ALLIED = frozenset(SUBCATEGORIES[Category.OTHER]) - {"pharmacist"}


@dataclass(frozen=True)
class Council:
    code: str
    name: str
    # The sub-categories this council registers.
    registers: frozenset[str]
    state_lgd: int | None = None  # a state council; None for a national one


_MODERN = frozenset({"modern_medicine"})
_DENTAL = frozenset({"dentist"})

COUNCILS: dict[str, Council] = {
    c.code: c
    for c in (
        # Modern medicine: the national commission and the state councils J&K's doctors
        # most often hold (their own and the neighbouring states').
        Council("NMC", "National Medical Commission (Indian Medical Register)", _MODERN),
        Council("JKMC", "Jammu & Kashmir Medical Council", _MODERN, 1),
        Council("PBMC", "Punjab Medical Council", _MODERN, 3),
        Council("HPMC", "Himachal Pradesh Medical Council", _MODERN, 2),
        Council("HRMC", "Haryana Medical Council", _MODERN, 6),
        Council("DLMC", "Delhi Medical Council", _MODERN, 7),
        Council("DCI", "Dental Council of India", _DENTAL),
        Council("JKDC", "Jammu & Kashmir Dental Council", _DENTAL, 1),
        Council("NCISM", "National Commission for Indian System of Medicine", _AYUSH_ISM),
        Council("NCH", "National Commission for Homoeopathy", frozenset({"ayush_homoeopathy"})),
        Council("JKISM", "Jammu & Kashmir Board of Indian Systems of Medicine", _AYUSH_ALL, 1),
        Council("INC", "Indian Nursing Council", _NURSING),
        Council("JKNC", "Jammu & Kashmir Nursing Council", _NURSING, 1),
        Council("PCI", "Pharmacy Council of India", frozenset({"pharmacist"})),
        Council("JKPC", "Jammu & Kashmir Pharmacy Council", frozenset({"pharmacist"}), 1),
        Council("NCAHP", "National Commission for Allied and Healthcare Professions", _ALLIED),
        Council("JKPMC", "Jammu & Kashmir Paramedical Council", _ALLIED, 1),
    )
}

# Roles at a work place, per category (code -> label).
ROLES: dict[Category, dict[str, str]] = {
    Category.DOCTOR: {
        "medical_officer": "Medical officer",
        "specialist": "Specialist",
        "consultant": "Consultant",
        "senior_resident": "Senior resident",
        "junior_resident": "Junior resident",
        "dental_surgeon": "Dental surgeon",
        "ayush_medical_officer": "AYUSH medical officer",
        "block_medical_officer": "Block medical officer",
        "chief_medical_officer": "Chief medical officer",
        "medical_superintendent": "Medical superintendent",
        "faculty": "Faculty (medical college)",
        "private_practitioner": "Private practitioner",
    },
    Category.NURSE: {
        "staff_nurse": "Staff nurse",
        "nursing_officer": "Nursing officer",
        "anm": "ANM / multi-purpose health worker (female)",
        "lhv": "Lady health visitor",
        "community_health_officer": "Community health officer",
        "nursing_superintendent": "Nursing superintendent",
        "nurse_practitioner": "Nurse practitioner",
        "nursing_tutor": "Nursing tutor",
    },
    Category.OTHER: {
        "pharmacist": "Pharmacist",
        "lab_technician": "Laboratory technician",
        "radiographer": "Radiographer",
        "physiotherapist": "Physiotherapist",
        "optometrist": "Optometrist",
        "dietitian": "Dietitian",
        "other": "Other",
    },
}

SECTOR_LABELS = {Sector.PUBLIC: "Public (government)", Sector.PRIVATE: "Private"}
STATUS_LABELS = {
    Status.SUBMITTED: "Submitted, waiting for verification",
    Status.VERIFIED: "Verified",
    Status.REJECTED: "Rejected",
}


def subcategory_label(category: str, code: str) -> str:
    try:
        return SUBCATEGORIES[Category(category)].get(code, code)
    except ValueError:
        return code


def role_label(category: str, code: str) -> str:
    try:
        return ROLES[Category(category)].get(code, code)
    except ValueError:
        return code


def council_name(code: str) -> str:
    council = COUNCILS.get(code)
    return council.name if council else code


def councils_for(subcategory: str) -> list[Council]:
    return [c for c in COUNCILS.values() if subcategory in c.registers]
