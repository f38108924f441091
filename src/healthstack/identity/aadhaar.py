"""The Aadhaar OTP and e-KYC transaction that ABHA enrolment and HPR registration share.

One OTP transaction (``txnId``, under every rule of ``identity.otp``: expiry, three
tries then a lock-out of the Aadhaar, resend after 60 s at most twice) carries it:

1. ``AadhaarOtp.request_otp``: the Aadhaar is checked (Verhoeff) and looked up in the
   KYC provider; the OTP goes to the Aadhaar-registered mobile. The transaction keeps
   the keyed Aadhaar hash (``aadhaar_hash``, the one ABHA accounts and HPR records
   store), the last four digits and the Aadhaar sealed (AES-GCM under a key derived
   from the deployment secret, bound to the txnId) for the e-KYC fetch after the OTP;
   never the Aadhaar in clear. *Resend* is the same request with the ``txnId`` (and,
   if given, the same Aadhaar).
2. ``aadhaar_step`` then ``verify_aadhaar``: the OTP is verified before any other
   write (a wrong one is committed as a try); the sealed Aadhaar is unsealed, leaves
   the transaction, and the e-KYC (``KycRecord``) is returned for the registry to act
   on. ``seal`` and ``unseal`` keep what the registry carries between its own steps.
3. ``request_mobile_otp`` and ``verify_mobile``: another mobile is confirmed by its own
   OTP, in a child transaction of the flow's.

Each registry names its flow in ``Terms``: its OTP scopes, the codes and words of its
refusals, its audit actions and who may run it. A transaction is bound to whoever
opened it: anyone else is told it was not found, in the words used for an unknown
txnId. Every step is audited (``AadhaarOtp.step``: success and failure, without the
payload); the registry's own steps (verifying, choosing an address) run in a ``step``
too, naming their action and the record they write.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy.orm import Session

from healthstack.identity.models import OtpTransaction
from healthstack.identity.otp import OtpService
from healthstack.integrations.aadhaar.port import KycProvider, KycRecord
from healthstack.kernel.audit import AuditTarget, audited
from healthstack.kernel.clock import Clock
from healthstack.kernel.context import Actor, RequestContext
from healthstack.kernel.crypto import KeyedHasher, SealBroken, Sealer
from healthstack.kernel.errors import NotFound, ValidationFailed
from healthstack.kernel.ids import mask_mobile, normalise_aadhaar, normalise_mobile
from healthstack.settings import OtpSettings

# What an unknown txnId is told (``OtpService.get``), and so anyone else's too.
TXN_NOT_FOUND = "This transaction was not found. Start again by requesting a new OTP."


def aadhaar_hash(hasher: KeyedHasher, aadhaar: str) -> str:
    """THE keyed hash of an Aadhaar number (``abha_account.aadhaar_hash``,
    ``professional.aadhaar_hash``): the same person is found in both registries."""
    return hasher.hash("aadhaar", aadhaar)


def find_resident(
    session: Session, *, kyc: KycProvider, aadhaar: str, then: str = "enter it again"
) -> KycRecord:
    """The e-KYC of an issued Aadhaar number; ``then`` says what the person does next
    when UIDAI does not know it."""
    record = kyc.lookup(session, aadhaar)
    if record is None:
        raise NotFound(
            "This Aadhaar number was not found in UIDAI records. Check it against the "
            f"Aadhaar card and {then}.",
            field="aadhaar",
            code="HS-1240",
        )
    return record


@dataclass(frozen=True)
class OtpStarted:
    txn_id: str
    message: str


@dataclass(frozen=True)
class Refusal:
    """A refusal each registry words for its own API or pages (field names differ)."""

    message: str
    field: str
    code: str | None = None

    def error(self) -> ValidationFailed:
        return ValidationFailed(self.message, field=self.field, code=self.code)


@dataclass(frozen=True)
class MobileParent:
    """What the registry says of its flow before another mobile is verified for it."""

    # Carried by the mobile's transaction (the ABHA the enrolment made), or None.
    account_id: int | None
    # The mobile already verified for the flow: asking to verify it again is refused.
    verified_mobile: str | None


class OtpParts(Protocol):
    """What a registry's flow is built from (``AadhaarOtp.of``): a registry's parts
    object has these, whatever else it carries."""

    @property
    def kyc(self) -> KycProvider: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def hasher(self) -> KeyedHasher: ...
    @property
    def otp(self) -> OtpSettings: ...
    @property
    def txn_ttl_seconds(self) -> int: ...


def anyone(actor: Actor) -> None:
    """``Terms.admit`` of a flow whose routes already decided who may call them."""


@dataclass(frozen=True)
class Terms:
    """How one registry names and words its Aadhaar OTP flow."""

    scope: str  # the Aadhaar OTP transaction's scope (its SMS wording: otp.PURPOSE_TEXT)
    mobile_scope: str  # the scope of another mobile's transaction
    flow: str  # ``state["flow"]`` of both
    parent_key: str  # where a mobile's transaction names the flow's txnId
    seal_purpose: str  # the Sealer purpose: each registry's seals are its own
    audit: str  # prefix of the audit actions (``<audit>.request_otp``, ...)
    noun: str  # what the flow is called in messages: "enrolment", "registration"
    wrong_step_code: str
    mismatch_code: str  # a txnId of another Aadhaar or mobile
    sealed_code: str  # a seal that no longer opens (key rotation)
    no_mobile_advice: str  # the end of "Link a mobile at an Aadhaar centre..."
    mobile_route: str  # where another mobile's OTP is requested
    aadhaar_required: Refusal
    mobile_required: Refusal
    mobile_already_verified: Refusal
    # Who may run the flow: raises for a caller who may not (its own audit row).
    admit: Callable[[Actor], object] = anyone


def _to_aadhaar_mobile(mobile: str | None) -> str:
    return (
        f"OTP is sent to Aadhaar registered mobile number ending with {mask_mobile(mobile or '')}"
    )


def _to_mobile(mobile: str | None) -> str:
    return f"OTP is sent to Mobile number ending with {mask_mobile(mobile or '')}"


class AadhaarOtp:
    """One registry's Aadhaar OTP transaction over a KYC provider, the OTP rules, the
    keyed hasher and the clock. Its methods take the session first, the request
    context second; nothing here commits."""

    def __init__(
        self,
        terms: Terms,
        *,
        kyc: KycProvider,
        clock: Clock,
        hasher: KeyedHasher,
        otp_settings: OtpSettings,
        txn_ttl_seconds: int,
    ):
        self.terms = terms
        self.kyc = kyc
        self.clock = clock
        self.hasher = hasher
        self.otp = OtpService(settings=otp_settings, hasher=hasher, clock=clock)
        self.txn_ttl_seconds = txn_ttl_seconds
        self._sealer = Sealer(hasher, terms.seal_purpose)

    @classmethod
    def of(cls, terms: Terms, parts: OtpParts) -> AadhaarOtp:
        return cls(
            terms,
            kyc=parts.kyc,
            clock=parts.clock,
            hasher=parts.hasher,
            otp_settings=parts.otp,
            txn_ttl_seconds=parts.txn_ttl_seconds,
        )

    # ------------------------------------------------------------------ transactions
    @contextmanager
    def step(
        self,
        session: Session,
        ctx: RequestContext,
        *,
        action: str,
        resource_type: str = "otp_transaction",
    ) -> Iterator[AuditTarget]:
        """One step of the flow: audited (success and failure, without the payload, the
        row naming ``target.resource_id``), for a caller the registry admits."""
        with audited(
            session, ctx, action=action, resource_type=resource_type, clock=self.clock
        ) as target:
            self.terms.admit(ctx.actor)
            yield target

    def open(
        self,
        session: Session,
        ctx: RequestContext,
        *,
        txn_id: str,
        for_update: bool = True,
        target: AuditTarget | None = None,
    ) -> OtpTransaction:
        """A transaction of this flow that ``ctx``'s actor opened (``target``, when
        given, names it in the audit row from here on)."""
        txn = self.otp.get(session, txn_id, for_update=for_update)
        # Only whoever opened the transaction may continue it; others learn nothing.
        if (txn.state or {}).get("actor") != ctx.actor.id or txn.scope not in (
            self.terms.scope,
            self.terms.mobile_scope,
        ):
            raise NotFound(TXN_NOT_FOUND, field="txnId")
        if target is not None:
            target.resource_id = str(txn.public_id)
        return txn

    def touch(self, txn: OtpTransaction) -> None:
        """Keep the transaction usable ``txn_ttl_seconds`` after its latest step."""
        txn.expires_at = self.clock.now() + timedelta(seconds=self.txn_ttl_seconds)

    def wrong_step(self, expected: str) -> ValidationFailed:
        return ValidationFailed(
            f"This transaction is for a different step. {expected}",
            field="txnId",
            code=self.terms.wrong_step_code,
        )

    def seal(self, txn: OtpTransaction, value: str) -> str:
        """``value`` sealed to this transaction, to keep in its ``state``."""
        return self._sealer.seal(value, str(txn.public_id))

    def unseal(self, txn: OtpTransaction, key: str) -> str:
        """What ``seal`` put in ``txn.state[key]``."""
        try:
            return self._sealer.unseal(txn.state.get(key), str(txn.public_id))
        except SealBroken as exc:
            # A transaction sealed under another secret (key rotation) cannot continue.
            raise ValidationFailed(
                "This transaction can no longer be completed. Start again by requesting a new OTP.",
                field="txnId",
                code=self.terms.sealed_code,
            ) from exc

    # ------------------------------------------------------------------ the Aadhaar OTP
    def request_otp(
        self,
        session: Session,
        ctx: RequestContext,
        *,
        aadhaar: str | None,
        txn_id: str | None = None,
        state: Mapping[str, Any] | None = None,
    ) -> OtpStarted:
        """Send the Aadhaar OTP (a new transaction, ``state`` added to what it keeps),
        or resend it when ``txn_id`` is given."""
        terms = self.terms
        with self.step(session, ctx, action=f"{terms.audit}.request_otp") as target:
            number = normalise_aadhaar(aadhaar) if aadhaar is not None else None
            if txn_id:
                return self._resend(session, ctx, txn_id=txn_id, aadhaar=number, target=target)
            if number is None:
                raise terms.aadhaar_required.error()
            record = find_resident(session, kyc=self.kyc, aadhaar=number)
            if not record.mobile:
                raise ValidationFailed(
                    "No mobile number is linked with this Aadhaar, so no OTP can be sent. "
                    f"Link a mobile at an Aadhaar centre{terms.no_mobile_advice}.",
                    field="aadhaar",
                    code="HS-1241",
                )
            txn = self.otp.start(
                session,
                scope=terms.scope,
                otp_system="aadhaar",
                subject_key=self.otp.subject_key("aadhaar", number),
                send_to=record.mobile,
                state={
                    "flow": terms.flow,
                    "actor": ctx.actor.id,
                    "aadhaar_hash": aadhaar_hash(self.hasher, number),
                    "aadhaar_last4": number[-4:],
                    **(state or {}),
                },
                txn_ttl_seconds=self.txn_ttl_seconds,
            )
            txn.state = {**txn.state, "aadhaar_sealed": self.seal(txn, number)}
            target.resource_id = str(txn.public_id)
            return OtpStarted(str(txn.public_id), _to_aadhaar_mobile(record.mobile))

    def _resend(
        self,
        session: Session,
        ctx: RequestContext,
        *,
        txn_id: str,
        aadhaar: str | None,
        target: AuditTarget,
    ) -> OtpStarted:
        txn = self.open(session, ctx, txn_id=txn_id, target=target)
        if txn.scope != self.terms.scope or txn.otp_system != "aadhaar":
            raise self.wrong_step("Send the txnId of the Aadhaar OTP request to resend it.")
        if aadhaar is not None and txn.state.get("aadhaar_hash") != aadhaar_hash(
            self.hasher, aadhaar
        ):
            raise ValidationFailed(
                "This txnId belongs to another Aadhaar number. Leave txnId out to start "
                f"a new {self.terms.noun}.",
                field="txnId",
                code=self.terms.mismatch_code,
            )
        self.otp.resend(session, txn)
        self.touch(txn)
        return OtpStarted(str(txn.public_id), _to_aadhaar_mobile(txn.sent_to))

    def aadhaar_step(
        self,
        session: Session,
        ctx: RequestContext,
        *,
        txn_id: str,
        target: AuditTarget | None = None,
    ) -> OtpTransaction:
        """The flow's Aadhaar OTP transaction, before its OTP is checked (the registry
        checks its own input here, so that a malformed request burns no try)."""
        txn = self.open(session, ctx, txn_id=txn_id, target=target)
        if txn.scope != self.terms.scope or txn.otp_system != "aadhaar":
            raise self.wrong_step("Use the txnId of the Aadhaar OTP request.")
        return txn

    def verify_aadhaar(self, session: Session, txn: OtpTransaction, *, otp: str) -> KycRecord:
        """Check the OTP, then fetch the e-KYC with the sealed Aadhaar, which leaves the
        transaction. Call it before any other write: a wrong OTP is committed as a try."""
        self.otp.verify(session, txn, otp)
        number = self.unseal(txn, "aadhaar_sealed")
        record = find_resident(session, kyc=self.kyc, aadhaar=number, then="start again")
        txn.state = {k: v for k, v in txn.state.items() if k != "aadhaar_sealed"}
        return record

    # ------------------------------------------------------------------ another mobile
    def request_mobile_otp(
        self,
        session: Session,
        ctx: RequestContext,
        *,
        txn_id: str,
        mobile: str | None,
        parent: Callable[[OtpTransaction], MobileParent],
    ) -> OtpStarted:
        """Send an OTP to another mobile (given the flow's txnId, which ``parent``
        checks and describes), or resend it (given the mobile's own txnId)."""
        terms = self.terms
        with self.step(session, ctx, action=f"{terms.audit}.mobile_request_otp") as target:
            number = normalise_mobile(mobile) if mobile else None
            txn = self.open(session, ctx, txn_id=txn_id, target=target)
            if txn.scope == terms.mobile_scope:
                if number is not None and number != txn.state.get("mobile"):
                    raise ValidationFailed(
                        f"This txnId is for another mobile. Send the {terms.noun} txnId to "
                        "verify a different mobile.",
                        field="txnId",
                        code=terms.mismatch_code,
                    )
                self.otp.resend(session, txn)
                self.touch(txn)
                return OtpStarted(str(txn.public_id), _to_mobile(txn.sent_to))
            about = parent(txn)
            if number is None:
                raise terms.mobile_required.error()
            if number == about.verified_mobile:
                raise terms.mobile_already_verified.error()
            child = self.otp.start(
                session,
                scope=terms.mobile_scope,
                otp_system="abdm",
                subject_key=self.otp.subject_key("mobile", number),
                send_to=number,
                state={
                    "flow": terms.flow,
                    "actor": ctx.actor.id,
                    "mobile": number,
                    terms.parent_key: str(txn.public_id),
                },
                account_id=about.account_id,
                txn_ttl_seconds=self.txn_ttl_seconds,
            )
            self.touch(txn)
            target.resource_id = str(child.public_id)
            return OtpStarted(str(child.public_id), _to_mobile(number))

    def verify_mobile(
        self,
        session: Session,
        ctx: RequestContext,
        *,
        txn_id: str,
        otp: str,
        target: AuditTarget | None = None,
    ) -> OtpTransaction:
        """Check another mobile's OTP (the first write). The registry then uses
        ``state["mobile"]``, verified, and completes the transaction."""
        child = self.open(session, ctx, txn_id=txn_id, target=target)
        if child.scope != self.terms.mobile_scope:
            raise self.wrong_step(
                f"Request an OTP for the mobile first ({self.terms.mobile_route}) and send "
                "the txnId it returns."
            )
        self.otp.verify(session, child, otp)
        return child

    def parent_of(
        self, session: Session, ctx: RequestContext, child: OtpTransaction
    ) -> OtpTransaction:
        """The flow's transaction that a mobile's transaction was opened for."""
        return self.open(session, ctx, txn_id=child.state.get(self.terms.parent_key, ""))
