"""The typed parts the gateway's and the consent manager's services take instead of the
Runtime: the callback sender, a handler's context, and the PHR's parts, each built from
a runtime at the edges and usable without one."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from healthstack.kernel.clock import FrozenClock
from healthstack.kernel.context import system_context
from healthstack.kernel.crypto import KeyedHasher
from healthstack.kernel.outbox import OutboxMessage
from healthstack.network.gateway.config import callback_sender, handler_context
from healthstack.network.gateway.diagnostics import ECHO_PATH, ON_ECHO_PATH, echo
from healthstack.network.gateway.enums import ServiceType
from healthstack.network.gateway.models import GatewayMessage
from healthstack.network.gateway.routing import (
    DELIVER_TOPIC,
    CallbackSender,
    HandlerContext,
    InboundMessage,
)
from healthstack.network.gateway.service import add_service, register_bridge
from healthstack.phr.dependencies import PhrParts
from healthstack.settings import ConsentSettings, GatewaySettings

HIP = "IN0110000001"


def test_the_sender_takes_its_attempts_from_the_gateway_settings():
    clock = FrozenClock()
    sender = CallbackSender.configured(clock, GatewaySettings(callback_max_attempts=3))
    assert sender == CallbackSender(clock=clock, max_attempts=3)


def test_the_edges_build_the_parts_from_the_runtime(runtime):
    hc = handler_context(runtime)
    settings = runtime.settings
    assert hc.clock is runtime.clock and hc.keyring is runtime.keyring
    assert hc.hasher is runtime.hasher
    assert hc.cm_id == settings.abha.cm_id and hc.base_url == settings.base_url
    assert hc.consent is settings.consent
    assert hc.sender == callback_sender(runtime)
    assert hc.sender.max_attempts == settings.gateway.callback_max_attempts
    parts = PhrParts.of(runtime)
    assert parts.clock is runtime.clock and parts.sender == hc.sender
    assert parts.cm_id == settings.abha.cm_id and parts.consent is settings.consent
    assert parts.txn_ttl_seconds == settings.abha.txn_ttl_seconds


def test_a_handler_runs_with_a_context_made_by_hand():
    """No Runtime: what a handler gets is a small typed object a test can build."""
    clock = FrozenClock()
    hc = HandlerContext(
        clock=clock,
        sender=CallbackSender(clock=clock, max_attempts=1),
        keyring=None,  # type: ignore[arg-type]  # the echo signs nothing
        hasher=KeyedHasher("test"),
        cm_id="sbx",
        base_url="http://test",
        consent=ConsentSettings(),
    )
    message = InboundMessage(
        message_id=uuid.uuid4(),
        request_id=str(uuid.uuid4()),
        path=ECHO_PATH,
        client_id="jk-hmis",
        hip_id=HIP,
        hiu_id=None,
        body={"echo": "hello"},
        received_at=clock.now(),
    )
    [answer] = echo(None, message, hc)  # type: ignore[arg-type]  # the echo reads nothing
    assert answer.path == ON_ECHO_PATH and answer.body["echo"] == "hello"
    assert (answer.service_type, answer.service_id) == (ServiceType.HIP, HIP)
    assert answer.in_reply_to == message.request_id


def test_the_sender_queues_a_ledger_row_and_its_delivery(runtime, db):
    clock = runtime.clock
    register_bridge(
        db,
        system_context(),
        client_id="jk-hmis",
        name="J&K HMIS",
        url="http://hmis.test",
        clock=clock,
        settings=runtime.settings.gateway,
        development=True,
    )
    add_service(
        db,
        system_context(),
        client_id="jk-hmis",
        service_id=HIP,
        service_type="HIP",
        name="PHC Khag",
        clock=clock,
    )
    sender = CallbackSender(clock=clock, max_attempts=2)
    sent = sender.send(
        db,
        path="/api/v3/test",
        body={"a": 1},
        service_type=ServiceType.HIP,
        service_id=HIP,
        in_reply_to="839ede87-6bad-48df-a0d5-e93305c88e75",
    )
    row = db.scalar(select(GatewayMessage).where(GatewayMessage.id == sent.id))
    assert row is not None and row.max_attempts == 2 and row.created_at == clock.now()
    assert row.body == {"a": 1, "response": {"requestId": "839ede87-6bad-48df-a0d5-e93305c88e75"}}
    [job] = db.scalars(select(OutboxMessage).where(OutboxMessage.topic == DELIVER_TOPIC))
    assert job.payload == {"message_id": str(row.public_id)} and job.max_attempts == 2
