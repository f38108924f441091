"""Facility registry factories: valid details and API bodies, one override at a time."""

from __future__ import annotations

import itertools
from typing import Any

from healthstack.network.hfr.enums import FacilityType, Ownership, Service, SystemOfMedicine
from healthstack.network.hfr.service import FacilityDetails

_SERIAL = itertools.count(1)
_PLACES = ("Khag", "Magam", "Narbal", "Beerwah", "Chadoora", "Kangan", "Tral", "Pampore")


def unique_name(prefix: str = "PHC") -> str:
    n = next(_SERIAL)
    return f"{prefix} {_PLACES[n % len(_PLACES)]} Ward {n}"


def api_body(**overrides: Any) -> dict[str, Any]:
    """A valid POST /api/v1/facilities body (a PHC in Budgam)."""
    body: dict[str, Any] = {
        "name": unique_name(),
        "facility_type": "phc",
        "ownership": "public",
        "department": "Health and Medical Education",
        "system_of_medicine": "modern_medicine",
        "state_lgd": 1,
        "district_lgd": 2,
        "sub_district_lgd": 17,
        "address_line": "Main Road",
        "pincode": "193411",
        "latitude": 34.02,
        "longitude": 74.58,
        "contact_phone": "9419000001",
        "contact_email": "phc@example.org",
        "services": ["opd", "ipd", "lab", "pharmacy"],
        "beds": 6,
        "hmis": "e-Sushrut",
    }
    body.update(overrides)
    return body


def details(**overrides: Any) -> FacilityDetails:
    values = api_body(**overrides)
    values["facility_type"] = FacilityType(values["facility_type"])
    values["ownership"] = Ownership(values["ownership"])
    values["system_of_medicine"] = SystemOfMedicine(values["system_of_medicine"])
    values["services"] = [Service(s) for s in values["services"]]
    return FacilityDetails(**values)
