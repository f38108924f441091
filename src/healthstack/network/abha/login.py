"""ABHA verification and login (VRFY_ABHA_101, 201, 401) and reactivation.

Owns: the login OTP transaction (OTP scopes ``login`` and ``reactivate``), finding an
account from a login hint, the list of ABHAs linked to a mobile and the transaction
token (T-token) that picks one of them, and issuing the user token. Also the small
pieces the profile flows share with login: RSA-OAEP decryption of client fields, the
account summary and the "audit as whoever turned out to be acting" step. The OTPs are
``identity.otp``'s; the services take ``AbhaParts`` (the clock, keys, KYC provider
and settings).

Decisions (see docs/domains/abha-profile-api.md):

- Aadhaar OTP (``otpSystem "aadhaar"``) needs the Aadhaar number in clear to reach
  UIDAI, and HealthStack keeps only a keyed hash of it. So Aadhaar OTP login takes
  ``loginHint "aadhaar"`` (the hash finds the account); ABHA number or address with
  Aadhaar OTP is refused with a message that says which combinations work.
- Mobile OTP (``otpSystem "abdm"``) goes to the account's *verified* mobile. An
  account whose mobile was never verified logs in with Aadhaar OTP.
- ``loginHint "mobile"`` lists the ABHAs whose verified mobile it is, masked, with a
  per-transaction ``accountRef`` for each; ``/login/verify/user`` picks one with the
  T-token. A full ``ABHANumber`` is accepted too (what ABDM clients send).
- A DEACTIVATED account logs in only with scope ``reactivate``, which makes it ACTIVE;
  a DELETED account behaves exactly as an unknown one.
- The OTP lock-out subject is the account (or, for a mobile login, the mobile), shared
  with the profile flows: wrong OTPs anywhere count against the same person.
"""

from __future__ import annotations

import base64
import contextlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from healthstack.identity.aadhaar import aadhaar_hash
from healthstack.identity.models import OtpTransaction
from healthstack.identity.otp import OtpService, TxnStatus
from healthstack.integrations.sms import send_sms
from healthstack.kernel import tokens
from healthstack.kernel.audit import audited, record_access
from healthstack.kernel.clock import Clock
from healthstack.kernel.context import RequestContext
from healthstack.kernel.crypto import KeyedHasher, KeyRing
from healthstack.kernel.errors import (
    AuthenticationRequired,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from healthstack.kernel.ids import (
    AbhaNumber,
    mask_mobile,
    normalise_aadhaar,
    normalise_mobile,
    parse_abha_number,
)
from healthstack.network.abha.auth import UserTokens, issue_user_tokens, patient_context
from healthstack.network.abha.models import AbhaAccount, AbhaAddress
from healthstack.network.abha.parts import AbhaParts
from healthstack.network.abha.profile_view import dob_text, preferred_address

# The T-token: proof that the mobile OTP of one login transaction was verified.
TXN_AUDIENCE = "abha-login-txn"

ACTIVE = "ACTIVE"
DEACTIVATED = "DEACTIVATED"
DELETED = "DELETED"

LOGIN_SCOPE_WORDS = frozenset({"abha-login", "aadhaar-verify", "mobile-verify", "reactivate"})
_HANDLE = re.compile(r"^[a-z0-9._]{1,32}$")

NOT_FOUND_MESSAGE = (
    "No ABHA was found for these details. Check the ABHA number or address and try "
    "again, or log in with the mobile number linked to the ABHA."
)


# --------------------------------------------------------------------------- shared bits


def decrypt_field(keyring: KeyRing, value: str, *, field: str) -> str:
    """A client field RSA-OAEP encrypted with the published enrolment key."""
    return keyring.decrypt_oaep("enrolment", value, field=field).strip()


def parse_bearer(value: str | None, *, header: str) -> str:
    """``Bearer <token>`` from a header, or AuthenticationRequired saying how to send it."""
    scheme, _, token = (value or "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise AuthenticationRequired(
            f"Send the token in the {header} header as 'Bearer <token>'. "
            "Log in with an OTP to get one.",
            code="HS-1400",
        )
    return token


class AuditStep:
    """Who the audit row names: the caller at first, the patient once proven."""

    def __init__(self, ctx: RequestContext, resource_id: str | None):
        self.ctx = ctx
        self.resource_id = resource_id


@contextmanager
def audit_step(
    session: Session,
    ctx: RequestContext,
    *,
    action: str,
    clock: Clock,
    resource_type: str = "abha_account",
    resource_id: str | None = None,
    record_success: bool = True,
) -> Iterator[AuditStep]:
    """Like ``kernel.audit.audited``, but the actor may change inside the block.

    A login starts anonymous (or as the desk's staff client) and ends as the patient
    whose OTP was verified: the success row names the patient, a failure the caller.
    """
    step = AuditStep(ctx, resource_id)
    try:
        yield step
    except BaseException as exc:
        # ``audited`` hangs the failure row on the exception; the unit of work writes it.
        with (
            contextlib.suppress(BaseException),
            audited(
                session,
                step.ctx,
                action=action,
                resource_type=resource_type,
                resource_id=step.resource_id,
                clock=clock,
            ),
        ):
            raise exc
        raise
    if not record_success:
        return
    record_access(
        session,
        step.ctx,
        action=action,
        resource_type=resource_type,
        resource_id=step.resource_id,
        clock=clock,
    )


def notify(session: Session, *, mobile: str | None, event: str, text: str, clock: Clock) -> None:
    """An SMS notice of a change (no names or numbers in it)."""
    if not mobile:
        return
    send_sms(
        session,
        mobile=mobile,
        text=f"{text} If this was not you, contact your nearest ABHA help desk at once. "
        "- HealthStack",
        template=f"notice.abha.{event}",
        clock=clock,
    )


# --------------------------------------------------------------------------- views


def photo_b64(account: AbhaAccount) -> str | None:
    return base64.b64encode(account.photo).decode() if account.photo else None


def account_summary(account: AbhaAccount, suffix: str) -> dict[str, Any]:
    """What a verified holder sees of their own account after login."""
    return {
        "ABHANumber": AbhaNumber(account.abha_number).formatted,
        "accountRef": None,
        "preferredAbhaAddress": preferred_address(account, suffix),
        "name": account.name,
        "gender": account.gender,
        "dob": dob_text(account),
        "status": account.status,
        "profilePhoto": photo_b64(account),
        "kycVerified": account.kyc_verified,
    }


def mask_name(name: str) -> str:
    """``Ravi Kumar`` -> ``R*** K****``: enough to recognise one's own, not to read."""
    return " ".join(w[0] + "*" * (len(w) - 1) for w in name.split() if w)


def masked_choice(account: AbhaAccount, suffix: str, ref: str) -> dict[str, Any]:
    address = preferred_address(account, suffix)
    if address.startswith(account.abha_number):
        # The default address is the number itself: mask it the same way.
        address = "X" * 10 + address[10:]
    return {
        "ABHANumber": AbhaNumber(account.abha_number).masked,
        "accountRef": ref,
        "preferredAbhaAddress": address,
        "name": mask_name(account.name),
        "gender": account.gender,
        "dob": None,
        "status": account.status,
        "profilePhoto": None,
        "kycVerified": account.kyc_verified,
    }


# --------------------------------------------------------------------------- lookups


def _address_to_number_or_handle(raw: str, suffix: str) -> tuple[str | None, str | None]:
    value = raw.strip().lower()
    handle, at, sfx = value.rpartition("@")
    if not at:
        handle, sfx = value, suffix.lower()
    if sfx != suffix.lower():
        return None, None  # another consent manager's address: not ours
    if re.fullmatch(r"\d{14}", handle):
        return handle, None  # the implied default <14 digits>@<suffix>
    if not _HANDLE.match(handle):
        raise ValidationFailed(
            f"An ABHA address looks like name@{suffix}: letters, digits, '.' and '_'. "
            "Check it and enter it again.",
            field="loginId",
            code="HS-1230",
        )
    return None, handle


def find_account_by_hint(
    session: Session, *, login_hint: str, value: str, suffix: str, hasher: KeyedHasher
) -> AbhaAccount | None:
    """The account a login hint names; None when unknown or DELETED."""
    query = select(AbhaAccount)
    if login_hint == "abha-number":
        query = query.where(AbhaAccount.abha_number == parse_abha_number(value).digits)
    elif login_hint == "abha-address":
        number, handle = _address_to_number_or_handle(value, suffix)
        if number is not None:
            query = query.where(AbhaAccount.abha_number == number)
        elif handle is not None:
            query = query.join(AbhaAddress, AbhaAddress.account_id == AbhaAccount.id).where(
                AbhaAddress.handle == handle
            )
        else:
            return None
    elif login_hint == "aadhaar":
        aadhaar = normalise_aadhaar(value)
        query = query.where(AbhaAccount.aadhaar_hash == aadhaar_hash(hasher, aadhaar))
    else:  # pragma: no cover - the schema admits only the hints above
        raise ValidationFailed("Unknown loginHint.", field="loginHint")
    account = session.scalar(query)
    if account is None or account.status == DELETED:
        return None
    return account


def linked_accounts(session: Session, *, mobile: str, status: str) -> list[AbhaAccount]:
    """ABHAs whose verified mobile this is (families share one), oldest first."""
    return list(
        session.scalars(
            select(AbhaAccount)
            .where(AbhaAccount.mobile == mobile)
            .where(AbhaAccount.mobile_verified.is_(True))
            .where(AbhaAccount.status == status)
            .order_by(AbhaAccount.id)
        )
    )


def _lock_account(session: Session, account_id: int) -> AbhaAccount:
    query = select(AbhaAccount).where(AbhaAccount.id == account_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    account = session.scalar(query)
    if account is None or account.status == DELETED:
        raise NotFound(NOT_FOUND_MESSAGE, code="HS-1410")
    return account


# --------------------------------------------------------------------------- scopes


@dataclass(frozen=True)
class LoginScope:
    reactivate: bool
    # "aadhaar" or "abdm" when the scope names it (aadhaar-verify / mobile-verify)
    method: str | None

    @property
    def txn_scope(self) -> str:
        return "reactivate" if self.reactivate else "login"

    @property
    def wanted_status(self) -> str:
        return DEACTIVATED if self.reactivate else ACTIVE


def parse_login_scope(scope: list[str]) -> LoginScope:
    words = set(scope)
    if "abha-login" not in words or words - LOGIN_SCOPE_WORDS:
        raise ValidationFailed(
            'scope must contain "abha-login" and may add "aadhaar-verify" or '
            '"mobile-verify", and "reactivate" to reactivate a deactivated ABHA.',
            field="scope",
            code="HS-1240",
        )
    if {"aadhaar-verify", "mobile-verify"} <= words:
        raise ValidationFailed(
            'scope may name one of "aadhaar-verify" and "mobile-verify", not both.',
            field="scope",
            code="HS-1240",
        )
    method = (
        "aadhaar" if "aadhaar-verify" in words else "abdm" if "mobile-verify" in words else None
    )
    return LoginScope(reactivate="reactivate" in words, method=method)


def _check_status(account: AbhaAccount, scope: LoginScope) -> None:
    if scope.reactivate and account.status == ACTIVE:
        raise ValidationFailed(
            'This ABHA is already active. Log in without "reactivate" in the scope.',
            field="scope",
            code="HS-1241",
        )
    if not scope.reactivate and account.status == DEACTIVATED:
        raise PermissionDenied(
            "This ABHA is deactivated. To use it again, request the OTP with scope "
            '["abha-login", "reactivate"] and verify it; that reactivates the ABHA.',
            code="HS-1405",
        )


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class OtpSent:
    txn_id: str
    message: str


@dataclass
class LoginResult:
    txn_id: str
    message: str
    # One account: the user token and the holder's summary.
    account: AbhaAccount | None = None
    user_tokens: UserTokens | None = None
    # A mobile: the T-token and the masked ABHAs to pick from.
    t_token: str | None = None
    t_token_expires_in: int | None = None
    accounts: list[dict[str, Any]] = field(default_factory=list)


def sent_message(txn: OtpTransaction) -> str:
    to = txn.sent_to or ""
    if "@" in to:
        local, _, domain = to.partition("@")
        return f"OTP is sent to email ending with {local[:2]}{'*' * 5}@{domain}"
    if txn.otp_system == "aadhaar":
        return f"OTP is sent to Aadhaar registered mobile number ending with {mask_mobile(to)}"
    return f"OTP is sent to Mobile number ending with {mask_mobile(to)}"


def _login_txn(session: Session, otp: OtpService, txn_id: str) -> OtpTransaction:
    txn = otp.get(session, txn_id, for_update=True)
    if txn.state.get("flow") != "login":
        raise NotFound(
            "This transaction was not found. Start again by requesting a new OTP at "
            "/abha/api/v3/profile/login/request/otp.",
            field="txnId",
            code="HS-1412",
        )
    return txn


def _caller_resource(session: Session, txn: OtpTransaction) -> str | None:
    if txn.account_id is None:
        return None
    account = session.get(AbhaAccount, txn.account_id)
    return str(account.public_id) if account else None


# --------------------------------------------------------------------------- services


def request_login_otp(
    session: Session,
    ctx: RequestContext,
    *,
    scope: list[str],
    login_hint: str,
    login_id: str,
    otp_system: str,
    parts: AbhaParts,
) -> OtpSent:
    """Send a login OTP: to the Aadhaar mobile, the account's verified mobile, or a mobile."""
    otp = parts.otp_service()
    ttl = parts.txn_ttl_seconds
    with audit_step(session, ctx, action="abha.login.otp_request", clock=parts.clock) as step:
        parsed = parse_login_scope(scope)
        # Rules that do not depend on any account come first, so a refusal never
        # tells the caller whether an account exists.
        if parsed.method is not None and parsed.method != otp_system:
            raise ValidationFailed(
                '"aadhaar-verify" goes with otpSystem "aadhaar" and "mobile-verify" with '
                'otpSystem "abdm". Make the scope and otpSystem agree.',
                field="otpSystem",
                code="HS-1242",
            )
        if otp_system == "aadhaar" and login_hint != "aadhaar":
            raise ValidationFailed(
                'Aadhaar OTP login needs the Aadhaar number: send loginHint "aadhaar" with '
                'the encrypted Aadhaar, or use the ABHA mobile OTP (otpSystem "abdm").',
                field="loginHint",
                code="HS-1243",
            )
        value = decrypt_field(parts.keyring, login_id, field="loginId")
        if login_hint == "mobile":
            mobile = normalise_mobile(value)
            accounts = linked_accounts(session, mobile=mobile, status=parsed.wanted_status)
            if not accounts:
                raise NotFound(
                    "No ABHA is linked to this mobile number."
                    if not parsed.reactivate
                    else "No deactivated ABHA is linked to this mobile number.",
                    code="HS-1411",
                )
            subject = otp.subject_key("mobile", mobile)
            txn = otp.start(
                session,
                scope=parsed.txn_scope,
                otp_system="abdm",
                subject_key=subject,
                send_to=mobile,
                state={"flow": "login", "hint": "mobile"},
                txn_ttl_seconds=ttl,
            )
            step.resource_id = None
            return OtpSent(str(txn.public_id), sent_message(txn))

        account = find_account_by_hint(
            session, login_hint=login_hint, value=value, suffix=parts.suffix, hasher=parts.hasher
        )
        if account is None:
            raise NotFound(NOT_FOUND_MESSAGE, code="HS-1410")
        step.resource_id = str(account.public_id)
        _check_status(account, parsed)
        if otp_system == "aadhaar":
            send_to = parts.kyc.registered_mobile(session, normalise_aadhaar(value))
            if not send_to:
                raise ValidationFailed(
                    "No mobile is registered with this Aadhaar, so UIDAI cannot send an OTP. "
                    'Log in with the ABHA mobile OTP (otpSystem "abdm") instead.',
                    field="loginId",
                    code="HS-1244",
                )
        else:
            if not account.mobile or not account.mobile_verified:
                raise ValidationFailed(
                    "This ABHA has no verified mobile number. Log in with Aadhaar OTP "
                    '(loginHint "aadhaar", otpSystem "aadhaar") instead.',
                    field="otpSystem",
                    code="HS-1245",
                )
            send_to = account.mobile
        subject = otp.subject_key("account", account.abha_number)
        txn = otp.start(
            session,
            scope=parsed.txn_scope,
            otp_system=otp_system,
            subject_key=subject,
            send_to=send_to,
            state={"flow": "login", "hint": login_hint},
            account_id=account.id,
            txn_ttl_seconds=ttl,
        )
        return OtpSent(str(txn.public_id), sent_message(txn))


def resend_login_otp(
    session: Session, ctx: RequestContext, *, txn_id: str, parts: AbhaParts
) -> OtpSent:
    """A new OTP for the same login transaction (after 60 s, at most twice)."""
    otp = parts.otp_service()
    with audit_step(session, ctx, action="abha.login.otp_resend", clock=parts.clock) as step:
        txn = _login_txn(session, otp, txn_id)
        step.resource_id = _caller_resource(session, txn)
        otp.resend(session, txn)
        return OtpSent(str(txn.public_id), sent_message(txn))


def _check_same_scope(scope: list[str], txn: OtpTransaction) -> LoginScope:
    parsed = parse_login_scope(scope)
    if parsed.txn_scope != txn.scope or (
        parsed.method is not None and parsed.method != txn.otp_system
    ):
        raise ValidationFailed(
            "The scope differs from the one the OTP was requested with. Send the same scope.",
            field="scope",
            code="HS-1246",
        )
    return parsed


def _finish_login(
    session: Session,
    *,
    txn: OtpTransaction,
    account: AbhaAccount,
    parsed: LoginScope,
    step: AuditStep,
    otp: OtpService,
    parts: AbhaParts,
) -> LoginResult:
    """The account is proven: reactivate if asked, close the transaction, issue tokens."""
    _check_status(account, parsed)
    patient = patient_context(account, request_id=step.ctx.request_id, ip=step.ctx.ip)
    step.ctx = patient
    step.resource_id = str(account.public_id)
    message = "OTP verified successfully."
    clock = parts.clock
    if parsed.reactivate:
        account.status = ACTIVE
        account.updated_at = clock.now()
        record_access(
            session,
            patient,
            action="abha.account.reactivate",
            resource_type="abha_account",
            resource_id=str(account.public_id),
            clock=clock,
        )
        notify(
            session,
            mobile=account.mobile if account.mobile_verified else None,
            event="reactivated",
            text="Your ABHA was reactivated.",
            clock=clock,
        )
        message = "OTP verified successfully. Your ABHA is active again."
    otp.complete(txn)
    return LoginResult(
        txn_id=str(txn.public_id),
        message=message,
        account=account,
        user_tokens=issue_user_tokens(
            account, keyring=parts.keyring, clock=clock, abha_settings=parts.abha
        ),
        accounts=[account_summary(account, parts.suffix)],
    )


def pick_ref(hasher: KeyedHasher, txn: OtpTransaction, account: AbhaAccount) -> str:
    """An opaque per-transaction name for one listed ABHA (not a lasting identifier)."""
    return hasher.hash("login-pick", f"{txn.public_id}:{account.public_id}")[:20]


def verify_login(
    session: Session,
    ctx: RequestContext,
    *,
    scope: list[str],
    txn_id: str,
    otp_value: str,
    parts: AbhaParts,
) -> LoginResult:
    """Check the login OTP; one account gets its user token, a mobile its list."""
    otp = parts.otp_service()
    with audit_step(session, ctx, action="abha.login.verify", clock=parts.clock) as step:
        txn = _login_txn(session, otp, txn_id)
        step.resource_id = _caller_resource(session, txn)
        parsed = _check_same_scope(scope, txn)
        code = decrypt_field(parts.keyring, otp_value, field="otpValue")
        # Nothing else may change before this: a wrong OTP commits its counted try.
        otp.verify(session, txn, code)
        if txn.state.get("hint") != "mobile":
            assert txn.account_id is not None
            account = _lock_account(session, txn.account_id)
            return _finish_login(
                session, txn=txn, account=account, parsed=parsed, step=step, otp=otp, parts=parts
            )

        accounts = linked_accounts(session, mobile=txn.sent_to or "", status=parsed.wanted_status)
        if not accounts:
            raise NotFound("No ABHA is linked to this mobile number.", code="HS-1411")
        suffix = parts.suffix
        for account in accounts:
            # Listing them (masked) is still a read of each account.
            record_access(
                session,
                step.ctx,
                action="abha.login.list",
                resource_type="abha_account",
                resource_id=str(account.public_id),
                clock=parts.clock,
            )
        ttl = max(1, int((txn.expires_at - parts.clock.now()).total_seconds()))
        t_token = tokens.issue(
            parts.keyring,
            subject=str(txn.public_id),
            audience=TXN_AUDIENCE,
            ttl_seconds=ttl,
            clock=parts.clock,
            claims={"typ": "Transaction", "scope": txn.scope},
        )
        return LoginResult(
            txn_id=str(txn.public_id),
            message=f"OTP verified successfully. ABHAs linked to this mobile: {len(accounts)}. "
            "Pick one at /abha/api/v3/profile/login/verify/user.",
            t_token=t_token,
            t_token_expires_in=ttl,
            accounts=[masked_choice(a, suffix, pick_ref(parts.hasher, txn, a)) for a in accounts],
        )


def select_login_account(
    session: Session,
    ctx: RequestContext,
    *,
    t_token_header: str | None,
    txn_id: str,
    abha_number: str | None,
    account_ref: str | None,
    parts: AbhaParts,
) -> LoginResult:
    """After a mobile login: the holder picks one listed ABHA and gets its user token."""
    otp = parts.otp_service()
    with audit_step(session, ctx, action="abha.login.select", clock=parts.clock) as step:
        t_token = parse_bearer(t_token_header, header="T-token")
        claims = tokens.verify(parts.keyring, t_token, audience=TXN_AUDIENCE, clock=parts.clock)
        if claims.get("sub") != str(txn_id).strip().lower():
            raise AuthenticationRequired(
                "The T-token belongs to another login. Send the token returned by "
                "/abha/api/v3/profile/login/verify for this txnId.",
                code="HS-1406",
            )
        txn = _login_txn(session, otp, txn_id)
        if txn.state.get("hint") != "mobile":
            raise ValidationFailed(
                "This login was not made with a mobile number; it needs no pick.",
                field="txnId",
                code="HS-1247",
            )
        if txn.status == TxnStatus.COMPLETED.value:
            raise ValidationFailed(
                "This login was already completed. Start again by requesting a new OTP.",
                field="txnId",
                code="HS-1248",
            )
        otp.require_verified(txn)
        parsed = parse_login_scope(
            ["abha-login", "reactivate"] if txn.scope == "reactivate" else ["abha-login"]
        )
        wanted = parse_abha_number(abha_number).digits if abha_number else None
        chosen = None
        listed = linked_accounts(session, mobile=txn.sent_to or "", status=parsed.wanted_status)
        for account in listed:
            if account.abha_number == wanted or (
                account_ref is not None and pick_ref(parts.hasher, txn, account) == account_ref
            ):
                chosen = account
                break
        if chosen is None:
            raise NotFound(
                "This ABHA is not one of those linked to the verified mobile. Pick one from "
                "the list returned by /abha/api/v3/profile/login/verify.",
                code="HS-1413",
            )
        account = _lock_account(session, chosen.id)
        return _finish_login(
            session, txn=txn, account=account, parsed=parsed, step=step, otp=otp, parts=parts
        )
