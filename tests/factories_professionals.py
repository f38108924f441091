"""Factories and helpers for HPR tests: facilities (through the facility registry's
own bulk loader; the ``facilities`` fixture, a pytest plugin of tests/conftest.py), KYC
residents to register, professionals loaded as the seed would, the HTTP registration
steps with the OTP read from ``/dev/sms.json``, and the registration pages' form."""

from __future__ import annotations

import html
import itertools
import re
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from healthstack.kernel.outbox import OutboxMessage
from healthstack.kernel.uow import unit_of_work
from healthstack.network.hfr.bulk import bulk_load_facilities
from healthstack.network.hpr.bulk import ProfessionalSeed, bulk_load_professionals
from healthstack.network.hpr.credentials import DetailsInput, QualificationInput, WorkplaceInput
from healthstack.runtime import Runtime
from tests.conftest import FACILITY_A, FACILITY_B
from tests.factories_abha import make_resident, new_aadhaar
from tests.factories_abha_enrolment import last_otp
from tests.factories_facilities import facility_row

API = "/api/v1/professionals"
SRINAGAR = 13
BUDGAM = 2
_seq = itertools.count(1)


def make_facilities(runtime: Runtime) -> dict[str, str]:
    """Three facilities: FACILITY_A (public PHC, Srinagar), FACILITY_B (public CHC,
    Budgam) and a private clinic in Srinagar; returns role -> HFR id."""
    rows = [
        facility_row("PHC Rainawari", SRINAGAR),
        facility_row("CHC Chadoora", BUDGAM, kind="chc"),
        facility_row("Dal View Clinic", SRINAGAR, ownership="private", kind="clinic"),
    ]
    with unit_of_work(runtime.session_factory) as session:
        ids = bulk_load_facilities(
            session, rows, clock=runtime.clock, profile=runtime.settings.profile
        )
    assert ids[:2] == [FACILITY_A, FACILITY_B], ids
    return {"a": ids[0], "b": ids[1], "private": ids[2]}


@pytest.fixture
def facilities(runtime: Runtime) -> dict[str, str]:
    return make_facilities(runtime)


def add_resident(
    runtime: Runtime,
    *,
    name: str = "Aamir Hussain Wani",
    gender: str = "M",
    birth_date: date = date(1985, 6, 1),
    mobile: str | None = None,
) -> tuple[str, str]:
    """A KYC sandbox resident to register; returns (aadhaar, Aadhaar mobile)."""
    aadhaar = new_aadhaar()
    mobile = mobile or f"98765{next(_seq) % 100000:05d}"
    with unit_of_work(runtime.session_factory) as session:
        make_resident(
            session, aadhaar=aadhaar, name=name, gender=gender, birth_date=birth_date, mobile=mobile
        )
    return aadhaar, mobile


def doctor_details(
    *,
    hfr_id: str = FACILITY_A,
    council: str = "JKMC",
    number: str | None = None,
    year: int = 2012,
    subcategory: str = "modern_medicine",
    role: str = "medical_officer",
    sector: str = "public",
) -> dict[str, Any]:
    """The professional part of a completion body (a doctor at ``hfr_id``)."""
    return {
        "category": "doctor",
        "subcategory": subcategory,
        "council": council,
        # From 90000 on: tests write their own numbers below it (JKMC/2012/00077).
        "registration_number": number or f"JKMC/{year}/{90000 + next(_seq):05d}",
        "registration_year": year,
        "qualifications": [
            {"degree": "MBBS", "university": "University of Kashmir", "year": year - 1}
        ],
        "workplaces": [{"hfr_id": hfr_id, "role": role, "sector": sector}],
    }


def details_input(body: dict[str, Any]) -> DetailsInput:
    return DetailsInput(
        category=body["category"],
        subcategory=body["subcategory"],
        council=body["council"],
        registration_number=body["registration_number"],
        registration_year=body["registration_year"],
        qualifications=tuple(QualificationInput(**q) for q in body["qualifications"]),
        workplaces=tuple(WorkplaceInput(**w) for w in body["workplaces"]),
    )


def seed_professional(
    runtime: Runtime,
    *,
    name: str = "Nazia Jan",
    gender: str = "F",
    birth_date: date = date(1988, 2, 3),
    mobile: str | None = None,
    status: str = "SUBMITTED",
    **details: Any,
) -> str:
    """One professional loaded as the seed would (no OTP); returns the HPR id."""
    seed = ProfessionalSeed(
        aadhaar=new_aadhaar(),
        name=name,
        gender=gender,
        birth_date=birth_date,
        mobile=mobile or f"97000{next(_seq) % 100000:05d}",
        details=details_input(doctor_details(**details)),
        status=status,
    )
    with unit_of_work(runtime.session_factory) as session:
        return bulk_load_professionals(
            session,
            rows=[seed],
            clock=runtime.clock,
            hasher=runtime.hasher,
            secret_key=runtime.settings.secret_key,
        ).hpr_ids[0]


class Registrant:
    """The client side of a registration: anonymous (flow token) or a staff token."""

    def __init__(self, client: Any, *, staff_headers: dict[str, str] | None = None):
        self.client = client
        self.headers = dict(staff_headers or {})

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self.client.post(f"{API}/registration/{path}", json=body, headers=self.headers)

    def request_otp(self, aadhaar: str) -> Any:
        r = self.post("otp", {"aadhaar": aadhaar})
        if r.status_code == 200 and r.json().get("flow_token"):
            self.headers["X-Flow-Token"] = r.json()["flow_token"]
        return r

    def verified(self, aadhaar: str, mobile: str) -> str:
        """Through the Aadhaar OTP; returns the txnId."""
        r = self.request_otp(aadhaar)
        assert r.status_code == 200, r.text
        txn = r.json()["txnId"]
        v = self.post("verify", {"txnId": txn, "otp": last_otp(self.client, mobile)})
        assert v.status_code == 200, v.text
        return txn

    def complete(self, txn: str, address: str, **details: Any) -> Any:
        return self.post(
            "complete", {"txnId": txn, "hpr_address": address, **doctor_details(**details)}
        )


def register(
    client: Any,
    runtime: Runtime,
    *,
    address: str = "aamir.wani",
    staff_headers: dict[str, str] | None = None,
    name: str = "Aamir Hussain Wani",
    **details: Any,
) -> dict[str, Any]:
    """A full registration over HTTP; the created record as the API returns it."""
    aadhaar, mobile = add_resident(runtime, name=name)
    who = Registrant(client, staff_headers=staff_headers)
    txn = who.verified(aadhaar, mobile)
    r = who.complete(txn, address, **details)
    assert r.status_code == 201, r.text
    return r.json()


def events(runtime: Runtime, name: str | None = None) -> list[dict[str, Any]]:
    with unit_of_work(runtime.session_factory) as session:
        rows = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.topic.like("event.professional.%"))
            .order_by(OutboxMessage.id)
        )
        # ``emit`` adds the event's name and id for the consumer; the rest is ours.
        return [
            {"name": m.topic.removeprefix("event.")}
            | {k: v for k, v in m.payload.items() if k not in ("event", "event_id")}
            for m in rows
            if name is None or m.topic == f"event.{name}"
        ]


# --------------------------------------------------------------------------- the registration pages

REGISTER = "/hpr/register"


def hidden(page: str) -> dict[str, str]:
    """Every hidden field of the page: the state one step hands the next."""
    return {
        name: html.unescape(value)
        for name, value in re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', page)
    }


def details_form(state: dict[str, str], **changes: str) -> dict[str, str]:
    form = {
        **state,
        "kind": "doctor:modern_medicine",
        "council": "JKMC",
        "registration_number": "JKMC/2012/00417",
        "registration_year": "2012",
        "q0_degree": "MBBS",
        "q0_university": "University of Kashmir",
        "q0_year": "2011",
        "w0_hfr_id": FACILITY_A,
        "w0_role": "medical_officer",
        "w0_sector": "public",
    }
    form.update(changes)
    return form
