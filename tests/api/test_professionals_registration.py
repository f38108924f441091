"""HPR registration over HTTP: Aadhaar OTP (read from /dev/sms.json as a tester would),
the optional second mobile, the professional details and the HPR address.

Every refusal also checks that nothing was half written (no professional row, the
HPR id counter unchanged) and that the error speaks of the rule, not the person.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from stdnum import luhn

from healthstack.kernel.audit import AuditEvent
from healthstack.kernel.context import Role
from healthstack.kernel.uow import unit_of_work
from healthstack.network.hpr.models import Professional, ProfessionalVersion
from healthstack.network.hpr.numbers import allocated_count
from tests.conftest import FACILITY_A, FACILITY_B
from tests.factories_abha import assert_no_phi, new_aadhaar, wrong
from tests.factories_abha_enrolment import last_otp as sms_otp
from tests.factories_professionals import (
    Registrant,
    add_resident,
    doctor_details,
    events,
    register,
    seed_professional,
)


def professional_count(runtime) -> int:
    with unit_of_work(runtime.session_factory) as s:
        return s.scalar(select(func.count()).select_from(Professional))


def counter(runtime) -> int:
    with unit_of_work(runtime.session_factory) as s:
        return allocated_count(s)


def assert_nothing_written(runtime, before: int = 0) -> None:
    assert professional_count(runtime) == before
    assert counter(runtime) == before


# --------------------------------------------------------------------------- happy paths


def test_a_doctor_registers_themselves_with_aadhaar_otp(client, runtime, facilities):
    aadhaar, mobile = add_resident(runtime, name="Aamir Hussain Wani", birth_date=date(1985, 6, 1))
    who = Registrant(client)
    sent = who.request_otp(aadhaar)
    assert sent.status_code == 200, sent.text
    body = sent.json()
    assert body["flow_token"] and "XXXXXX" + mobile[-4:] in body["message"]
    assert_no_phi(sent.text, aadhaar)

    verified = who.post("verify", {"txnId": body["txnId"], "otp": sms_otp(client, mobile)})
    assert verified.status_code == 200, verified.text
    v = verified.json()
    assert v["name"] == "Aamir Hussain Wani" and v["year_of_birth"] == 1985
    assert v["mobile"] == "XXXXXX" + mobile[-4:]
    assert "aamir.wani" in v["hpr_address_suggestions"]

    r = who.complete(body["txnId"], "Aamir.Wani@hpr.abdm", number="JKMC/2012/00417")
    assert r.status_code == 201, r.text
    p = r.json()
    assert p["hpr_id"].startswith("71") and len(p["hpr_id"]) == 14 and luhn.is_valid(p["hpr_id"])
    assert (
        p["hpr_id_display"]
        == f"{p['hpr_id'][:2]}-{p['hpr_id'][2:6]}-{p['hpr_id'][6:10]}-{p['hpr_id'][10:]}"
    )
    assert p["hpr_address"] == "aamir.wani@hpr.abdm"
    assert p["status"] == "SUBMITTED" and p["registered_via"] == "self"
    assert p["aadhaar"] == "XXXX XXXX " + aadhaar[-4:]
    assert p["council"] == "JKMC" and p["registration_number"] == "JKMC/2012/00417"
    assert p["workplaces"] == [
        {
            "hfr_id": FACILITY_A,
            "role": "medical_officer",
            "role_label": "Medical officer",
            "sector": "public",
            "district_lgd": 13,
        }
    ]
    assert aadhaar not in r.text

    with unit_of_work(runtime.session_factory) as s:
        row = s.scalar(select(Professional))
        # The Aadhaar is kept only as THE keyed hash ABHA uses, and its last 4 digits.
        assert row.aadhaar_hash == runtime.hasher.hash("aadhaar", aadhaar)
        assert row.aadhaar_last4 == aadhaar[-4:] and row.mobile == mobile
        versions = list(s.scalars(select(ProfessionalVersion)))
        assert [(v.version, v.change, v.valid_to) for v in versions] == [(1, "registered", None)]
        assert versions[0].snapshot["hpr_id"] == p["hpr_id"]
        assert versions[0].snapshot["mobile"] == "XXXXXX" + mobile[-4:]
    # The dashboard hears of it: dimensions only.
    assert events(runtime) == [
        {
            "name": "professional.registered",
            "hpr_id": p["hpr_id"],
            "category": "doctor",
            "sector": "public",
            "district_lgd": 13,
            "hfr_ids": [FACILITY_A],
            "day": "2026-11-26",
        }
    ]
    with unit_of_work(runtime.session_factory) as s:
        actions = [a.action for a in s.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert "professional.register.verify_otp" in actions and "professional.create" in actions


def test_a_facility_admin_registers_their_staff_nurse(client, runtime, facilities, make_staff):
    admin = make_staff(Role.FACILITY_ADMIN, facility_id=FACILITY_B)
    aadhaar, mobile = add_resident(runtime, name="Shazia Akhter", gender="F")
    who = Registrant(client, staff_headers=admin.headers)
    sent = who.request_otp(aadhaar)
    assert sent.status_code == 200 and sent.json()["flow_token"] is None
    txn = sent.json()["txnId"]
    assert who.post("verify", {"txnId": txn, "otp": sms_otp(client, mobile)}).status_code == 200
    body = {
        "txnId": txn,
        "hpr_address": "shazia.akhter",
        "category": "nurse",
        "subcategory": "gnm",
        "council": "JKNC",
        "registration_number": "JKNC-GNM-7781",
        "registration_year": 2010,
        "qualifications": [
            {"degree": "GNM Diploma", "university": "JK Nursing Council", "year": 2009}
        ],
        "workplaces": [{"hfr_id": FACILITY_B, "role": "staff_nurse", "sector": "public"}],
    }
    r = who.post("complete", body)
    assert r.status_code == 201, r.text
    assert r.json()["registered_via"] == "facility" and r.json()["category"] == "nurse"


def test_another_mobile_is_verified_by_its_own_otp(client, runtime, facilities):
    aadhaar, mobile = add_resident(runtime)
    who = Registrant(client)
    txn = who.verified(aadhaar, mobile)
    other = "9123400077"
    sent = who.post("mobile/otp", {"txnId": txn, "mobile": other})
    assert sent.status_code == 200, sent.text
    child = sent.json()["txnId"]
    assert child != txn
    bad = who.post("mobile/verify", {"txnId": child, "otp": wrong(sms_otp(client, other))})
    assert bad.status_code == 400 and "2 tries left" in bad.json()["detail"]
    done = who.post("mobile/verify", {"txnId": child, "otp": sms_otp(client, other)})
    assert done.status_code == 200, done.text
    assert done.json() == {
        "txnId": txn,
        "mobile": "XXXXXX0077",
        "message": "Mobile verified. HPR messages will go to this number.",
    }
    r = who.complete(txn, "aamir.wani")
    assert r.status_code == 201 and r.json()["mobile"] == "XXXXXX0077"


# --------------------------------------------------------------------------- OTP rules


def test_a_wrong_otp_counts_and_three_lock_the_aadhaar(client, runtime, facilities, clock):
    aadhaar, mobile = add_resident(runtime)
    who = Registrant(client)
    txn = who.request_otp(aadhaar).json()["txnId"]
    code = sms_otp(client, mobile)
    for left in ("2 tries left", "1 try left"):
        r = who.post("verify", {"txnId": txn, "otp": wrong(code)})
        assert r.status_code == 400 and left in r.json()["detail"], r.text
    r = who.post("verify", {"txnId": txn, "otp": wrong(code)})
    assert r.status_code == 429 and r.json()["code"] == "HS-1103"
    # The right OTP no longer helps, and a new transaction for the Aadhaar is refused.
    assert who.post("verify", {"txnId": txn, "otp": code}).status_code == 429
    clock.advance(seconds=120)
    assert who.request_otp(aadhaar).status_code == 429
    clock.advance(seconds=1800)
    assert who.request_otp(aadhaar).status_code == 200


def test_resend_waits_60_seconds_and_then_sends_a_new_otp(client, runtime, facilities, clock):
    aadhaar, mobile = add_resident(runtime)
    who = Registrant(client)
    txn = who.request_otp(aadhaar).json()["txnId"]
    first = sms_otp(client, mobile)
    early = who.post("otp", {"txnId": txn})
    assert early.status_code == 429 and "Wait" in early.json()["detail"]
    clock.advance(seconds=61)
    again = who.post("otp", {"txnId": txn})
    assert again.status_code == 200 and again.json()["txnId"] == txn
    sent = client.get("/dev/sms.json", params={"mobile": mobile}).json()["messages"]
    assert len(sent) == 2
    # Only the newest OTP works (the first one is replaced, unless they happen to match).
    newest = sms_otp(client, mobile)
    if first != newest:
        assert who.post("verify", {"txnId": txn, "otp": first}).status_code == 400
    assert who.post("verify", {"txnId": txn, "otp": newest}).status_code == 200


def test_the_transaction_is_bound_to_its_flow_token(client, runtime, facilities):
    aadhaar, mobile = add_resident(runtime)
    owner = Registrant(client)
    txn = owner.request_otp(aadhaar).json()["txnId"]
    code = sms_otp(client, mobile)
    stranger = Registrant(client)
    stranger.headers["X-Flow-Token"] = "0" * 32
    r = stranger.post("verify", {"txnId": txn, "otp": code})
    assert r.status_code == 404
    missing = Registrant(client).post("verify", {"txnId": txn, "otp": code})
    assert missing.status_code == 401 and "X-Flow-Token" in missing.json()["detail"]
    malformed = Registrant(client)
    malformed.headers["X-Flow-Token"] = "not a token"
    assert malformed.post("verify", {"txnId": txn, "otp": code}).status_code == 401
    assert owner.post("verify", {"txnId": txn, "otp": code}).status_code == 200


def test_completion_needs_the_verified_otp(client, runtime, facilities):
    aadhaar, _ = add_resident(runtime)
    who = Registrant(client)
    txn = who.request_otp(aadhaar).json()["txnId"]
    r = who.complete(txn, "aamir.wani")
    assert r.status_code == 400 and r.json()["code"] == "HS-1744"
    assert_nothing_written(runtime)


# --------------------------------------------------------------------------- duplicates


def test_a_person_already_in_hpr_is_pointed_at_their_record(client, runtime, facilities):
    aadhaar, mobile = add_resident(runtime)
    first = Registrant(client)
    done = first.complete(first.verified(aadhaar, mobile), "aamir.wani")
    assert done.status_code == 201
    hpr_id = done.json()["hpr_id"]
    # The same person (same Aadhaar) again: told after the OTP, with the HPR id.
    who = Registrant(client)
    txn = who.request_otp(aadhaar).json()["txnId"]
    r = who.post("verify", {"txnId": txn, "otp": sms_otp(client, mobile)})
    assert r.status_code == 409, r.text
    assert r.json()["code"] == "HS-1721" and r.json()["hpr_id"] == hpr_id
    assert done.json()["hpr_id_display"] in r.json()["detail"]
    assert_no_phi(r.text, aadhaar, mobile, "Aamir")
    assert professional_count(runtime) == 1
    with unit_of_work(runtime.session_factory) as s:
        outcomes = s.scalars(
            select(AuditEvent.outcome)
            .where(AuditEvent.action == "professional.register.verify_otp")
            .order_by(AuditEvent.id)
        ).all()
    assert outcomes == ["success", "failed"]


def test_a_duplicate_council_number_is_refused_with_a_pointer(client, runtime, facilities):
    existing = seed_professional(runtime, number="JKMC/2012/00417")
    aadhaar, mobile = add_resident(runtime)
    who = Registrant(client)
    txn = who.verified(aadhaar, mobile)
    # Separators and case do not make it another number.
    r = who.complete(txn, "aamir.wani", number="jkmc 2012 00417")
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["code"] == "HS-1720" and body["hpr_id"] == existing
    assert body["field"] == "registration_number"
    assert_nothing_written(runtime, before=1)
    # Another council's number 00417 is someone else's business.
    ok = who.complete(txn, "aamir.wani", council="NMC", number="JKMC/2012/00417")
    assert ok.status_code == 201, ok.text


def test_a_taken_hpr_address_offers_free_ones(client, runtime, facilities):
    register(client, runtime, address="aamir.wani")
    aadhaar, mobile = add_resident(runtime, name="Aamir Wani")
    who = Registrant(client)
    txn = who.verified(aadhaar, mobile)
    r = who.complete(txn, "AAMIR.WANI")
    assert r.status_code == 409 and r.json()["code"] == "HS-1711"
    offered = r.json()["hpr_address_suggestions"]
    assert offered and "aamir.wani" not in offered
    assert who.complete(txn, offered[0]).status_code == 201


# --------------------------------------------------------------------------- bad input


BAD_DETAILS = [
    ({"hfr_id": "IN01-1000-0001"}, "workplaces[0].hfr_id", "HS-1220"),
    ({"hfr_id": "XX0110000001"}, "workplaces[0].hfr_id", "HS-1220"),
    ({"hfr_id": "IN0110009999"}, "workplaces[0].hfr_id", "HS-1712"),
    ({"sector": "private"}, "workplaces[0].sector", "HS-1709"),
    ({"role": "staff_nurse"}, "workplaces[0].role", "HS-1709"),
    ({"subcategory": "gnm"}, "subcategory", "HS-1702"),
    ({"council": "JKNC"}, "council", "HS-1704"),
    ({"council": "XYZ"}, "council", "HS-1703"),
    ({"year": 1949}, "registration_year", "HS-1706"),
    ({"year": 2027}, "registration_year", "HS-1706"),
    ({"year": 2000}, "registration_year", "HS-1706"),  # born 1985: aged 15
    ({"number": "----"}, "registration_number", "HS-1705"),
]


def test_bad_details_are_refused_naming_the_field(client, runtime, facilities):
    aadhaar, mobile = add_resident(runtime, birth_date=date(1985, 6, 1))
    who = Registrant(client)
    txn = who.verified(aadhaar, mobile)
    for changes, field, code in BAD_DETAILS:
        r = who.complete(txn, "aamir.wani", **changes)
        assert r.status_code == 400, (changes, r.text)
        assert (r.json()["field"], r.json()["code"]) == (field, code), (changes, r.json())
        assert_nothing_written(runtime)
    # The same transaction still completes once the details are right.
    assert who.complete(txn, "aamir.wani").status_code == 201


def test_bad_category_qualifications_and_address_are_refused(client, runtime, facilities):
    aadhaar, mobile = add_resident(runtime)
    who = Registrant(client)
    txn = who.verified(aadhaar, mobile)
    base = {"txnId": txn, "hpr_address": "aamir.wani", **doctor_details()}
    cases = [
        ({"category": "surgeon"}, "category"),
        ({"qualifications": []}, "qualifications"),
        ({"workplaces": []}, "workplaces"),
        (
            {
                "qualifications": [
                    {"degree": "MBBS", "university": "University of Kashmir", "year": 1995}
                ]
            },
            "qualifications[0].year",
        ),
        ({"hpr_address": "abha.doctor"}, "hpr_address"),
        ({"hpr_address": "aamir.wani@sbx"}, "hpr_address"),
        ({"hpr_address": "9876543210"}, "hpr_address"),
    ]
    for change, field in cases:
        r = who.post("complete", {**base, **change})
        assert r.status_code == 400 and r.json()["field"] == field, (change, r.text)
    unknown = who.post("complete", {**base, "aadhaar": "1234"})
    assert unknown.status_code == 400 and "not a known field" in unknown.json()["detail"]
    assert_nothing_written(runtime)


def test_bad_and_unknown_aadhaar_numbers(client, runtime, facilities):
    valid = new_aadhaar()
    broken = valid[:-1] + str((int(valid[-1]) + 1) % 10)  # the Verhoeff digit off by one
    for raw, code in (("1234 5678", "HS-1201"), ("1234 5678 9012", "HS-1202"), (broken, "HS-1203")):
        r = Registrant(client).request_otp(raw)
        assert r.status_code == 400 and r.json()["code"] == code, r.text
        assert r.json()["field"] == "aadhaar"
    unknown = Registrant(client).request_otp(valid)  # valid, but no such resident
    assert unknown.status_code == 404 and unknown.json()["code"] == "HS-1240"
    empty = Registrant(client).post("otp", {})
    assert empty.status_code == 400 and empty.json()["field"] == "aadhaar"
    assert_nothing_written(runtime)


def test_a_facility_admin_lists_their_own_facility(client, runtime, facilities, make_staff):
    admin = make_staff(Role.FACILITY_ADMIN, facility_id=FACILITY_A)
    aadhaar, mobile = add_resident(runtime)
    who = Registrant(client, staff_headers=admin.headers)
    txn = who.verified(aadhaar, mobile)
    r = who.complete(txn, "aamir.wani", hfr_id=FACILITY_B)
    assert r.status_code == 400 and r.json()["code"] == "HS-1714"
    assert who.complete(txn, "aamir.wani", hfr_id=FACILITY_A).status_code == 201


def test_staff_without_the_register_permission_are_refused(client, runtime, facilities, make_staff):
    verifier = make_staff(Role.REGISTRY_VERIFIER)
    aadhaar, _ = add_resident(runtime)
    r = Registrant(client, staff_headers=verifier.headers).request_otp(aadhaar)
    assert r.status_code == 403
