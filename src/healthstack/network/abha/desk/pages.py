"""The registration desk's pages for existing ABHAs (staff login; the role is checked
with ``accounts.permissions``). Thin: they call ``network.abha.search`` and
``network.abha.card`` directly and render what they return.

- ``/desk``: the desk's start page;
- ``/desk/search`` and ``/desk/scan``: find an existing ABHA (masked list, card QR);
- ``/desk/accounts/{id}``: the audited profile, ``.../card.pdf`` and ``.../card.png``.

The desk's enrolment pages are ``network.abha.enrol.pages``. No personal data in URLs:
GET paths carry public UUIDs only; a search is posted. A form posted from another site
is refused (Origin check), on top of SameSite cookies.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, UploadFile
from fastapi.responses import HTMLResponse, Response

from healthstack.accounts.permissions import require
from healthstack.kernel.audit import absorb, audited
from healthstack.kernel.context import Actor, Purpose, RequestContext
from healthstack.kernel.errors import DomainError, PermissionDenied, ValidationFailed
from healthstack.network.abha import card as card_service
from healthstack.network.abha.desk.dependencies import desk_gate
from healthstack.network.abha.desk.schemas import AbhaAccountSummary, AbhaProfileRead
from healthstack.network.abha.display import (
    GENDERS,
    PageDep,
    card_download,
    district_label,
    gender_label,
)
from healthstack.network.abha.search import (
    MAX_RESULTS,
    NO_MATCH_HINT,
    SearchCriteria,
    get_account,
    search_accounts,
)
from healthstack.runtime import Runtime
from healthstack.web.deps import OptionalStaff
from healthstack.web.forms import Limit, Text16, too_long
from healthstack.web.pages import Page, Problem, same_origin

# Room the multipart envelope takes beside the photo within settings.max_body_bytes.
_MULTIPART_ROOM = 50_000


router = APIRouter(include_in_schema=False)
posts = APIRouter(include_in_schema=False, dependencies=[Depends(same_origin)])


@router.get("/desk", response_class=HTMLResponse, response_model=None)
def desk_home(pg: PageDep, staff: OptionalStaff) -> Response:
    permissions = ("abha.enrol", "abha.search", "abha.verify")
    gate = desk_gate(pg, staff, permissions, what="use the registration desk", start="/desk")
    return gate if isinstance(gate, Response) else pg.show("desk/home.html")


# --------------------------------------------------------------------------- verify


SEARCH_MODES = ("number", "address", "mobile", "name")


@dataclass
class SearchForm:
    mode: str = "number"
    number: str = ""
    address: str = ""
    mobile: str = ""
    name: str = ""
    gender: str = ""
    year_of_birth: str = ""
    year_tolerance: str = "2"
    district_lgd: str = ""
    offset: str = ""  # paging: the matches before this page
    # over-long input, shown on the form (web.forms); never searched for
    problem: ValidationFailed | None = None


def _search_form(
    mode: Text16 = "number",
    number: Annotated[str, Form(), Limit(24)] = "",
    address: Annotated[str, Form(), Limit(80)] = "",
    mobile: Annotated[str, Form(), Limit(16)] = "",
    name: Annotated[str, Form(), Limit(120)] = "",
    gender: Annotated[str, Form(max_length=2)] = "",
    year_of_birth: Annotated[str, Form(), Limit(16)] = "",
    year_tolerance: Annotated[str, Form(max_length=2)] = "2",
    district_lgd: Text16 = "",
    offset: Text16 = "",
) -> SearchForm:
    typed = {"number": number, "address": address, "mobile": mobile, "name": name}
    labels = {"number": "The ABHA Number", "address": "The ABHA address", "name": "The name"}
    return SearchForm(
        problem=too_long({**typed, "year_of_birth": year_of_birth}, labels),
        mode=mode.strip(),
        number=number.strip(),
        address=address.strip(),
        mobile=mobile.strip(),
        name=name.strip(),
        gender=gender.strip().upper(),
        year_of_birth=year_of_birth.strip(),
        year_tolerance=year_tolerance.strip(),
        district_lgd=district_lgd.strip(),
        offset=offset.strip(),
    )


def search_criteria(form: SearchForm) -> SearchCriteria:
    """The criteria of the one search the form's ``mode`` names; other boxes are ignored."""
    if form.problem is not None:
        raise form.problem
    if form.mode == "number":
        return SearchCriteria(number=form.number or None)
    if form.mode == "address":
        return SearchCriteria(address=form.address or None)
    if form.offset and not form.offset.isdigit():
        raise ValidationFailed("That page of results does not exist. Search again.")
    offset = int(form.offset or 0)
    if form.mode == "mobile":
        return SearchCriteria(mobile=form.mobile or None, offset=offset)
    if form.mode != "name":
        raise ValidationFailed("Choose how to search: ABHA number, address, mobile or name.")
    if form.year_of_birth and not re.fullmatch(r"\d{4}", form.year_of_birth):
        raise ValidationFailed("The year of birth has 4 digits, for example 1985.")
    return SearchCriteria(
        name=form.name or None,
        gender=form.gender if form.gender in {g for g, _ in GENDERS} else None,
        year_of_birth=int(form.year_of_birth) if form.year_of_birth else None,
        year_tolerance=int(form.year_tolerance) if form.year_tolerance.isdigit() else 2,
        district_lgd=int(form.district_lgd) if form.district_lgd.isdigit() else None,
        offset=offset,
    )


def _search_page(
    pg: Page,
    form: SearchForm,
    *,
    results: list[AbhaAccountSummary] | None = None,
    total: int = 0,
    offset: int = 0,
    hint: str | None = None,
    error: Problem = None,
) -> Response:
    return pg.show(
        "desk/search.html",
        error=error,
        form=form,
        results=results,
        total=total,
        offset=offset,
        page_size=MAX_RESULTS,
        hint=hint,
        genders=GENDERS,
        districts=pg.runtime.settings.profile.district_choices(),
        district_label=district_label(pg.runtime.settings.profile),
    )


def _finder(pg: Page, staff: Actor | None) -> Actor | Response:
    return desk_gate(pg, staff, ("abha.search",), what="search ABHA accounts", start="/desk/search")


@router.get("/desk/search", response_class=HTMLResponse, response_model=None)
def search_start(pg: PageDep, staff: OptionalStaff) -> Response:
    gate = _finder(pg, staff)
    return gate if isinstance(gate, Response) else _search_page(pg, SearchForm())


@posts.post("/desk/search", response_class=HTMLResponse, response_model=None)
def search_submit(
    pg: PageDep, staff: OptionalStaff, form: Annotated[SearchForm, Depends(_search_form)]
) -> Response:
    gate = _finder(pg, staff)
    if isinstance(gate, Response):
        return gate
    form.mode = form.mode if form.mode in SEARCH_MODES else "number"
    try:
        result = search_accounts(
            pg.session,
            pg.ctx(gate, Purpose.IDENTITY_VERIFICATION),
            criteria=search_criteria(form),
            suffix=pg.runtime.settings.abha_suffix,
            clock=pg.runtime.clock,
        )
    except DomainError as exc:
        return _search_page(pg, form, error=exc)
    items = [AbhaAccountSummary.from_account(h.account, h.score) for h in result.hits]
    hint = None if result.total else NO_MATCH_HINT[result.mode]
    return _search_page(
        pg, form, results=items, total=result.total, offset=result.offset, hint=hint
    )


def _account_gate(
    pg: Page,
    staff: Actor | None,
    permission: str,
    *,
    action: str,
    account_id: uuid.UUID,
    what: str,
) -> RequestContext | Response:
    """``desk_gate`` for one account's pages; a refused staff member is also audited (an
    attempt on someone's record is worth knowing)."""
    gate = desk_gate(pg, staff, (permission,), what=what, start=f"/desk/accounts/{account_id}")
    if isinstance(gate, Actor):
        return pg.ctx(gate, Purpose.IDENTITY_VERIFICATION)
    if staff is not None:
        ctx = pg.ctx(staff, Purpose.IDENTITY_VERIFICATION)
        try:
            with audited(
                pg.session,
                ctx,
                action=action,
                resource_type="abha_account",
                resource_id=str(account_id),
                clock=pg.runtime.clock,
            ):
                require(staff, permission)
        except PermissionDenied as exc:
            absorb(pg.session, exc)
    return gate


@router.get("/desk/accounts/{account_id}", response_class=HTMLResponse, response_model=None)
def account_page(account_id: uuid.UUID, pg: PageDep, staff: OptionalStaff) -> Response:
    """The full profile of one ABHA (an audited read), with its card."""
    ctx = _account_gate(
        pg,
        staff,
        "abha.verify",
        action="abha.account.read",
        account_id=account_id,
        what="open ABHA profiles",
    )
    if isinstance(ctx, Response):
        return ctx
    try:
        account = get_account(pg.session, ctx, public_id=account_id, clock=pg.runtime.clock)
    except DomainError as exc:
        return pg.error_page(exc)
    view = AbhaProfileRead.from_account(account, suffix=pg.runtime.settings.abha_suffix)
    base = f"/desk/accounts/{account_id}"
    return pg.show("desk/profile.html", p=view, gender=gender_label(view.gender), base=base)


def _staff_card(
    account_id: uuid.UUID, kind: Literal["pdf", "png"], pg: Page, staff: Actor | None
) -> Response:
    ctx = _account_gate(
        pg,
        staff,
        "abha.card",
        action="abha.card.download",
        account_id=account_id,
        what="print ABHA cards",
    )
    if isinstance(ctx, Response):
        return ctx
    try:
        account, data = card_service.card_file(
            pg.session,
            ctx,
            public_id=account_id,
            kind=kind,
            suffix=pg.runtime.settings.abha_suffix,
            clock=pg.runtime.clock,
        )
    except DomainError as exc:
        return pg.error_page(exc)
    return card_download(data, kind, account.abha_number)


@router.get("/desk/accounts/{account_id}/card.pdf", response_model=None)
def account_card_pdf(account_id: uuid.UUID, pg: PageDep, staff: OptionalStaff) -> Response:
    """The ABHA card as a card-sized PDF, to print at the desk."""
    return _staff_card(account_id, "pdf", pg, staff)


@router.get("/desk/accounts/{account_id}/card.png", response_model=None)
def account_card_png(account_id: uuid.UUID, pg: PageDep, staff: OptionalStaff) -> Response:
    return _staff_card(account_id, "png", pg, staff)


_DIFF_LABELS = {"hidn": "ABHA Number", "name": "name", "gender": "gender", "dob": "year of birth"}


def _scanner(pg: Page, staff: Actor | None) -> Actor | Response:
    return desk_gate(pg, staff, ("abha.verify",), what="scan ABHA cards", start="/desk/scan")


def scan_limit(runtime: Runtime) -> int:
    """The largest card photo that fits in a request (settings.max_body_bytes)."""
    return runtime.settings.max_body_bytes - _MULTIPART_ROOM


def _scan_page(
    pg: Page,
    *,
    qr_text: str = "",
    error: Problem = None,
    found: AbhaAccountSummary | None = None,
    differs: list[str] | None = None,
) -> Response:
    return pg.show(
        "desk/scan.html",
        error=error,
        qr_text=qr_text,
        found=found,
        differs=differs or [],
        max_mb=f"{scan_limit(pg.runtime) / 1e6:.1f}",
        max_bytes=scan_limit(pg.runtime),
        district_label=district_label(pg.runtime.settings.profile),
    )


@router.get("/desk/scan", response_class=HTMLResponse, response_model=None)
def scan_start(pg: PageDep, staff: OptionalStaff) -> Response:
    gate = _scanner(pg, staff)
    return gate if isinstance(gate, Response) else _scan_page(pg)


@posts.post("/desk/scan", response_class=HTMLResponse, response_model=None)
def scan_submit(
    pg: PageDep,
    staff: OptionalStaff,
    image: Annotated[UploadFile | None, File()] = None,
    qr_text: Annotated[str, Form(max_length=card_service.MAX_QR_TEXT)] = "",
) -> Response:
    """Find the ABHA on a card (VRFY_ABHA_501): a photo of its QR code, or the QR text."""
    gate = _scanner(pg, staff)
    if isinstance(gate, Response):
        return gate
    # A browser sends an empty file part when no file was chosen.
    limit = scan_limit(pg.runtime)
    data = image.file.read(limit + 1) if image is not None and image.filename else b""
    text = qr_text.strip()
    if data and text:
        return _scan_page(
            pg, qr_text=qr_text, error="Upload the photo or paste the QR text, not both."
        )
    if not data and not text:
        return _scan_page(
            pg, error="Choose a photo of the ABHA card's QR code, or paste the QR text."
        )
    if len(data) > limit:
        return _scan_page(
            pg,
            error=f"The photo is larger than {limit / 1e6:.1f} MB. Take it again at a lower "
            "resolution, or crop it to the QR code.",
        )
    suffix = pg.runtime.settings.abha_suffix
    try:
        account, payload = card_service.scan_card(
            pg.session,
            pg.ctx(gate, Purpose.IDENTITY_VERIFICATION),
            image=data or None,
            text=text or None,
            suffix=suffix,
            clock=pg.runtime.clock,
        )
    except DomainError as exc:
        return _scan_page(pg, qr_text=qr_text, error=exc)
    differs = card_service.card_differences(account, payload, suffix=suffix)
    return _scan_page(
        pg,
        qr_text=qr_text,
        found=AbhaAccountSummary.from_account(account),
        differs=[_DIFF_LABELS.get(k, k) for k in differs],
    )


# Last: include_router copies the routes that exist at the time.
router.include_router(posts)
