"""The doctor's record pages: asking for consent, following the request, reading what
arrived; by role, by facility, and after the consent ends."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from healthstack.facility.records.models import HiuConsentRequest, HiuReceivedRecord
from healthstack.integrations.abdm.models import AbdmMessage
from healthstack.kernel.audit import AuditEvent
from healthstack.kernel.context import Role
from healthstack.kernel.uow import unit_of_work
from healthstack.protocol.abdm import messages as m
from tests.conftest import FACILITY_A, FACILITY_B
from tests.factories_pages import log_in
from tests.factories_records import HIU, FakeCm, consent_notify, grant, records_settings, seed_hip

assert FACILITY_A == HIU

FORM = {
    "abha_address": "asha.devi@sbx",
    "date_from": "2025-11-26",
    "date_to": "2026-11-26",
    "expiry": "2026-12-26",
    "hi_types": ["OPConsultation", "Prescription", "DiagnosticReport"],
}


@pytest.fixture
def settings(settings):
    return records_settings(settings)


def _request_id(location: str) -> str:
    found = re.fullmatch(r"/records/requests/([0-9a-f-]{36})", location)
    assert found, location
    return found.group(1)


def test_the_pages_need_a_doctor_or_nurse(client, make_staff):
    r = client.get("/records", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=/records")
    log_in(client, make_staff, Role.REGISTRATION_DESK)
    assert client.get("/records").status_code == 403
    assert client.post("/records/requests", data=FORM).status_code == 403
    log_in(client, make_staff, Role.NURSE)
    page = client.get("/records")
    assert page.status_code == 200 and 'id="request-form"' not in page.text
    assert client.post("/records/requests", data=FORM).status_code == 403
    log_in(client, make_staff, Role.DOCTOR)
    page = client.get("/records")
    assert page.status_code == 200 and 'id="request-form"' in page.text


def test_a_doctor_asks_and_the_consent_init_is_queued(client, make_staff, runtime):
    doctor = log_in(client, make_staff, Role.DOCTOR)
    r = client.post("/records/requests", data=FORM, follow_redirects=False)
    assert r.status_code == 303, r.text
    public_id = _request_id(r.headers["location"])
    page = client.get(r.headers["location"])
    assert page.status_code == 200 and "waiting for the patient" in page.text
    assert "asha.devi@sbx" in page.text
    with unit_of_work(runtime.session_factory) as s:
        row = s.scalar(select(HiuConsentRequest))
        assert str(row.public_id) == public_id and row.hiu_id == FACILITY_A
        assert row.requested_by == doctor.public_id and row.requester_name == "Test doctor"
        call = s.scalar(select(AbdmMessage).where(AbdmMessage.path == m.CONSENT_INIT))
        assert call.service_id == FACILITY_A and call.context["request"] == public_id
        # The consent covers whole days in India: from 00:00 IST, to 23:59:59 IST.
        assert row.date_from.isoformat() == "2025-11-25T18:30:00+00:00"
    listing = client.get("/records")
    assert "asha.devi@sbx" in listing.text and public_id in listing.text

    # Another facility's doctor sees neither the request nor it in the list.
    log_in(client, make_staff, Role.DOCTOR, facility_id=FACILITY_B)
    assert client.get(f"/records/requests/{public_id}").status_code == 404
    assert public_id not in client.get("/records").text


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"abha_address": "no-at-sign"}, "ABHA address"),
        ({"hi_types": []}, "record type"),
        ({"date_from": "2027-01-01"}, "starts after it ends"),
        ({"expiry": "2026-01-01"}, "later expiry"),
        ({"date_to": "26/11/2026"}, "YYYY-MM-DD"),
    ],
)
def test_form_errors_are_shown_beside_the_form(client, make_staff, runtime, change, message):
    log_in(client, make_staff, Role.DOCTOR)
    r = client.post("/records/requests", data={**FORM, **change})
    assert r.status_code == 400 and message in r.text and 'id="form-error"' in r.text
    with unit_of_work(runtime.session_factory) as s:
        assert s.scalar(select(HiuConsentRequest)) is None


def test_a_form_from_another_site_is_refused(client, make_staff):
    log_in(client, make_staff, Role.DOCTOR)
    r = client.post("/records/requests", data=FORM, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403


def test_the_doctor_reads_what_arrived_until_the_consent_ends(
    client, app, make_staff, runtime, clock
):
    cm = FakeCm(runtime, app)
    hip = seed_hip(runtime, clock)
    log_in(client, make_staff, Role.DOCTOR)
    r = client.post("/records/requests", data=FORM, follow_redirects=False)
    public_id = _request_id(r.headers["location"])
    g = grant(cm, runtime, clock, hip, asked=public_id)
    cm.run_worker()
    page = client.get(f"/records/requests/{public_id}")
    assert page.status_code == 200 and "granted" in page.text
    links = re.findall(r'href="(/records/received/[0-9a-f-]{36})"', page.text)
    assert len(links) == 4
    with unit_of_work(runtime.session_factory) as s:
        lab = s.scalar(
            select(HiuReceivedRecord).where(
                HiuReceivedRecord.hi_type == "DiagnosticReport",
                HiuReceivedRecord.care_context_reference == hip.visits["opd"],
            )
        )
    record = client.get(f"/records/received/{lab.public_id}")
    assert record.status_code == 200
    assert "Asha Devi" in record.text and "Haemoglobin" in record.text
    # The report PDF is served from the record, to staff who may read it.
    href = re.search(r'href="(/records/received/[^"]+/attachments/[^"]+)"', record.text).group(1)
    pdf = client.get(href)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["cache-control"] == "no-store"
    # A nurse of the same facility may read; the audit names who read what.
    log_in(client, make_staff, Role.NURSE)
    assert client.get(f"/records/received/{lab.public_id}").status_code == 200
    with unit_of_work(runtime.session_factory) as s:
        reads = s.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "records.received.read", AuditEvent.outcome == "success"
            )
        ).all()
        assert {e.actor_role for e in reads} == {"doctor", "nurse"}
        assert {e.purpose for e in reads} == {"CAREMGT"}

    # The patient revokes: the records are gone from the pages.
    consent_notify(cm, "REVOKED", g.consent_id)
    gone = client.get(f"/records/received/{lab.public_id}")
    assert gone.status_code == 403 and "consent for this record has ended" in gone.text
    page = client.get(f"/records/requests/{public_id}")
    assert "revoked by the patient" in page.text and "/records/received/" not in page.text
