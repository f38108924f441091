"""Developer pages, mounted in development and test only: the SMS outbox."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from healthstack.integrations.sms import SMS_TOPIC
from healthstack.kernel.outbox import OutboxMessage
from healthstack.web.deps import DbSession
from healthstack.web.pages import render

router = APIRouter(prefix="/dev", tags=["development"], include_in_schema=False)


def _messages(session: DbSession, mobile: str | None, limit: int) -> list[dict[str, Any]]:
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.topic == SMS_TOPIC)
        .order_by(OutboxMessage.id.desc())
        .limit(limit)
    )
    rows = []
    for msg in session.scalars(query):
        if mobile and msg.payload.get("mobile") != mobile:
            continue
        rows.append(
            {
                "id": str(msg.public_id),
                "mobile": msg.payload.get("mobile"),
                "text": msg.payload.get("text"),
                "template": msg.payload.get("template"),
                "status": msg.status,
                "created_at": msg.created_at.isoformat(),
            }
        )
    return rows


@router.get("/sms.json")
def sms_json(
    session: DbSession,
    mobile: str | None = Query(default=None, max_length=10),
    limit: int = Query(default=50, ge=1, le=500),
) -> dict[str, Any]:
    return {"messages": _messages(session, mobile, limit)}


@router.get("/sms", response_class=HTMLResponse)
def sms_page(
    request: Request,
    session: DbSession,
    mobile: str | None = Query(default=None, max_length=10),
) -> HTMLResponse:
    return render(request, "dev_sms.html", messages=_messages(session, mobile, 100), mobile=mobile)
