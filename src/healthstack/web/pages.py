"""Helpers shared by the server-rendered pages."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse


def render(
    request: Request, template: str, *, status_code: int = 200, **context: Any
) -> HTMLResponse:
    templates = request.app.state.templates
    html = templates.get_template(template).render(request=request, **context)
    return HTMLResponse(html, status_code=status_code)
