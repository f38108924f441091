"""Liveness, readiness, the home page and the published signing keys."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import text

from healthstack.kernel import tokens
from healthstack.web.deps import DbSession, OptionalStaff, RuntimeDep
from healthstack.web.pages import render

router = APIRouter(tags=["system"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
def readyz(session: DbSession) -> dict[str, str]:
    session.execute(text("SELECT 1"))
    return {"status": "ready"}


@router.get("/.well-known/jwks.json")
def jwks(runtime: RuntimeDep) -> dict[str, Any]:
    """Public keys that verify ABHA user tokens and staff sessions (RS256)."""
    return tokens.jwks(runtime.keyring)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, staff: OptionalStaff) -> HTMLResponse:
    return render(request, "home.html", staff=staff)
