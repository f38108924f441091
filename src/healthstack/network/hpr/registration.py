"""HPR registration with Aadhaar OTP identity (REFERENCE.md §4.3: Aadhaar OTP →
mobile verify → suggestion → create HPR id → register the professional).

One transaction (``txnId``) carries the flow: the Aadhaar OTP and e-KYC transaction
of ``identity.aadhaar`` (``REGISTRATION`` names it), under every ABDM OTP rule (expiry,
three tries then a lock-out of the Aadhaar, resend after 60 s at most twice):

1. ``request_otp``: the Aadhaar is checked (Verhoeff) and looked up in the KYC
   provider; the OTP goes to the Aadhaar-registered mobile. The transaction keeps the
   keyed Aadhaar hash (``identity.aadhaar.aadhaar_hash``, the one ABHA stores), the
   last four digits and the Aadhaar sealed (bound to the txnId); never the Aadhaar in
   clear. With ``txn_id`` it resends instead.
2. ``verify_otp``: the OTP is verified before any other write (a wrong one is
   committed as a try). The e-KYC is fetched once and kept sealed in the transaction
   in place of the Aadhaar. A person already in HPR gets ``AlreadyRegistered`` with
   their HPR id: one professional, one record.
3. The mobile the OTP reached is verified. Another mobile is confirmed by its own OTP
   (``request_mobile_otp`` / ``verify_mobile_otp``, a child transaction).
4. ``save_details`` (the pages' details step) and ``complete_registration``: HPR's
   own part. The HPR address, category, council registration and year, qualifications
   and work places are checked (``credentials``); a council number already in HPR is
   refused with a pointer to its record; the HPR id is allocated (ADR 0007); the record
   starts SUBMITTED, waiting for the council / state verifier; version 1 of its
   history is written and ``professional.registered`` emitted, all in one transaction.

Who may run it: the professional themselves (anonymous, the transaction bound to a
per-client flow token or browser cookie: ``flow_actor``), or a staff member allowed
``professional.register`` (a facility admin registering their own facility's staff,
the state admin). Transactions are bound to whoever opened them: anyone else gets
"not found". Every step is audited, success and failure, without the payload. The
services take ``RegistrationParts`` (the KYC provider, clock, keyed hasher, settings).
"""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import asdict, dataclass
from datetime import date

from pydantic import SecretStr
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from healthstack.accounts.permissions import require
from healthstack.identity.aadhaar import AadhaarOtp, MobileParent, OtpStarted, Refusal, Terms
from healthstack.identity.models import OtpTransaction
from healthstack.identity.otp import TxnStatus
from healthstack.integrations.aadhaar.port import KycRecord
from healthstack.kernel.audit import record_access
from healthstack.kernel.context import Actor, ActorKind, RequestContext, Role
from healthstack.kernel.crypto import KeyedHasher
from healthstack.kernel.errors import (
    Conflict,
    PermissionDenied,
    ValidationFailed,
)
from healthstack.kernel.ids import mask_mobile
from healthstack.network.abha.names import name_key
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
from healthstack.network.hpr.parts import RegistrationParts
from healthstack.network.hpr.service import (
    AlreadyRegistered,
    DuplicateCouncilNumber,
    council_number_owner,
    emit_event,
    find_by_aadhaar_hash,
    record_version,
)

SCOPE = "hpr-register"
MOBILE_SCOPE = "hpr-mobile"


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


def flow_actor(token: str, *, hasher: KeyedHasher) -> Actor:
    """The anonymous self-registrant behind ``token``: its id is a keyed hash of the
    token, so the token itself is never stored."""
    digest = hasher.hash("hpr-flow", token)[:40]
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


def _channel(actor: Actor) -> str:
    """How a caller ``_check_caller`` admitted registers."""
    if not actor.is_staff:
        return "self"
    return "state" if actor.role is Role.STATE_ADMIN else "facility"


# HPR's words for its Aadhaar OTP flow: the registration API's fields, HPR's codes.
REGISTRATION = Terms(
    scope=SCOPE,
    mobile_scope=MOBILE_SCOPE,
    flow="hpr",
    parent_key="registration_txn",
    seal_purpose="hpr-register",
    audit="professional.register",
    noun="registration",
    wrong_step_code="HS-1742",
    mismatch_code="HS-1745",
    sealed_code="HS-1741",
    no_mobile_advice=" first",
    mobile_route="registration/mobile/otp",
    aadhaar_required=Refusal(
        "aadhaar is required: enter the 12-digit Aadhaar number.", "aadhaar", "HS-1201"
    ),
    mobile_required=Refusal(
        "mobile is required: the 10-digit mobile number to verify.", "mobile", "HS-1210"
    ),
    mobile_already_verified=Refusal(
        "This mobile is already verified for this registration. Continue with the details.",
        "mobile",
        "HS-1746",
    ),
    admit=_check_caller,
)


def _verified_registration(flow: AadhaarOtp, txn: OtpTransaction) -> MobileParent:
    """The registration after its Aadhaar OTP (and the mobile that OTP verified)."""
    if txn.scope != SCOPE:
        raise flow.wrong_step("Use the txnId of the registration (the Aadhaar OTP request).")
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
    return MobileParent(account_id=None, verified_mobile=txn.state.get("mobile"))


def _identity(flow: AadhaarOtp, txn: OtpTransaction) -> Identity:
    return Identity(**json.loads(flow.unseal(txn, "kyc_sealed")))


# --------------------------------------------------------------------------- Aadhaar OTP


def request_otp(
    session: Session,
    ctx: RequestContext,
    *,
    aadhaar: str | None,
    txn_id: str | None = None,
    parts: RegistrationParts,
) -> OtpStarted:
    """Send the Aadhaar OTP (a new transaction), or resend it when ``txn_id`` is given."""
    flow = AadhaarOtp.of(REGISTRATION, parts)
    # An empty form field asks for the Aadhaar number, as a missing one does.
    return flow.request_otp(session, ctx, aadhaar=aadhaar or None, txn_id=txn_id)


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
    session: Session, ctx: RequestContext, *, txn_id: str, otp: str, parts: RegistrationParts
) -> IdentityVerified:
    """Check the Aadhaar OTP and fetch the e-KYC; the mobile it reached is verified."""
    flow = AadhaarOtp.of(REGISTRATION, parts)
    with flow.step(session, ctx, action="professional.register.verify_otp") as target:
        txn = flow.aadhaar_step(session, ctx, txn_id=txn_id, target=target)
        # The first write; a wrong OTP is committed as a try.
        record = flow.verify_aadhaar(session, txn, otp=otp)
        existing = find_by_aadhaar_hash(session, digest=txn.state["aadhaar_hash"])
        if existing is not None:
            raise AlreadyRegistered(existing.hpr_id)
        identity = _identity_from(record)
        txn.state = {
            **txn.state,
            "kyc_sealed": flow.seal(txn, json.dumps(asdict(identity))),
            "mobile": record.mobile,
            "identity_at": parts.clock.now().isoformat(),
        }
        flow.touch(txn)
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
    ctx: RequestContext,
    *,
    txn_id: str,
    mobile: str | None,
    parts: RegistrationParts,
) -> OtpStarted:
    """Send an OTP to another mobile (given the registration's txnId), or resend it
    (given the mobile's own txnId)."""
    flow = AadhaarOtp.of(REGISTRATION, parts)
    return flow.request_mobile_otp(
        session,
        ctx,
        txn_id=txn_id,
        mobile=mobile,
        parent=lambda txn: _verified_registration(flow, txn),
    )


def verify_mobile_otp(
    session: Session, ctx: RequestContext, *, txn_id: str, otp: str, parts: RegistrationParts
) -> MobileVerified:
    """Check the mobile OTP; the registration then uses that mobile, verified."""
    flow = AadhaarOtp.of(REGISTRATION, parts)
    with flow.step(session, ctx, action="professional.register.verify_mobile") as target:
        child = flow.verify_mobile(session, ctx, txn_id=txn_id, otp=otp, target=target)
        parent = flow.parent_of(session, ctx, child)
        _verified_registration(flow, parent)
        parent.state = {**parent.state, "mobile": child.state["mobile"]}
        flow.otp.complete(child)
        flow.touch(parent)
        return MobileVerified(
            str(parent.public_id),
            mask_mobile(child.state["mobile"]),
            "Mobile verified. HPR messages will go to this number.",
        )


# --------------------------------------------------------------------------- details


def address_suggestions(
    session: Session, ctx: RequestContext, *, txn_id: str, count: int = 5, parts: RegistrationParts
) -> list[str]:
    """Free HPR address handles built from the verified name."""
    flow = AadhaarOtp.of(REGISTRATION, parts)
    with flow.step(session, ctx, action="professional.register.suggestion") as target:
        txn = flow.open(session, ctx, txn_id=txn_id, for_update=False, target=target)
        _verified_registration(flow, txn)
        identity = _identity(flow, txn)
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
    ctx: RequestContext,
    *,
    channel: str,
    details: DetailsInput,
    identity: Identity,
    this_year: int,
) -> Details:
    checked = check_details(
        session,
        details=details,
        year_of_birth=identity.year_of_birth,
        this_year=this_year,
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
    owner = council_number_owner(session, council=checked.council, key=checked.registration_key)
    if owner is not None:
        raise DuplicateCouncilNumber(owner.hpr_id)
    return checked


def save_details(
    session: Session,
    ctx: RequestContext,
    *,
    txn_id: str,
    details: DetailsInput,
    parts: RegistrationParts,
) -> Details:
    """Check the professional details and keep them with the registration (the pages'
    details step, before the HPR address is chosen)."""
    flow = AadhaarOtp.of(REGISTRATION, parts)
    with flow.step(session, ctx, action="professional.register.details") as target:
        channel = _channel(ctx.actor)
        txn = flow.open(session, ctx, txn_id=txn_id, target=target)
        _verified_registration(flow, txn)
        checked = _check_registration(
            session,
            ctx,
            channel=channel,
            details=details,
            identity=_identity(flow, txn),
            this_year=parts.clock.now().year,
        )
        txn.state = {**txn.state, "details": _details_dict(details)}
        flow.touch(txn)
        return checked


def saved_details(
    session: Session, ctx: RequestContext, *, txn_id: str, parts: RegistrationParts
) -> DetailsInput | None:
    flow = AadhaarOtp.of(REGISTRATION, parts)
    txn = flow.open(session, ctx, txn_id=txn_id, for_update=False)
    data = txn.state.get("details")
    return details_from_dict(data) if isinstance(data, dict) else None


# --------------------------------------------------------------------------- complete


def complete_registration(
    session: Session,
    ctx: RequestContext,
    *,
    txn_id: str,
    hpr_address: str,
    details: DetailsInput | None = None,
    parts: RegistrationParts,
) -> Professional:
    """Create the HPR record (SUBMITTED) with its HPR id and address.

    ``details`` may be left out when ``save_details`` kept them with the transaction.
    """
    flow = AadhaarOtp.of(REGISTRATION, parts)
    with flow.step(
        session, ctx, action="professional.register.complete", resource_type="professional"
    ) as target:
        channel = _channel(ctx.actor)
        txn = flow.open(session, ctx, txn_id=txn_id)
        _verified_registration(flow, txn)
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
        identity = _identity(flow, txn)
        handle = parse_hpr_address(hpr_address)
        checked = _check_registration(
            session,
            ctx,
            channel=channel,
            details=details,
            identity=identity,
            this_year=parts.clock.now().year,
        )
        existing = find_by_aadhaar_hash(session, digest=txn.state["aadhaar_hash"])
        if existing is not None:
            raise AlreadyRegistered(existing.hpr_id)
        if not is_available(session, handle=handle):
            raise HprAddressTaken(
                "This HPR address is taken. Choose another one, for example one of the "
                "suggestions offered.",
                suggestions=suggestions(
                    session, name=identity.name, year_of_birth=identity.year_of_birth
                ),
            )
        now = parts.clock.now()
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
        insert_professional(session, professional=professional, secret_key=parts.secret_key)
        target.resource_id = str(professional.public_id)
        record_version(session, ctx, professional=professional, change="registered", at=now)
        emit_event(
            session, professional=professional, name="professional.registered", clock=parts.clock
        )
        record_access(
            session,
            ctx,
            action="professional.create",
            resource_type="professional",
            resource_id=str(professional.public_id),
            clock=parts.clock,
        )
        state = {k: v for k, v in txn.state.items() if k not in ("kyc_sealed", "details")}
        state["professional"] = str(professional.public_id)
        txn.state = state
        flow.otp.complete(txn)
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


def insert_professional(
    session: Session, *, professional: Professional, secret_key: SecretStr
) -> None:
    professional.hpr_id = allocate(session, HprIdPermutation(secret_key.get_secret_value()))
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
