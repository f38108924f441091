"""A diagnostic round trip, not part of ABDM: ``POST /api/hiecm/gateway/v3/diagnostics/echo``
is accepted like any request and answered by a callback to
``/api/v3/diagnostics/on-echo`` carrying ``echo`` back. Integrators use it to check
credentials, headers and their callback verification; the tests use it to drive the
whole path without the consent manager."""

from __future__ import annotations

from sqlalchemy.orm import Session

from healthstack.network.gateway.routing import (
    Callback,
    HandlerContext,
    InboundMessage,
    register_handler,
    reply,
)

ECHO_PATH = "/gateway/v3/diagnostics/echo"
ON_ECHO_PATH = "/api/v3/diagnostics/on-echo"


def echo(session: Session, message: InboundMessage, hc: HandlerContext) -> list[Callback]:
    return [reply(message, ON_ECHO_PATH, {"status": "OK", "echo": message.body.get("echo")})]


register_handler(ECHO_PATH, echo, reply_path=ON_ECHO_PATH)
