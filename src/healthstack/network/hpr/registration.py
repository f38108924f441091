"""HPR registration with Aadhaar OTP identity (REFERENCE.md §4.3: Aadhaar OTP →
mobile verify → suggestion → create HPR id → register the professional).

One transaction (``txnId``, an ``network.abha.otp.OtpService`` transaction under every ABDM
OTP rule: expiry, three tries then a lock-out of the Aadhaar, resend after 60 s at
most twice) carries the flow:

1. ``request_otp``: the Aadhaar is checked (Verhoeff) and looked up in the KYC
   provider (``runtime.kyc``); the OTP goes to the Aadhaar-registered mobile. The
   transaction keeps the keyed Aadhaar hash (the same ``runtime.hasher.hash("aadhaar",
   ...)`` ABHA stores), the last four digits and the Aadhaar sealed (AES-GCM bound to
   the txnId); never the Aadhaar in clear. With ``txn_id`` it resends instead.
2. ``verify_otp``: the OTP is verified before any other write (a wrong one is
   committed as a try). The e-KYC is fetched once and kept sealed in the transaction
   in place of the Aadhaar. A person already in HPR gets ``AlreadyRegistered`` with
   their HPR id: one professional, one record.
3. The mobile the OTP reached is verified. Another mobile is confirmed by its own OTP
   (``request_mobile_otp`` / ``verify_mobile_otp``, a child transaction).
4. ``save_details`` (the pages' details step) and ``complete_registration``: the HPR
   address, category, council registration and year, qualifications and work places
   are checked (``credentials``); a council number already in HPR is refused with a
   pointer to its record; the HPR id is allocated (ADR 0007); the record starts
   SUBMITTED, waiting for the council / state verifier; version 1 of its history is
   written and ``professional.registered`` emitted, all in one transaction.

Who may run it: the professional themselves (anonymous, the transaction bound to a
per-client flow token or browser cookie: ``flow_actor``), or a staff member allowed
``professional.register`` (a facility admin registering their own facility's staff,
the state admin). Transactions are bound to whoever opened them: anyone else gets
"not found". Every step is audited, success and failure, without the payload.
"""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import asdict, dataclass
from datetime import date, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from healthstack.accounts.permissions import require
from healthstack.integrations.aadhaar.port import KycRecord
from healthstack.kernel.audit import audited, record_access
from healthstack.kernel.context import Actor, ActorKind, RequestContext, Role
from healthstack.kernel.crypto import SealBroken, Sealer
from healthstack.kernel.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from healthstack.kernel.ids import mask_mobile, normalise_aadhaar, normalise_mobile
from healthstack.network.abha.models import OtpTransaction
from healthstack.network.abha.names import name_key
from healthstack.network.abha.otp import TxnStatus, otp_service
from healthstack.network.hpr.address import (
    HprAddressTaken,
    is_available,
    parse_hpr_address,
    suggestions,
)
from healthstack.network.hpr.credentials import (
    Details,
    DetailsInput,
    QualificationInput,
    WorkplaceInput,
    check_details,
)
from healthstack.network.hpr.enums import Status
from healthstack.network.hpr.models import (
    Professional,
    ProfessionalQualification,
    ProfessionalWorkplace,
)
from healthstack.network.hpr.numbers import HprIdPermutation, allocate
from healthstack.network.hpr.service import (
    AlreadyRegistered,
    DuplicateCouncilNumber,
    council_number_owner,
    emit_event,
    find_by_aadhaar_hash,
    record_version,
)
from healthstack.runtime import Runtime

SCOPE = "hpr-register"
MOBILE_SCOPE = "hpr-mobile"
_TXN_NOT_FOUND = "This registration was not found. Start again by requesting a new OTP."


@dataclass(frozen=True)
class OtpStarted:
    txn_id: str
    message: str


@dataclass(frozen=True)
class Identity:
    """What the e-KYC says about the person (sealed in the transaction between steps)."""

    name: str
    gender: str
    birth_date: str  # ISO date
    district_lgd: int | None
    state_lgd: int | None
    aadhaar_mobile: str | None

    @property
    def year_of_birth(self) -> int:
        return date.fromisoformat(self.birth_date).year


@dataclass(frozen=True)
class IdentityVerified:
    txn_id: str
    name: str
    gender: str
    year_of_birth: int
    mobile_masked: str
    suggestions: list[str]
    message: str


@dataclass(frozen=True)
class MobileVerified:
    txn_id: str  # the registration's txnId, to continue with
    mobile_masked: str
    message: str


# --------------------------------------------------------------------------- callers


def new_flow_token() -> str:
    """The secret an anonymous client keeps for its registration (API: returned once)."""
    return secrets.token_hex(16)


def flow_actor(runtime: Runtime, token: str) -> Actor:
    """The anonymous self-registrant behind ``token``: its id is a keyed hash of the
    token, so the token itself is never stored."""
    digest = runtime.hasher.hash("hpr-flow", token)[:40]
    return Actor(kind=ActorKind.ANONYMOUS, id=f"anonymous:{digest}", display="self")


def _check_caller(actor: Actor) -> str:
    """How the caller registers: "self", "facility" or "state" (or refused)."""
    if actor.kind is ActorKind.ANONYMOUS and actor.id.startswith("anonymous:"):
        return "self"
    if actor.is_staff:
        require(actor, "professional.register")
        return "state" if actor.role is Role.STATE_ADMIN else "facility"
    raise PermissionDenied(
        "Registering in HPR needs either the professional's own Aadhaar OTP "
        "(self-registration) or a staff account allowed to register professionals.",
        code="HS-1740",
    )


def _seal(runtime: Runtime, value: str, bound_to: str) -> str:
    return Sealer(runtime.hasher, "hpr-register").seal(value, bound_to)


def _unseal(runtime: Runtime, sealed: str | None, bound_to: str) -> str:
    try:
        return Sealer(runtime.hasher, "hpr-register").unseal(sealed, bound_to)
    except SealBroken as exc:
        raise ValidationFailed(
            "This registration can no longer be completed. Start again by requesting a new OTP.",
            field="txnId",
            code="HS-1741",
        ) from exc


def _load_txn(
    session: Session, runtime: Runtime, ctx: RequestContext, txn_id: str, *, for_update: bool
) -> OtpTransaction:
    txn = otp_service(runtime).get(session, txn_id, for_update=for_update)
    # Only whoever opened the transaction may continue it; others learn nothing.
    if (txn.state or {}).get("actor") != ctx.actor.id or txn.scope not in (SCOPE, MOBILE_SCOPE):
        raise NotFound(_TXN_NOT_FOUND, field="txnId")
    return txn


def _touch(runtime: Runtime, txn: OtpTransaction) -> None:
    txn.expires_at = runtime.clock.now() + timedelta(seconds=runtime.settings.abha.txn_ttl_seconds)


def _wrong_step(expected: str) -> ValidationFailed:
    return ValidationFailed(
        f"This transaction is for a different step. {expected}", field="txnId", code="HS-1742"
    )


def _verified_registration(txn: OtpTransaction) -> None:
    if txn.scope != SCOPE:
        raise _wrong_step("Use the txnId of the registration (the Aadhaar OTP request).")
    if txn.status == TxnStatus.COMPLETED.value:
        raise ValidationFailed(
            "This registration is already complete. Look the professional up by HPR id.",
            field="txnId",
            code="HS-1743",
        )
    if txn.status != TxnStatus.VERIFIED.value:
        raise ValidationFailed(
            "Verify the Aadhaar OTP first (registration/verify), then continue.",
            field="txnId",
            code="HS-1744",
        )


def _identity(runtime: Runtime, txn: OtpTransaction) -> Identity:
    data = json.loads(_unseal(runtime, txn.state.get("kyc_sealed"), str(txn.public_id)))
    return Identity(**data)


# --------------------------------------------------------------------------- Aadhaar OTP


def request_otp(
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
        action="professional.register.request_otp",
        resource_type="otp_transaction",
        clock=runtime.clock,
    ) as target:
        _check_caller(ctx.actor)
        number = normalise_aadhaar(aadhaar) if aadhaar else None
        if txn_id:
            txn = _load_txn(session, runtime, ctx, txn_id, for_update=True)
            target.resource_id = str(txn.public_id)
            if txn.scope != SCOPE:
                raise _wrong_step("Send the txnId of the Aadhaar OTP request to resend it.")
            if number is not None and txn.state.get("aadhaar_hash") != runtime.hasher.hash(
                "aadhaar", number
            ):
                raise ValidationFailed(
                    "This txnId belongs to another Aadhaar number. Leave txnId out to start "
                    "a new registration.",
                    field="txnId",
                    code="HS-1745",
                )
            svc.resend(session, txn)
            _touch(runtime, txn)
            return OtpStarted(
                str(txn.public_id),
                "OTP is sent to the Aadhaar registered mobile number ending with "
                f"{mask_mobile(txn.sent_to or '')}",
            )
        if number is None:
            raise ValidationFailed(
                "aadhaar is required: enter the 12-digit Aadhaar number.",
                field="aadhaar",
                code="HS-1201",
            )
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
                "mobile at an Aadhaar centre first.",
                field="aadhaar",
                code="HS-1241",
            )
        txn = svc.start(
            session,
            scope=SCOPE,
            otp_system="aadhaar",
            subject_key=svc.subject_key("aadhaar", number),
            send_to=record.mobile,
            state={
                "flow": "hpr",
                "actor": ctx.actor.id,
                "aadhaar_hash": runtime.hasher.hash("aadhaar", number),
                "aadhaar_last4": number[-4:],
            },
            txn_ttl_seconds=runtime.settings.abha.txn_ttl_seconds,
        )
        txn.state = {**txn.state, "aadhaar_sealed": _seal(runtime, number, str(txn.public_id))}
        target.resource_id = str(txn.public_id)
        return OtpStarted(
            str(txn.public_id),
            "OTP is sent to the Aadhaar registered mobile number ending with "
            f"{mask_mobile(record.mobile)}",
        )


def _identity_from(record: KycRecord) -> Identity:
    return Identity(
        name=record.name,
        gender=record.gender,
        birth_date=record.birth_date.isoformat(),
        district_lgd=record.district_lgd,
        state_lgd=record.state_lgd,
        aadhaar_mobile=record.mobile,
    )


def verify_otp(
    session: Session, *, runtime: Runtime, ctx: RequestContext, txn_id: str, otp: str
) -> IdentityVerified:
    """Check the Aadhaar OTP and fetch the e-KYC; the mobile it reached is verified."""
    svc = otp_service(runtime)
    with audited(
        session,
        ctx,
        action="professional.register.verify_otp",
        resource_type="otp_transaction",
        clock=runtime.clock,
    ) as target:
        _check_caller(ctx.actor)
        txn = _load_txn(session, runtime, ctx, txn_id, for_update=True)
        target.resource_id = str(txn.public_id)
        if txn.scope != SCOPE:
            raise _wrong_step("Use the txnId of the Aadhaar OTP request.")
        svc.verify(session, txn, otp)  # the first write; a wrong OTP is committed as a try

        number = _unseal(runtime, txn.state.get("aadhaar_sealed"), str(txn.public_id))
        record = runtime.kyc.lookup(session, number)
        if record is None:
            raise NotFound(
                "This Aadhaar number was not found in UIDAI records. Start again.",
                field="aadhaar",
                code="HS-1240",
            )
        existing = find_by_aadhaar_hash(session, txn.state["aadhaar_hash"])
        if existing is not None:
            raise AlreadyRegistered(existing.hpr_id)
        identity = _identity_from(record)
        state = {k: v for k, v in txn.state.items() if k != "aadhaar_sealed"}
        state["kyc_sealed"] = _seal(runtime, json.dumps(asdict(identity)), str(txn.public_id))
        state["mobile"] = record.mobile
        state["identity_at"] = runtime.clock.now().isoformat()
        txn.state = state
        _touch(runtime, txn)
        offered = suggestions(session, name=identity.name, year_of_birth=identity.year_of_birth)
        return IdentityVerified(
            txn_id=str(txn.public_id),
            name=identity.name,
            gender=identity.gender,
            year_of_birth=identity.year_of_birth,
            mobile_masked=mask_mobile(record.mobile or ""),
            suggestions=offered,
            message="Aadhaar verified. The mobile that received the OTP is verified.",
        )


# --------------------------------------------------------------------------- mobile


def request_mobile_otp(
    session: Session,
    *,
    runtime: Runtime,
    ctx: RequestContext,
    txn_id: str,
    mobile: str | None,
) -> OtpStarted:
    """Send an OTP to another mobile (given the registration's txnId), or resend it
    (given the mobile's own txnId)."""
    svc = otp_service(runtime)
    with audited(
        session,
        ctx,
        action="professional.register.mobile_request_otp",
        resource_type="otp_transaction",
        clock=runtime.clock,
    ) as target:
        _check_caller(ctx.actor)
        number = normalise_mobile(mobile) if mobile else None
        txn = _load_txn(session, runtime, ctx, txn_id, for_update=True)
        target.resource_id = str(txn.public_id)
        if txn.scope == MOBILE_SCOPE:
            if number is not None and number != txn.state.get("mobile"):
                raise ValidationFailed(
                    "This txnId is for another mobile. Send the registration's txnId to "
                    "verify a different mobile.",
                    field="txnId",
                    code="HS-1745",
                )
            svc.resend(session, txn)
            _touch(runtime, txn)
            return OtpStarted(
                str(txn.public_id),
                f"OTP is sent to the mobile number ending with {mask_mobile(txn.sent_to or '')}",
            )
        _verified_registration(txn)
        if number is None:
            raise ValidationFailed(
                "mobile is required: the 10-digit mobile number to verify.",
                field="mobile",
                code="HS-1210",
            )
        if number == txn.state.get("mobile"):
            raise ValidationFailed(
                "This mobile is already verified for this registration. Continue with the details.",
                field="mobile",
                code="HS-1746",
            )
        child = svc.start(
            session,
            scope=MOBILE_SCOPE,
            otp_system="abdm",
            subject_key=svc.subject_key("mobile", number),
            send_to=number,
            state={
                "flow": "hpr",
                "actor": ctx.actor.id,
                "mobile": number,
                "registration_txn": str(txn.public_id),
            },
            txn_ttl_seconds=runtime.settings.abha.txn_ttl_seconds,
        )
        _touch(runtime, txn)
        target.resource_id = str(child.public_id)
        return OtpStarted(
            str(child.public_id),
            f"OTP is sent to the mobile number ending with {mask_mobile(number)}",
        )


def verify_mobile_otp(
    session: Session, *, runtime: Runtime, ctx: RequestContext, txn_id: str, otp: str
) -> MobileVerified:
    """Check the mobile OTP; the registration then uses that mobile, verified."""
    svc = otp_service(runtime)
    with audited(
        session,
        ctx,
        action="professional.register.verify_mobile",
        resource_type="otp_transaction",
        clock=runtime.clock,
    ) as target:
        _check_caller(ctx.actor)
        child = _load_txn(session, runtime, ctx, txn_id, for_update=True)
        target.resource_id = str(child.public_id)
        if child.scope != MOBILE_SCOPE:
            raise _wrong_step(
                "Request an OTP for the mobile first (registration/mobile/otp) and send the "
                "txnId it returns."
            )
        svc.verify(session, child, otp)  # the first write
        parent = _load_txn(
            session, runtime, ctx, child.state.get("registration_txn", ""), for_update=True
        )
        _verified_registration(parent)
        parent.state = {**parent.state, "mobile": child.state["mobile"]}
        svc.complete(child)
        _touch(runtime, parent)
        return MobileVerified(
            str(parent.public_id),
            mask_mobile(child.state["mobile"]),
            "Mobile verified. HPR messages will go to this number.",
        )


# --------------------------------------------------------------------------- details


def address_suggestions(
    session: Session, *, runtime: Runtime, ctx: RequestContext, txn_id: str, count: int = 5
) -> list[str]:
    """Free HPR address handles built from the verified name."""
    with audited(
        session,
        ctx,
        action="professional.register.suggestion",
        resource_type="otp_transaction",
        clock=runtime.clock,
    ) as target:
        _check_caller(ctx.actor)
        txn = _load_txn(session, runtime, ctx, txn_id, for_update=False)
        target.resource_id = str(txn.public_id)
        _verified_registration(txn)
        identity = _identity(runtime, txn)
        return suggestions(
            session, name=identity.name, year_of_birth=identity.year_of_birth, count=count
        )


def _details_dict(details: DetailsInput) -> dict[str, object]:
    return {
        "category": details.category,
        "subcategory": details.subcategory,
        "council": details.council,
        "registration_number": details.registration_number,
        "registration_year": details.registration_year,
        "qualifications": [asdict(q) for q in details.qualifications],
        "workplaces": [asdict(w) for w in details.workplaces],
    }


def details_from_dict(data: dict[str, object]) -> DetailsInput:
    quals = data.get("qualifications") or []
    places = data.get("workplaces") or []
    assert isinstance(quals, list) and isinstance(places, list)
    return DetailsInput(
        category=str(data.get("category", "")),
        subcategory=str(data.get("subcategory", "")),
        council=str(data.get("council", "")),
        registration_number=str(data.get("registration_number", "")),
        registration_year=int(data.get("registration_year", 0)),  # type: ignore[call-overload]
        qualifications=tuple(QualificationInput(**q) for q in quals),
        workplaces=tuple(WorkplaceInput(**w) for w in places),
    )


def _check_registration(
    session: Session,
    runtime: Runtime,
    ctx: RequestContext,
    channel: str,
    details: DetailsInput,
    identity: Identity,
) -> Details:
    checked = check_details(
        session,
        details,
        year_of_birth=identity.year_of_birth,
        this_year=runtime.clock.now().year,
    )
    if channel == "facility" and not any(
        w.hfr_id == ctx.actor.facility_id for w in checked.workplaces
    ):
        raise ValidationFailed(
            "A facility admin registers their own facility's staff: list your facility "
            "(its HFR id) among the work places.",
            field="workplaces",
            code="HS-1714",
        )
    owner = council_number_owner(session, checked.council, checked.registration_key)
    if owner is not None:
        raise DuplicateCouncilNumber(owner.hpr_id)
    return checked


def save_details(
    session: Session,
    *,
    runtime: Runtime,
    ctx: RequestContext,
    txn_id: str,
    details: DetailsInput,
) -> Details:
    """Check the professional details and keep them with the registration (the pages'
    details step, before the HPR address is chosen)."""
    with audited(
        session,
        ctx,
        action="professional.register.details",
        resource_type="otp_transaction",
        clock=runtime.clock,
    ) as target:
        channel = _check_caller(ctx.actor)
        txn = _load_txn(session, runtime, ctx, txn_id, for_update=True)
        target.resource_id = str(txn.public_id)
        _verified_registration(txn)
        checked = _check_registration(
            session, runtime, ctx, channel, details, _identity(runtime, txn)
        )
        txn.state = {**txn.state, "details": _details_dict(details)}
        _touch(runtime, txn)
        return checked


def saved_details(
    session: Session, *, runtime: Runtime, ctx: RequestContext, txn_id: str
) -> DetailsInput | None:
    txn = _load_txn(session, runtime, ctx, txn_id, for_update=False)
    data = txn.state.get("details")
    return details_from_dict(data) if isinstance(data, dict) else None


# --------------------------------------------------------------------------- complete


def complete_registration(
    session: Session,
    *,
    runtime: Runtime,
    ctx: RequestContext,
    txn_id: str,
    hpr_address: str,
    details: DetailsInput | None = None,
) -> Professional:
    """Create the HPR record (SUBMITTED) with its HPR id and address.

    ``details`` may be left out when ``save_details`` kept them with the transaction.
    """
    with audited(
        session,
        ctx,
        action="professional.register.complete",
        resource_type="professional",
        clock=runtime.clock,
    ) as target:
        channel = _check_caller(ctx.actor)
        txn = _load_txn(session, runtime, ctx, txn_id, for_update=True)
        _verified_registration(txn)
        if details is None:
            kept = txn.state.get("details")
            if not isinstance(kept, dict):
                raise ValidationFailed(
                    "The professional details are missing. Enter the category, council "
                    "registration, qualifications and work places.",
                    field="category",
                    code="HS-1747",
                )
            details = details_from_dict(kept)
        identity = _identity(runtime, txn)
        handle = parse_hpr_address(hpr_address)
        checked = _check_registration(session, runtime, ctx, channel, details, identity)
        existing = find_by_aadhaar_hash(session, txn.state["aadhaar_hash"])
        if existing is not None:
            raise AlreadyRegistered(existing.hpr_id)
        if not is_available(session, handle):
            raise HprAddressTaken(
                "This HPR address is taken. Choose another one, for example one of the "
                "suggestions offered.",
                suggestions=suggestions(
                    session, name=identity.name, year_of_birth=identity.year_of_birth
                ),
            )
        now = runtime.clock.now()
        professional = Professional(
            public_id=uuid.uuid4(),
            hpr_handle=handle,
            aadhaar_hash=txn.state["aadhaar_hash"],
            aadhaar_last4=txn.state["aadhaar_last4"],
            name=identity.name[:192],
            name_key=name_key(identity.name)[:192],
            gender=identity.gender,
            birth_date=date.fromisoformat(identity.birth_date),
            year_of_birth=identity.year_of_birth,
            mobile=txn.state["mobile"],
            mobile_verified=True,
            residence_district_lgd=identity.district_lgd,
            residence_state_lgd=identity.state_lgd,
            status=Status.SUBMITTED.value,
            status_changed_at=now,
            status_changed_by=ctx.actor.id[:64],
            registered_via=channel,
            registered_by=ctx.actor.id[:64],
            version=1,
            created_at=now,
            updated_at=now,
        )
        apply_details(professional, checked)
        insert_professional(session, runtime, professional)
        target.resource_id = str(professional.public_id)
        record_version(session, professional, change="registered", ctx=ctx, at=now)
        emit_event(session, professional, "professional.registered", clock=runtime.clock)
        record_access(
            session,
            ctx,
            action="professional.create",
            resource_type="professional",
            resource_id=str(professional.public_id),
            clock=runtime.clock,
        )
        state = {k: v for k, v in txn.state.items() if k not in ("kyc_sealed", "details")}
        state["professional"] = str(professional.public_id)
        txn.state = state
        otp_service(runtime).complete(txn)
        return professional


def apply_details(professional: Professional, details: Details) -> None:
    """Put checked details on the record (qualifications and work places replaced)."""
    professional.category = details.category
    professional.subcategory = details.subcategory
    professional.council = details.council
    professional.registration_number = details.registration_number
    professional.registration_key = details.registration_key
    professional.registration_year = details.registration_year
    professional.qualifications = [
        ProfessionalQualification(position=i, degree=q.degree, university=q.university, year=q.year)
        for i, q in enumerate(details.qualifications)
    ]
    professional.workplaces = [
        ProfessionalWorkplace(
            position=i, hfr_id=w.hfr_id, role=w.role, sector=w.sector, district_lgd=w.district_lgd
        )
        for i, w in enumerate(details.workplaces)
    ]


def insert_professional(session: Session, runtime: Runtime, professional: Professional) -> None:
    professional.hpr_id = allocate(
        session, HprIdPermutation(runtime.settings.secret_key.get_secret_value())
    )
    session.add(professional)
    try:
        session.flush()
    except IntegrityError as exc:
        # Another request took the same Aadhaar, council number or address a moment
        # ago. Everything here rolls back; sending the request again says which.
        raise Conflict(
            "Another registration for the same person, council number or HPR address was "
            "saved at the same moment. Send the request again to see which.",
            code="HS-1748",
        ) from exc
