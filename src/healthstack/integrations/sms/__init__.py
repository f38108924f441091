"""SMS port. ``send_sms`` writes an outbox row in the caller's transaction; the
worker hands it to the configured gateway.

The ``outbox`` provider (development, demo, tests) delivers nowhere: the messages stay
readable at ``/dev/sms`` and ``/dev/sms.json``, which exist in development mode only.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy.orm import Session

from healthstack.kernel.clock import Clock
from healthstack.kernel.outbox import OutboxMessage, enqueue

SMS_TOPIC = "sms.send"


def send_sms(
    session: Session, *, mobile: str, text: str, template: str, clock: Clock | None = None
) -> OutboxMessage:
    return enqueue(
        session,
        topic=SMS_TOPIC,
        payload={"mobile": mobile, "text": text, "template": template},
        clock=clock,
    )


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
