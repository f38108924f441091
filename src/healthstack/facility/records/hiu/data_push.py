"""``receive_push``: the HIP's page, authenticated by the HIP bridge's gateway session
token (``Authorization: Bearer``, verified against the gateway's JWKS; 401 without it)
bound to the transfer's HIP as far as this HIU knows it, then by a transaction this HIU
started (unknown ones are refused) and by the page's own key material (each page
decrypts with this request's private key and that page's HIP key and nonce). A push
under a consent that ended is refused (403, the consent's code), even a page taken
before. Every entry decrypted, its MD5 checked, the document validated (the IG's rules
refuse, HealthStack's own identifier forms only warn) and checked against the artefact;
a page already received is a no-op. When the last page is in, the CM hears OK / ERRORED
per care context, with what was refused and why in words."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from healthstack.facility.records import exceptions as x
from healthstack.facility.records.config import validate
from healthstack.facility.records.hiu.common import (
    FINISHED,
    PUSH_ACTOR,
    artefact_valid,
    hiu_headers,
    key_sealer,
)
from healthstack.facility.records.models import (
    ConsentStatus,
    DataRequestStatus,
    HipConsentArtefact,
    HiuConsentArtefact,
    HiuDataRequest,
    HiuReceivedRecord,
    RecordStatus,
)
from healthstack.integrations.abdm import AbdmOutbox, JwksCache
from healthstack.integrations.abdm.callbacks import session_client_id, verify_session_token
from healthstack.kernel import jsonlimit
from healthstack.kernel.audit import Outcome, audited, record_access
from healthstack.kernel.clock import Clock
from healthstack.kernel.context import Purpose, RequestContext
from healthstack.kernel.crypto import KeyedHasher, SealBroken
from healthstack.kernel.errors import PermissionDenied, ValidationFailed
from healthstack.protocol.abdm import fidelius
from healthstack.protocol.abdm import messages as m
from healthstack.protocol.fhir.documents.view import read_document
from healthstack.protocol.fhir.validation import IgPackage, Issue, Severity
from healthstack.protocol.fhir.validation.core import NOT_IG_RULES


@dataclass
class _Entry:
    status: RecordStatus
    error: str | None = None
    detail: str | None = None  # why it was refused, in words (no values from the record)
    bundle: dict[str, Any] | None = None
    hi_type: str | None = None
    title: str | None = None
    warnings: list[dict[str, str]] | None = None


def _refused(code: str, detail: str) -> _Entry:
    return _Entry(RecordStatus.ERRORED, code, detail[:500])


# Kept per record: enough for the doctor to see what was odd, not a validator's log.
MAX_WARNINGS = 10


def _issue(issue: Issue) -> dict[str, str]:
    return {"path": issue.path, "rule": issue.rule, "message": issue.message}


def _check_received(
    bundle: Any, *, ig: IgPackage | None
) -> tuple[str, list[dict[str, str]]] | _Entry:
    """The HI type and warnings of a received document, or the refusal. The IG's rules
    and FHIR's refuse; HealthStack's own identifier forms (``NOT_IG_RULES``) only warn
    here, so a record the IG allows reaches the doctor. Issue messages name elements
    and rules, never values, so the refusal can go to the consent manager as it is."""
    report = validate(bundle, ig=ig)
    errors = [i for i in report.errors if i.rule not in NOT_IG_RULES]
    if errors:
        first, more = errors[0], len(errors) - 1
        return _refused(
            x.DOCUMENT_INVALID,
            f"Not a valid ABDM FHIR document: {first.path} breaks {first.rule}: "
            f"{first.message}" + (f" ({more} more problem(s))" if more else ""),
        )
    warned = [
        *(i for i in report.errors if i.rule in NOT_IG_RULES),
        *(i for i in report.issues if i.severity is Severity.WARNING),
    ]
    kind = read_document(bundle).kind
    if kind is None:
        return _refused(
            x.DOCUMENT_INVALID,
            "The Composition does not say which ABDM record type it is (Composition.type "
            "or meta.profile names none of the IG's record profiles).",
        )
    return kind.value, [_issue(i) for i in warned[:MAX_WARNINGS]]


def _open_entry(
    entry: m.DataEntry,
    artefact: HiuConsentArtefact,
    key: fidelius.KeyMaterial,
    sender: fidelius.WireKeyMaterial,
    *,
    ig: IgPackage | None,
) -> _Entry:
    if not entry.content:
        return _refused(
            x.PUSH_MALFORMED,
            "The entry has no content: this HIU does not fetch links; send the encrypted "
            "content in the entry.",
        )
    try:
        data = fidelius.decrypt_bytes(
            entry.content,
            receiver_private_key=key.private_key,
            receiver_nonce=key.nonce,
            sender_public_key=sender.public_key,
            sender_nonce=sender.nonce,
        )
    except ValidationFailed:
        return _refused(
            x.DECRYPT_FAILED,
            "The entry does not decrypt with this HIU's key material for the transaction "
            "and the page's keyMaterial (Fidelius: ECDH on Curve25519, HKDF-SHA256, "
            "AES-256-GCM).",
        )
    if hashlib.md5(data).hexdigest() != entry.checksum.strip().lower():  # noqa: S324
        return _refused(
            x.CHECKSUM_MISMATCH, "The entry's checksum is not the MD5 of its decrypted content."
        )
    try:
        bundle = jsonlimit.loads(data)
    except jsonlimit.TooDeep as exc:
        return _refused(
            x.DOCUMENT_INVALID,
            f"The decrypted content nests more than {exc.limit} levels deep; no FHIR bundle does.",
        )
    except ValueError:
        return _refused(x.DOCUMENT_INVALID, "The decrypted content is not JSON (a FHIR bundle).")
    checked = _check_received(bundle, ig=ig)
    if isinstance(checked, _Entry):
        return checked
    hi_type, warnings = checked
    refs = {str(c.get("careContextReference")) for c in artefact.care_contexts or []}
    if entry.care_context_reference not in refs:
        return _refused(
            x.CARE_CONTEXT_MISMATCH,
            "The entry's careContextReference is not one of the consent artefact's care contexts.",
        )
    if hi_type not in (artefact.hi_types or []):
        return _refused(
            x.HI_TYPE_OUTSIDE,
            f"The document is a {hi_type} record, a type the patient's consent does not grant.",
        )
    title = read_document(bundle).title[:200] or None
    return _Entry(RecordStatus.OK, None, None, bundle, hi_type, title, warnings or None)


def _consent_gone(artefact: HiuConsentArtefact) -> x.ConsentRefused:
    """What a HIP hears when it pushes under a consent that has ended: its data is
    refused, nothing is kept, and it should stop (a 4xx it will not retry)."""
    if artefact.status == ConsentStatus.REVOKED.value:
        why, code = "the patient revoked the consent", x.CONSENT_NOT_GRANTED
    elif artefact.status in (ConsentStatus.GRANTED.value, ConsentStatus.EXPIRED.value):
        why, code = "the consent has expired (past its dataEraseAt)", x.CONSENT_EXPIRED
    else:
        why, code = f"the consent is {artefact.status.lower()}", x.CONSENT_NOT_GRANTED
    return x.ConsentRefused(
        f"This transaction's data is refused: {why}. Nothing was kept; send no more "
        "pages for this transaction.",
        code=code,
    )


def _check_sender(
    session: Session,
    row: HiuDataRequest,
    artefact: HiuConsentArtefact,
    bridge: str | None,
    *,
    own: str,
) -> None:
    """Bind the session token's bridge to the transfer's HIP, as far as this HIU can
    know it. When this deployment's own HIP holds the artefact, the push must come from
    this deployment's bridge; when it does not, never from it (our bridge pushes only
    for its own HIPs, and every HIU it pushes to sees its token). And every page of a
    transfer comes from the bridge of the first one taken. A token naming no bridge
    binds nothing beyond its signature. ``own`` is this deployment's bridge (its
    client id)."""
    if bridge is None:
        return
    held_here = (
        session.scalar(
            select(HipConsentArtefact.id).where(
                HipConsentArtefact.consent_id == artefact.consent_id,
                HipConsentArtefact.hip_id == artefact.hip_id,
            )
        )
        is not None
    )
    if held_here != (bridge == own) or row.sender_client_id not in (None, bridge):
        raise PermissionDenied(
            "The Authorization is the session token of a bridge that does not serve the "
            "HIP this transaction is from. Push with the session token of the HIP's own "
            "bridge.",
            code=x.SENDER_NOT_HIP,
        )


def receive_push(
    session: Session,
    *,
    raw: Any,
    authorization: str | None,
    ip: str | None = None,
    clock: Clock,
    keys: JwksCache,
    hasher: KeyedHasher,
    ig: IgPackage | None,
    outbox: AbdmOutbox,
    bridge_id: str,
) -> HiuDataRequest:
    """Take one page of a data push (see the module docstring): the session token
    verified with the gateway's ``keys``, the private key unsealed with ``hasher``, the
    documents validated against ``ig``; ``bridge_id`` is this deployment's bridge (its
    client id), the notify goes out through ``outbox``."""
    ctx = RequestContext(actor=PUSH_ACTOR, purpose=Purpose.CARE_MANAGEMENT, ip=ip)
    now = clock.now()
    with audited(
        session,
        ctx,
        action="records.data.receive",
        resource_type="hiu_data_request",
        clock=clock,
    ) as target:
        # First, before anything in the body is looked at: the transaction id alone is
        # no credential.
        claims = verify_session_token(authorization, keys=keys, clock=clock)
        if not isinstance(raw, dict):
            raise x.PushMalformed("The body must be a JSON object (ABDM's data push).")
        try:
            push = m.DataPush.model_validate(raw)
        except ValidationError as exc:
            where = ".".join(str(p) for p in exc.errors()[0].get("loc", ())) or "body"
            raise x.PushMalformed(
                f"The data push does not have ABDM's shape ({where}).", field=where
            ) from None
        row = session.scalar(
            select(HiuDataRequest)
            .where(HiuDataRequest.transaction_id == push.transaction_id)
            .with_for_update()
        )
        if row is None:
            raise x.TransactionUnknown(
                "No health-information request of this HIU has that transaction id."
            )
        target.resource_id = str(row.public_id)
        artefact = row.artefact
        _check_sender(session, row, artefact, session_client_id(claims), own=bridge_id)
        # Before the repeat check: a page sent again after the consent ended is told so,
        # not answered 202 as if it were still of use.
        if not artefact_valid(artefact, now):
            raise _consent_gone(artefact)
        if push.page_number in (row.pages_received or []):
            return row  # sent again after a lost answer or a restart: already stored
        if row.status in FINISHED:
            raise x.TransactionUnknown("This transaction is finished; no more pages are taken.")
        if not 1 <= push.page_number <= push.page_count or (
            row.page_count is not None and row.page_count != push.page_count
        ):
            raise x.PushMalformed("The page number or page count is inconsistent.")
        # Every page brings its own key material (ABDM requires it on each page and
        # never that it stays the same), and each page decrypts with its own: a HIP
        # that makes it fresh per page never reuses a key and nonce.
        try:
            sender = push.key_material.to_wire()
        except ValidationFailed as exc:
            raise x.PushMalformed(
                f"The sender's key material is unusable: {exc.message}", code=x.KEY_MATERIAL_BAD
            ) from None
        try:
            sealed = key_sealer(hasher).unseal(row.key_sealed, str(row.public_id))
        except SealBroken:
            raise x.TransactionUnknown(
                "This transaction's key material is gone; the data cannot be read."
            ) from None
        key = fidelius.KeyMaterial.from_dict(json.loads(sealed))
        row.sender_client_id = session_client_id(claims)
        for index, entry in enumerate(push.entries):
            opened = _open_entry(entry, artefact, key, sender, ig=ig)
            if opened.status is not RecordStatus.OK:
                # A refused entry (outside the artefact, not decrypting, a checksum or a
                # document that fails) is a refused write of PHI: audited on its own,
                # since the page it came in is taken.
                record_access(
                    session,
                    ctx,
                    action="records.data.entry",
                    resource_type="hiu_data_request",
                    resource_id=str(row.public_id),
                    outcome=Outcome.FAILED,
                    reason_code=opened.error,
                    clock=clock,
                )
            session.add(
                HiuReceivedRecord(
                    public_id=uuid.uuid4(),
                    data_request_id=row.id,
                    page_number=push.page_number,
                    entry_index=index,
                    care_context_reference=entry.care_context_reference[:64],
                    hi_type=opened.hi_type,
                    title=opened.title,
                    bundle=opened.bundle,
                    checksum=entry.checksum.strip().lower()[:32],
                    status=opened.status.value,
                    error_code=opened.error,
                    error_detail=opened.detail,
                    warnings=opened.warnings,
                    received_at=now,
                    erase_at=artefact.data_erase_at or now,
                )
            )
        row.pages_received = sorted({*(row.pages_received or []), push.page_number})
        row.page_count = push.page_count
        row.status = DataRequestStatus.RECEIVING.value
        row.updated_at = now
        session.flush()
        if len(row.pages_received) == row.page_count:
            _complete(session, row, clock=clock, outbox=outbox)
    return row


def _description(records: Sequence[HiuReceivedRecord]) -> str:
    """A care context's line in the HIU's notify: what was refused and why, in words
    (rules and elements, never a value from a record)."""
    refused = [r for r in records if r.status != RecordStatus.OK.value]
    if not refused:
        return "Received"
    first = refused[0]
    text = f"{len(refused)} of {len(records)} record(s) refused. {first.error_code}: " + (
        first.error_detail or "refused"
    )
    return text[:500]


def _complete(session: Session, row: HiuDataRequest, *, clock: Clock, outbox: AbdmOutbox) -> None:
    records = session.scalars(
        select(HiuReceivedRecord)
        .where(HiuReceivedRecord.data_request_id == row.id)
        .order_by(HiuReceivedRecord.page_number, HiuReceivedRecord.entry_index)
    ).all()
    per_context: dict[str, list[HiuReceivedRecord]] = {}
    for r in records:
        per_context.setdefault(r.care_context_reference, []).append(r)
    ok = {
        ref: all(r.status == RecordStatus.OK.value for r in rs) for ref, rs in per_context.items()
    }
    all_ok = all(ok.values())
    now = clock.now()
    row.status = (DataRequestStatus.COMPLETED if all_ok else DataRequestStatus.PARTIAL).value
    row.completed_at = now
    row.key_sealed = None  # every page is in: the private key is never needed again
    artefact = row.artefact
    body = m.HiNotify(
        notification=m.HiNotification(
            consent_id=artefact.consent_id,
            transaction_id=str(row.transaction_id),
            done_at=now,
            notifier=m.Notifier(type=m.NotifierType.HIU.value, id=row.hiu_id),
            status_notification=m.StatusNotification(
                session_status=(
                    m.SessionStatus.TRANSFERRED if all_ok else m.SessionStatus.FAILED
                ).value,
                hip_id=str(artefact.hip_id),
                status_responses=[
                    m.StatusResponse(
                        care_context_reference=ref,
                        hi_status=(m.HiStatus.OK if ok[ref] else m.HiStatus.ERRORED).value,
                        description=_description(rs),
                    )
                    for ref, rs in per_context.items()
                ],
            ),
        )
    )
    outbox.enqueue(
        session,
        path=m.HI_NOTIFY,
        body=m.dump(body),
        headers=hiu_headers(row.hiu_id),
        context={"kind": "records.hiu-notify", "data_request": str(row.public_id)},
    )
    row.notified = True
