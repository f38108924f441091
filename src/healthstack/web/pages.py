"""The page kit: what every server-rendered page of HealthStack uses, whatever its domain.

- ``Page`` (``PageDep``, or ``page_with(wording)`` for a module that rewords errors):
  one request to a page, with its unit of work and runtime, what every template gets
  (``base``: the staff member or the patient badge, the header's flags), the cookies
  the response sets, and how a service's refusal is told (``wording``). ``Page.show``
  renders a template with an error beside its form; ``Page.error_page`` the error page.
- An error a page shows beside its form never reaches the unit of work, so
  ``Page.problem`` does what the unit of work would have done (``kernel.audit.absorb``):
  roll back, or keep a counted OTP try, and keep the failure audit rows.
- ``render`` and ``mark_field``: a template, with the control a mistake names marked.
- The staff gate: ``staff_gate`` (the staff member, or the login redirect, or the 403
  page naming their role and whom to ask), ``login_redirect``, ``forbidden``;
  ``Page.admit`` opens a staff page with it (``Page.who``, ``Page.staff_ctx``, the
  header's ``can`` flags); ``error_page`` for a page that handles a domain error itself.
- OTP steps: ``Page.countdown`` and ``Page.resent`` (the resend countdown a step's
  hidden fields carry), ``otp_flow_message`` (an OTP transaction's refusal as a form
  tells it), ``browser_flow`` (an anonymous flow bound to one browser by a cookie).
- ``same_origin`` (a router of form posts takes it), ``foreign_fetch`` (a download
  another site asked for), ``download_headers``, and ``attachment_file``.

Form fields whose length a page checks itself are in ``web.forms``.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from html import escape
from typing import Annotated, Any, Protocol, TypeVar
from urllib.parse import quote, urlparse

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from healthstack.accounts.permissions import allowed
from healthstack.kernel.audit import absorb
from healthstack.kernel.context import Actor, Purpose, RequestContext
from healthstack.kernel.crypto import encrypt_oaep
from healthstack.kernel.errors import DomainError, PermissionDenied
from healthstack.protocol.fhir.documents.model import inline_type
from healthstack.runtime import Runtime
from healthstack.web.deps import DbSession, RuntimeDep, request_id

# What a page shows beside its form: a sentence of its own, a service's refusal, or nothing.
Problem = str | DomainError | None
# How a page tells a service's refusal (``plain``, ``otp_flow_message``, a domain's own).
Wording = Callable[[DomainError], str]
R = TypeVar("R", bound=Response)

# The end of a 403 page's message when nothing more particular is said.
ASK_STATE_ADMIN = "Ask the state admin for the right role, or log in with another account."


# --------------------------------------------------------------------------- wording


def plain(exc: DomainError) -> str:
    """The service's own message (most pages need no rewording)."""
    return exc.message


_WAIT = re.compile(r"wait (\d+) more seconds", re.IGNORECASE)


def otp_flow_message(exc: DomainError) -> str:
    """An OTP transaction's refusal as a page of an OTP flow tells it: its txnId rides
    in hidden fields, so a message about the txnId means the form, not the person."""
    if "same txnId" in exc.message:
        # A new OTP request for someone who got one less than a minute ago.
        wait = _WAIT.search(exc.message)
        return (
            "An OTP was sent for this less than a minute ago. Enter that OTP, or wait "
            f"{wait.group(1) if wait else 60} more seconds and send the OTP again."
        )
    if "txnId" in exc.message:
        # The hidden fields were lost, tampered with or belong to another step.
        return "This form is out of date or was opened out of order. Start again."
    return exc.message


def resent_notice(message: str) -> str:
    """What a page says when an OTP was sent again (``message``: the service's)."""
    return f"A new OTP was sent. {message}."


@dataclass(frozen=True)
class Reword:
    """A service message written for API clients (it names fields, scopes or API
    paths), as a page tells it: the refusal ``code``, with ``marker`` in its message
    when the code alone covers several cases."""

    code: str
    text: str
    marker: str = ""


def reworded(exc: DomainError, table: Iterable[Reword]) -> str | None:
    """The page text ``table`` has for ``exc``, or None."""
    return next((r.text for r in table if exc.code == r.code and r.marker in exc.message), None)


# --------------------------------------------------------------------------- the page


@dataclass(frozen=True)
class Cookie:
    """A cookie the page's response sets (always HttpOnly, SameSite=Lax)."""

    name: str
    value: str
    max_age: int | None
    path: str


class OtpTimer(Protocol):
    """The hidden fields of an OTP step that its resend countdown reads."""

    resend_at: int
    resends: int


@dataclass
class Page:
    """One request to a page: its parts, what every template gets (``base``: the
    staff member or the patient badge), the cookies the response sets, how a
    service's refusal is told (``wording``), and the staff member the page's gate let
    in (``admit``)."""

    request: Request
    session: Session
    runtime: Runtime
    base: dict[str, Any] = field(default_factory=dict)
    cookies: list[Cookie] = field(default_factory=list)
    wording: Wording = plain
    staff: Actor | None = None

    def admit(
        self,
        staff: Actor | None,
        permissions: str | Iterable[str],
        *,
        what: str,
        back: str,
        ask: str = ASK_STATE_ADMIN,
        can: Mapping[str, str] | None = None,
    ) -> Response | None:
        """None when ``staff`` may do any of ``permissions``: the page is then theirs
        (``who``), and every template gets them and the header's ``can`` flags (flag →
        permission). Else the login redirect or the 403 page (``staff_gate``)."""
        gate = staff_gate(self.request, staff, permissions, what=what, back=back, ask=ask)
        if isinstance(gate, Response):
            return gate
        self.let_in(gate, can)
        return None

    def let_in(self, staff: Actor, can: Mapping[str, str] | None = None) -> None:
        """The page is for ``staff`` (see ``admit``)."""
        self.staff = staff
        self.base = {"staff": staff}
        if can is not None:
            self.base["can"] = {flag: allowed(staff, p) for flag, p in can.items()}

    @property
    def who(self) -> Actor:
        """The staff member the gate let in."""
        assert self.staff is not None, "a staff page opens with its gate (admit)"
        return self.staff

    @property
    def staff_ctx(self) -> RequestContext:
        """The staff member's context for an administration page."""
        return self.ctx(self.who, Purpose.ADMINISTRATION)

    @property
    def now(self) -> int:
        return int(self.runtime.clock.now().timestamp())

    @property
    def resend_at(self) -> int:
        """When a just-sent OTP may be resent (for the countdown; the service decides)."""
        return self.now + self.runtime.settings.otp.resend_after_seconds

    def resends_left(self, resends: int) -> int:
        return max(0, self.runtime.settings.otp.max_resends - resends)

    def countdown(self, state: OtpTimer) -> dict[str, int]:
        """What an OTP step's template shows: seconds until a resend, resends left."""
        return {
            "wait": max(0, state.resend_at - self.now),
            "resends_left": self.resends_left(state.resends),
        }

    def resent(self, state: OtpTimer, message: str) -> str:
        """Count a resend on ``state`` and start its countdown again; the notice."""
        state.resends += 1
        state.resend_at = self.resend_at
        return resent_notice(message)

    def ctx(self, actor: Actor, purpose: Purpose) -> RequestContext:
        client = self.request.client
        return RequestContext(
            actor=actor,
            purpose=purpose,
            request_id=request_id(self.request),
            ip=client.host if client else None,
        )

    def absorb(self, exc: DomainError) -> tuple[str, int]:
        """Do what the unit of work would have done with ``exc`` (undo this request's
        changes, or keep a counted OTP try; keep the failure audit rows); then its
        message and status."""
        absorb(self.session, exc)
        return self.wording(exc), exc.status_hint

    def problem(self, error: Problem) -> tuple[str | None, int]:
        """The message and status of ``error`` (a domain error is absorbed first)."""
        if isinstance(error, DomainError):
            return self.absorb(error)
        return (error, 400) if error else (None, 200)

    def show(
        self, template: str, *, error: Problem = None, status: int | None = None, **context: Any
    ) -> HTMLResponse:
        """Render ``template``; an ``error`` goes in the alert beside the form and sets
        the status (a domain error is absorbed first, see ``problem``). The field a
        mistake names is marked: the error's, or the over-long one of a ``form`` that
        keeps its ``problem`` (``web.forms``)."""
        message, code = self.problem(error)
        status = status or code
        problem = getattr(context.get("form"), "problem", None)
        if problem is not None:
            context.setdefault("error_field", problem.field)
            context.setdefault("field_message", problem.message)
        context.setdefault("error_field", getattr(error, "field", None))
        response = render(
            self.request, template, status_code=status, error=message, **self.base, **context
        )
        return self.set_cookies(response)

    def error_page(self, exc: DomainError) -> HTMLResponse:
        """``exc`` as the error page, in this page's words (see ``error_page``)."""
        return error_page(self.request, self.session, exc, self.wording(exc), **self.base)

    def set_cookies(self, response: R) -> R:
        secure = self.runtime.settings.base_url.startswith("https")
        for c in self.cookies:
            response.set_cookie(
                c.name,
                c.value,
                max_age=c.max_age,
                path=c.path,
                httponly=True,
                samesite="lax",
                secure=secure,
            )
        return response

    def wire(self, value: str) -> str:
        """What an ABDM client sends: RSA-OAEP with the published enrolment key (the
        pages are their own client of the services that take ABDM's wire form)."""
        return encrypt_oaep(self.runtime.keyring.public_der_b64("enrolment"), value)


def page_with(wording: Wording, kind: type[Page] = Page) -> Callable[..., Page]:
    """The dependency that hands a route its page (a ``kind`` of ``Page``), telling
    refusals by ``wording``."""

    def page(request: Request, session: DbSession, runtime: RuntimeDep) -> Page:
        return kind(request, session, runtime, wording=wording)

    return page


PageDep = Annotated[Page, Depends(page_with(plain))]


def browser_flow(
    pg: Page, cookie: str, path: str, new: Callable[[], str] = lambda: secrets.token_hex(16)
) -> tuple[str, bool]:
    """The random id that binds an anonymous flow (self-enrolment, self-registration)
    to this browser, kept in the HttpOnly cookie ``cookie`` on ``path``, so that a
    txnId read off one screen is of no use in another browser. ``lost`` when the
    browser sent none: a new one is set, and a step after the first cannot go on."""
    nonce = pg.request.cookies.get(cookie, "")
    lost = not re.fullmatch(r"[0-9a-f]{32}", nonce)
    if lost:
        nonce = new()
        pg.cookies.append(Cookie(cookie, nonce, 3600, path))
    return nonce, lost


# --------------------------------------------------------------------------- the staff gate


def here(request: Request) -> str:
    """This request's path and query (where a login brings the staff member back)."""
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def login_redirect(back: str) -> RedirectResponse:
    """To the staff login, which brings the browser back to ``back`` (a path)."""
    return RedirectResponse(f"/login?next={quote(back)}", status_code=303)


def role_name(staff: Actor) -> str:
    return staff.role.value.replace("_", " ") if staff.role else "staff"


def forbidden(request: Request, message: str, **context: Any) -> HTMLResponse:
    """The 403 page; ``message`` says what may not be done and whom to ask."""
    return render(
        request,
        "error.html",
        status_code=403,
        status=403,
        code="HS-1003",
        message=message,
        **context,
    )


def staff_gate(
    request: Request,
    staff: Actor | None,
    permissions: str | Iterable[str],
    *,
    what: str,
    back: str,
    ask: str = ASK_STATE_ADMIN,
) -> Actor | Response:
    """The staff member when any of ``permissions`` is theirs; else the login redirect
    back to ``back``, or the 403 page: "Your role (...) may not ``what``. ``ask``"."""
    if staff is None:
        return login_redirect(back)
    wanted = (permissions,) if isinstance(permissions, str) else tuple(permissions)
    if not any(allowed(staff, p) for p in wanted):
        message = f"Your role ({role_name(staff)}) may not {what}. {ask}"
        return forbidden(request, message, staff=staff)
    return staff


def error_page(
    request: Request, session: Session, exc: DomainError, message: str | None = None, **context: Any
) -> HTMLResponse:
    """A domain error a page handles itself, as the error page: absorbed first (see
    ``Page.absorb``); its status (404 for another's record, so that its existence is
    not told), code and ``message`` (the service's own when not given)."""
    absorb(session, exc)
    status = exc.status_hint
    return render(
        request,
        "error.html",
        status_code=status,
        status=status,
        code=exc.code,
        message=exc.message if message is None else message,
        **context,
    )


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


# Sec-Fetch-Site values of a request that another site made the browser send.
_FOREIGN_FETCH = ("cross-site", "same-site")


def foreign_fetch(request: Request, message: str, **context: Any) -> HTMLResponse | None:
    """The 403 page for a download another site asked for (a link or an embed there),
    else None. A browser always says where a request came from; tools send nothing."""
    if request.headers.get("sec-fetch-site", "").lower() not in _FOREIGN_FETCH:
        return None
    return render(
        request, "error.html", status_code=403, code="HS-1409", message=message, **context
    )


def download_headers(filename: str) -> dict[str, str]:
    """A download that carries names: saved, never cached."""
    return {
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store",
    }


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
