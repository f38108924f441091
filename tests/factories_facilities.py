"""Facility registry factories: valid details and API bodies, one override at a time;
staff contexts and the registry's services run in their own unit of work; the
registration page's form and a facility registered through it."""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Callable
from typing import Any

from healthstack.kernel.context import Actor, ActorKind, Purpose, RequestContext, Role
from healthstack.kernel.uow import unit_of_work
from healthstack.network.hfr import service
from healthstack.network.hfr.enums import FacilityType, Ownership, Service, SystemOfMedicine
from healthstack.network.hfr.service import FacilityDetails
from healthstack.runtime import Runtime
from tests.conftest import FACILITY_A
from tests.factories_pages import alert

SRINAGAR = 13  # the district's LGD code
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


def facility_row(
    name: str, district: int, *, ownership: str = "public", kind: str = "phc"
) -> dict[str, Any]:
    """A row for the registry's bulk loader (``network.hfr.bulk``): a facility in
    ``district`` (its PIN code Srinagar's or another's), offering OPD."""
    return {
        "name": name,
        "facility_type": kind,
        "ownership": ownership,
        "department": "Health and Medical Education" if ownership == "public" else None,
        "state_lgd": 1,
        "district_lgd": district,
        "pincode": "190003" if district == SRINAGAR else "191113",
        "services": ["opd"],
    }


# --------------------------------------------------------------------------- the services


def ctx(
    role: Role, *, facility_id: str | None = None, district: int | None = None
) -> RequestContext:
    """A staff member's request context, for the registry's services."""
    actor = Actor(
        kind=ActorKind.STAFF,
        id=str(uuid.uuid4()),
        role=role,
        facility_id=facility_id,
        district_lgd=district,
        display=role.value,
    )
    return RequestContext(actor=actor, purpose=Purpose.ADMINISTRATION)


ADMIN = ctx(Role.FACILITY_ADMIN, facility_id=FACILITY_A)
VERIFIER = ctx(Role.REGISTRY_VERIFIER)
STATE = ctx(Role.STATE_ADMIN)


def register(runtime: Runtime, c: RequestContext = ADMIN, **overrides: Any) -> service.Outcome:
    """A facility registered by ``c`` (``details``' overrides)."""
    with unit_of_work(runtime.session_factory) as s:
        return service.register_facility(
            s,
            c,
            clock=runtime.clock,
            profile=runtime.settings.profile,
            details=details(**overrides),
        )


def run(runtime: Runtime, fn: Callable[..., Any], **kwargs: Any) -> Any:
    """``fn(session, clock=..., **kwargs)`` in its own unit of work."""
    with unit_of_work(runtime.session_factory) as s:
        return fn(s, clock=runtime.clock, **kwargs)


# --------------------------------------------------------------------------- the pages


# The registration page's form, as a clerk fills it in.
FORM = {
    k: str(v) for k, v in api_body(name="PHC Khag").items() if k not in ("services", "state_lgd")
}
FORM["services"] = ["opd", "ipd"]


def register_by_form(client: Any, **overrides: Any) -> str:
    r = client.post("/registry/facilities", data={**FORM, **overrides}, follow_redirects=False)
    assert r.status_code == 303, alert(r.text)
    found = re.match(r"/registry/facilities/(IN\d{10})\?done=registered", r.headers["location"])
    assert found
    return found.group(1)
