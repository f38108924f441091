"""The PHR's own HIU: the patient reads their own records in the PHR.

The PHR is an HIU like a facility's (ABDM's PHR apps are), with an application id of
its own (``Settings.consent.phr_hiu_id``) on this deployment's bridge, and the same
engine (``facility.records.hiu``): consent init with purpose PATRQT and the patient as requester,
the artefacts fetched and verified, Fidelius keys per request, the HIP's push received,
decrypted and checked, erased at dataEraseAt. The consent init carries the holder's
proof (a user token for this one request, in X-AUTH-TOKEN), and with it the consent
manager grants such a self-request at once (``network.consent.consents``, ADR 0015), so the
patient waits only for the facilities to send. Everything travels over the protocol,
as for a doctor.

The actor is the patient (``network.abha.auth.patient_context``): they ask only for an address
of their own ABHA, and read only the requests they made (``hiu``'s reader scope). The
HIU engine takes the process's ``Runtime`` (its keys, clock and gateway client), so these
pass it on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from healthstack.facility.records import hiu
from healthstack.facility.records.models import ConsentStatus, HiuConsentRequest
from healthstack.kernel.context import ActorKind, RequestContext
from healthstack.kernel.errors import PermissionDenied
from healthstack.network.abha.auth import issue_self_request_token
from healthstack.network.abha.models import AbhaAccount
from healthstack.network.abha.search import preferred_address
from healthstack.protocol.abdm import messages as m
from healthstack.runtime import Runtime
from healthstack.settings import ConsentSettings


def ask(
    session: Session,
    ctx: RequestContext,
    *,
    runtime: Runtime,
    account: AbhaAccount,
    hi_types: Sequence[str] | None = None,
    date_from: datetime | None = None,
    date_to: datetime | None = None,
    hip_id: str | None = None,
) -> HiuConsentRequest:
    """Fetch the patient's own records (from every linked facility, or ``hip_id``)
    into the PHR, kept ``phr_keep_days``. By default every type of record, from the
    patient's birth year until now."""
    if ctx.actor.kind is not ActorKind.PATIENT or ctx.actor.id != account.abha_number:
        raise PermissionDenied("Only the ABHA holder fetches their own records into the PHR.")
    now = runtime.clock.now()
    keep = timedelta(days=runtime.settings.consent.phr_keep_days)
    return hiu.request_records(
        session,
        ctx,
        clock=runtime.clock,
        outbox=runtime.abdm_outbox(),
        phr_hiu_id=runtime.settings.consent.phr_hiu_id,
        hiu_id=runtime.settings.consent.phr_hiu_id,
        patient_abha_address=preferred_address(account, suffix=runtime.settings.abha_suffix),
        hi_types=hiu.HI_TYPES if hi_types is None else hi_types,
        date_from=date_from or datetime(account.year_of_birth, 1, 1, tzinfo=UTC),
        date_to=date_to or now,
        data_erase_at=now + keep,
        requester_name=account.name,
        purpose=m.PurposeCode.PATRQT.value,
        hip_id=hip_id or None,
        # The holder is signed in here: the PHR vouches for this one request, so the
        # consent manager grants it without an approval step (ADR 0015).
        patient_proof=lambda consent: issue_self_request_token(
            account,
            consent=consent,
            keyring=runtime.keyring,
            clock=runtime.clock,
            ttl_seconds=runtime.settings.consent.self_request_proof_seconds,
        ),
    )


def fetches(session: Session, ctx: RequestContext, *, runtime: Runtime) -> list[dict[str, Any]]:
    """The patient's fetches, newest first, as the PHR API lists them."""
    return [
        {
            "id": str(r.public_id),
            "status": r.status,
            "hiTypes": list(r.hi_types),
            "requestedAt": m.abdm_timestamp(r.created_at),
        }
        for r in hiu.list_requests(session, ctx, phr_hiu_id=runtime.settings.consent.phr_hiu_id)
    ]


def fetch_view(
    session: Session, ctx: RequestContext, *, runtime: Runtime, public_id: str
) -> dict[str, Any]:
    """One fetch as the PHR API shows it: its progress and, while the consent holds,
    the records that arrived (titles and ids; a record itself is ``hiu.read_record``)."""
    row, artefacts = hiu.request_detail(
        session,
        ctx,
        public_id=public_id,
        clock=runtime.clock,
        phr_hiu_id=runtime.settings.consent.phr_hiu_id,
    )
    now = runtime.clock.now()
    state = progress(row, artefacts, now, patience=patience(runtime.settings.consent))
    return {
        "id": str(row.public_id),
        "status": row.status,
        "step": state.step,
        "waiting": state.waiting,
        "error": row.error_code,
        "hiTypes": list(row.hi_types),
        "dateRange": {"from": m.abdm_timestamp(row.date_from), "to": m.abdm_timestamp(row.date_to)},
        "keptUntil": m.abdm_timestamp(row.data_erase_at),
        "requestedAt": m.abdm_timestamp(row.created_at),
        "facilities": [
            {
                "hipId": a.artefact.hip_id,
                "status": a.artefact.status,
                "records": [
                    {
                        "id": str(r.public_id),
                        "careContextReference": r.care_context_reference,
                        "hiType": r.hi_type,
                        "title": r.title,
                        "status": r.status,
                    }
                    for r in a.records
                ],
            }
            for a in artefacts
        ],
    }


def patience(settings: ConsentSettings) -> timedelta:
    """How long the PHR's page waits for the facilities (twice a HIP's answer time)."""
    return timedelta(seconds=2 * settings.hip_answer_seconds)


@dataclass(frozen=True)
class Progress:
    """Where a fetch stands, for the PHR's waiting page."""

    step: str  # asked | sending | done | refused
    waiting: bool  # the page polls while true


def progress(
    row: HiuConsentRequest,
    artefacts: Sequence[hiu.ArtefactRecords],
    now: datetime,
    *,
    patience: timedelta,
) -> Progress:
    """``asked``: the CM has not granted yet; ``sending``: a facility has not pushed
    all yet; ``done`` or ``refused``. Waiting stops after ``patience`` in any case."""
    if row.status in (ConsentStatus.ERRORED.value, ConsentStatus.DENIED.value):
        return Progress("refused", False)
    if row.status in (ConsentStatus.REVOKED.value, ConsentStatus.EXPIRED.value):
        return Progress("done", False)
    fresh = now - row.created_at < patience
    if row.status == ConsentStatus.REQUESTED.value or not artefacts:
        return Progress("asked", fresh)
    pending = any(
        a.artefact.status == ConsentStatus.REQUESTED.value
        or (
            a.artefact.status == ConsentStatus.GRANTED.value
            and (not a.data_requests or any(d.status not in hiu.FINISHED for d in a.data_requests))
        )
        for a in artefacts
    )
    return Progress("sending", fresh) if pending else Progress("done", False)
