"""The HIP's data push (``push``, the ``records.push`` outbox handler): each page's
document encrypted with Fidelius under key material fresh for the page, POSTed straight
to the HIU's ``dataPushUrl`` with its MD5 checksum and the bridge's gateway session
token, page by page; then ``notify`` TRANSFERRED or FAILED with DELIVERED / ERRORED per
care context (``finish_transfer``). A page is marked sent only after the HIU took it, and
the HIU ignores a page it already has, so a worker killed at any point resumes without
losing or repeating a page."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from healthstack.facility.records import exceptions as x
from healthstack.facility.records.config import DEFAULT_CONFIG, RecordsConfig
from healthstack.facility.records.hip.consent import end_artefact
from healthstack.facility.records.models import (
    ConsentStatus,
    HealthDocument,
    HipConsentArtefact,
    HipDataTransfer,
    HipTransferPage,
    PageStatus,
    TransferStatus,
)
from healthstack.integrations.abdm import AbdmOutbox
from healthstack.integrations.abdm.client import AbdmCallFailed, AbdmClient
from healthstack.kernel.clock import Clock
from healthstack.kernel.uow import unit_of_work
from healthstack.protocol.abdm import fidelius
from healthstack.protocol.abdm import messages as m

PUSH_TOPIC = "records.push"
# A push answered with one of these will not succeed if sent again.
_PERMANENT = {400, 401, 403, 409, 410, 413, 415, 422}


class PushFailed(Exception):
    """A page did not reach the HIU this time; the relay tries again after its backoff."""


def plaintext(bundle: dict[str, Any]) -> bytes:
    """The bytes a document is encrypted and checksummed as (UTF-8 JSON)."""
    return json.dumps(bundle, ensure_ascii=False, separators=(",", ":")).encode()


def _page_body(
    session: Session, transfer: HipDataTransfer, page: HipTransferPage, *, config: RecordsConfig
) -> dict[str, Any]:
    # Fresh key material for every page, and every try of it: nothing to keep, and no
    # two plaintexts ever share a key and IV (see ``data_request._paginate``).
    key = fidelius.generate_key_material()
    hiu = fidelius.WireKeyMaterial.from_dict(transfer.hiu_key_material or {})
    ids = [int(e["document"]) for e in page.entries]
    docs = {
        d.id: d for d in session.scalars(select(HealthDocument).where(HealthDocument.id.in_(ids)))
    }
    entries = []
    for e in page.entries:
        doc = docs[int(e["document"])]
        data = plaintext(doc.bundle)
        entries.append(
            m.DataEntry(
                content=fidelius.encrypt(
                    data,
                    sender_private_key=key.private_key,
                    sender_nonce=key.nonce,
                    receiver_public_key=hiu.public_key,
                    receiver_nonce=hiu.nonce,
                ),
                media=m.FHIR_MEDIA,
                checksum=hashlib.md5(data).hexdigest(),  # noqa: S324 - ABDM's checksum
                care_context_reference=str(e["careContextReference"]),
            )
        )
    expiry = transfer.created_at + timedelta(seconds=config.hiu_key_ttl_seconds)
    push = m.DataPush(
        page_number=page.page_number,
        page_count=transfer.page_count,
        transaction_id=transfer.transaction_id,
        entries=entries,
        key_material=m.KeyMaterial.from_wire(key.wire(expiry)),
    )
    return m.dump(push)


def _post_page(
    url: str,
    body: dict[str, Any],
    *,
    client: Callable[[], AbdmClient],
    http: Callable[[], httpx.Client],
) -> tuple[int | None, str | None]:
    """POST one page with the bridge's gateway session token (ABDM requires it on the
    push; the HIU answers 401 without it). A 401 is tried once more with a fresh
    session, since the HIU may see the cached token as expired before we do. Returns
    the HTTP status, or the error when the HIU (or the gateway, for the token) could
    not be reached."""
    gateway = client()
    status: int | None = None
    for fresh in (False, True):
        try:
            token = gateway.session_token(fresh=fresh)
        except AbdmCallFailed as exc:
            return None, f"no gateway session for the push: {exc.status or 'unreachable'}"
        try:
            response = http().post(url, json=body, headers={"Authorization": f"Bearer {token}"})
        except httpx.HTTPError as exc:
            return None, type(exc).__name__
        status = response.status_code
        if status != 401:
            break
    return status, None


def _load_transfer(session: Session, public_id: str) -> HipDataTransfer | None:
    return session.scalar(
        select(HipDataTransfer)
        .where(HipDataTransfer.public_id == uuid.UUID(public_id))
        .with_for_update()
    )


def push(
    session_factory: sessionmaker[Session],
    payload: dict[str, Any],
    *,
    clock: Clock,
    outbox: AbdmOutbox,
    client: Callable[[], AbdmClient],
    http: Callable[[], httpx.Client],
    config: RecordsConfig = DEFAULT_CONFIG,
) -> None:
    """The ``records.push`` outbox handler: send the transfer's pending pages in order,
    each in its own units of work (prepare, POST outside any transaction, record).
    ``client`` gives the bridge's gateway client (for its session token) and ``http``
    the HTTP client of the pushes, each when first needed (``facility.records.jobs``)."""
    transfer_id = str(payload["transfer"])
    cfg = config
    while True:
        with unit_of_work(session_factory) as session:
            transfer = _load_transfer(session, transfer_id)
            if transfer is None or transfer.status != TransferStatus.ACKNOWLEDGED.value:
                return
            page = session.scalar(
                select(HipTransferPage)
                .where(
                    HipTransferPage.transfer_id == transfer.id,
                    HipTransferPage.status == PageStatus.PENDING.value,
                )
                .order_by(HipTransferPage.page_number)
                .limit(1)
            )
            if page is None:
                finish_transfer(session, transfer=transfer, clock=clock, outbox=outbox)
                return
            artefact = (
                session.get(HipConsentArtefact, transfer.artefact_id)
                if transfer.artefact_id
                else None
            )
            now = clock.now()
            if (
                artefact is not None
                and artefact.status == ConsentStatus.GRANTED.value
                and artefact.data_erase_at <= now
            ):
                end_artefact(artefact, ConsentStatus.EXPIRED, now)
            if artefact is None or artefact.status != ConsentStatus.GRANTED.value:
                # Revoked or expired mid-transfer: nothing more leaves.
                for p in transfer.pages:
                    if p.status == PageStatus.PENDING.value:
                        p.status = PageStatus.FAILED.value
                        p.last_error = "consent ended"
                transfer.error_code = x.CONSENT_NOT_GRANTED
                finish_transfer(session, transfer=transfer, clock=clock, outbox=outbox)
                return
            body = _page_body(session, transfer, page, config=cfg)
            url, page_id = transfer.data_push_url, page.id
        status, error = _post_page(url, body, client=client, http=http)
        retry = False
        with unit_of_work(session_factory) as session:
            page = session.scalar(
                select(HipTransferPage).where(HipTransferPage.id == page_id).with_for_update()
            )
            if page is None or page.status != PageStatus.PENDING.value:
                continue
            page.attempts += 1
            page.http_status = status
            if status is not None and 200 <= status < 300:
                page.status = PageStatus.SENT.value
                page.sent_at = clock.now()
                page.last_error = None
            else:
                page.last_error = (error or f"HTTP {status}")[:200]
                if (status in _PERMANENT) or page.attempts >= cfg.push_max_attempts:
                    page.status = PageStatus.FAILED.value
                else:
                    retry = True
        if retry:
            raise PushFailed(f"page not delivered ({error or status}); tried again later")


def finish_transfer(
    session: Session, *, transfer: HipDataTransfer, clock: Clock, outbox: AbdmOutbox
) -> None:
    """Close the transfer and tell the consent manager how each care context went."""
    per_context: dict[str, str] = {}
    for page in transfer.pages:
        for e in page.entries:
            ref = str(e["careContextReference"])
            ok = page.status == PageStatus.SENT.value
            if per_context.get(ref) != m.HiStatus.ERRORED.value:
                per_context[ref] = (m.HiStatus.DELIVERED if ok else m.HiStatus.ERRORED).value
    all_sent = all(p.status == PageStatus.SENT.value for p in transfer.pages)
    transfer.status = (TransferStatus.TRANSFERRED if all_sent else TransferStatus.FAILED).value
    transfer.finished_at = clock.now()
    transfer.care_context_status = per_context
    body = m.HiNotify(
        notification=m.HiNotification(
            consent_id=transfer.consent_id,
            transaction_id=transfer.transaction_id,
            done_at=clock.now(),
            notifier=m.Notifier(type=m.NotifierType.HIP.value, id=transfer.hip_id),
            status_notification=m.StatusNotification(
                session_status=(
                    m.SessionStatus.TRANSFERRED if all_sent else m.SessionStatus.FAILED
                ).value,
                hip_id=transfer.hip_id,
                status_responses=[
                    m.StatusResponse(
                        care_context_reference=ref,
                        hi_status=st,
                        description="Delivered" if st == "DELIVERED" else "Not delivered",
                    )
                    for ref, st in per_context.items()
                ],
            ),
        )
    )
    outbox.enqueue(
        session,
        path=m.HI_NOTIFY,
        body=m.dump(body),
        headers={"X-HIP-ID": transfer.hip_id},
        context={"kind": "records.hip-notify", "transfer": str(transfer.public_id)},
    )
