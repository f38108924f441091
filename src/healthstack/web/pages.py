"""Helpers shared by the server-rendered pages."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from healthstack.kernel.errors import PermissionDenied


def render(
    request: Request, template: str, *, status_code: int = 200, **context: Any
) -> HTMLResponse:
    templates = request.app.state.templates
    html = templates.get_template(template).render(request=request, **context)
    return HTMLResponse(html, status_code=status_code)


def same_origin(request: Request) -> None:
    """Refuse a form posted from another site (on top of SameSite cookies). A router
    of form posts takes it as a dependency."""
    origin = request.headers.get("origin")
    if origin is None:
        return  # not a browser form post (tests, scripts): the cookies still decide
    if urlparse(origin).netloc != request.headers.get("host", ""):
        raise PermissionDenied(
            "This form was sent from another web site and was refused. Open HealthStack "
            "directly and fill in the form there.",
            code="HS-1409",
        )


def inline_file(data: bytes, content_type: str, title: str | None) -> Response:
    """A file shown in the browser (a record's PDF or image), never cached."""
    safe = "".join(c for c in (title or "attachment") if c.isalnum() or c in " ._-")[:80]
    return Response(
        data,
        media_type=content_type,
        headers={
            "Content-Disposition": f'inline; filename="{safe or "attachment"}"',
            "Cache-Control": "no-store",
        },
    )
