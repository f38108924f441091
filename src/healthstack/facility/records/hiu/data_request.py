"""The HIU's health-information request (``start_data_request``): fresh Fidelius key
material for the artefact alone (the private key sealed to the row) and this
deployment's ``dataPushUrl`` (``config.data_push_url``, which the caller passes);
``on_hi_request`` keeps the transaction id the CM gives."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

from sqlalchemy.orm import Session

from healthstack.facility.records.config import DEFAULT_CONFIG, RecordsConfig
from healthstack.facility.records.hiu.common import (
    CALL_HI_REQUEST,
    answers_our_call,
    by_public_id,
    hiu_headers,
    key_sealer,
    parse_body,
)
from healthstack.facility.records.models import (
    DataRequestStatus,
    HiuConsentArtefact,
    HiuDataRequest,
)
from healthstack.integrations.abdm import AbdmOutbox, CallbackContext
from healthstack.kernel.clock import Clock
from healthstack.kernel.crypto import KeyedHasher
from healthstack.protocol.abdm import fidelius
from healthstack.protocol.abdm import messages as m


def start_data_request(
    session: Session,
    *,
    artefact: HiuConsentArtefact,
    clock: Clock,
    outbox: AbdmOutbox,
    hasher: KeyedHasher,
    push_url: str,
    config: RecordsConfig = DEFAULT_CONFIG,
) -> HiuDataRequest:
    """The health-information request for a verified artefact, with key material made
    for it alone (the private key is sealed to this row with ``hasher``); the HIP
    pushes to ``push_url``."""
    assert artefact.date_from and artefact.date_to
    request = artefact.request
    key = fidelius.generate_key_material()
    now = clock.now()
    public_id = uuid.uuid4()
    expiry = now + timedelta(seconds=config.hiu_key_ttl_seconds)
    body = m.HiRequestBody(
        hi_request=m.HiRequest(
            consent=m.ArtefactRef(id=artefact.consent_id),
            date_range=m.DateRange(from_=artefact.date_from, to=artefact.date_to),
            data_push_url=push_url,
            key_material=m.KeyMaterial.from_wire(key.wire(expiry)),
        )
    )
    rid = outbox.enqueue(
        session,
        path=m.HI_REQUEST,
        body=m.dump(body),
        headers=hiu_headers(request.hiu_id),
        context={"kind": CALL_HI_REQUEST, "data_request": str(public_id)},
    )
    row = HiuDataRequest(
        public_id=public_id,
        artefact_id=artefact.id,
        hiu_id=request.hiu_id,
        request_id=rid,
        key_sealed=key_sealer(hasher).seal(
            json.dumps({"privateKey": key.private_key_b64, "nonce": key.nonce_b64}),
            str(public_id),
        ),
        public_key=key.public_key_b64,
        nonce=key.nonce_b64,
        status=DataRequestStatus.REQUESTED.value,
        pages_received=[],
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    return row


def on_hi_request(session: Session, *, cb: CallbackContext, clock: Clock) -> None:
    """The CM's acknowledgement of our request: its transaction id, or the refusal."""
    if not answers_our_call(cb, CALL_HI_REQUEST):
        return
    assert cb.call is not None
    row: HiuDataRequest | None = by_public_id(
        session, HiuDataRequest, cb.call.context.get("data_request")
    )
    if row is None:
        return
    body: m.OnHiRequest = parse_body(m.OnHiRequest, cb.body)
    row.updated_at = clock.now()
    if body.error is not None or body.hi_request is None:
        row.status = DataRequestStatus.ERRORED.value
        row.error_code = (body.error.code if body.error else "no-transaction")[:32]
        row.key_sealed = None
        return
    if row.transaction_id is None:
        row.transaction_id = body.hi_request.transaction_id[:64]
    if row.status == DataRequestStatus.REQUESTED.value:
        row.status = DataRequestStatus.ACKNOWLEDGED.value
