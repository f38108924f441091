"""What the patient's PHR does, for the logged-in ABHA holder (the JSON API in
``phr.router`` and the PHR pages in ``phr.pages`` both call these).

Every function takes the patient's ``RequestContext`` (``network.abha.auth.patient_context``)
and their ``AbhaAccount``, acts only on what belongs to that account (another
patient's consent or link transaction is 'not found'), audits every read and write of
PHI, and returns plain dicts in the API's camelCase shape. It uses the consent manager
through its services (``network.consent.consents``, ``linking``, ``protocol``), passing
on the clock, sender, keys and settings they take:

- ``list_facilities`` (HIPs one can search), ``linked_facilities``;
- ``discover`` → ``link_status`` (poll) → ``link`` (the HIP sends an OTP) →
  ``confirm`` (a wrong OTP shows as error ABDM-1035 in ``link_status``);
- ``consent_list`` (by status: REQUESTED = pending, GRANTED, DENIED, REVOKED,
  EXPIRED), ``consent_detail``, ``approve`` (``GrantChoice`` per facility, with the
  consent PIN), ``deny``, ``revoke``;
- ``delete_account``: the ABHA deleted by OTP, and its consents ended.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from healthstack.kernel.audit import audited, record_access
from healthstack.kernel.clock import Clock
from healthstack.kernel.context import RequestContext
from healthstack.kernel.crypto import KeyedHasher, KeyRing
from healthstack.kernel.errors import ValidationFailed
from healthstack.network.abha import profile
from healthstack.network.abha.models import AbhaAccount
from healthstack.network.abha.parts import AbhaParts
from healthstack.network.consent import consents, linking
from healthstack.network.consent.consents import GrantChoice, artefact_status, effective_status
from healthstack.network.consent.models import ConsentArtefact, ConsentRequest, LinkTransaction
from healthstack.network.consent.protocol import hip_name, hiu_name, reachable_hips
from healthstack.network.gateway.routing import CallbackSender
from healthstack.protocol.abdm import messages as m
from healthstack.settings import ConsentSettings

__all__ = [
    "GrantChoice",
    "approve",
    "confirm",
    "consent_detail",
    "consent_list",
    "delete_account",
    "deny",
    "discover",
    "link",
    "link_status",
    "linked_facilities",
    "list_facilities",
    "revoke",
]

STATUSES = frozenset(s.value for s in m.ConsentStatus)
T = TypeVar("T")


def _stamp(value: datetime | None) -> str | None:
    return m.abdm_timestamp(value) if value is not None else None


def _names(session: Session, ids: set[str]) -> dict[str, str | None]:
    return {i: hip_name(session, hip_id=i) for i in sorted(ids)}


def _read_own(
    session: Session,
    ctx: RequestContext,
    *,
    action: str,
    resource_type: str,
    resource_id: str,
    clock: Clock,
    load: Callable[[], T],
) -> T:
    """One of the patient's own rows, the read audited (a 'not found' too)."""
    with audited(
        session,
        ctx,
        action=action,
        resource_type=resource_type,
        resource_id=str(resource_id)[:64],
        clock=clock,
    ):
        return load()


# --------------------------------------------------------------------------- facilities


def list_facilities(session: Session) -> list[dict[str, Any]]:
    """The HIPs connected to the network, for the patient to search (no PHI)."""
    return [{"id": hip_id, "name": name} for hip_id, name in reachable_hips(session)]


def linked_facilities(
    session: Session, ctx: RequestContext, *, account: AbhaAccount, clock: Clock
) -> list[dict[str, Any]]:
    """The patient's linked facilities with their care contexts."""
    links = linking.links_of(session, account=account)
    names = _names(session, {link.hip_id for link in links})
    by_hip: dict[str, dict[str, Any]] = {}
    for link in links:
        entry = by_hip.setdefault(
            link.hip_id,
            {"hip": {"id": link.hip_id, "name": names[link.hip_id]}, "patients": []},
        )
        entry["patients"].append(
            {
                "referenceNumber": link.patient_reference,
                "linkedVia": link.linked_via,
                "careContexts": [
                    {
                        "referenceNumber": cc.reference,
                        "display": cc.display,
                        "hiTypes": list(cc.hi_types),
                        "linkedAt": _stamp(cc.linked_at),
                        "dataAddedAt": _stamp(cc.data_added_at),
                    }
                    for cc in link.care_contexts
                ],
            }
        )
    record_access(
        session,
        ctx,
        action="phr.links.read",
        resource_type="abha_account",
        resource_id=str(account.public_id),
        clock=clock,
    )
    return list(by_hip.values())


# --------------------------------------------------------------------------- discovery and linking


def _txn_view(
    session: Session, txn: LinkTransaction, *, now: datetime, settings: ConsentSettings
) -> dict[str, Any]:
    step, error = linking.transaction_outcome(txn, now=now, settings=settings)
    return {
        "transactionId": str(txn.public_id),
        "hip": {"id": txn.hip_id, "name": hip_name(session, hip_id=txn.hip_id)},
        "status": step,
        "patient": txn.discovered or [],
        "matchedBy": txn.matched_by or [],
        "chosen": txn.chosen or [],
        "otpExpiresAt": _stamp(txn.otp_expires_at),
        "error": error,
        "createdAt": _stamp(txn.created_at),
        "updatedAt": _stamp(txn.updated_at),
    }


def discover(
    session: Session,
    ctx: RequestContext,
    *,
    account: AbhaAccount,
    hip_id: str,
    record_number: str | None = None,
    clock: Clock,
    sender: CallbackSender,
    cm_id: str,
    settings: ConsentSettings,
) -> dict[str, Any]:
    """Search one HIP for the patient's records; poll ``link_status`` for the answer.
    ``record_number``: the patient's hospital number there, if they know it."""
    unverified = (
        [m.Identifier(type=m.IdentifierType.MR.value, value=record_number.strip())]
        if record_number and record_number.strip()
        else []
    )
    txn = linking.start_discovery(
        session,
        ctx,
        account=account,
        hip_id=hip_id.strip(),
        unverified=unverified,
        clock=clock,
        sender=sender,
        cm_id=cm_id,
    )
    return _txn_view(session, txn, now=clock.now(), settings=settings)


def link_status(
    session: Session,
    ctx: RequestContext,
    *,
    account: AbhaAccount,
    transaction_id: str,
    clock: Clock,
    settings: ConsentSettings,
) -> dict[str, Any]:
    txn = _read_own(
        session,
        ctx,
        action="phr.link.read",
        resource_type="link_transaction",
        resource_id=transaction_id,
        clock=clock,
        load=lambda: linking.own_transaction(
            session, account=account, transaction_id=transaction_id
        ),
    )
    return _txn_view(session, txn, now=clock.now(), settings=settings)


def link(
    session: Session,
    ctx: RequestContext,
    *,
    account: AbhaAccount,
    transaction_id: str,
    references: Sequence[str] | None = None,
    clock: Clock,
    sender: CallbackSender,
    cm_id: str,
    settings: ConsentSettings,
) -> dict[str, Any]:
    """Link the chosen care contexts (all found, if none named); the HIP sends an OTP."""
    txn = linking.request_link(
        session,
        ctx,
        account=account,
        transaction_id=transaction_id,
        references=references,
        clock=clock,
        sender=sender,
        cm_id=cm_id,
    )
    return _txn_view(session, txn, now=clock.now(), settings=settings)


def confirm(
    session: Session,
    ctx: RequestContext,
    *,
    account: AbhaAccount,
    transaction_id: str,
    otp: str,
    clock: Clock,
    sender: CallbackSender,
    settings: ConsentSettings,
) -> dict[str, Any]:
    txn = linking.confirm_link(
        session,
        ctx,
        account=account,
        transaction_id=transaction_id,
        otp=otp,
        clock=clock,
        sender=sender,
        settings=settings,
    )
    return _txn_view(session, txn, now=clock.now(), settings=settings)


# --------------------------------------------------------------------------- consents


def _artefact_view(
    artefact: ConsentArtefact, names: dict[str, str | None], now: datetime
) -> dict[str, Any]:
    return {
        "id": str(artefact.public_id),
        "status": artefact_status(artefact, now),
        "hip": {"id": artefact.hip_id, "name": names.get(artefact.hip_id)},
        "hiTypes": list(artefact.hi_types),
        "careContexts": artefact.detail.get("careContexts", []),
        "dateRange": {"from": _stamp(artefact.date_from), "to": _stamp(artefact.date_to)},
        "dataEraseAt": _stamp(artefact.expires_at),
        "createdAt": _stamp(artefact.created_at),
        "revokedAt": _stamp(artefact.revoked_at),
    }


def _request_view(session: Session, req: ConsentRequest, *, now: datetime) -> dict[str, Any]:
    ids = {a.hip_id for a in req.artefacts}
    if req.hip_id:
        ids.add(req.hip_id)
    names = _names(session, ids)
    return {
        "id": str(req.public_id),
        "status": effective_status(req, now),
        "hiu": {"id": req.hiu_id, "name": hiu_name(session, hiu_id=req.hiu_id)},
        "requester": req.requester,
        "purpose": {"code": req.purpose_code, "text": req.purpose_text},
        "hiTypes": list(req.hi_types),
        "permission": {
            "accessMode": req.access_mode,
            "dateRange": {"from": _stamp(req.date_from), "to": _stamp(req.date_to)},
            "dataEraseAt": _stamp(req.data_erase_at),
            "frequency": req.frequency,
        },
        "hip": {"id": req.hip_id, "name": names.get(req.hip_id)} if req.hip_id else None,
        "careContexts": req.care_contexts,
        "createdAt": _stamp(req.created_at),
        "decidedAt": _stamp(req.decided_at),
        "consentArtefacts": [_artefact_view(a, names, now) for a in req.artefacts],
    }


def _own_view(
    session: Session, *, account: AbhaAccount, consent_request_id: str, clock: Clock
) -> dict[str, Any]:
    """The request as it stands after the patient's decision."""
    req = consents.own_request(session, account=account, consent_request_id=consent_request_id)
    return _request_view(session, req, now=clock.now())


def consent_list(
    session: Session,
    ctx: RequestContext,
    *,
    account: AbhaAccount,
    status: str | None = None,
    clock: Clock,
) -> list[dict[str, Any]]:
    """The patient's consent requests, newest first; ``status`` filters on what the
    patient sees (REQUESTED is 'pending')."""
    wanted = status.strip().upper() if status else None
    if wanted is not None and wanted not in STATUSES:
        raise ValidationFailed(
            "status must be one of " + ", ".join(sorted(STATUSES)) + ".", field="status"
        )
    now = clock.now()
    views = [
        _request_view(session, r, now=now)
        for r in consents.requests_of(session, account=account)
        if wanted is None or effective_status(r, now) == wanted
    ]
    record_access(
        session,
        ctx,
        action="phr.consents.read",
        resource_type="abha_account",
        resource_id=str(account.public_id),
        clock=clock,
    )
    return views


def consent_detail(
    session: Session,
    ctx: RequestContext,
    *,
    account: AbhaAccount,
    consent_request_id: str,
    clock: Clock,
) -> dict[str, Any]:
    req = _read_own(
        session,
        ctx,
        action="phr.consent.read",
        resource_type="consent_request",
        resource_id=consent_request_id,
        clock=clock,
        load=lambda: consents.own_request(
            session, account=account, consent_request_id=consent_request_id
        ),
    )
    return _request_view(session, req, now=clock.now())


def approve(
    session: Session,
    ctx: RequestContext,
    *,
    account: AbhaAccount,
    consent_request_id: str,
    choices: Sequence[GrantChoice],
    pin: str | None,
    clock: Clock,
    hasher: KeyedHasher,
    sender: CallbackSender,
    keyring: KeyRing,
    cm_id: str,
) -> dict[str, Any]:
    """Grant with the patient's consent PIN (``network.consent.pin``)."""
    consents.grant(
        session,
        ctx,
        account=account,
        consent_request_id=consent_request_id,
        choices=choices,
        pin=pin,
        clock=clock,
        hasher=hasher,
        sender=sender,
        keyring=keyring,
        cm_id=cm_id,
    )
    return _own_view(session, account=account, consent_request_id=consent_request_id, clock=clock)


def deny(
    session: Session,
    ctx: RequestContext,
    *,
    account: AbhaAccount,
    consent_request_id: str,
    clock: Clock,
    sender: CallbackSender,
) -> dict[str, Any]:
    req = consents.deny(
        session,
        ctx,
        account=account,
        consent_request_id=consent_request_id,
        clock=clock,
        sender=sender,
    )
    return _request_view(session, req, now=clock.now())


def delete_account(
    session: Session,
    ctx: RequestContext,
    *,
    account: AbhaAccount,
    txn_id: str,
    otp_value: str,
    clock: Clock,
    sender: CallbackSender,
    abha: AbhaParts,
) -> str:
    """Delete the holder's ABHA with the OTP sent for it (``network.abha.profile``: the tombstone)
    and end their consents (``consents.close_account``). ``otp_value`` is RSA-OAEP
    encrypted, as the profile service takes it; ``abha`` is what that service works
    with. Returns the message to show."""
    # The OTP is checked first: a wrong one commits its counted try and nothing else.
    deleted = profile.verify_profile_otp(
        session,
        ctx,
        account=account,
        scope=["abha-profile", "delete"],
        txn_id=txn_id,
        otp_value=otp_value,
        parts=abha,
    )
    consents.close_account(session, ctx, account=account, clock=clock, sender=sender)
    return deleted.message


def revoke(
    session: Session,
    ctx: RequestContext,
    *,
    account: AbhaAccount,
    consent_request_id: str,
    artefact_ids: Sequence[str] | None = None,
    clock: Clock,
    sender: CallbackSender,
) -> dict[str, Any]:
    consents.revoke(
        session,
        ctx,
        account=account,
        consent_request_id=consent_request_id,
        artefact_ids=artefact_ids,
        clock=clock,
        sender=sender,
    )
    return _own_view(session, account=account, consent_request_id=consent_request_id, clock=clock)
