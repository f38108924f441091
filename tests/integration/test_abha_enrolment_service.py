"""The enrolment service against a real database, without HTTP: de-duplication, what is
stored (never the Aadhaar in clear), verify-before-write, camp mode per operator."""

from __future__ import annotations

import json
import re
import uuid
from datetime import date

import pytest
from sqlalchemy import func, select

from healthstack.identity.models import OtpTransaction
from healthstack.integrations.aadhaar.models import KycResident
from healthstack.kernel.audit import AuditEvent
from healthstack.kernel.context import Actor, ActorKind, Purpose, RequestContext, Role
from healthstack.kernel.errors import (
    Conflict,
    NotFound,
    OtpInvalid,
    PermissionDenied,
    ValidationFailed,
)
from healthstack.kernel.ids import aadhaar_with_check_digit
from healthstack.kernel.outbox import OutboxMessage
from healthstack.kernel.uow import unit_of_work
from healthstack.network.abha import enrolment
from healthstack.network.abha.address import MAX_ADDRESSES_PER_ACCOUNT, AddressTaken
from healthstack.network.abha.models import AbhaAccount, AbhaAddress
from healthstack.network.abha.numbers import allocated_count
from healthstack.network.abha.parts import AbhaParts
from healthstack.network.abha.profile_view import profile_dict
from tests.conftest import FACILITY_A

MOBILE = "9876500011"


def _ctx(actor_id="desk-1", role=Role.REGISTRATION_DESK) -> RequestContext:
    return RequestContext(
        actor=Actor(
            kind=ActorKind.CLIENT, id=actor_id, role=role, facility_id=FACILITY_A, display=actor_id
        ),
        purpose=Purpose.ENROLMENT,
    )


def _resident(runtime, first11="23456789012", name="Ravi Kumar", mobile=MOBILE) -> str:
    aadhaar = aadhaar_with_check_digit(first11)
    with unit_of_work(runtime.session_factory) as s:
        s.add(
            KycResident(
                aadhaar=aadhaar,
                name=name,
                gender="M",
                birth_date=date(1991, 3, 22),
                address_line="House 12",
                locality="Lal Chowk",
                district_name="Srinagar",
                district_lgd=632,
                state_name="Jammu And Kashmir",
                state_lgd=1,
                pincode="190001",
                mobile=mobile,
            )
        )
    return aadhaar


def _last_code(runtime) -> str:
    with unit_of_work(runtime.session_factory) as s:
        msg = s.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
        return re.match(r"(\d{6}) ", msg.payload["text"]).group(1)


def _request(runtime, aadhaar, ctx=None) -> str:
    with unit_of_work(runtime.session_factory) as s:
        return enrolment.request_aadhaar_otp(
            s, ctx or _ctx(), aadhaar=aadhaar, parts=AbhaParts.of(runtime)
        ).txn_id


def _enrol(runtime, txn_id, code, ctx=None, mobile=None):
    with unit_of_work(runtime.session_factory) as s:
        res = enrolment.enrol_by_aadhaar(
            s,
            ctx or _ctx(),
            txn_id=txn_id,
            otp=code,
            mobile=mobile,
            consent_code="abha-enrollment",
            consent_version="1.4",
            parts=AbhaParts.of(runtime),
        )
        return res.account.abha_number, res.is_new, res.mobile_verification_needed


def _counts(runtime):
    with unit_of_work(runtime.session_factory) as s:
        return (
            s.scalar(select(func.count()).select_from(AbhaAccount)),
            s.scalar(select(func.count()).select_from(AbhaAddress)),
            allocated_count(s),
        )


def test_aadhaar_is_never_stored_in_clear_and_enrolment_is_deduplicated(runtime):
    aadhaar = _resident(runtime)
    txn = _request(runtime, aadhaar)
    number, is_new, needs_mobile = _enrol(runtime, txn, _last_code(runtime))
    assert is_new and not needs_mobile
    txn2 = _request(runtime, aadhaar)
    again, is_new2, _ = _enrol(runtime, txn2, _last_code(runtime))
    assert (again, is_new2) == (number, False)
    assert _counts(runtime) == (1, 0, 1)
    # Outside the KYC sandbox (which plays UIDAI) the 12 digits appear nowhere.
    with unit_of_work(runtime.session_factory) as s:
        for model in (AbhaAccount, OtpTransaction, AuditEvent, OutboxMessage):
            for row in s.scalars(select(model)):
                cols = model.__mapper__.column_attrs
                dump = json.dumps({c.key: getattr(row, c.key) for c in cols}, default=str)
                assert aadhaar not in dump, model.__name__


def test_wrong_otp_counts_a_try_and_writes_nothing_else(runtime):
    aadhaar = _resident(runtime)
    txn = _request(runtime, aadhaar)
    code = _last_code(runtime)
    before = _counts(runtime)
    with pytest.raises(OtpInvalid):
        _enrol(runtime, txn, f"{(int(code) + 1) % 10**6:06d}")
    assert _counts(runtime) == before
    with unit_of_work(runtime.session_factory) as s:
        row = s.scalar(select(OtpTransaction).where(OtpTransaction.public_id == uuid.UUID(txn)))
        assert row.attempts == 1 and row.account_id is None
        failed = s.scalars(select(AuditEvent).where(AuditEvent.outcome == "failed")).all()
        assert [(e.action, e.reason_code) for e in failed] == [
            ("abha.enrol.by_aadhaar", "ABDM-1035")
        ]


def test_a_failure_after_the_otp_rolls_the_otp_back_too(runtime):
    # The sealed Aadhaar is unreadable (as after a secret rotation): the request fails
    # after the OTP was verified, and the verification is undone with everything else.
    aadhaar = _resident(runtime)
    txn = _request(runtime, aadhaar)
    code = _last_code(runtime)
    with unit_of_work(runtime.session_factory) as s:
        row = s.scalar(select(OtpTransaction).where(OtpTransaction.public_id == uuid.UUID(txn)))
        row.state = {**row.state, "aadhaar_sealed": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}
    before = _counts(runtime)
    with pytest.raises(ValidationFailed) as err:
        _enrol(runtime, txn, code)
    assert err.value.code == "HS-1301"
    assert _counts(runtime) == before
    with unit_of_work(runtime.session_factory) as s:
        row = s.scalar(select(OtpTransaction).where(OtpTransaction.public_id == uuid.UUID(txn)))
        assert row.status == "PENDING" and row.otp_hash is not None


def test_existing_inactive_account_is_returned_deleted_is_refused(runtime):
    aadhaar = _resident(runtime)
    number, _, _ = _enrol(runtime, _request(runtime, aadhaar), _last_code(runtime))
    with unit_of_work(runtime.session_factory) as s:
        s.scalars(select(AbhaAccount)).one().status = "DEACTIVATED"
    runtime.clock.advance(seconds=61)
    again, is_new, _ = _enrol(runtime, _request(runtime, aadhaar), _last_code(runtime))
    assert (again, is_new) == (number, False)
    with unit_of_work(runtime.session_factory) as s:
        s.scalars(select(AbhaAccount)).one().status = "DELETED"
    runtime.clock.advance(seconds=61)
    txn = _request(runtime, aadhaar)
    with pytest.raises(Conflict) as err:
        _enrol(runtime, txn, _last_code(runtime))
    assert err.value.code == "HS-1263"
    assert _counts(runtime) == (1, 0, 1)


def test_communication_mobile_stays_unverified_until_its_otp(runtime):
    aadhaar = _resident(runtime)
    txn = _request(runtime, aadhaar)
    _, _, needs = _enrol(runtime, txn, _last_code(runtime), mobile="+91 99887 76655")
    assert needs
    with unit_of_work(runtime.session_factory) as s:
        acc = s.scalars(select(AbhaAccount)).one()
        assert (acc.mobile, acc.mobile_verified) == ("9988776655", False)
        assert profile_dict(acc, "sbx")["mobile"] is None
        child = enrolment.request_mobile_otp(
            s, _ctx(), txn_id=txn, mobile="9988776655", parts=AbhaParts.of(runtime)
        ).txn_id
    with unit_of_work(runtime.session_factory) as s:
        done = enrolment.verify_mobile_otp(
            s, _ctx(), txn_id=child, otp=_last_code(runtime), parts=AbhaParts.of(runtime)
        )
        assert done.account.mobile_verified
        assert profile_dict(done.account, "sbx")["mobile"] == "9988776655"
    # A mobile that is already verified needs no OTP.
    with pytest.raises(ValidationFailed) as err, unit_of_work(runtime.session_factory) as s:
        enrolment.request_mobile_otp(
            s, _ctx(), txn_id=txn, mobile="9988776655", parts=AbhaParts.of(runtime)
        )
    assert err.value.code == "HS-1264"


def test_addresses_preferred_and_capped(runtime):
    aadhaar = _resident(runtime)
    txn = _request(runtime, aadhaar)
    _enrol(runtime, txn, _last_code(runtime))
    with unit_of_work(runtime.session_factory) as s:
        handles = enrolment.address_suggestions(
            s, _ctx(), txn_id=txn, count=MAX_ADDRESSES_PER_ACCOUNT + 1, parts=AbhaParts.of(runtime)
        )
    assert len(handles) == MAX_ADDRESSES_PER_ACCOUNT + 1
    for i, handle in enumerate(handles[:MAX_ADDRESSES_PER_ACCOUNT]):
        with unit_of_work(runtime.session_factory) as s:
            chosen = enrolment.create_abha_address(
                s,
                _ctx(),
                txn_id=txn,
                abha_address=handle,
                preferred=i == 3,
                parts=AbhaParts.of(runtime),
            )
            expected = handles[3] if i >= 3 else handles[0]
            assert chosen.preferred_address == f"{expected}@sbx"
    with pytest.raises(Conflict) as err, unit_of_work(runtime.session_factory) as s:
        enrolment.create_abha_address(
            s,
            _ctx(),
            txn_id=txn,
            abha_address=handles[-1],
            preferred=False,
            parts=AbhaParts.of(runtime),
        )
    assert err.value.code == "HS-1253"
    with unit_of_work(runtime.session_factory) as s:
        acc = s.scalars(select(AbhaAccount)).one()
        assert sum(a.is_preferred for a in acc.addresses) == 1
        prof = profile_dict(acc, "sbx")
        assert prof["phrAddress"][0] == f"{handles[3]}@sbx"
        assert prof["phrAddress"][-1] == f"{acc.abha_number}@sbx"
        assert len(prof["phrAddress"]) == MAX_ADDRESSES_PER_ACCOUNT + 1


def test_taken_address_offers_free_suggestions(runtime):
    first = _request(runtime, _resident(runtime))
    _enrol(runtime, first, _last_code(runtime))
    runtime.clock.advance(seconds=61)
    second = _request(runtime, _resident(runtime, first11="34567890123"))
    _enrol(runtime, second, _last_code(runtime))
    with unit_of_work(runtime.session_factory) as s:
        enrolment.create_abha_address(
            s,
            _ctx(),
            txn_id=first,
            abha_address="ravi.kumar1991",
            preferred=True,
            parts=AbhaParts.of(runtime),
        )
    with pytest.raises(AddressTaken) as err, unit_of_work(runtime.session_factory) as s:
        enrolment.create_abha_address(
            s,
            _ctx(),
            txn_id=second,
            abha_address="Ravi.Kumar1991",
            preferred=True,
            parts=AbhaParts.of(runtime),
        )
    assert len(err.value.suggestions) >= 3 and "ravi.kumar1991" not in err.value.suggestions


def test_demographic_enrolment_is_audited_per_operator(runtime):
    a1 = _resident(runtime, first11="23456789012", name="Ravi Kumar")
    a2 = _resident(runtime, first11="34567890123", name="Shabnam Akhtar")
    common = {
        "gender": "M",
        "birth_date": date(1991, 3, 22),
        "year_of_birth": None,
        "mobile": "9812345678",
        "address_line": "Camp",
        "district_lgd": 632,
        "state_lgd": 1,
        "pincode": "190001",
        "consent_code": "abha-enrollment",
        "consent_version": "1.4",
    }
    op1, op2 = _ctx("op-1"), _ctx("op-2", Role.FACILITY_ADMIN)
    with unit_of_work(runtime.session_factory) as s:
        r1 = enrolment.enrol_by_demographics(
            s, op1, aadhaar=a1, name="Ravi Kumar", **common, parts=AbhaParts.of(runtime)
        )
        assert r1.is_new and r1.account.kyc_method == "demographic"
    with unit_of_work(runtime.session_factory) as s:
        # Names in another order and case still match; gender must match exactly.
        r2 = enrolment.enrol_by_demographics(
            s, op2, aadhaar=a2, name="akhtar SHABNAM", **common, parts=AbhaParts.of(runtime)
        )
        assert r2.is_new
    with pytest.raises(PermissionDenied), unit_of_work(runtime.session_factory) as s:
        enrolment.enrol_by_demographics(
            s,
            _ctx("doc-1", Role.DOCTOR),
            aadhaar=a1,
            name="Ravi Kumar",
            **common,
            parts=AbhaParts.of(runtime),
        )
    with unit_of_work(runtime.session_factory) as s:
        rows = s.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "abha.enrol.demographic")
            .order_by(AuditEvent.id)
        ).all()
        assert [(r.actor_id, r.outcome) for r in rows] == [
            ("op-1", "success"),
            ("op-2", "success"),
            ("doc-1", "denied"),
        ]
        accounts = s.scalars(select(AbhaAccount).order_by(AbhaAccount.id)).all()
        assert [a.enrolled_by for a in accounts] == ["op-1", "op-2"]


@pytest.mark.parametrize(
    ("given", "registered", "ok"),
    [
        ("Ravi Kumar", "Ravi Kumar", True),
        ("  RAVI   kumar ", "Ravi Kumar", True),
        ("Kumar Ravi", "Ravi Kumar", True),
        ("Ravi Kumaar", "Ravi Kumar", True),
        ("Mohd. Yousuf Dar", "Mohd Yousuf Dar", True),
        ("Ravikumar", "Ravi Kumar", True),
        ("Ravi", "Ravi Kumar", False),
        ("Sunil Kumar", "Ravi Kumar", False),
        ("", "Ravi Kumar", False),
    ],
)
def test_names_match(given, registered, ok):
    assert enrolment.names_match(given, registered) is ok


def test_aadhaar_without_a_mobile_cannot_get_an_otp(runtime):
    aadhaar = _resident(runtime, mobile=None)
    with pytest.raises(ValidationFailed) as err:
        _request(runtime, aadhaar)
    assert err.value.code == "HS-1241" and "demographic" in err.value.message
    with unit_of_work(runtime.session_factory) as s:
        assert s.scalar(select(func.count()).select_from(OtpTransaction)) == 0
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_unknown_transaction_and_foreign_actor(runtime):
    txn = _request(runtime, _resident(runtime))
    with pytest.raises(NotFound), unit_of_work(runtime.session_factory) as s:
        enrolment.address_suggestions(
            s, _ctx("someone-else"), txn_id=txn, parts=AbhaParts.of(runtime)
        )
    with pytest.raises(NotFound), unit_of_work(runtime.session_factory) as s:
        enrolment.address_suggestions(
            s, _ctx(), txn_id=str(uuid.uuid4()), parts=AbhaParts.of(runtime)
        )
