"""Server-rendered compliance pages.

- ``/compliance/roster/review``: uncertain roster ↔ HPR pairs, the roster's record
  beside its HPR candidates, settled one by one.
- ``/compliance/status``: each roster entry's status with the CSV export.
"""

from __future__ import annotations

import math
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from healthstack.accounts.permissions import allowed
from healthstack.kernel.context import Actor, Purpose, RequestContext
from healthstack.kernel.errors import DomainError
from healthstack.web.deps import DbSession, OptionalStaff, RuntimeDep, request_id
from healthstack.web.pages import render, same_origin

from . import reconcile, service
from .escalation import RUNGS
from .notices import district_name

router = APIRouter(include_in_schema=False)
posts = APIRouter(include_in_schema=False, dependencies=[Depends(same_origin)])
PAGE_SIZE = 25


def _ctx(request: Request, staff: Actor) -> RequestContext:
    return RequestContext(
        actor=staff,
        purpose=Purpose.ADMINISTRATION,
        request_id=request_id(request),
        ip=request.client.host if request.client else None,
    )


def _gate(request: Request, staff: Actor | None, action: str, back: str) -> Response | None:
    if staff is None:
        return RedirectResponse(f"/login?next={quote(back)}", status_code=303)
    if not allowed(staff, action):
        role = staff.role.value.replace("_", " ") if staff.role else "staff"
        return render(
            request,
            "error.html",
            status_code=403,
            staff=staff,
            code="HS-1003",
            message=f"Your role ({role}) may not open this page. Ask the state admin for "
            "the right role, or log in with another account.",
        )
    return None


def _review(
    request: Request,
    session: DbSession,
    runtime: RuntimeDep,
    staff: Actor,
    *,
    page: int = 1,
    notice: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    items, total = reconcile.list_uncertain(
        session, ctx=_ctx(request, staff), clock=runtime.clock, page=page, page_size=PAGE_SIZE
    )
    return render(
        request,
        "compliance/review.html",
        status_code=status,
        staff=staff,
        items=items,
        total=total,
        page=page,
        pages=max(1, math.ceil(total / PAGE_SIZE)),
        notice=notice,
        error=error,
        district_name=district_name,
    )


@router.get("/compliance/roster/review", response_class=HTMLResponse, response_model=None)
def review_page(
    request: Request,
    session: DbSession,
    runtime: RuntimeDep,
    staff: OptionalStaff,
    page: int = 1,
    done: str = "",
) -> Response:
    gate = _gate(request, staff, "compliance.review", "/compliance/roster/review")
    if gate is not None:
        return gate
    assert staff is not None
    notice = {"matched": "Linked to the HPR record.", "none": "Marked as not in HPR."}.get(done)
    return _review(request, session, runtime, staff, page=max(1, min(page, 10_000)), notice=notice)


@posts.post(
    "/compliance/roster/review/{entry_id}/settle",
    response_class=HTMLResponse,
    response_model=None,
)
def settle_submit(
    request: Request,
    session: DbSession,
    runtime: RuntimeDep,
    staff: OptionalStaff,
    entry_id: str,
    choice: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    gate = _gate(request, staff, "compliance.review", "/compliance/roster/review")
    if gate is not None:
        return gate
    assert staff is not None
    if not choice:
        return _review(
            request,
            session,
            runtime,
            staff,
            error="Pick the HPR record that is the same person, or 'None of these', then "
            "press Settle.",
            status=400,
        )
    try:
        reconcile.settle_entry(
            session,
            ctx=_ctx(request, staff),
            clock=runtime.clock,
            entry_id=entry_id[:40],
            hpr_id=None if choice == "none" else choice,
        )
    except DomainError as exc:
        # Undo this request's changes but keep the failure's audit rows, as the unit
        # of work would.
        session.rollback()
        events = getattr(exc, "audit_events", [])
        if events:
            session.add_all(events)
            exc.audit_events = []  # type: ignore[attr-defined]
        return _review(request, session, runtime, staff, error=exc.message, status=exc.status_hint)
    done = "none" if choice == "none" else "matched"
    return RedirectResponse(f"/compliance/roster/review?done={done}", status_code=303)


@router.get("/compliance/status", response_class=HTMLResponse, response_model=None)
def status_page(
    request: Request,
    session: DbSession,
    runtime: RuntimeDep,
    staff: OptionalStaff,
    status: str = "",
    cadre: str = "",
) -> Response:
    gate = _gate(request, staff, "compliance.read", "/compliance/status")
    if gate is not None:
        return gate
    assert staff is not None
    try:
        rows = service.list_status(
            session,
            ctx=_ctx(request, staff),
            clock=runtime.clock,
            status=status or None,
            cadre=cadre or None,
        )
    except DomainError as exc:
        return render(
            request,
            "error.html",
            status_code=exc.status_hint,
            staff=staff,
            code=exc.code,
            message=exc.message,
        )
    return render(
        request,
        "compliance/status.html",
        staff=staff,
        rows=rows[:500],
        total=len(rows),
        counts=service.summary_counts(rows),
        status=status,
        cadre=cadre,
        rungs=RUNGS,
        district_name=district_name,
    )


# Last: include_router copies the routes that exist at the time.
router.include_router(posts)
