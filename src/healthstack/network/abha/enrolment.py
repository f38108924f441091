"""ABHA enrolment (ABDM M1 creation flows): the behaviour behind the v3 enrolment API
and HealthStack's camp-mode demographic enrolment.

By Aadhaar OTP (CRT_ABHA_101-113), one transaction (``txnId``) carries the flow:

1. ``request_aadhaar_otp``: the Aadhaar is checked (Verhoeff) and looked up in the KYC
   provider; the OTP goes to the Aadhaar-registered mobile. The transaction keeps the
   keyed Aadhaar hash, the last four digits, the consent version offered and the
   Aadhaar sealed (AES-GCM under a key derived from the deployment secret, bound to the
   txnId) for the KYC fetch after the OTP; never the Aadhaar in clear.
   *Resend* is the same request with the ``txnId`` (60 s apart, at most twice). A new
   request for the same Aadhaar within 60 s of the last OTP is refused the same way,
   so leaving out the ``txnId`` does not get round the rule.
2. ``enrol_by_aadhaar``: the OTP is verified before any other write; the e-KYC is
   fetched; an account already enrolled with that Aadhaar (keyed hash) is returned
   unchanged (``is_new`` false), never a second one; otherwise a number is allocated
   and the account created. The consent accepted (code and version) is recorded in
   the transaction, which is linked to the account.
3. Communication mobile (CRT_ABHA_109): when the mobile the client gives differs from
   the Aadhaar mobile, the account keeps it unverified until ``request_mobile_otp`` /
   ``verify_mobile_otp`` (a child transaction of the enrolment) confirm it.
4. ``address_suggestions`` and ``create_abha_address`` (CRT_ABHA_112), using the
   enrolment's ``txnId`` (or the mobile child's).

Transactions are bound to the staff member or client that opened them: anyone else
gets "not found". Every step is audited (success and failure) without the payload.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from difflib import SequenceMatcher

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from healthstack.accounts.permissions import require
from healthstack.integrations.aadhaar.port import KycRecord
from healthstack.kernel.audit import audited, record_access
from healthstack.kernel.context import RequestContext
from healthstack.kernel.crypto import SealBroken, Sealer
from healthstack.kernel.errors import (
    Conflict,
    NotFound,
    ValidationFailed,
)
from healthstack.kernel.events import abha_account_event
from healthstack.kernel.ids import mask_mobile, normalise_aadhaar, normalise_mobile
from healthstack.network.abha.address import (
    MAX_ADDRESSES_PER_ACCOUNT,
    AddressTaken,
    default_address,
    is_available,
    parse_address,
    suggestions,
)
from healthstack.network.abha.auth import UserTokens, issue_user_tokens
from healthstack.network.abha.models import AbhaAccount, AbhaAddress, OtpTransaction
from healthstack.network.abha.names import name_key, split_name
from healthstack.network.abha.numbers import NumberPermutation, allocate
from healthstack.network.abha.otp import TxnStatus, otp_service
from healthstack.network.abha.profile_view import (  # noqa: F401 - re-exported for other modules
    preferred_address,
    profile_dict,
    tokens_dict,
)
from healthstack.runtime import Runtime

ENROL_SCOPE = "abha-enrol"
MOBILE_SCOPE = "mobile-verify"
CONSENT_CODE = "abha-enrollment"
# How close a typed name must be to the Aadhaar name in camp mode (difflib ratio on
# the normalised names); catches a dropped or doubled letter, not another person.
NAME_MATCH_THRESHOLD = 0.85

_TXN_NOT_FOUND = "This transaction was not found. Start again by requesting a new OTP."


@dataclass(frozen=True)
class OtpStarted:
    txn_id: str
    message: str


@dataclass(frozen=True)
class EnrolmentResult:
    account: AbhaAccount
    txn_id: str
    is_new: bool
    tokens: UserTokens
    # True when the client gave a communication mobile other than the Aadhaar mobile:
    # it stays unverified until the mobile OTP (CRT_ABHA_109).
    mobile_verification_needed: bool
    message: str


@dataclass(frozen=True)
class MobileVerified:
    txn_id: str
    account: AbhaAccount
    message: str


@dataclass(frozen=True)
class AddressChosen:
    txn_id: str
    account: AbhaAccount
    handle: str
    preferred_address: str


@dataclass(frozen=True)
class DemographicResult:
    account: AbhaAccount
    is_new: bool
    message: str
    # A new account's enrolment transaction (no OTP in it): the ABHA address steps
    # (suggestions, create) continue with it as after an Aadhaar OTP enrolment.
    txn_id: str | None = None


# --------------------------------------------------------------------------- helpers


def aadhaar_hash(runtime: Runtime, aadhaar: str) -> str:
    """THE keyed hash stored in ``abha_account.aadhaar_hash``."""
    return runtime.hasher.hash("aadhaar", aadhaar)


def find_account_by_aadhaar_hash(session: Session, digest: str) -> AbhaAccount | None:
    return session.scalar(select(AbhaAccount).where(AbhaAccount.aadhaar_hash == digest))


def _seal(runtime: Runtime, value: str, bound_to: str) -> str:
    return Sealer(runtime.hasher, "abha-enrol-aadhaar").seal(value, bound_to)


def _unseal(runtime: Runtime, sealed: str | None, bound_to: str) -> str:
    try:
        return Sealer(runtime.hasher, "abha-enrol-aadhaar").unseal(sealed, bound_to)
    except SealBroken as exc:
        # A transaction sealed under another secret (key rotation) cannot continue.
        raise ValidationFailed(
            "This transaction can no longer be completed. Start again by requesting a new OTP.",
            field="txnId",
            code="HS-1301",
        ) from exc


def _load_txn(
    session: Session, runtime: Runtime, ctx: RequestContext, txn_id: str, *, for_update: bool
) -> OtpTransaction:
    txn = otp_service(runtime).get(session, txn_id, for_update=for_update)
    # Only whoever opened the transaction may continue it; others learn nothing.
    if (txn.state or {}).get("actor") != ctx.actor.id:
        raise NotFound(_TXN_NOT_FOUND, field="txnId")
    return txn


def _touch(runtime: Runtime, txn: OtpTransaction) -> None:
    """Keep the transaction usable ``txn_ttl_seconds`` after its latest step."""
    txn.expires_at = runtime.clock.now() + timedelta(seconds=runtime.settings.abha.txn_ttl_seconds)


def _wrong_step(expected: str) -> ValidationFailed:
    return ValidationFailed(
        f"This transaction is for a different step. {expected}", field="txnId", code="HS-1110"
    )


def _check_consent(code: str | None, version: str | None, expected_version: str | None) -> None:
    if code != CONSENT_CODE:
        raise ValidationFailed(
            f"consent.code must be '{CONSENT_CODE}'. Show the ABHA enrolment consent and "
            "send its code.",
            field="consent.code",
            code="HS-1260",
        )
    if version != expected_version:
        raise ValidationFailed(
            f"consent.version is not the current consent text ({expected_version}). Show the "
            "current consent text, capture the agreement and send its version.",
            field="consent.version",
            code="HS-1261",
        )


def _account_fields(runtime: Runtime, record: KycRecord) -> dict[str, object]:
    first, middle, last = split_name(record.name)
    now = runtime.clock.now()
    return {
        "first_name": first[:64],
        "middle_name": middle[:64] if middle else None,
        "last_name": last[:64] if last else None,
        "name": record.name[:192],
        "name_key": name_key(record.name)[:192],
        "gender": record.gender,
        "birth_date": record.birth_date,
        "year_of_birth": record.birth_date.year,
        "aadhaar_last4": record.aadhaar_last4,
        "created_at": now,
        "updated_at": now,
        "status": "ACTIVE",
    }


def _insert_account(session: Session, runtime: Runtime, account: AbhaAccount) -> AbhaAccount:
    account.abha_number = allocate(
        session, NumberPermutation(runtime.settings.secret_key.get_secret_value())
    )
    session.add(account)
    try:
        session.flush()
    except IntegrityError as exc:
        # Two requests for the same Aadhaar raced; the other one won. Everything here
        # rolls back (the OTP too stays unused), so sending the request again returns
        # the account the other request created.
        raise Conflict(
            "An ABHA for this Aadhaar was created by another request at the same moment. "
            "Send the same request again to get it.",
            code="HS-1262",
        ) from exc
    return account


def _refuse_deleted(account: AbhaAccount) -> None:
    if account.status == "DELETED":
        raise Conflict(
            "The ABHA for this Aadhaar was deleted and cannot be enrolled again here. "
            "Ask the ABHA helpdesk of the state to review it.",
            code="HS-1263",
        )


# --------------------------------------------------------------------------- protocol


def classify_otp_request(
    scope: list[str], *, login_hint: str | None, otp_system: str | None
) -> str:
    """Which OTP a v3 ``request/otp`` asks for: ``"aadhaar"`` or ``"mobile"``."""
    scopes = {s.strip().lower() for s in scope}
    hint = (login_hint or "").strip().lower()
    system = (otp_system or "").strip().lower()
    if scopes == {ENROL_SCOPE}:
        if hint not in ("", "aadhaar") or system not in ("", "aadhaar"):
            raise ValidationFailed(
                "For scope [abha-enrol] send loginHint 'aadhaar' and otpSystem 'aadhaar'.",
                field="loginHint",
                code="HS-1111",
            )
        return "aadhaar"
    if scopes == {ENROL_SCOPE, MOBILE_SCOPE}:
        if hint not in ("", "mobile") or system not in ("", "abdm"):
            raise ValidationFailed(
                "For scope [abha-enrol, mobile-verify] send loginHint 'mobile' and "
                "otpSystem 'abdm'.",
                field="loginHint",
                code="HS-1111",
            )
        return "mobile"
    raise ValidationFailed(
        "This service supports scope [abha-enrol] (Aadhaar OTP) and [abha-enrol, "
        "mobile-verify] (communication mobile). Driving licence and e-mail enrolment are "
        "not offered.",
        field="scope",
        code="HS-1112",
    )


def check_mobile_verify_scope(scope: list[str]) -> None:
    if {s.strip().lower() for s in scope} != {ENROL_SCOPE, MOBILE_SCOPE}:
        raise ValidationFailed(
            "auth/byAbdm verifies the communication mobile here: send scope "
            "[abha-enrol, mobile-verify].",
            field="scope",
            code="HS-1112",
        )


# --------------------------------------------------------------------------- Aadhaar OTP


def request_aadhaar_otp(
    session: Session,
    *,
    runtime: Runtime,
    ctx: RequestContext,
    aadhaar: str | None,
    txn_id: str | None = None,
) -> OtpStarted:
    """Send the Aadhaar OTP (a new transaction), or resend it when ``txn_id`` is given."""
    svc = otp_service(runtime)
    with audited(
        session,
        ctx,
        action="abha.enrol.request_otp",
        resource_type="otp_transaction",
        clock=runtime.clock,
    ) as target:
        number = normalise_aadhaar(aadhaar) if aadhaar is not None else None
        if txn_id:
            txn = _load_txn(session, runtime, ctx, txn_id, for_update=True)
            target.resource_id = str(txn.public_id)
            if txn.scope != ENROL_SCOPE or txn.otp_system != "aadhaar":
                raise _wrong_step("Send the txnId of the Aadhaar OTP request to resend it.")
            same = number is None or txn.state.get("aadhaar_hash") == aadhaar_hash(runtime, number)
            if not same:
                raise ValidationFailed(
                    "This txnId belongs to another Aadhaar number. Leave txnId out to start "
                    "a new enrolment.",
                    field="txnId",
                    code="HS-1113",
                )
            svc.resend(session, txn)
            _touch(runtime, txn)
            return OtpStarted(
                str(txn.public_id),
                "OTP is sent to Aadhaar registered mobile number ending with "
                f"{mask_mobile(txn.sent_to or '')}",
            )
        if number is None:
            raise ValidationFailed(
                "loginId (the encrypted Aadhaar number) is required.", field="loginId"
            )
        subject = svc.subject_key("aadhaar", number)
        record = runtime.kyc.lookup(session, number)
        if record is None:
            raise NotFound(
                "This Aadhaar number was not found in UIDAI records. Check it against the "
                "Aadhaar card and enter it again.",
                field="aadhaar",
                code="HS-1240",
            )
        if not record.mobile:
            raise ValidationFailed(
                "No mobile number is linked with this Aadhaar, so no OTP can be sent. Link a "
                "mobile at an Aadhaar centre, or enrol by demographic details at a "
                "government facility.",
                field="aadhaar",
                code="HS-1241",
            )
        txn = svc.start(
            session,
            scope=ENROL_SCOPE,
            otp_system="aadhaar",
            subject_key=subject,
            send_to=record.mobile,
            state={
                "flow": "aadhaar",
                "actor": ctx.actor.id,
                "aadhaar_hash": aadhaar_hash(runtime, number),
                "aadhaar_last4": number[-4:],
                # The consent text on offer for this enrolment (CRT_ABHA_102).
                "consent": {"code": CONSENT_CODE, "version": runtime.settings.abha.consent_version},
            },
            txn_ttl_seconds=runtime.settings.abha.txn_ttl_seconds,
        )
        txn.state = {**txn.state, "aadhaar_sealed": _seal(runtime, number, str(txn.public_id))}
        target.resource_id = str(txn.public_id)
        return OtpStarted(
            str(txn.public_id),
            "OTP is sent to Aadhaar registered mobile number ending with "
            f"{mask_mobile(record.mobile)}",
        )


def enrol_by_aadhaar(
    session: Session,
    *,
    runtime: Runtime,
    ctx: RequestContext,
    txn_id: str,
    otp: str,
    mobile: str | None,
    consent_code: str | None,
    consent_version: str | None,
) -> EnrolmentResult:
    """Verify the Aadhaar OTP and create the ABHA, or return the one that exists."""
    svc = otp_service(runtime)
    with audited(
        session,
        ctx,
        action="abha.enrol.by_aadhaar",
        resource_type="abha_account",
        clock=runtime.clock,
    ) as target:
        # Input is checked before the OTP is touched: a malformed request burns no try.
        comm_mobile = normalise_mobile(mobile) if mobile else None
        txn = _load_txn(session, runtime, ctx, txn_id, for_update=True)
        if txn.scope != ENROL_SCOPE or txn.otp_system != "aadhaar":
            raise _wrong_step("Use the txnId of the Aadhaar OTP request.")
        offered = (txn.state.get("consent") or {}).get("version")
        _check_consent(consent_code, consent_version, offered)

        svc.verify(session, txn, otp)  # the first write; a wrong OTP is committed as a try

        number = _unseal(runtime, txn.state.get("aadhaar_sealed"), str(txn.public_id))
        record = runtime.kyc.lookup(session, number)
        if record is None:
            raise NotFound(
                "This Aadhaar number was not found in UIDAI records. Check it against the "
                "Aadhaar card and start again.",
                field="aadhaar",
                code="HS-1240",
            )
        digest = txn.state["aadhaar_hash"]
        now = runtime.clock.now()
        existing = find_account_by_aadhaar_hash(session, digest)
        if existing is not None:
            _refuse_deleted(existing)
            account, is_new, needs_mobile = existing, False, False
            message = "This account already exist. An ABHA is already enrolled with this Aadhaar."
            record_access(
                session,
                ctx,
                action="abha.account.read",
                resource_type="abha_account",
                resource_id=str(account.public_id),
                clock=runtime.clock,
            )
        else:
            needs_mobile = comm_mobile is not None and comm_mobile != record.mobile
            account = AbhaAccount(
                **_account_fields(runtime, record),
                public_id=uuid.uuid4(),
                aadhaar_hash=digest,
                mobile=comm_mobile or record.mobile,
                mobile_verified=not needs_mobile,
                email_verified=False,
                address_line=record.address_line,
                district_name=record.district_name,
                district_lgd=record.district_lgd,
                state_name=record.state_name,
                state_lgd=record.state_lgd,
                pincode=record.pincode,
                photo=record.photo,
                kyc_method="aadhaar_otp",
                kyc_verified=True,
                enrolled_by=ctx.actor.id[:64],
                enrolled_at_facility=ctx.actor.facility_id,
            )
            _insert_account(session, runtime, account)
            abha_account_event(
                session,
                "abha.account.created",
                account,
                at=account.created_at,
                clock=runtime.clock,
            )
            is_new = True
            message = "Account created successfully."
            if needs_mobile:
                message += (
                    " The communication mobile is not verified yet: request an OTP for it "
                    "(scope abha-enrol, mobile-verify, with this txnId) and verify it with "
                    "auth/byAbdm."
                )
            record_access(
                session,
                ctx,
                action="abha.account.create",
                resource_type="abha_account",
                resource_id=str(account.public_id),
                clock=runtime.clock,
            )
        target.resource_id = str(account.public_id)
        state = {k: v for k, v in txn.state.items() if k != "aadhaar_sealed"}
        state["consent"] = {
            "code": consent_code,
            "version": consent_version,
            "accepted_at": now.isoformat(),
        }
        state["account"] = str(account.public_id)
        txn.state = state
        txn.account_id = account.id
        svc.complete(txn)
        _touch(runtime, txn)
        return EnrolmentResult(
            account=account,
            txn_id=str(txn.public_id),
            is_new=is_new,
            tokens=issue_user_tokens(runtime, account),
            mobile_verification_needed=needs_mobile,
            message=message,
        )


# --------------------------------------------------------------------------- mobile


def _enrolment_account(
    session: Session, runtime: Runtime, ctx: RequestContext, txn: OtpTransaction
) -> AbhaAccount:
    """The account an enrolment transaction (or its mobile child) created or found."""
    if txn.scope == ENROL_SCOPE and txn.status != TxnStatus.COMPLETED.value:
        raise ValidationFailed(
            "Finish the Aadhaar OTP step (enrol/byAadhaar) first, then continue.",
            field="txnId",
            code="HS-1109",
        )
    if txn.scope not in (ENROL_SCOPE, MOBILE_SCOPE) or txn.account_id is None:
        raise _wrong_step("Use the txnId of the enrolment.")
    account = session.get(AbhaAccount, txn.account_id)
    if account is None:  # pragma: no cover - foreign key
        raise NotFound(_TXN_NOT_FOUND, field="txnId")
    return account


def request_mobile_otp(
    session: Session,
    *,
    runtime: Runtime,
    ctx: RequestContext,
    txn_id: str,
    mobile: str | None,
) -> OtpStarted:
    """Send an OTP to the communication mobile (or resend it, given the mobile txnId)."""
    svc = otp_service(runtime)
    with audited(
        session,
        ctx,
        action="abha.enrol.mobile_request_otp",
        resource_type="otp_transaction",
        clock=runtime.clock,
    ) as target:
        number = normalise_mobile(mobile) if mobile else None
        txn = _load_txn(session, runtime, ctx, txn_id, for_update=True)
        target.resource_id = str(txn.public_id)
        if txn.scope == MOBILE_SCOPE:
            if number is not None and number != txn.state.get("mobile"):
                raise ValidationFailed(
                    "This txnId is for another mobile. Send the enrolment txnId to verify a "
                    "different mobile.",
                    field="txnId",
                    code="HS-1113",
                )
            svc.resend(session, txn)
            _touch(runtime, txn)
            return OtpStarted(
                str(txn.public_id),
                f"OTP is sent to Mobile number ending with {mask_mobile(txn.sent_to or '')}",
            )
        account = _enrolment_account(session, runtime, ctx, txn)
        if number is None:
            raise ValidationFailed(
                "loginId (the encrypted mobile number) is required.", field="loginId"
            )
        if account.mobile == number and account.mobile_verified:
            raise ValidationFailed(
                "This mobile is already verified on this ABHA. Continue with the ABHA address.",
                field="loginId",
                code="HS-1264",
            )
        subject = svc.subject_key("mobile", number)
        child = svc.start(
            session,
            scope=MOBILE_SCOPE,
            otp_system="abdm",
            subject_key=subject,
            send_to=number,
            state={
                "flow": "aadhaar",
                "actor": ctx.actor.id,
                "mobile": number,
                "enrolment_txn": str(txn.public_id),
            },
            account_id=account.id,
            txn_ttl_seconds=runtime.settings.abha.txn_ttl_seconds,
        )
        _touch(runtime, txn)
        target.resource_id = str(child.public_id)
        return OtpStarted(
            str(child.public_id), f"OTP is sent to Mobile number ending with {mask_mobile(number)}"
        )


def verify_mobile_otp(
    session: Session, *, runtime: Runtime, ctx: RequestContext, txn_id: str, otp: str
) -> MobileVerified:
    """Check the communication-mobile OTP; the mobile becomes the ABHA's, verified."""
    svc = otp_service(runtime)
    with audited(
        session,
        ctx,
        action="abha.account.verify_mobile",
        resource_type="abha_account",
        clock=runtime.clock,
    ) as target:
        txn = _load_txn(session, runtime, ctx, txn_id, for_update=True)
        if txn.scope != MOBILE_SCOPE or txn.account_id is None:
            raise _wrong_step(
                "Request an OTP for the mobile first (request/otp with scope "
                "[abha-enrol, mobile-verify]) and send the txnId it returns."
            )
        svc.verify(session, txn, otp)  # the first write
        account = session.get(AbhaAccount, txn.account_id)
        if account is None:  # pragma: no cover - foreign key
            raise NotFound(_TXN_NOT_FOUND, field="txnId")
        target.resource_id = str(account.public_id)
        account.mobile = txn.state["mobile"]
        account.mobile_verified = True
        account.updated_at = runtime.clock.now()
        svc.complete(txn)
        _touch(runtime, txn)
        return MobileVerified(str(txn.public_id), account, "Mobile Number linked successfully.")


# --------------------------------------------------------------------------- addresses


def address_suggestions(
    session: Session, *, runtime: Runtime, ctx: RequestContext, txn_id: str, count: int = 5
) -> list[str]:
    """Free, valid ABHA address handles for the person enrolled in ``txn_id``."""
    with audited(
        session,
        ctx,
        action="abha.enrol.suggestion",
        resource_type="abha_account",
        clock=runtime.clock,
    ) as target:
        txn = _load_txn(session, runtime, ctx, txn_id, for_update=False)
        account = _enrolment_account(session, runtime, ctx, txn)
        target.resource_id = str(account.public_id)
        _touch(runtime, txn)
        return account_suggestions(session, runtime=runtime, account=account, count=count)


def account_suggestions(
    session: Session, *, runtime: Runtime, account: AbhaAccount, count: int = 5
) -> list[str]:
    return suggestions(
        session,
        first_name=account.first_name,
        last_name=account.last_name,
        birth_date=account.birth_date,
        year_of_birth=account.year_of_birth,
        suffix=runtime.settings.abha_suffix,
        count=count,
    )


def add_address(
    session: Session,
    *,
    runtime: Runtime,
    account: AbhaAccount,
    raw_address: str,
    preferred: bool,
) -> AbhaAddress:
    """Give ``account`` the address (idempotent for its own); the caller audits."""
    suffix = runtime.settings.abha_suffix
    if account.status != "ACTIVE":
        raise ValidationFailed(
            "This ABHA is not active. Reactivate it before adding an ABHA address.",
            code="HS-1265",
        )
    handle = parse_address(raw_address, suffix)
    addr = next((a for a in account.addresses if a.handle == handle), None)
    if addr is None:
        if len(account.addresses) >= MAX_ADDRESSES_PER_ACCOUNT:
            raise Conflict(
                f"This ABHA already has {MAX_ADDRESSES_PER_ACCOUNT} ABHA addresses, the most "
                "allowed. Use one of them.",
                field="abhaAddress",
                code="HS-1253",
            )
        if not is_available(session, handle):
            raise AddressTaken(
                "This ABHA address is taken. Choose another one, for example one of the "
                "suggestions offered.",
                suggestions=account_suggestions(session, runtime=runtime, account=account),
            )
        addr = AbhaAddress(
            public_id=uuid.uuid4(),
            handle=handle,
            is_preferred=False,
            created_at=runtime.clock.now(),
        )
        account.addresses.append(addr)
        try:
            session.flush()
        except IntegrityError as exc:
            raise AddressTaken(
                "This ABHA address was taken a moment ago. Choose another one."
            ) from exc
    if preferred or not any(a.is_preferred for a in account.addresses):
        # Exactly one preferred address per account.
        for other in account.addresses:
            other.is_preferred = other is addr
    account.updated_at = runtime.clock.now()
    session.flush()
    return addr


def create_abha_address(
    session: Session,
    *,
    runtime: Runtime,
    ctx: RequestContext,
    txn_id: str,
    abha_address: str,
    preferred: bool,
) -> AddressChosen:
    """Give the enrolled account a chosen ABHA address (CRT_ABHA_112)."""
    with audited(
        session,
        ctx,
        action="abha.address.create",
        resource_type="abha_account",
        clock=runtime.clock,
    ) as target:
        txn = _load_txn(session, runtime, ctx, txn_id, for_update=True)
        account = _enrolment_account(session, runtime, ctx, txn)
        target.resource_id = str(account.public_id)
        addr = add_address(
            session,
            runtime=runtime,
            account=account,
            raw_address=abha_address,
            preferred=preferred,
        )
        _touch(runtime, txn)
        return AddressChosen(
            txn_id=str(txn.public_id),
            account=account,
            handle=addr.handle,
            preferred_address=preferred_address(account, runtime.settings.abha_suffix),
        )


# --------------------------------------------------------------------------- camp mode


def names_match(given: str, registered: str) -> bool:
    """Case-, spacing- and order-insensitive, tolerant of a letter or two."""
    a, b = name_key(given), name_key(registered)
    if not a or not b:
        return False
    if a.replace(" ", "") == b.replace(" ", ""):
        return True
    sa, sb = " ".join(sorted(a.split())), " ".join(sorted(b.split()))
    if sa == sb:
        return True
    ratio = max(SequenceMatcher(None, a, b).ratio(), SequenceMatcher(None, sa, sb).ratio())
    return ratio >= NAME_MATCH_THRESHOLD


def enrol_by_demographics(
    session: Session,
    *,
    runtime: Runtime,
    ctx: RequestContext,
    aadhaar: str,
    name: str,
    gender: str,
    birth_date: date | None,
    year_of_birth: int | None,
    mobile: str,
    address_line: str,
    district_lgd: int,
    state_lgd: int,
    pincode: str,
    consent_code: str | None,
    consent_version: str | None,
) -> DemographicResult:
    """Camp-mode enrolment by an authorised operator (CRT_ABHA_301/302).

    The demographics must match the Aadhaar records (name fuzzily, gender, date or year
    of birth); the mismatch error does not say which one, so the registry cannot be
    probed field by field. The mobile is kept unverified (no OTP in camp mode).
    """
    with audited(
        session,
        ctx,
        action="abha.enrol.demographic",
        resource_type="abha_account",
        clock=runtime.clock,
    ) as target:
        require(ctx.actor, "abha.enrol_demographic")
        _check_consent(consent_code, consent_version, runtime.settings.abha.consent_version)
        if birth_date is None and year_of_birth is None:
            raise ValidationFailed(
                "Give the date of birth (birth_date) or, if only the year is known, year_of_birth.",
                field="birth_date",
                code="HS-1232",
            )
        if birth_date and year_of_birth is not None and birth_date.year != year_of_birth:
            raise ValidationFailed(
                "birth_date and year_of_birth disagree. Send one of them.",
                field="year_of_birth",
                code="HS-1232",
            )
        number = normalise_aadhaar(aadhaar)
        comm_mobile = normalise_mobile(mobile)
        record = runtime.kyc.lookup(session, number)
        if record is None:
            raise NotFound(
                "This Aadhaar number was not found in UIDAI records. Check it against the "
                "Aadhaar card and enter it again.",
                field="aadhaar",
                code="HS-1240",
            )
        year = birth_date.year if birth_date else year_of_birth
        matches = (
            names_match(name, record.name)
            and gender == record.gender
            and (birth_date == record.birth_date if birth_date else year == record.birth_date.year)
        )
        if not matches:
            raise ValidationFailed(
                "The name, gender or date of birth does not match the Aadhaar records. Check "
                "each against the Aadhaar card and correct it, or enrol by Aadhaar OTP.",
                code="HS-1230",
            )
        digest = aadhaar_hash(runtime, number)
        existing = find_account_by_aadhaar_hash(session, digest)
        if existing is not None:
            _refuse_deleted(existing)
            target.resource_id = str(existing.public_id)
            record_access(
                session,
                ctx,
                action="abha.account.read",
                resource_type="abha_account",
                resource_id=str(existing.public_id),
                clock=runtime.clock,
            )
            return DemographicResult(
                existing, False, "An ABHA is already enrolled with this Aadhaar; it is returned."
            )
        same_district = record.district_lgd == district_lgd
        account = AbhaAccount(
            **_account_fields(runtime, record),
            public_id=uuid.uuid4(),
            aadhaar_hash=digest,
            mobile=comm_mobile,
            mobile_verified=False,
            email_verified=False,
            address_line=address_line.strip()[:256],
            district_name=record.district_name if same_district else None,
            district_lgd=district_lgd,
            state_name=record.state_name if record.state_lgd == state_lgd else None,
            state_lgd=state_lgd,
            pincode=pincode,
            photo=None,
            kyc_method="demographic",
            # Matched against the Aadhaar records (demographic authentication).
            kyc_verified=True,
            enrolled_by=ctx.actor.id[:64],
            enrolled_at_facility=ctx.actor.facility_id,
        )
        _insert_account(session, runtime, account)
        abha_account_event(
            session, "abha.account.created", account, at=account.created_at, clock=runtime.clock
        )
        target.resource_id = str(account.public_id)
        record_access(
            session,
            ctx,
            action="abha.account.create",
            resource_type="abha_account",
            resource_id=str(account.public_id),
            clock=runtime.clock,
        )
        txn = _camp_transaction(session, runtime, ctx, account, consent_version)
        return DemographicResult(
            account,
            True,
            "ABHA created. The mobile is kept unverified until the holder confirms it by "
            "OTP (mobile change in the ABHA profile).",
            txn_id=str(txn.public_id),
        )


def _camp_transaction(
    session: Session,
    runtime: Runtime,
    ctx: RequestContext,
    account: AbhaAccount,
    consent_version: str | None,
) -> OtpTransaction:
    """A completed enrolment transaction for a camp-mode account, so that its operator
    (and no one else: ``_load_txn``) chooses the ABHA address by the same steps as after
    an Aadhaar OTP. No OTP was sent: ``otp_system`` says "none"."""
    now = runtime.clock.now()
    txn = OtpTransaction(
        public_id=uuid.uuid4(),
        scope=ENROL_SCOPE,
        otp_system="none",
        # Its own subject: a camp enrolment must not count against anyone's OTP limits.
        subject_key=runtime.hasher.hash("otp-subject:camp", str(account.public_id)),
        sent_to=None,
        attempts=0,
        resend_count=0,
        status=TxnStatus.COMPLETED.value,
        state={
            "actor": ctx.actor.id,
            "account": str(account.public_id),
            "method": "demographic",
            "consent": {
                "code": CONSENT_CODE,
                "version": consent_version,
                "accepted_at": now.isoformat(),
            },
        },
        account_id=account.id,
        created_at=now,
        expires_at=now + timedelta(seconds=runtime.settings.abha.txn_ttl_seconds),
    )
    session.add(txn)
    session.flush()
    return txn


__all__ = [
    "CONSENT_CODE",
    "ENROL_SCOPE",
    "MOBILE_SCOPE",
    "AddressChosen",
    "DemographicResult",
    "EnrolmentResult",
    "MobileVerified",
    "OtpStarted",
    "add_address",
    "address_suggestions",
    "classify_otp_request",
    "create_abha_address",
    "default_address",
    "enrol_by_aadhaar",
    "enrol_by_demographics",
    "find_account_by_aadhaar_hash",
    "names_match",
    "preferred_address",
    "profile_dict",
    "request_aadhaar_otp",
    "request_mobile_otp",
    "tokens_dict",
    "verify_mobile_otp",
]
