"""ABHA enrolment (ABDM M1 creation flows): the behaviour behind the v3 enrolment API
and HealthStack's camp-mode demographic enrolment.

By Aadhaar OTP (CRT_ABHA_101-113), one transaction (``txnId``) carries the flow, the
Aadhaar OTP and e-KYC transaction of ``identity.aadhaar`` (``ENROLMENT`` names it):

1. ``request_aadhaar_otp``: the Aadhaar is checked (Verhoeff) and looked up in the KYC
   provider; the OTP goes to the Aadhaar-registered mobile. The transaction keeps the
   keyed Aadhaar hash, the last four digits, the consent version offered and the
   Aadhaar sealed for the KYC fetch after the OTP; never the Aadhaar in clear.
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

What is ABHA's own: the consent, the account (its number, ``numbers``, and its
addresses, ``address``) and camp mode. Transactions are bound to the staff member or
client that opened them: anyone else gets "not found". Every step is audited (success
and failure) without the payload. The services take ``AbhaParts`` (the KYC provider,
clock, keyed hasher, keys and settings).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from difflib import SequenceMatcher

from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from healthstack.accounts.permissions import require
from healthstack.identity.aadhaar import (
    TXN_NOT_FOUND,
    AadhaarOtp,
    MobileParent,
    OtpStarted,
    Refusal,
    Terms,
    aadhaar_hash,
    find_resident,
)
from healthstack.identity.models import OtpTransaction
from healthstack.identity.otp import TxnStatus
from healthstack.integrations.aadhaar.port import KycRecord
from healthstack.kernel.audit import audited, record_access
from healthstack.kernel.clock import Clock
from healthstack.kernel.context import RequestContext
from healthstack.kernel.errors import (
    Conflict,
    NotFound,
    ValidationFailed,
)
from healthstack.kernel.events import abha_account_event
from healthstack.kernel.ids import normalise_aadhaar, normalise_mobile
from healthstack.network.abha.address import (
    MAX_ADDRESSES_PER_ACCOUNT,
    AddressTaken,
    default_address,
    is_available,
    parse_address,
    suggestions,
)
from healthstack.network.abha.auth import UserTokens, issue_user_tokens
from healthstack.network.abha.models import AbhaAccount, AbhaAddress
from healthstack.network.abha.names import name_key, split_name
from healthstack.network.abha.numbers import NumberPermutation, allocate
from healthstack.network.abha.parts import AbhaParts
from healthstack.network.abha.profile_view import (  # noqa: F401 - re-exported for other modules
    preferred_address,
    profile_dict,
    tokens_dict,
)

ENROL_SCOPE = "abha-enrol"
MOBILE_SCOPE = "mobile-verify"
CONSENT_CODE = "abha-enrollment"
# How close a typed name must be to the Aadhaar name in camp mode (difflib ratio on
# the normalised names); catches a dropped or doubled letter, not another person.
NAME_MATCH_THRESHOLD = 0.85

# ABHA's words for its Aadhaar OTP flow: the API's fields, ABHA's codes.
ENROLMENT = Terms(
    scope=ENROL_SCOPE,
    mobile_scope=MOBILE_SCOPE,
    flow="aadhaar",
    parent_key="enrolment_txn",
    seal_purpose="abha-enrol-aadhaar",
    audit="abha.enrol",
    noun="enrolment",
    wrong_step_code="HS-1110",
    mismatch_code="HS-1113",
    sealed_code="HS-1301",
    no_mobile_advice=", or enrol by demographic details at a government facility",
    mobile_route="request/otp with scope [abha-enrol, mobile-verify]",
    aadhaar_required=Refusal("loginId (the encrypted Aadhaar number) is required.", "loginId"),
    mobile_required=Refusal("loginId (the encrypted mobile number) is required.", "loginId"),
    mobile_already_verified=Refusal(
        "This mobile is already verified on this ABHA. Continue with the ABHA address.",
        "loginId",
        "HS-1264",
    ),
)


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


def find_account_by_aadhaar_hash(session: Session, *, digest: str) -> AbhaAccount | None:
    return session.scalar(select(AbhaAccount).where(AbhaAccount.aadhaar_hash == digest))


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


def _account_fields(record: KycRecord, *, now: datetime) -> dict[str, object]:
    first, middle, last = split_name(record.name)
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


def _insert_account(
    session: Session, account: AbhaAccount, *, secret_key: SecretStr
) -> AbhaAccount:
    account.abha_number = allocate(session, NumberPermutation(secret_key.get_secret_value()))
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
    ctx: RequestContext,
    *,
    aadhaar: str | None,
    txn_id: str | None = None,
    parts: AbhaParts,
) -> OtpStarted:
    """Send the Aadhaar OTP (a new transaction), or resend it when ``txn_id`` is given."""
    flow = AadhaarOtp.of(ENROLMENT, parts)
    # The consent text on offer for this enrolment (CRT_ABHA_102).
    offered = {"consent": {"code": CONSENT_CODE, "version": parts.abha.consent_version}}
    return flow.request_otp(session, ctx, aadhaar=aadhaar, txn_id=txn_id, state=offered)


def enrol_by_aadhaar(
    session: Session,
    ctx: RequestContext,
    *,
    txn_id: str,
    otp: str,
    mobile: str | None,
    consent_code: str | None,
    consent_version: str | None,
    parts: AbhaParts,
) -> EnrolmentResult:
    """Verify the Aadhaar OTP and create the ABHA, or return the one that exists."""
    flow = AadhaarOtp.of(ENROLMENT, parts)
    with flow.step(
        session, ctx, action="abha.enrol.by_aadhaar", resource_type="abha_account"
    ) as target:
        # Input is checked before the OTP is touched: a malformed request burns no try.
        comm_mobile = normalise_mobile(mobile) if mobile else None
        txn = flow.aadhaar_step(session, ctx, txn_id=txn_id)
        offered = (txn.state.get("consent") or {}).get("version")
        _check_consent(consent_code, consent_version, offered)

        # The first write; a wrong OTP is committed as a try.
        record = flow.verify_aadhaar(session, txn, otp=otp)
        digest = txn.state["aadhaar_hash"]
        now = parts.clock.now()
        existing = find_account_by_aadhaar_hash(session, digest=digest)
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
                clock=parts.clock,
            )
        else:
            needs_mobile = comm_mobile is not None and comm_mobile != record.mobile
            account = AbhaAccount(
                **_account_fields(record, now=now),
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
            _insert_account(session, account, secret_key=parts.secret_key)
            abha_account_event(
                session,
                "abha.account.created",
                account,
                at=account.created_at,
                clock=parts.clock,
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
                clock=parts.clock,
            )
        target.resource_id = str(account.public_id)
        txn.state = {
            **txn.state,
            "consent": {
                "code": consent_code,
                "version": consent_version,
                "accepted_at": now.isoformat(),
            },
            "account": str(account.public_id),
        }
        txn.account_id = account.id
        flow.otp.complete(txn)
        flow.touch(txn)
        return EnrolmentResult(
            account=account,
            txn_id=str(txn.public_id),
            is_new=is_new,
            tokens=issue_user_tokens(
                account, keyring=parts.keyring, clock=parts.clock, abha_settings=parts.abha
            ),
            mobile_verification_needed=needs_mobile,
            message=message,
        )


# --------------------------------------------------------------------------- mobile


def _enrolment_account(session: Session, flow: AadhaarOtp, txn: OtpTransaction) -> AbhaAccount:
    """The account an enrolment transaction (or its mobile child) created or found."""
    if txn.scope == ENROL_SCOPE and txn.status != TxnStatus.COMPLETED.value:
        raise ValidationFailed(
            "Finish the Aadhaar OTP step (enrol/byAadhaar) first, then continue.",
            field="txnId",
            code="HS-1109",
        )
    if txn.account_id is None:
        raise flow.wrong_step("Use the txnId of the enrolment.")
    account = session.get(AbhaAccount, txn.account_id)
    if account is None:  # pragma: no cover - foreign key
        raise NotFound(TXN_NOT_FOUND, field="txnId")
    return account


def request_mobile_otp(
    session: Session, ctx: RequestContext, *, txn_id: str, mobile: str | None, parts: AbhaParts
) -> OtpStarted:
    """Send an OTP to the communication mobile (or resend it, given the mobile txnId)."""
    flow = AadhaarOtp.of(ENROLMENT, parts)

    def enrolled(txn: OtpTransaction) -> MobileParent:
        account = _enrolment_account(session, flow, txn)
        return MobileParent(account.id, account.mobile if account.mobile_verified else None)

    return flow.request_mobile_otp(session, ctx, txn_id=txn_id, mobile=mobile, parent=enrolled)


def verify_mobile_otp(
    session: Session, ctx: RequestContext, *, txn_id: str, otp: str, parts: AbhaParts
) -> MobileVerified:
    """Check the communication-mobile OTP; the mobile becomes the ABHA's, verified."""
    flow = AadhaarOtp.of(ENROLMENT, parts)
    with flow.step(
        session, ctx, action="abha.account.verify_mobile", resource_type="abha_account"
    ) as target:
        txn = flow.verify_mobile(session, ctx, txn_id=txn_id, otp=otp)  # the first write
        account = session.get(AbhaAccount, txn.account_id) if txn.account_id else None
        if account is None:  # pragma: no cover - a mobile's transaction names its account
            raise NotFound(TXN_NOT_FOUND, field="txnId")
        target.resource_id = str(account.public_id)
        account.mobile = txn.state["mobile"]
        account.mobile_verified = True
        account.updated_at = parts.clock.now()
        flow.otp.complete(txn)
        flow.touch(txn)
        return MobileVerified(str(txn.public_id), account, "Mobile Number linked successfully.")


# --------------------------------------------------------------------------- addresses


def address_suggestions(
    session: Session, ctx: RequestContext, *, txn_id: str, count: int = 5, parts: AbhaParts
) -> list[str]:
    """Free, valid ABHA address handles for the person enrolled in ``txn_id``."""
    flow = AadhaarOtp.of(ENROLMENT, parts)
    with flow.step(
        session, ctx, action="abha.enrol.suggestion", resource_type="abha_account"
    ) as target:
        txn = flow.open(session, ctx, txn_id=txn_id, for_update=False)
        account = _enrolment_account(session, flow, txn)
        target.resource_id = str(account.public_id)
        flow.touch(txn)
        return account_suggestions(session, account=account, suffix=parts.abha.cm_id, count=count)


def account_suggestions(
    session: Session, *, account: AbhaAccount, suffix: str, count: int = 5
) -> list[str]:
    return suggestions(
        session,
        first_name=account.first_name,
        last_name=account.last_name,
        birth_date=account.birth_date,
        year_of_birth=account.year_of_birth,
        suffix=suffix,
        count=count,
    )


def add_address(
    session: Session,
    *,
    account: AbhaAccount,
    raw_address: str,
    preferred: bool,
    suffix: str,
    clock: Clock,
) -> AbhaAddress:
    """Give ``account`` the address (idempotent for its own); the caller audits."""
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
        if not is_available(session, handle=handle):
            raise AddressTaken(
                "This ABHA address is taken. Choose another one, for example one of the "
                "suggestions offered.",
                suggestions=account_suggestions(session, account=account, suffix=suffix),
            )
        addr = AbhaAddress(
            public_id=uuid.uuid4(),
            handle=handle,
            is_preferred=False,
            created_at=clock.now(),
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
    account.updated_at = clock.now()
    session.flush()
    return addr


def create_abha_address(
    session: Session,
    ctx: RequestContext,
    *,
    txn_id: str,
    abha_address: str,
    preferred: bool,
    parts: AbhaParts,
) -> AddressChosen:
    """Give the enrolled account a chosen ABHA address (CRT_ABHA_112)."""
    flow = AadhaarOtp.of(ENROLMENT, parts)
    suffix = parts.suffix
    with flow.step(
        session, ctx, action="abha.address.create", resource_type="abha_account"
    ) as target:
        txn = flow.open(session, ctx, txn_id=txn_id)
        account = _enrolment_account(session, flow, txn)
        target.resource_id = str(account.public_id)
        addr = add_address(
            session,
            account=account,
            raw_address=abha_address,
            preferred=preferred,
            suffix=suffix,
            clock=parts.clock,
        )
        flow.touch(txn)
        return AddressChosen(
            txn_id=str(txn.public_id),
            account=account,
            handle=addr.handle,
            preferred_address=preferred_address(account, suffix),
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
    ctx: RequestContext,
    *,
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
    parts: AbhaParts,
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
        clock=parts.clock,
    ) as target:
        require(ctx.actor, "abha.enrol_demographic")
        _check_consent(consent_code, consent_version, parts.abha.consent_version)
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
        record = find_resident(session, kyc=parts.kyc, aadhaar=number)
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
        digest = aadhaar_hash(parts.hasher, number)
        existing = find_account_by_aadhaar_hash(session, digest=digest)
        if existing is not None:
            _refuse_deleted(existing)
            target.resource_id = str(existing.public_id)
            record_access(
                session,
                ctx,
                action="abha.account.read",
                resource_type="abha_account",
                resource_id=str(existing.public_id),
                clock=parts.clock,
            )
            return DemographicResult(
                existing, False, "An ABHA is already enrolled with this Aadhaar; it is returned."
            )
        same_district = record.district_lgd == district_lgd
        account = AbhaAccount(
            **_account_fields(record, now=parts.clock.now()),
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
        _insert_account(session, account, secret_key=parts.secret_key)
        abha_account_event(
            session, "abha.account.created", account, at=account.created_at, clock=parts.clock
        )
        target.resource_id = str(account.public_id)
        record_access(
            session,
            ctx,
            action="abha.account.create",
            resource_type="abha_account",
            resource_id=str(account.public_id),
            clock=parts.clock,
        )
        txn = _camp_transaction(
            session, ctx, account=account, consent_version=consent_version, parts=parts
        )
        return DemographicResult(
            account,
            True,
            "ABHA created. The mobile is kept unverified until the holder confirms it by "
            "OTP (mobile change in the ABHA profile).",
            txn_id=str(txn.public_id),
        )


def _camp_transaction(
    session: Session,
    ctx: RequestContext,
    *,
    account: AbhaAccount,
    consent_version: str | None,
    parts: AbhaParts,
) -> OtpTransaction:
    """A completed enrolment transaction for a camp-mode account, so that its operator
    (and no one else: ``AadhaarOtp.open``) chooses the ABHA address by the same steps as after
    an Aadhaar OTP. No OTP was sent: ``otp_system`` says "none"."""
    now = parts.clock.now()
    txn = OtpTransaction(
        public_id=uuid.uuid4(),
        scope=ENROL_SCOPE,
        otp_system="none",
        # Its own subject: a camp enrolment must not count against anyone's OTP limits.
        subject_key=parts.hasher.hash("otp-subject:camp", str(account.public_id)),
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
        expires_at=now + timedelta(seconds=parts.txn_ttl_seconds),
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
