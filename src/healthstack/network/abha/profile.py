"""The ABHA holder's own profile (PROF_ABHA_601, 603, 604, 605).

Owns: authenticating the holder by the user token (``X-token``), the profile view,
and the OTP-guarded changes: mobile, e-mail, deactivate, delete and re-KYC. Every
read and change is audited with the patient as the actor, and every change sends an
SMS notice to the mobile that was on the account before it.

Decisions (see docs/domains/abha-profile-api.md):

- OTPs for deactivate and delete go to the verified mobile. An account without one
  first verifies a mobile (change-mobile steps).
- Delete leaves a tombstone: status DELETED, ``deleted_at``, the ABHA number (never
  reused: the allocator only moves forward), the Aadhaar hash (so the same Aadhaar
  cannot silently get a second number), the chosen ABHA addresses (kept reserved so
  nobody else can take a handle records may still point at) and the coarse, non-
  identifying figures the programme counts (gender, year of birth, state and district
  codes). Names, date of birth, contacts, address, photo and the Aadhaar last four
  digits are cleared. The audit trail stays.
- Re-KYC needs the Aadhaar the account was made with (its hash must match). The OTP
  transaction keeps the client's RSA ciphertext of it, never the number, and
  decrypts it again after the OTP to read the fresh e-KYC.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from healthstack.identity.models import OtpTransaction
from healthstack.identity.otp import OtpService
from healthstack.kernel.audit import audited
from healthstack.kernel.clock import Clock
from healthstack.kernel.context import RequestContext
from healthstack.kernel.crypto import KeyRing
from healthstack.kernel.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from healthstack.kernel.events import abha_account_event, day_of, emit
from healthstack.kernel.ids import normalise_aadhaar, normalise_mobile
from healthstack.network.abha.auth import account_from_token, patient_context
from healthstack.network.abha.login import (
    ACTIVE,
    DEACTIVATED,
    DELETED,
    OtpSent,
    audit_step,
    decrypt_field,
    notify,
    parse_bearer,
    sent_message,
)
from healthstack.network.abha.models import AbhaAccount
from healthstack.network.abha.names import name_key, split_name
from healthstack.network.abha.parts import AbhaParts
from healthstack.network.abha.profile_view import preferred_address, profile_dict

# scope word -> OTP transaction scope (otp.PURPOSE_TEXT has each one's SMS wording)
PROFILE_ACTIONS = {
    "mobile-verify": "profile-mobile",
    "email-verify": "profile-email",
    "deactivate": "deactivate",
    "delete": "delete",
    "re-kyc": "re-kyc",
}
AUDIT_ACTIONS = {
    "profile-mobile": "abha.profile.mobile_change",
    "profile-email": "abha.profile.email_change",
    "deactivate": "abha.account.deactivate",
    "delete": "abha.account.delete",
    "re-kyc": "abha.profile.re_kyc",
}

_EMAIL_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_EMAIL_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def normalise_email(raw: str) -> str:
    """A plain ``local@domain.tld`` address, the domain lower-cased."""
    value = (raw or "").strip()
    local, at, domain = value.rpartition("@")
    domain = domain.lower()
    labels = domain.split(".")
    ok = (
        bool(at)
        and 0 < len(local) <= 64
        and len(value) <= 254
        and _EMAIL_LOCAL.match(local) is not None
        and len(labels) >= 2
        and all(_EMAIL_LABEL.match(label) for label in labels)
        and not labels[-1].isdigit()
    )
    if not ok:
        raise ValidationFailed(
            "An e-mail address looks like name@example.com. Check it and enter it again.",
            field="email",
            code="HS-1211",
        )
    return f"{local}@{domain}"


def parse_profile_scope(scope: list[str]) -> str:
    """The OTP transaction scope a profile request's ``scope`` asks for."""
    words = set(scope)
    actions = words & PROFILE_ACTIONS.keys()
    extra = words - PROFILE_ACTIONS.keys() - {"abha-profile", "aadhaar-verify"}
    if (
        "abha-profile" not in words
        or len(actions) != 1
        or extra
        or ("aadhaar-verify" in words and actions != {"re-kyc"})
    ):
        raise ValidationFailed(
            'scope must be "abha-profile" and one of "mobile-verify", "email-verify", '
            '"deactivate", "delete" or "re-kyc".',
            field="scope",
            code="HS-1250",
        )
    return PROFILE_ACTIONS[actions.pop()]


# --------------------------------------------------------------------------- auth


def authenticate(
    session: Session, ctx: RequestContext, *, x_token: str | None, keyring: KeyRing, clock: Clock
) -> AbhaAccount:
    """The holder behind an ``X-token: Bearer <user token>``; ACTIVE accounts only."""
    # Only refusals get a row here; the route's own step audits the access itself.
    with audit_step(
        session, ctx, action="abha.profile.authenticate", clock=clock, record_success=False
    ) as step:
        token = parse_bearer(x_token, header="X-token")
        account = account_from_token(
            session, token=token, keyring=keyring, clock=clock, allow_inactive=True
        )
        step.resource_id = str(account.public_id)
        step.ctx = patient_context(account, request_id=ctx.request_id, ip=ctx.ip)
        if account.status != ACTIVE:
            raise PermissionDenied(
                "This ABHA is deactivated, so its profile cannot be used. Reactivate it "
                'first: request a login OTP with scope ["abha-login", "reactivate"] and '
                "verify it.",
                code="HS-1405",
            )
    return account


# --------------------------------------------------------------------------- view


def account_view(account: AbhaAccount, suffix: str) -> dict[str, Any]:
    """The holder's profile: ABDM's ``ABHAProfile`` (``profile_view.profile_dict``, shared
    with enrolment) plus what the v3 profile adds (verification flags, birth-date parts,
    auth methods, KYC state, creation date)."""
    born = account.birth_date
    return {
        **profile_dict(account, suffix),
        "preferredAbhaAddress": preferred_address(account, suffix),
        "name": account.name,
        "dayOfBirth": f"{born.day:02d}" if born else None,
        "monthOfBirth": f"{born.month:02d}" if born else None,
        "yearOfBirth": str(account.year_of_birth),
        "mobileVerified": bool(account.mobile and account.mobile_verified),
        "emailVerified": bool(account.email and account.email_verified),
        "pincode": account.pincode,
        "status": account.status,
        "kycVerified": account.kyc_verified,
        "authMethods": _auth_methods(account),
        "createdDate": account.created_at.strftime("%d-%m-%Y"),
    }


def _auth_methods(account: AbhaAccount) -> list[str]:
    methods = []
    if account.aadhaar_hash:
        methods.append("AADHAAR_OTP")
    if account.mobile and account.mobile_verified:
        methods.append("MOBILE_OTP")
    return methods


def read_profile(
    session: Session, ctx: RequestContext, *, account: AbhaAccount, suffix: str, clock: Clock
) -> dict[str, Any]:
    with audited(
        session,
        ctx,
        action="abha.profile.read",
        resource_type="abha_account",
        resource_id=str(account.public_id),
        clock=clock,
    ):
        return account_view(account, suffix)


# --------------------------------------------------------------------------- changes


@dataclass(frozen=True)
class ProfileChanged:
    txn_id: str
    message: str
    account: AbhaAccount


def _need(value: str | None, expected: str, *, field: str, what: str) -> None:
    if value != expected:
        raise ValidationFailed(f'{what}: set {field} to "{expected}".', field=field, code="HS-1251")


def request_profile_otp(
    session: Session,
    ctx: RequestContext,
    *,
    account: AbhaAccount,
    scope: list[str],
    login_hint: str | None,
    login_id: str | None,
    otp_system: str | None,
    parts: AbhaParts,
) -> OtpSent:
    """Send the OTP that guards one profile change."""
    txn_scope = parse_profile_scope(scope)
    otp = parts.otp_service()
    state: dict[str, Any] = {"flow": "profile"}
    send_to: str | None
    with audited(
        session,
        ctx,
        action=f"{AUDIT_ACTIONS[txn_scope]}.otp_request",
        resource_type="abha_account",
        resource_id=str(account.public_id),
        clock=parts.clock,
    ):
        if txn_scope == "profile-mobile":
            _need(login_hint, "mobile", field="loginHint", what="A new mobile is verified by OTP")
            _need(otp_system, "abdm", field="otpSystem", what="A new mobile gets an ABHA OTP")
            send_to = normalise_mobile(_decrypt_login_id(parts.keyring, login_id))
            if send_to == account.mobile and account.mobile_verified:
                raise Conflict(
                    "This mobile number is already the verified mobile of your ABHA; "
                    "there is nothing to change.",
                    field="loginId",
                    code="HS-1252",
                )
        elif txn_scope == "profile-email":
            _need(login_hint, "email", field="loginHint", what="An e-mail is verified by OTP")
            _need(otp_system, "abdm", field="otpSystem", what="An e-mail gets an ABHA OTP")
            send_to = normalise_email(_decrypt_login_id(parts.keyring, login_id))
            if send_to == account.email and account.email_verified:
                raise Conflict(
                    "This e-mail is already the verified e-mail of your ABHA; "
                    "there is nothing to change.",
                    field="loginId",
                    code="HS-1253",
                )
        elif txn_scope == "re-kyc":
            _need(login_hint, "aadhaar", field="loginHint", what="Re-KYC reads Aadhaar")
            _need(otp_system, "aadhaar", field="otpSystem", what="Re-KYC uses the Aadhaar OTP")
            aadhaar = normalise_aadhaar(_decrypt_login_id(parts.keyring, login_id))
            if not parts.hasher.matches("aadhaar", aadhaar, account.aadhaar_hash):
                raise PermissionDenied(
                    "This is not the Aadhaar your ABHA was created with. Enter that Aadhaar "
                    "number; an ABHA cannot take another person's details.",
                    code="HS-1254",
                )
            send_to = parts.kyc.registered_mobile(session, aadhaar)
            if not send_to:
                raise ValidationFailed(
                    "No mobile is registered with this Aadhaar, so UIDAI cannot send an OTP. "
                    "Update the mobile at an Aadhaar centre first.",
                    field="loginId",
                    code="HS-1244",
                )
            # The client's ciphertext, not the number: decrypted again after the OTP.
            state["aadhaar_ct"] = login_id
        else:  # deactivate, delete
            if otp_system not in (None, "abdm"):
                raise ValidationFailed(
                    'The OTP for this goes to your ABHA mobile: set otpSystem to "abdm".',
                    field="otpSystem",
                    code="HS-1251",
                )
            if not account.mobile or not account.mobile_verified:
                raise ValidationFailed(
                    "Your ABHA has no verified mobile to send the OTP to. Add and verify "
                    'a mobile first (scope ["abha-profile", "mobile-verify"]).',
                    field="scope",
                    code="HS-1255",
                )
            send_to = account.mobile
        txn = otp.start(
            session,
            scope=txn_scope,
            otp_system="aadhaar" if txn_scope == "re-kyc" else "abdm",
            subject_key=otp.subject_key("account", account.abha_number),
            send_to=send_to,
            state=state,
            account_id=account.id,
            txn_ttl_seconds=parts.txn_ttl_seconds,
        )
        return OtpSent(str(txn.public_id), sent_message(txn))


def _decrypt_login_id(keyring: KeyRing, login_id: str | None) -> str:
    if not login_id:
        raise ValidationFailed(
            "loginId is required: the new value, RSA-OAEP encrypted.",
            field="loginId",
            code="HS-1256",
        )
    return decrypt_field(keyring, login_id, field="loginId")


def _profile_txn(
    session: Session, otp: OtpService, *, account: AbhaAccount, txn_id: str
) -> OtpTransaction:
    txn = otp.get(session, txn_id, for_update=True)
    # Another holder's transaction is reported exactly like a missing one.
    if txn.account_id != account.id or txn.state.get("flow") != "profile":
        raise NotFound(
            "This transaction was not found. Start again by requesting a new OTP at "
            "/abha/api/v3/profile/account/request/otp.",
            field="txnId",
            code="HS-1412",
        )
    return txn


def resend_profile_otp(
    session: Session, ctx: RequestContext, *, account: AbhaAccount, txn_id: str, parts: AbhaParts
) -> OtpSent:
    otp = parts.otp_service()
    with audited(
        session,
        ctx,
        action="abha.profile.otp_resend",
        resource_type="abha_account",
        resource_id=str(account.public_id),
        clock=parts.clock,
    ):
        txn = _profile_txn(session, otp, account=account, txn_id=txn_id)
        otp.resend(session, txn)
        return OtpSent(str(txn.public_id), sent_message(txn))


def verify_profile_otp(
    session: Session,
    ctx: RequestContext,
    *,
    account: AbhaAccount,
    scope: list[str],
    txn_id: str,
    otp_value: str,
    parts: AbhaParts,
) -> ProfileChanged:
    """Check the OTP and make the change it guards."""
    txn_scope = parse_profile_scope(scope)
    otp = parts.otp_service()
    with audited(
        session,
        ctx,
        action=AUDIT_ACTIONS[txn_scope],
        resource_type="abha_account",
        resource_id=str(account.public_id),
        clock=parts.clock,
    ):
        txn = _profile_txn(session, otp, account=account, txn_id=txn_id)
        if txn.scope != txn_scope:
            raise ValidationFailed(
                "This txnId was issued for a different change. Send the scope the OTP was "
                "requested with.",
                field="scope",
                code="HS-1257",
            )
        code = decrypt_field(parts.keyring, otp_value, field="otpValue")
        # Nothing else may change before this: a wrong OTP commits its counted try.
        otp.verify(session, txn, code)
        message = _APPLY[txn_scope](session, parts, account, txn)
        account.updated_at = parts.clock.now()
        otp.complete(txn)
        return ProfileChanged(str(txn.public_id), message, account)


def _old_mobile(account: AbhaAccount) -> str | None:
    return account.mobile if account.mobile and account.mobile_verified else None


def _apply_mobile(
    session: Session, parts: AbhaParts, account: AbhaAccount, txn: OtpTransaction
) -> str:
    old = _old_mobile(account)
    account.mobile = txn.sent_to
    account.mobile_verified = True
    # The notice goes to the old mobile; with none, to the new one.
    notify(
        session,
        mobile=old or account.mobile,
        event="mobile-changed",
        text="The mobile number of your ABHA was changed.",
        clock=parts.clock,
    )
    return "Mobile number is now linked to your ABHA."


def _apply_email(
    session: Session, parts: AbhaParts, account: AbhaAccount, txn: OtpTransaction
) -> str:
    account.email = txn.sent_to
    account.email_verified = True
    notify(
        session,
        mobile=_old_mobile(account),
        event="email-changed",
        text="The e-mail address of your ABHA was changed.",
        clock=parts.clock,
    )
    return "Email is now linked to your ABHA."


def _apply_deactivate(
    session: Session, parts: AbhaParts, account: AbhaAccount, txn: OtpTransaction
) -> str:
    account.status = DEACTIVATED
    notify(
        session,
        mobile=_old_mobile(account),
        event="deactivated",
        text="Your ABHA was deactivated. Log in with an OTP to reactivate it.",
        clock=parts.clock,
    )
    return (
        'Your ABHA is deactivated. To use it again, log in with scope ["abha-login", "reactivate"].'
    )


def _apply_delete(
    session: Session, parts: AbhaParts, account: AbhaAccount, txn: OtpTransaction
) -> str:
    notify(
        session,
        mobile=_old_mobile(account),
        event="deleted",
        text="Your ABHA was deleted. Its number cannot be used again.",
        clock=parts.clock,
    )
    account.status = DELETED
    account.deleted_at = parts.clock.now()
    abha_account_event(
        session, "abha.account.deleted", account, at=account.deleted_at, clock=parts.clock
    )
    # Tombstone: see the module docstring for what stays and why.
    account.first_name = ""
    account.middle_name = None
    account.last_name = None
    account.name = ""
    account.name_key = ""
    account.birth_date = None
    account.mobile = None
    account.mobile_verified = False
    account.email = None
    account.email_verified = False
    account.address_line = None
    account.pincode = None
    account.photo = None
    account.aadhaar_last4 = None
    return "Your ABHA is deleted. Its number will never be given to anyone else."


def _apply_re_kyc(
    session: Session, parts: AbhaParts, account: AbhaAccount, txn: OtpTransaction
) -> str:
    aadhaar = normalise_aadhaar(
        decrypt_field(parts.keyring, txn.state["aadhaar_ct"], field="loginId")
    )
    if not parts.hasher.matches("aadhaar", aadhaar, account.aadhaar_hash):
        raise PermissionDenied(  # pragma: no cover - checked when the OTP was requested
            "This is not the Aadhaar your ABHA was created with.", code="HS-1254"
        )
    record = parts.kyc.lookup(session, aadhaar)
    if record is None:
        raise NotFound(
            "UIDAI returned no details for this Aadhaar. Try again later or visit an "
            "Aadhaar centre.",
            code="HS-1258",
        )
    moved_from = account.district_lgd
    first, middle, last = split_name(record.name)
    account.first_name, account.middle_name, account.last_name = first, middle, last
    account.name = " ".join(p for p in (first, middle, last) if p)
    account.name_key = name_key(account.name)
    account.gender = record.gender
    account.birth_date = record.birth_date
    account.year_of_birth = record.birth_date.year
    account.address_line = record.address_line
    account.district_name = record.district_name
    account.district_lgd = record.district_lgd
    account.state_name = record.state_name
    account.state_lgd = record.state_lgd
    account.pincode = record.pincode
    account.aadhaar_last4 = record.aadhaar_last4
    if record.photo:
        account.photo = record.photo
    account.kyc_verified = True
    account.kyc_method = "aadhaar_otp"
    if account.district_lgd != moved_from:
        # The dashboard counts the account in its district: move it at once. The day
        # is the account's creation day, so the live figures equal a rebuild from
        # abha_account (which knows only the district now, counted since creation).
        payload = {
            "from_district_lgd": moved_from,
            "district_lgd": account.district_lgd,
            "facility_id": account.enrolled_at_facility,
            "day": day_of(account.created_at),
        }
        emit(session, "abha.account.moved", payload, clock=parts.clock)
    notify(
        session,
        mobile=_old_mobile(account),
        event="re-kyc",
        text="The details of your ABHA were updated from Aadhaar.",
        clock=parts.clock,
    )
    return "Your ABHA details are updated from Aadhaar."


_APPLY: dict[str, Callable[[Session, AbhaParts, AbhaAccount, OtpTransaction], str]] = {
    "profile-mobile": _apply_mobile,
    "profile-email": _apply_email,
    "deactivate": _apply_deactivate,
    "delete": _apply_delete,
    "re-kyc": _apply_re_kyc,
}
