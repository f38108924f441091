"""Helpers shared by the server-rendered pages."""

from __future__ import annotations

import re
from html import escape
from typing import Any
from urllib.parse import urlparse

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from healthstack.kernel.errors import PermissionDenied
from healthstack.protocol.fhir.documents.model import inline_type


def render(
    request: Request, template: str, *, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """Render ``template``. With ``error_field`` (the ``field`` of the mistake shown),
    that form control is marked invalid and the message put next to it."""
    templates = request.app.state.templates
    html = templates.get_template(template).render(request=request, **context)
    field = context.get("error_field")
    if field:
        message = context.get("error") or context.get("field_message") or "Check this field."
        html = mark_field(html, field, message if isinstance(message, str) else str(message))
    return HTMLResponse(html, status_code=status_code)


def mark_field(html: str, name: str, message: str) -> str:
    """The first control named ``name`` marked ``aria-invalid`` and described by
    ``message`` right after it: every page form gets it without a template change."""
    control = re.compile(
        r'<(input|select|textarea)\b([^>]*\bname="' + re.escape(escape(name)) + r'"[^>]*)>',
        re.IGNORECASE,
    )
    found = control.search(html)
    if found is None:
        return html
    tag, attrs = found.group(1).lower(), found.group(2).rstrip()
    closing_slash = " /" if attrs.endswith("/") else ""
    attrs = attrs.rstrip("/").rstrip()
    marked = (
        f'<{found.group(1)}{attrs} aria-invalid="true" aria-describedby="field-error"'
        f"{closing_slash}>"
    )
    end = found.end()
    if tag in ("select", "textarea"):
        closing = html.lower().find(f"</{tag}>", end)
        end = closing + len(tag) + 3 if closing != -1 else end
    note = f'<span class="field-error" id="field-error">{escape(message)}</span>'
    return html[: found.start()] + marked + html[found.end() : end] + note + html[end:]


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


# Every attachment response: a sandbox without scripts (and so an opaque origin, no
# cookies, no access to the pages of this site) and nothing it may load.
ATTACHMENT_CSP = (
    "sandbox; default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_DOWNLOAD_SUFFIX = {"application/dicom": ".dcm"}


def attachment_file(data: bytes, content_type: str, title: str | None) -> Response:
    """A record's attachment, as the HIP sent it. Its content type is the sending HIP's
    word, so only a PDF, PNG or JPEG whose bytes match is shown in the browser; anything
    else (HTML, SVG, a mislabelled file) is a download of no particular type, never
    rendered as a page of this origin. Never cached."""
    safe = "".join(c for c in (title or "attachment") if c.isalnum() or c in " _-")[:80].strip()
    shown = inline_type(content_type, data)
    if shown is not None:
        media_type, disposition = shown, f'inline; filename="{safe or "attachment"}"'
    else:
        suffix = _DOWNLOAD_SUFFIX.get(content_type.split(";", 1)[0].strip().lower(), ".bin")
        media_type = "application/octet-stream"
        disposition = f'attachment; filename="{safe or "attachment"}{suffix}"'
    return Response(
        data,
        media_type=media_type,
        headers={
            "Content-Disposition": disposition,
            "Content-Security-Policy": ATTACHMENT_CSP,
            "X-Content-Type-Options": "nosniff",
            "Cross-Origin-Resource-Policy": "same-origin",
            "Cache-Control": "no-store",
        },
    )
