"""Staff administration: the JSON API (``/api/v1/staff``) and the pages
(``/admin/staff``), both within the administrator's scope (``accounts.staff_admin``).

The API takes the caller by ``Authorization: Bearer`` only; the pages by the session
cookie, with forms refused when posted from another site. Every route takes one
``AdminCall`` (``ApiCall`` or ``PageCall``): the request, its unit of work, the caller,
the clock and the facility directory the scope is checked in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from healthstack.accounts import staff_admin
from healthstack.accounts.models import StaffUser
from healthstack.accounts.permissions import allowed
from healthstack.accounts.schemas import (
    CredentialsRead,
    Ended,
    PasswordReset,
    StaffCreate,
    StaffPage,
    StaffRead,
    StaffUpdate,
)
from healthstack.accounts.staff_admin import FacilityDirectory, StaffChange, StaffFilter
from healthstack.kernel.audit import absorb
from healthstack.kernel.context import FACILITY_ROLES, Actor, ActorKind, RequestContext, Role
from healthstack.kernel.errors import DomainError, ValidationFailed
from healthstack.web.deps import (
    BearerStaff,
    DbSession,
    FacilityDirectoryDep,
    OptionalStaff,
    RuntimeDep,
)
from healthstack.web.login import StaffCall, credentials_of
from healthstack.web.pages import login_redirect, render, same_origin

router = APIRouter(tags=["staff"])
posts = APIRouter(include_in_schema=False, dependencies=[Depends(same_origin)])
IdPath = Annotated[str, Path(max_length=64)]
PAGE_SIZE = 50


@dataclass(frozen=True)
class AdminCall(StaffCall):
    """One staff-administration request: ``StaffCall``'s parts and the facility
    directory the administrator's scope is checked in."""

    directory: FacilityDirectory

    def read(self, user: StaffUser, *, detail: bool = False) -> StaffRead:
        """The account as the API shows it; ``detail`` adds its login pause, if any."""
        return StaffRead(
            id=str(user.public_id),
            username=user.username,
            full_name=user.full_name,
            role=Role(user.role),
            facility_id=user.facility_id,
            district_lgd=user.district_lgd,
            is_active=user.is_active,
            created_at=user.created_at,
            last_login_at=user.last_login_at,
            paused_until=(
                staff_admin.paused_until(self.session, user=user, now=self.clock.now())
                if detail
                else None
            ),
        )


def _api_call(
    request: Request,
    session: DbSession,
    runtime: RuntimeDep,
    directory: FacilityDirectoryDep,
    staff: BearerStaff,
) -> AdminCall:
    return AdminCall(request, session, staff, runtime.clock, directory)


def _page_call(
    request: Request,
    session: DbSession,
    runtime: RuntimeDep,
    directory: FacilityDirectoryDep,
    staff: OptionalStaff,
) -> AdminCall:
    return AdminCall(request, session, staff, runtime.clock, directory)


ApiCall = Annotated[AdminCall, Depends(_api_call)]
PageCall = Annotated[AdminCall, Depends(_page_call)]


# --------------------------------------------------------------------------- JSON API


@router.get("/api/v1/staff", response_model=StaffPage)
def list_staff_api(
    call: ApiCall,
    q: str | None = Query(default=None, max_length=64),
    role: Role | None = None,
    facility_id: str | None = Query(default=None, max_length=16),
    active: bool | None = None,
    limit: int = Query(default=PAGE_SIZE, ge=1, le=200),
    offset: int = Query(default=0, ge=0, le=1_000_000),
) -> StaffPage:
    """The staff accounts the caller administers (state admin: all; district officer:
    facility staff of the district; facility admin: of the facility)."""
    actor = call.actor("staff.manage")
    found = staff_admin.list_staff(
        call.session,
        actor=actor,
        directory=call.directory,
        where=StaffFilter(q=q, role=role, facility_id=facility_id, active=active),
        limit=limit,
        offset=offset,
    )
    return StaffPage(items=[call.read(u) for u in found.items], total=found.total)


@router.post("/api/v1/staff", response_model=StaffRead, status_code=201)
def create_staff_api(body: StaffCreate, call: ApiCall) -> StaffRead:
    """Create an account within the caller's scope, never with a wider role or scope
    than the caller's own; a facility outside the scope (or not in HFR) is 404."""
    actor = call.actor("staff.create")
    user = staff_admin.create_account(
        call.session,
        call.context(actor),
        directory=call.directory,
        clock=call.clock,
        username=body.username,
        full_name=body.full_name,
        role=body.role,
        password=body.password,
        facility_id=body.facility_id,
        district_lgd=body.district_lgd,
    )
    return call.read(user)


@router.get("/api/v1/staff/{staff_id}", response_model=StaffRead)
def get_staff_api(staff_id: IdPath, call: ApiCall) -> StaffRead:
    actor = call.actor("staff.manage")
    user = staff_admin.get_account(
        call.session, actor=actor, staff_id=staff_id, directory=call.directory
    )
    return call.read(user, detail=True)


@router.patch("/api/v1/staff/{staff_id}", response_model=StaffRead)
def update_staff_api(staff_id: IdPath, body: StaffUpdate, call: ApiCall) -> StaffRead:
    """Change the name, role or scope (the same rules as creating)."""
    actor = call.actor("staff.manage")
    sent = body.model_fields_set
    user = staff_admin.update_account(
        call.session,
        call.context(actor),
        directory=call.directory,
        clock=call.clock,
        staff_id=staff_id,
        change=StaffChange(
            full_name=body.full_name,
            role=body.role,
            facility_sent="facility_id" in sent,
            facility_id=body.facility_id,
            district_sent="district_lgd" in sent,
            district_lgd=body.district_lgd,
        ),
    )
    return call.read(user, detail=True)


def _set_active(call: AdminCall, staff_id: str, active: bool) -> StaffRead:
    actor = call.actor("staff.manage")
    user = staff_admin.set_active(
        call.session,
        call.context(actor),
        directory=call.directory,
        clock=call.clock,
        staff_id=staff_id,
        active=active,
    )
    return call.read(user, detail=True)


@router.post("/api/v1/staff/{staff_id}/deactivate", response_model=StaffRead)
def deactivate_staff_api(staff_id: IdPath, call: ApiCall) -> StaffRead:
    """Deactivate the account: it cannot log in, and its sessions and tokens end now."""
    return _set_active(call, staff_id, False)


@router.post("/api/v1/staff/{staff_id}/reactivate", response_model=StaffRead)
def reactivate_staff_api(staff_id: IdPath, call: ApiCall) -> StaffRead:
    return _set_active(call, staff_id, True)


@router.post("/api/v1/staff/{staff_id}/password", response_model=StaffRead)
def reset_password_api(staff_id: IdPath, body: PasswordReset, call: ApiCall) -> StaffRead:
    """Set a new password (tell it to the person); every session and token ends."""
    actor = call.actor("staff.manage")
    user = staff_admin.reset_password(
        call.session,
        call.context(actor),
        directory=call.directory,
        clock=call.clock,
        staff_id=staff_id,
        password=body.password,
    )
    return call.read(user, detail=True)


@router.get("/api/v1/staff/{staff_id}/credentials", response_model=CredentialsRead)
def staff_credentials_api(staff_id: IdPath, call: ApiCall) -> CredentialsRead:
    """The account's live browser sessions and API tokens."""
    actor = call.actor("staff.manage")
    user = staff_admin.get_account(
        call.session, actor=actor, staff_id=staff_id, directory=call.directory
    )
    return credentials_of(call.session, user=user, now=call.clock.now(), cred=None)


@router.post("/api/v1/staff/{staff_id}/sessions/{session_id}/revoke", response_model=Ended)
def revoke_staff_session_api(staff_id: IdPath, session_id: IdPath, call: ApiCall) -> Ended:
    actor = call.actor("staff.manage")
    staff_admin.revoke_session(
        call.session,
        call.context(actor),
        directory=call.directory,
        clock=call.clock,
        staff_id=staff_id,
        session_id=session_id,
    )
    return Ended(sessions=1)


@router.post("/api/v1/staff/{staff_id}/tokens/{token_id}/revoke", response_model=Ended)
def revoke_staff_token_api(staff_id: IdPath, token_id: IdPath, call: ApiCall) -> Ended:
    actor = call.actor("staff.manage")
    ended = staff_admin.revoke_token(
        call.session,
        call.context(actor),
        directory=call.directory,
        clock=call.clock,
        staff_id=staff_id,
        token_id=token_id,
    )
    return Ended(tokens=ended)


@router.post("/api/v1/staff/{staff_id}/revoke-all", response_model=Ended)
def revoke_all_api(staff_id: IdPath, call: ApiCall) -> Ended:
    """End every session and revoke every token of the account (a lost phone, a
    suspected leak); the password stays."""
    actor = call.actor("staff.manage")
    sessions, tokens = staff_admin.sign_out_everywhere(
        call.session,
        call.context(actor),
        directory=call.directory,
        clock=call.clock,
        staff_id=staff_id,
    )
    return Ended(sessions=sessions, tokens=tokens)


# --------------------------------------------------------------------------- pages


def grantable_roles(actor: Actor) -> list[Role]:
    if actor.kind is ActorKind.SYSTEM or actor.role is Role.STATE_ADMIN:
        return list(Role)
    return [r for r in Role if r in FACILITY_ROLES]


def role_label(role: str | Role) -> str:
    return Role(role).value.replace("_", " ")


@dataclass
class StaffForm:
    username: str = ""
    full_name: str = ""
    role: str = ""
    facility_id: str = ""
    district_lgd: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    def district(self) -> int | None:
        raw = self.district_lgd.strip()
        if not raw:
            return None
        if not raw.isdigit() or not 1 <= int(raw) <= 99999:
            raise ValidationFailed("Choose the district from the list.", field="district_lgd")
        return int(raw)

    def role_value(self) -> Role:
        try:
            return Role(self.role)
        except ValueError:
            raise ValidationFailed("Choose a role from the list.", field="role") from None


def _common(call: AdminCall, actor: Actor) -> dict[str, Any]:
    districts = list(call.directory.districts())
    names = dict(districts)
    return {
        "staff": actor,
        "roles": grantable_roles(actor),
        "role_label": role_label,
        "districts": districts,
        "district_label": lambda lgd: names.get(lgd, str(lgd)) if lgd is not None else "",
        "can_create": allowed(actor, "staff.create"),
        "now": call.clock.now(),
    }


def _to_login(request: Request) -> RedirectResponse:
    return login_redirect(request.url.path)


@router.get("/admin/staff", response_class=HTMLResponse, response_model=None)
def staff_list_page(
    call: PageCall,
    q: str = Query(default="", max_length=64),
    role: str = Query(default="", max_length=32),
    facility_id: str = Query(default="", max_length=16),
    active: str = Query(default="", pattern="^(|yes|no)$"),
    page: int = Query(default=1, ge=1, le=10_000),
) -> Response:
    if call.staff is None:
        return _to_login(call.request)
    actor = call.actor("staff.manage")
    role_filter = Role(role) if role in {r.value for r in Role} else None
    found = staff_admin.list_staff(
        call.session,
        actor=actor,
        directory=call.directory,
        where=StaffFilter(
            q=q or None,
            role=role_filter,
            facility_id=facility_id or None,
            active={"yes": True, "no": False}.get(active),
        ),
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    filters = {"q": q, "role": role, "facility_id": facility_id, "active": active}
    pages = max(1, -(-found.total // PAGE_SIZE))
    return render(
        call.request,
        "staff/list.html",
        items=found.items,
        total=found.total,
        page=page,
        pages=pages,
        filters=filters,
        link=lambda n: "/admin/staff?" + urlencode({**filters, "page": n}),
        **_common(call, actor),
    )


def _new_page(call: AdminCall, actor: Actor, form: StaffForm, status: int = 200) -> HTMLResponse:
    if not form.facility_id and actor.role is Role.FACILITY_ADMIN:
        form.facility_id = actor.facility_id or ""
    return render(
        call.request,
        "staff/new.html",
        status_code=status,
        form=form,
        **_common(call, actor),
    )


@router.get("/admin/staff/new", response_class=HTMLResponse, response_model=None)
def staff_new_page(call: PageCall) -> Response:
    if call.staff is None:
        return _to_login(call.request)
    return _new_page(call, call.actor("staff.create"), StaffForm())


@posts.post("/admin/staff/new", response_model=None)
def staff_create_submit(
    call: PageCall,
    username: Annotated[str, Form(max_length=64)] = "",
    full_name: Annotated[str, Form(max_length=128)] = "",
    role: Annotated[str, Form(max_length=32)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    facility_id: Annotated[str, Form(max_length=16)] = "",
    district_lgd: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    if call.staff is None:
        return _to_login(call.request)
    actor = call.actor("staff.create")
    form = StaffForm(username, full_name, role, facility_id, district_lgd)
    try:
        user = staff_admin.create_account(
            call.session,
            call.context(actor),
            directory=call.directory,
            clock=call.clock,
            username=username,
            full_name=full_name,
            role=form.role_value(),
            password=password,
            facility_id=facility_id.strip() or None,
            district_lgd=form.district(),
        )
    except DomainError as exc:
        absorb(call.session, exc)
        form.errors[exc.field or "form"] = exc.message
        return _new_page(call, actor, form, exc.status_hint)
    return RedirectResponse(f"/admin/staff/{user.public_id}?done=created", status_code=303)


def _detail_page(
    call: AdminCall,
    actor: Actor,
    staff_id: str,
    *,
    status: int = 200,
    error: str | None = None,
    error_field: str | None = None,
    done: str = "",
) -> HTMLResponse:
    user = staff_admin.get_account(
        call.session, actor=actor, staff_id=staff_id, directory=call.directory
    )
    return render(
        call.request,
        "staff/detail.html",
        status_code=status,
        user=user,
        info=call.read(user, detail=True),
        creds=call.credentials(user),
        is_self=actor.id == str(user.public_id),
        error=error,
        error_field=error_field,
        done=done,
        **_common(call, actor),
    )


@router.get("/admin/staff/{staff_id}", response_class=HTMLResponse, response_model=None)
def staff_detail_page(
    staff_id: IdPath, call: PageCall, done: str = Query(default="", max_length=32)
) -> Response:
    if call.staff is None:
        return _to_login(call.request)
    return _detail_page(call, call.actor("staff.manage"), staff_id, done=done)


def _detail_action(
    call: AdminCall, staff_id: str, done: str, run: Callable[[RequestContext], object]
) -> Response:
    """A form on an account's page: ``run`` with the administrator's context, then back
    to the page saying ``done``, or the page again with the refusal."""
    if call.staff is None:
        return _to_login(call.request)
    actor = call.actor("staff.manage")
    try:
        run(call.context(actor))
    except DomainError as exc:
        if exc.code == staff_admin.HIDDEN_ACCOUNT_CODE:
            raise  # the error page; the unit of work keeps the failure's audit row
        absorb(call.session, exc)
        return _detail_page(
            call,
            actor,
            staff_id,
            status=exc.status_hint,
            error=exc.message,
            error_field=exc.field,
        )
    return RedirectResponse(f"/admin/staff/{staff_id}?done={done}", status_code=303)


@posts.post("/admin/staff/{staff_id}/edit", response_model=None)
def staff_edit_submit(
    staff_id: IdPath,
    call: PageCall,
    full_name: Annotated[str, Form(max_length=128)] = "",
    role: Annotated[str, Form(max_length=32)] = "",
    facility_id: Annotated[str, Form(max_length=16)] = "",
    district_lgd: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    form = StaffForm("", full_name, role, facility_id, district_lgd)

    def run(ctx: RequestContext) -> object:
        return staff_admin.update_account(
            call.session,
            ctx,
            directory=call.directory,
            clock=call.clock,
            staff_id=staff_id,
            change=StaffChange(
                full_name=full_name,
                role=form.role_value(),
                facility_sent=True,
                facility_id=facility_id.strip() or None,
                district_sent=True,
                district_lgd=form.district(),
            ),
        )

    return _detail_action(call, staff_id, "updated", run)


def _set_active_page(call: AdminCall, staff_id: str, active: bool, done: str) -> Response:
    def run(ctx: RequestContext) -> object:
        return staff_admin.set_active(
            call.session,
            ctx,
            directory=call.directory,
            clock=call.clock,
            staff_id=staff_id,
            active=active,
        )

    return _detail_action(call, staff_id, done, run)


@posts.post("/admin/staff/{staff_id}/deactivate", response_model=None)
def staff_deactivate_submit(staff_id: IdPath, call: PageCall) -> Response:
    return _set_active_page(call, staff_id, False, "deactivated")


@posts.post("/admin/staff/{staff_id}/reactivate", response_model=None)
def staff_reactivate_submit(staff_id: IdPath, call: PageCall) -> Response:
    return _set_active_page(call, staff_id, True, "reactivated")


@posts.post("/admin/staff/{staff_id}/password", response_model=None)
def staff_password_submit(
    staff_id: IdPath, call: PageCall, password: Annotated[str, Form(max_length=256)] = ""
) -> Response:
    def run(ctx: RequestContext) -> object:
        return staff_admin.reset_password(
            call.session,
            ctx,
            directory=call.directory,
            clock=call.clock,
            staff_id=staff_id,
            password=password,
        )

    return _detail_action(call, staff_id, "password-reset", run)


@posts.post("/admin/staff/{staff_id}/revoke-all", response_model=None)
def staff_revoke_all_submit(staff_id: IdPath, call: PageCall) -> Response:
    def run(ctx: RequestContext) -> object:
        return staff_admin.sign_out_everywhere(
            call.session, ctx, directory=call.directory, clock=call.clock, staff_id=staff_id
        )

    return _detail_action(call, staff_id, "signed-out", run)


@posts.post("/admin/staff/{staff_id}/sessions/{session_id}/revoke", response_model=None)
def staff_session_revoke_submit(staff_id: IdPath, session_id: IdPath, call: PageCall) -> Response:
    def run(ctx: RequestContext) -> object:
        staff_admin.revoke_session(
            call.session,
            ctx,
            directory=call.directory,
            clock=call.clock,
            staff_id=staff_id,
            session_id=session_id,
        )
        return None

    return _detail_action(call, staff_id, "session-ended", run)


@posts.post("/admin/staff/{staff_id}/tokens/{token_id}/revoke", response_model=None)
def staff_token_revoke_submit(staff_id: IdPath, token_id: IdPath, call: PageCall) -> Response:
    def run(ctx: RequestContext) -> object:
        return staff_admin.revoke_token(
            call.session,
            ctx,
            directory=call.directory,
            clock=call.clock,
            staff_id=staff_id,
            token_id=token_id,
        )

    return _detail_action(call, staff_id, "token-revoked", run)


router.include_router(posts)
