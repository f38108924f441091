"""Small hand-made FHIR documents for the validator's tests.

``op_consult()`` is an OPConsultRecord bundle that meets IG 6.0.0 and the core rules;
tests mutate a fresh copy to break one rule at a time. All identifiers are synthetic
(the ABHA number is a Luhn-valid sandbox-style number, the HFR id has the IN+10 form).
"""

from __future__ import annotations

import copy
from typing import Any

NRCES = "https://nrces.in/ndhm/fhir/r4/StructureDefinition/"
SNOMED = "http://snomed.info/sct"
ID_TYPES = "https://nrces.in/ndhm/fhir/r4/CodeSystem/ndhm-identifier-type-code"

PATIENT = "urn:uuid:1b0c8e0a-7d0e-4c3f-9a61-0f9d6a1e0001"
PRACTITIONER = "urn:uuid:1b0c8e0a-7d0e-4c3f-9a61-0f9d6a1e0002"
ORGANIZATION = "urn:uuid:1b0c8e0a-7d0e-4c3f-9a61-0f9d6a1e0003"
ENCOUNTER = "urn:uuid:1b0c8e0a-7d0e-4c3f-9a61-0f9d6a1e0004"
CONDITION = "urn:uuid:1b0c8e0a-7d0e-4c3f-9a61-0f9d6a1e0005"
MEDICATION_REQUEST = "urn:uuid:1b0c8e0a-7d0e-4c3f-9a61-0f9d6a1e0006"
COMPOSITION = "urn:uuid:1b0c8e0a-7d0e-4c3f-9a61-0f9d6a1e0000"


def _entry(full_url: str, resource: dict[str, Any]) -> dict[str, Any]:
    return {"fullUrl": full_url, "resource": resource}


def _section(code: str, display: str, title: str, *refs: str) -> dict[str, Any]:
    return {
        "title": title,
        "code": {"coding": [{"system": SNOMED, "code": code, "display": display}]},
        "entry": [{"reference": r} for r in refs],
    }


_OP_CONSULT: dict[str, Any] = {
    "resourceType": "Bundle",
    "id": "op-consult-1",
    "meta": {
        "versionId": "1",
        "lastUpdated": "2024-03-01T10:15:00+05:30",
        "profile": [NRCES + "DocumentBundle"],
    },
    "identifier": {"system": "https://hip.example.org/bundle", "value": "op-consult-1"},
    "type": "document",
    "timestamp": "2024-03-01T10:15:00+05:30",
    "entry": [
        _entry(
            COMPOSITION,
            {
                "resourceType": "Composition",
                "id": "1b0c8e0a-7d0e-4c3f-9a61-0f9d6a1e0000",
                "meta": {"profile": [NRCES + "OPConsultRecord"]},
                "status": "final",
                "type": {
                    "coding": [
                        {
                            "system": SNOMED,
                            "code": "371530004",
                            "display": "Clinical consultation report",
                        }
                    ],
                    "text": "Clinical consultation report",
                },
                "subject": {"reference": PATIENT},
                "encounter": {"reference": ENCOUNTER},
                "date": "2024-03-01T10:00:00+05:30",
                "author": [{"reference": PRACTITIONER}],
                "title": "Consultation Report",
                "custodian": {"reference": ORGANIZATION},
                "section": [
                    _section("422843007", "Chief complaint section", "Chief complaints", CONDITION),
                    _section(
                        "721912009",
                        "Medication summary document",
                        "Medications",
                        MEDICATION_REQUEST,
                    ),
                ],
            },
        ),
        _entry(
            PATIENT,
            {
                "resourceType": "Patient",
                "id": "1b0c8e0a-7d0e-4c3f-9a61-0f9d6a1e0001",
                "meta": {"profile": [NRCES + "Patient"]},
                "identifier": [
                    {
                        "type": {
                            "coding": [
                                {
                                    "system": ID_TYPES,
                                    "code": "HIN",
                                    "display": "Health ID issued by NDHM",
                                }
                            ]
                        },
                        "system": "https://healthid.abdm.gov.in",
                        "value": "91-6285-4575-5116",
                    }
                ],
                "name": [{"text": "Asha Devi"}],
                "gender": "female",
                "birthDate": "1985-04-12",
            },
        ),
        _entry(
            PRACTITIONER,
            {
                "resourceType": "Practitioner",
                "id": "1b0c8e0a-7d0e-4c3f-9a61-0f9d6a1e0002",
                "meta": {"profile": [NRCES + "Practitioner"]},
                "identifier": [
                    {
                        "type": {
                            "coding": [
                                {
                                    "system": ID_TYPES,
                                    "code": "HPID",
                                    "display": "Healthcare Professional ID (HPID)",
                                }
                            ]
                        },
                        "system": "https://doctor.ndhm.gov.in",
                        "value": "21-1521-3828-3227",
                    }
                ],
                "name": [{"text": "Dr. Imran Lone"}],
            },
        ),
        _entry(
            ORGANIZATION,
            {
                "resourceType": "Organization",
                "id": "1b0c8e0a-7d0e-4c3f-9a61-0f9d6a1e0003",
                "meta": {"profile": [NRCES + "Organization"]},
                "identifier": [
                    {
                        "type": {
                            "coding": [
                                {
                                    "system": ID_TYPES,
                                    "code": "NHRR",
                                    "display": "National Health Resource Repository (NHRR) ID",
                                }
                            ]
                        },
                        "system": "https://facility.abdm.gov.in",
                        "value": "IN0110000123",
                    }
                ],
                "name": "District Hospital Srinagar",
            },
        ),
        _entry(
            ENCOUNTER,
            {
                "resourceType": "Encounter",
                "id": "1b0c8e0a-7d0e-4c3f-9a61-0f9d6a1e0004",
                "meta": {"profile": [NRCES + "Encounter"]},
                "status": "finished",
                "class": {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                    "code": "AMB",
                    "display": "ambulatory",
                },
                "subject": {"reference": PATIENT},
                "period": {"start": "2024-03-01T09:30:00+05:30"},
            },
        ),
        _entry(
            CONDITION,
            {
                "resourceType": "Condition",
                "id": "1b0c8e0a-7d0e-4c3f-9a61-0f9d6a1e0005",
                "meta": {"profile": [NRCES + "Condition"]},
                "clinicalStatus": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                            "code": "active",
                            "display": "Active",
                        }
                    ]
                },
                "code": {
                    "coding": [{"system": SNOMED, "code": "29857009", "display": "Chest pain"}],
                    "text": "Chest pain",
                },
                "subject": {"reference": PATIENT},
            },
        ),
        _entry(
            MEDICATION_REQUEST,
            {
                "resourceType": "MedicationRequest",
                "id": "1b0c8e0a-7d0e-4c3f-9a61-0f9d6a1e0006",
                "meta": {"profile": [NRCES + "MedicationRequest"]},
                "status": "active",
                "intent": "order",
                "medicationCodeableConcept": {
                    "coding": [
                        {
                            "system": SNOMED,
                            "code": "1145423002",
                            "display": "Azithromycin 250 mg oral tablet",
                        }
                    ]
                },
                "subject": {"reference": PATIENT},
                "authoredOn": "2024-03-01T10:00:00+05:30",
                "requester": {"reference": PRACTITIONER},
                "dosageInstruction": [{"text": "One tablet once a day for three days"}],
            },
        ),
    ],
}


def op_consult() -> dict[str, Any]:
    """A fresh copy of the valid OPConsultRecord bundle."""
    return copy.deepcopy(_OP_CONSULT)


def composition(bundle: dict[str, Any]) -> dict[str, Any]:
    return bundle["entry"][0]["resource"]


def resource(bundle: dict[str, Any], resource_type: str) -> dict[str, Any]:
    return next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == resource_type
    )


def entry_index(bundle: dict[str, Any], resource_type: str) -> int:
    return next(
        i for i, e in enumerate(bundle["entry"]) if e["resource"]["resourceType"] == resource_type
    )
