"""SMS port. ``send_sms`` writes an outbox row in the caller's transaction; the
worker hands it to the configured gateway.

The row keeps what delivery needs (the full mobile, the text) only until it is
delivered: then the mobile is replaced by its masked form and a keyed digest (enough to
find a person's messages, not to read their number), and an OTP's text is removed a day
after it was sent (``purge_sms``, a scheduled job; the OTP expired long before). A
message never delivered within that day is given up: an OTP that late is of no use.

The ``outbox`` provider (development, demo, tests) delivers nowhere: the messages stay
readable at ``/dev/sms`` and ``/dev/sms.json``, which exist in development mode only and
show an OTP while it is fresh.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from healthstack.kernel.clock import Clock
from healthstack.kernel.crypto import KeyedHasher
from healthstack.kernel.ids import mask_mobile
from healthstack.kernel.outbox import OutboxMessage, OutboxStatus, enqueue
from healthstack.kernel.relay import Delivered

SMS_TOPIC = "sms.send"
# An OTP's text stays this long after it is sent, then it is removed.
OTP_TEXT_KEEP = timedelta(days=1)
# "otp.abha-enrol", "otp.login.email", "records.link-otp": templates whose text holds a code.
_OTP_TEMPLATE = re.compile(r"(^|[.-])otp([.-]|$)")
PURGED_TEXT = "(removed: an OTP's text is kept for a day)"
_PURGE_BATCH = 1000


def is_otp(template: str) -> bool:
    return bool(_OTP_TEMPLATE.search(template))


def send_sms(
    session: Session, *, mobile: str, text: str, template: str, clock: Clock | None = None
) -> OutboxMessage:
    msg = enqueue(
        session,
        topic=SMS_TOPIC,
        payload={"mobile": mobile, "text": text, "template": template},
        clock=clock,
    )
    if is_otp(template):
        msg.purge_at = msg.created_at + OTP_TEXT_KEEP
    return msg


def mask_recipient(to: str) -> str:
    """``XXXXXX1234`` for a mobile; ``a***@example.org`` for an e-mail (OTPs by e-mail
    share the outbox)."""
    if "@" in to:
        local, _, domain = to.partition("@")
        return f"{local[:1]}***@{domain}"
    return mask_mobile(to)


def recipient_key(hasher: KeyedHasher, to: str) -> str:
    return hasher.hash("sms-recipient", to.strip().lower())


def without_recipient(payload: dict[str, Any], hasher: KeyedHasher) -> dict[str, Any]:
    """The payload with the mobile masked and its keyed digest beside it (idempotent)."""
    if "mobile_key" in payload:
        return dict(payload)
    to = str(payload.get("mobile") or "")
    return {**payload, "mobile": mask_recipient(to), "mobile_key": recipient_key(hasher, to)}


def sent_to(payload: dict[str, Any], to: str, hasher: KeyedHasher) -> bool:
    """Whether the message went (or goes) to ``to``, before or after masking."""
    key = payload.get("mobile_key")
    if key is not None:
        return bool(hasher.matches("sms-recipient", to.strip().lower(), str(key)))
    return payload.get("mobile") == to


class SmsGateway(Protocol):
    def deliver(self, payload: dict[str, Any]) -> None: ...


class OutboxOnlyGateway:
    """Development gateway: the outbox row is the delivered message."""

    def deliver(self, payload: dict[str, Any]) -> None:
        return None


def make_sms_gateway(provider: str) -> SmsGateway:
    if provider == "outbox":
        return OutboxOnlyGateway()
    raise ValueError(f"unknown SMS provider {provider!r}; set HEALTHSTACK_SMS_PROVIDER to 'outbox'")


def sms_handler(gateway: SmsGateway, hasher: KeyedHasher) -> Any:
    """The worker's handler: deliver, then keep only the masked recipient."""

    def handle(payload: dict[str, Any]) -> Delivered:
        gateway.deliver(payload)
        return Delivered(keep=without_recipient(payload, hasher))

    return handle


def purge_sms(session: Session, *, clock: Clock, hasher: KeyedHasher) -> int:
    """Remove the text (and the full mobile) of SMS whose ``purge_at`` has come;
    returns how many. One not delivered by then is given up (it is marked dead)."""
    now = clock.now()
    rows = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.purge_at <= now, OutboxMessage.topic == SMS_TOPIC)
        .order_by(OutboxMessage.purge_at)
        .limit(_PURGE_BATCH)
        .with_for_update(skip_locked=True)
    ).all()
    for msg in rows:
        if msg.status in (OutboxStatus.PENDING.value, OutboxStatus.IN_FLIGHT.value):
            msg.status = OutboxStatus.DEAD.value
            msg.last_error = "not delivered within a day: an OTP this old is of no use"
        msg.payload = {**without_recipient(msg.payload, hasher), "text": PURGED_TEXT}
        msg.purge_at = None
    return len(rows)
