"""Developer pages, mounted in development and test only: the SMS outbox.

A delivered message shows its masked recipient, and an OTP's text only while it is
fresh (``integrations.sms``): filtering by mobile still finds a person's messages,
through the keyed digest the row keeps.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from healthstack.integrations.sms import SMS_TOPIC, sent_to
from healthstack.kernel.outbox import OutboxMessage
from healthstack.web.deps import DbSession, RuntimeDep
from healthstack.web.pages import render

router = APIRouter(prefix="/dev", tags=["development"], include_in_schema=False)

# With a mobile filter, how far back to look for its messages.
_SCAN_WHEN_FILTERED = 2000


def _messages(
    session: DbSession, runtime: RuntimeDep, mobile: str | None, limit: int
) -> list[dict[str, Any]]:
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.topic == SMS_TOPIC)
        .order_by(OutboxMessage.id.desc())
        .limit(max(limit, _SCAN_WHEN_FILTERED) if mobile else limit)
    )
    rows = []
    for msg in session.scalars(query):
        if mobile and not sent_to(msg.payload, mobile, runtime.hasher):
            continue
        rows.append(
            {
                "id": str(msg.public_id),
                "mobile": msg.payload.get("mobile"),
                "text": msg.payload.get("text"),
                "template": msg.payload.get("template"),
                "status": msg.status,
                "created_at": msg.created_at.isoformat(),  # UTC, as every API
                "created": msg.created_at,
            }
        )
        if len(rows) == limit:
            break
    return rows


@router.get("/sms.json")
def sms_json(
    session: DbSession,
    runtime: RuntimeDep,
    mobile: str | None = Query(default=None, max_length=10),
    limit: int = Query(default=50, ge=1, le=500),
) -> dict[str, Any]:
    messages = _messages(session, runtime, mobile, limit)
    return {"messages": [{k: v for k, v in m.items() if k != "created"} for m in messages]}


@router.get("/sms", response_class=HTMLResponse)
def sms_page(
    request: Request,
    session: DbSession,
    runtime: RuntimeDep,
    mobile: str | None = Query(default=None, max_length=10),
) -> HTMLResponse:
    return render(
        request, "dev_sms.html", messages=_messages(session, runtime, mobile, 100), mobile=mobile
    )
