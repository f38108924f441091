"""The health-information request (``hi_request``): checked against the stored artefact
(status, expiry, date range, the dataPushUrl, the HIU's key material; HI types and care
contexts decide what is sent), then fixed into pages, one document per page, and handed
to the worker (``records.push``); acknowledged on ``on-request``, or refused with the
error."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from healthstack.facility.records import exceptions as x
from healthstack.facility.records.artefacts import within
from healthstack.facility.records.config import DEFAULT_CONFIG, RecordsConfig
from healthstack.facility.records.hip.common import (
    answer,
    gateway_context,
    parse_body,
    reference_to,
)
from healthstack.facility.records.hip.consent import end_artefact
from healthstack.facility.records.hip.transfer import PUSH_TOPIC
from healthstack.facility.records.models import (
    CareContext,
    ConsentStatus,
    DocumentStatus,
    FacilityPatient,
    HealthDocument,
    HipConsentArtefact,
    HipDataTransfer,
    HipTransferPage,
    PageStatus,
    TransferStatus,
)
from healthstack.integrations.abdm import AbdmOutbox, CallbackContext
from healthstack.kernel.audit import audited, keep_failures
from healthstack.kernel.clock import Clock
from healthstack.kernel.errors import DomainError, NotFound, ValidationFailed
from healthstack.kernel.outbox import enqueue
from healthstack.protocol.abdm import fidelius
from healthstack.protocol.abdm import messages as m


def _artefact_in_force(
    session: Session, clock: Clock, hip_id: str, consent_id: str
) -> HipConsentArtefact:
    row = session.scalar(
        select(HipConsentArtefact).where(HipConsentArtefact.consent_id == consent_id)
    )
    if row is None or row.hip_id != hip_id:
        raise x.ConsentRefused(
            "This HIP holds no consent artefact with that id.", code=x.ARTEFACT_UNKNOWN
        )
    now = clock.now()
    if row.status == ConsentStatus.GRANTED.value and row.data_erase_at <= now:
        end_artefact(row, ConsentStatus.EXPIRED, now)
    if row.status == ConsentStatus.EXPIRED.value:
        raise x.ConsentRefused("The consent has expired.", code=x.CONSENT_EXPIRED)
    if row.status != ConsentStatus.GRANTED.value:
        raise x.ConsentRefused(
            f"The consent is {row.status.lower()}; no data is shared under it.",
            code=x.CONSENT_NOT_GRANTED,
        )
    return row


def _check_key_material(clock: Clock, km: m.KeyMaterial) -> fidelius.WireKeyMaterial:
    try:
        wire = km.to_wire()
    except ValidationFailed as exc:
        raise x.ConsentRefused(
            f"The HIU's key material is unusable: {exc.message}", code=x.KEY_MATERIAL_BAD
        ) from None
    try:
        expiry = datetime.fromisoformat(wire.expiry.replace("Z", "+00:00"))
    except ValueError:
        return wire  # the expiry's form is not fixed by ABDM: do not refuse on it
    expiry = expiry if expiry.tzinfo else expiry.replace(tzinfo=UTC)
    if expiry <= clock.now():
        raise x.ConsentRefused("The HIU's key material has expired.", code=x.KEY_MATERIAL_BAD)
    return wire


def _documents(
    session: Session, artefact: HipConsentArtefact, date_from: datetime, date_to: datetime
) -> list[tuple[HealthDocument, str]]:
    """The documents the artefact covers in the requested range: its care contexts only,
    its HI types only, current ones only."""
    wanted = {
        (str(c.get("patientReference")), str(c.get("careContextReference")))
        for c in artefact.care_contexts
    }
    refs = {cc for _, cc in wanted}
    if not refs or not artefact.hi_types:
        return []
    rows = session.execute(
        select(HealthDocument, CareContext.reference, FacilityPatient.mrn)
        .join(CareContext, HealthDocument.care_context_id == CareContext.id)
        .join(FacilityPatient, CareContext.patient_id == FacilityPatient.id)
        .where(
            CareContext.hip_id == artefact.hip_id,
            CareContext.reference.in_(refs),
            HealthDocument.hi_type.in_(artefact.hi_types),
            HealthDocument.status == DocumentStatus.CURRENT.value,
            HealthDocument.recorded_at >= date_from,
            HealthDocument.recorded_at <= date_to,
        )
        .order_by(CareContext.id, HealthDocument.id)
    ).all()
    return [(doc, ref) for doc, ref, mrn in rows if (mrn, ref) in wanted]


def _paginate(docs: list[tuple[HealthDocument, str]]) -> list[list[dict[str, Any]]]:
    """One document per page. Fidelius derives one AES-GCM key and IV from a page's key
    material, and ABDM sends one key material per page: two entries on one page would
    be encrypted under the same key and IV, which gives away the XOR of their
    plaintexts and lets GCM tags be forged. So each page carries one entry, under key
    material of its own (``transfer._page_body``)."""
    pages: list[list[dict[str, Any]]] = [
        [{"document": doc.id, "careContextReference": ref}] for doc, ref in docs
    ]
    return pages or [[]]  # an empty transfer is one empty page: the HIU learns it is done


def hi_request(
    session: Session,
    *,
    cb: CallbackContext,
    clock: Clock,
    outbox: AbdmOutbox,
    config: RecordsConfig = DEFAULT_CONFIG,
) -> None:
    """The CM forwards a HIU's request for data under an artefact this HIP holds."""
    body: m.HipHiRequest = parse_body(m.HipHiRequest, cb.body)
    hip = str(cb.hip_id)
    request = body.hi_request
    existing = session.scalar(
        select(HipDataTransfer).where(HipDataTransfer.transaction_id == body.transaction_id)
    )
    if existing is not None:
        # The consent manager asked again for the same transaction: same answer, no
        # second transfer.
        _answer_hi_request(session, outbox, cb, body.transaction_id, existing.error_code)
        return
    if (
        session.scalar(
            select(HipConsentArtefact.id).where(HipConsentArtefact.consent_id == request.consent.id)
        )
        is None
    ):
        # The consent manager forwards requests only under artefacts it issued to this
        # HIP, so one never heard of is a GRANTED notice still on its way (held up and
        # retried): refused with 404 and nothing kept, the gateway delivers it again.
        raise NotFound(
            "This HIP has not received that consent artefact yet; deliver the request again later.",
            code=x.ARTEFACT_UNKNOWN,
        )
    ctx = gateway_context(cb)
    now = clock.now()
    requested_from, requested_to = request.date_range.from_, request.date_range.to
    transfer = HipDataTransfer(
        public_id=uuid.uuid4(),
        transaction_id=body.transaction_id[:64],
        hip_id=hip,
        consent_id=request.consent.id[:64],
        data_push_url=request.data_push_url[:512],
        date_from=requested_from,
        date_to=requested_to,
        status=TransferStatus.ACKNOWLEDGED.value,
        created_at=now,
    )
    try:
        with audited(
            session,
            ctx,
            action="records.hi_request.serve",
            resource_type="consent_artefact",
            resource_id=request.consent.id[:64],
            clock=clock,
        ):
            artefact = _artefact_in_force(session, clock, hip, request.consent.id)
            if requested_from > requested_to or not within(
                requested_from, requested_to, artefact.date_from, artefact.date_to
            ):
                raise x.ConsentRefused(
                    "The requested date range is outside the consent's.", code=x.DATE_OUTSIDE
                )
            url = urlsplit(request.data_push_url)
            if url.scheme not in ("http", "https") or not url.hostname:
                raise x.ConsentRefused(
                    "The dataPushUrl is not an http(s) URL; send the HI request again with "
                    "the HIU's https address for data pushes.",
                    code=x.DATA_PUSH_URL_BAD,
                )
            wire = _check_key_material(clock, request.key_material)
    except DomainError as exc:
        keep_failures(session, exc)
        transfer.status = TransferStatus.REFUSED.value
        transfer.error_code = exc.code
        transfer.finished_at = now
        session.add(transfer)
        _answer_hi_request(session, outbox, cb, body.transaction_id, exc.code, exc.message)
        return
    transfer.artefact_id = artefact.id
    transfer.hiu_key_material = wire.to_dict()
    session.add(transfer)
    session.flush()
    pages = _paginate(_documents(session, artefact, requested_from, requested_to))
    transfer.page_count = len(pages)
    for number, entries in enumerate(pages, start=1):
        session.add(
            HipTransferPage(
                public_id=uuid.uuid4(),
                transfer_id=transfer.id,
                page_number=number,
                entries=entries,
                status=PageStatus.PENDING.value,
                attempts=0,
            )
        )
    session.flush()
    cfg = config
    enqueue(
        session,
        topic=PUSH_TOPIC,
        payload={"transfer": str(transfer.public_id)},
        dedupe_key=f"{PUSH_TOPIC}:{transfer.public_id}",
        # The job gives up only after every page had its tries.
        max_attempts=cfg.push_max_attempts * len(pages) + 1,
        clock=clock,
    )
    _answer_hi_request(session, outbox, cb, body.transaction_id, None)


def _answer_hi_request(
    session: Session,
    outbox: AbdmOutbox,
    cb: CallbackContext,
    transaction_id: str,
    error_code: str | None,
    message: str | None = None,
) -> None:
    if error_code is None:
        reply = m.OnHiRequest(
            hi_request=m.HiRequestState(
                transaction_id=transaction_id,
                session_status=m.SessionStatus.ACKNOWLEDGED.value,
            ),
            response=reference_to(cb),
        )
    else:
        # The spec's acknowledgement knows only ACKNOWLEDGED: a refusal is the error,
        # found by the CM through response.requestId (its HI request's REQUEST-ID).
        reply = m.OnHiRequest(
            error=m.ErrorDetail(
                code=error_code, message=message or "The request is outside the consent."
            ),
            response=reference_to(cb),
        )
    answer(session, outbox=outbox, cb=cb, path=m.HIP_ON_HI_REQUEST, body=reply)
