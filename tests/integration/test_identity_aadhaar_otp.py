"""The Aadhaar OTP and e-KYC transaction of ``identity.aadhaar`` on its own: over any
``KycProvider`` (here an in-memory stand-in for UIDAI, no sandbox rows), worded by the
registry's ``Terms``, against a real database."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from healthstack.identity.aadhaar import (
    TXN_NOT_FOUND,
    AadhaarOtp,
    MobileParent,
    Refusal,
    Terms,
    aadhaar_hash,
)
from healthstack.identity.models import OtpTransaction
from healthstack.identity.otp import TxnStatus
from healthstack.integrations.aadhaar.port import KycProvider, KycRecord
from healthstack.kernel.audit import AuditEvent
from healthstack.kernel.clock import Clock
from healthstack.kernel.context import Actor, ActorKind, Purpose, RequestContext
from healthstack.kernel.crypto import KeyedHasher
from healthstack.kernel.errors import (
    NotFound,
    OtpInvalid,
    PermissionDenied,
    ResendTooEarly,
    ValidationFailed,
)
from healthstack.kernel.ids import aadhaar_with_check_digit
from healthstack.kernel.outbox import OutboxMessage
from healthstack.kernel.uow import unit_of_work
from healthstack.settings import OtpSettings

AADHAAR = aadhaar_with_check_digit("98765432101")
NO_MOBILE = aadhaar_with_check_digit("98765432102")
OTHER = aadhaar_with_check_digit("98765432103")
MOBILE = "9812300001"


class Uidai:
    """A KYC provider that knows two residents and remembers what it was asked."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.residents = {
            AADHAAR: _record(AADHAAR, MOBILE),
            NO_MOBILE: _record(NO_MOBILE, None),
            OTHER: _record(OTHER, "9812300003"),
        }

    def lookup(self, session: Session, aadhaar: str) -> KycRecord | None:
        self.asked.append(aadhaar)
        return self.residents.get(aadhaar)

    def registered_mobile(self, session: Session, aadhaar: str) -> str | None:
        found = self.residents.get(aadhaar)
        return found.mobile if found else None


def _record(aadhaar: str, mobile: str | None) -> KycRecord:
    return KycRecord(
        aadhaar_last4=aadhaar[-4:],
        name="Asha Devi",
        gender="F",
        birth_date=date(1988, 5, 17),
        address_line="Lane 4",
        district_name="Srinagar",
        district_lgd=632,
        state_name="Jammu and Kashmir",
        state_lgd=1,
        pincode="190001",
        mobile=mobile,
    )


def _terms(admit: Callable[[Actor], object] | None = None) -> Terms:
    extra = {"admit": admit} if admit is not None else {}
    return Terms(
        scope="abha-enrol",  # a scope with SMS wording (otp.PURPOSE_TEXT)
        mobile_scope="mobile-verify",
        flow="test",
        parent_key="test_txn",
        seal_purpose="test-seal",
        audit="test.flow",
        noun="trial",
        wrong_step_code="HS-T01",
        mismatch_code="HS-T02",
        sealed_code="HS-T03",
        no_mobile_advice=" before trying again",
        mobile_route="test/mobile",
        aadhaar_required=Refusal("Give the Aadhaar.", "aadhaar", "HS-T04"),
        mobile_required=Refusal("Give the mobile.", "mobile", "HS-T05"),
        mobile_already_verified=Refusal("That mobile is verified.", "mobile", "HS-T06"),
        **extra,
    )


def _ctx(actor_id: str = "client-1") -> RequestContext:
    return RequestContext(
        actor=Actor(kind=ActorKind.CLIENT, id=actor_id, display=actor_id),
        purpose=Purpose.ENROLMENT,
    )


@pytest.fixture
def uidai() -> Uidai:
    return Uidai()


@dataclass(frozen=True)
class Parts:
    """A registry's parts, as far as the flow is concerned (``OtpParts``)."""

    kyc: KycProvider
    clock: Clock
    hasher: KeyedHasher
    otp: OtpSettings
    txn_ttl_seconds: int


@pytest.fixture
def flow(runtime, uidai: KycProvider) -> AadhaarOtp:
    parts = Parts(uidai, runtime.clock, runtime.hasher, runtime.settings.otp, 1800)
    return AadhaarOtp.of(_terms(), parts)


def _last_code(runtime) -> str:
    with unit_of_work(runtime.session_factory) as s:
        msg = s.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
        assert msg is not None
        return re.match(r"(\d{6}) ", msg.payload["text"]).group(1)


def _txn(runtime, txn_id: str) -> OtpTransaction:
    with unit_of_work(runtime.session_factory) as s:
        row = s.scalar(select(OtpTransaction).where(OtpTransaction.public_id == uuid.UUID(txn_id)))
        assert row is not None
        s.expunge(row)
        return row


def _audit(runtime, action: str) -> list[tuple[str, str | None]]:
    with unit_of_work(runtime.session_factory) as s:
        rows = s.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
        return [(r.outcome, r.resource_id) for r in rows]


def test_the_otp_goes_to_the_aadhaar_mobile_and_the_number_is_kept_sealed(runtime, flow, uidai):
    with unit_of_work(runtime.session_factory) as s:
        started = flow.request_otp(s, _ctx(), aadhaar=AADHAAR, state={"extra": 1})
    assert started.message.endswith("ending with XXXXXX0001")
    row = _txn(runtime, started.txn_id)
    assert row.scope == "abha-enrol" and row.otp_system == "aadhaar" and row.sent_to == MOBILE
    assert row.state["aadhaar_hash"] == aadhaar_hash(runtime.hasher, AADHAAR)
    assert row.state["aadhaar_last4"] == AADHAAR[-4:] and row.state["extra"] == 1
    assert row.state["flow"] == "test" and row.state["actor"] == "client-1"
    assert AADHAAR not in str(row.state)  # sealed, never in clear
    assert uidai.asked == [AADHAAR]
    assert _audit(runtime, "test.flow.request_otp") == [("success", started.txn_id)]


def test_the_right_otp_returns_the_ekyc_and_the_seal_leaves(runtime, flow, uidai):
    with unit_of_work(runtime.session_factory) as s:
        started = flow.request_otp(s, _ctx(), aadhaar=AADHAAR)
    code = _last_code(runtime)
    with unit_of_work(runtime.session_factory) as s:
        txn = flow.aadhaar_step(s, _ctx(), txn_id=started.txn_id)
        record = flow.verify_aadhaar(s, txn, otp=code)
    assert record.name == "Asha Devi" and record.mobile == MOBILE
    assert uidai.asked == [AADHAAR, AADHAAR]  # the e-KYC is read with the unsealed number
    row = _txn(runtime, started.txn_id)
    assert row.status == TxnStatus.VERIFIED.value and "aadhaar_sealed" not in row.state


def test_a_wrong_otp_is_counted_before_anything_else(runtime, flow, uidai):
    with unit_of_work(runtime.session_factory) as s:
        started = flow.request_otp(s, _ctx(), aadhaar=AADHAAR)
    wrong = f"{(int(_last_code(runtime)) + 1) % 10**6:06d}"
    with pytest.raises(OtpInvalid), unit_of_work(runtime.session_factory) as s:
        flow.verify_aadhaar(s, flow.aadhaar_step(s, _ctx(), txn_id=started.txn_id), otp=wrong)
    assert _txn(runtime, started.txn_id).attempts == 1
    assert uidai.asked == [AADHAAR]  # UIDAI was not asked again


def test_someone_elses_transaction_reads_as_an_unknown_one(runtime, flow):
    with unit_of_work(runtime.session_factory) as s:
        started = flow.request_otp(s, _ctx(), aadhaar=AADHAAR)
    with pytest.raises(NotFound) as theirs, unit_of_work(runtime.session_factory) as s:
        flow.open(s, _ctx("client-2"), txn_id=started.txn_id)
    with pytest.raises(NotFound) as unknown, unit_of_work(runtime.session_factory) as s:
        flow.open(s, _ctx(), txn_id=str(uuid.uuid4()))
    assert theirs.value.message == unknown.value.message == TXN_NOT_FOUND
    assert theirs.value.code == unknown.value.code


def test_resend_keeps_to_the_same_aadhaar_and_the_interval(runtime, flow, clock):
    with unit_of_work(runtime.session_factory) as s:
        started = flow.request_otp(s, _ctx(), aadhaar=AADHAAR)
    with pytest.raises(ValidationFailed) as other, unit_of_work(runtime.session_factory) as s:
        flow.request_otp(s, _ctx(), aadhaar=OTHER, txn_id=started.txn_id)
    assert other.value.code == "HS-T02" and "a new trial" in other.value.message
    with pytest.raises(ResendTooEarly), unit_of_work(runtime.session_factory) as s:
        flow.request_otp(s, _ctx(), aadhaar=None, txn_id=started.txn_id)
    clock.advance(seconds=runtime.settings.otp.resend_after_seconds)
    with unit_of_work(runtime.session_factory) as s:
        again = flow.request_otp(s, _ctx(), aadhaar=AADHAAR, txn_id=started.txn_id)
    assert again.txn_id == started.txn_id and _txn(runtime, again.txn_id).resend_count == 1
    outcomes = [o for o, _ in _audit(runtime, "test.flow.request_otp")]
    assert sorted(outcomes) == ["failed", "failed", "success", "success"]


def test_refusals_use_the_registrys_words(runtime, flow):
    for aadhaar, code, words in (
        (None, "HS-T04", "Give the Aadhaar."),
        (aadhaar_with_check_digit("98765432109"), "HS-1240", "not found in UIDAI records"),
        (NO_MOBILE, "HS-1241", "Aadhaar centre before trying again."),
    ):
        refusals = (ValidationFailed, NotFound)
        with pytest.raises(refusals) as refused, unit_of_work(runtime.session_factory) as s:
            flow.request_otp(s, _ctx(), aadhaar=aadhaar)
        assert refused.value.code == code and words in refused.value.message


def test_the_registry_decides_who_may_run_the_flow(runtime, uidai):
    def staff_only(actor: Actor) -> None:
        raise PermissionDenied("Staff only.", code="HS-T07")

    gated = AadhaarOtp(
        _terms(admit=staff_only),
        kyc=uidai,
        clock=runtime.clock,
        hasher=runtime.hasher,
        otp_settings=runtime.settings.otp,
        txn_ttl_seconds=60,
    )
    with pytest.raises(PermissionDenied), unit_of_work(runtime.session_factory) as s:
        gated.request_otp(s, _ctx(), aadhaar=AADHAAR)
    assert uidai.asked == []
    assert [o for o, _ in _audit(runtime, "test.flow.request_otp")] == ["denied"]


def test_another_mobile_is_verified_in_a_child_transaction(runtime, flow):
    with unit_of_work(runtime.session_factory) as s:
        started = flow.request_otp(s, _ctx(), aadhaar=AADHAAR)
    parents: list[str] = []

    def parent(txn: OtpTransaction) -> MobileParent:
        parents.append(str(txn.public_id))
        return MobileParent(account_id=None, verified_mobile=MOBILE)

    with pytest.raises(ValidationFailed) as same, unit_of_work(runtime.session_factory) as s:
        flow.request_mobile_otp(s, _ctx(), txn_id=started.txn_id, mobile=MOBILE, parent=parent)
    assert same.value.code == "HS-T06"
    with unit_of_work(runtime.session_factory) as s:
        child = flow.request_mobile_otp(
            s, _ctx(), txn_id=started.txn_id, mobile="9812300009", parent=parent
        )
    assert parents == [started.txn_id, started.txn_id]
    assert child.message.endswith("ending with XXXXXX0009")
    code = _last_code(runtime)
    with pytest.raises(ValidationFailed) as first, unit_of_work(runtime.session_factory) as s:
        flow.verify_mobile(s, _ctx(), txn_id=started.txn_id, otp=code)
    assert first.value.code == "HS-T01" and "(test/mobile)" in first.value.message
    with unit_of_work(runtime.session_factory) as s:
        verified = flow.verify_mobile(s, _ctx(), txn_id=child.txn_id, otp=code)
        assert verified.state["mobile"] == "9812300009"
        assert str(flow.parent_of(s, _ctx(), verified).public_id) == started.txn_id
    assert _audit(runtime, "test.flow.mobile_request_otp")[-1] == ("success", child.txn_id)
