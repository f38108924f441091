"""Staff administration: the JSON API (``/api/v1/staff``) and the pages
(``/admin/staff``), both within the administrator's scope (``accounts.staff_admin``).

The API takes the caller by ``Authorization: Bearer`` only; the pages by the session
cookie, with forms refused when posted from another site.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from healthstack.accounts import staff_admin
from healthstack.accounts.models import StaffUser
from healthstack.accounts.permissions import allowed, require
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
from healthstack.kernel.context import FACILITY_ROLES, Actor, ActorKind, Role
from healthstack.kernel.errors import DomainError, ValidationFailed
from healthstack.runtime import Runtime
from healthstack.web.deps import (
    BearerStaff,
    DbSession,
    FacilityDirectoryDep,
    OptionalStaff,
    RuntimeDep,
    context_for,
    current_credential,
)
from healthstack.web.login import credentials_of
from healthstack.web.pages import login_redirect, render, same_origin

router = APIRouter(tags=["staff"])
posts = APIRouter(include_in_schema=False, dependencies=[Depends(same_origin)])
IdPath = Annotated[str, Path(max_length=64)]
PAGE_SIZE = 50


def staff_read(
    session: Session, user: StaffUser, runtime: Runtime, *, detail: bool = False
) -> StaffRead:
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
            staff_admin.paused_until(session, user, now=runtime.clock.now()) if detail else None
        ),
    )


# --------------------------------------------------------------------------- JSON API


@router.get("/api/v1/staff", response_model=StaffPage)
def list_staff_api(
    session: DbSession,
    runtime: RuntimeDep,
    directory: FacilityDirectoryDep,
    staff: BearerStaff,
    q: str | None = Query(default=None, max_length=64),
    role: Role | None = None,
    facility_id: str | None = Query(default=None, max_length=16),
    active: bool | None = None,
    limit: int = Query(default=PAGE_SIZE, ge=1, le=200),
    offset: int = Query(default=0, ge=0, le=1_000_000),
) -> StaffPage:
    """The staff accounts the caller administers (state admin: all; district officer:
    facility staff of the district; facility admin: of the facility)."""
    actor = require(staff, "staff.manage")
    found = staff_admin.list_staff(
        session,
        actor=actor,
        directory=directory,
        where=StaffFilter(q=q, role=role, facility_id=facility_id, active=active),
        limit=limit,
        offset=offset,
    )
    return StaffPage(
        items=[staff_read(session, u, runtime) for u in found.items], total=found.total
    )


@router.post("/api/v1/staff", response_model=StaffRead, status_code=201)
def create_staff_api(
    request: Request,
    body: StaffCreate,
    session: DbSession,
    runtime: RuntimeDep,
    directory: FacilityDirectoryDep,
    staff: BearerStaff,
) -> StaffRead:
    """Create an account within the caller's scope, never with a wider role or scope
    than the caller's own; a facility outside the scope (or not in HFR) is 404."""
    actor = require(staff, "staff.create")
    user = staff_admin.create_account(
        session,
        ctx=context_for(request, actor),
        directory=directory,
        clock=runtime.clock,
        username=body.username,
        full_name=body.full_name,
        role=body.role,
        password=body.password,
        facility_id=body.facility_id,
        district_lgd=body.district_lgd,
    )
    return staff_read(session, user, runtime)


@router.get("/api/v1/staff/{staff_id}", response_model=StaffRead)
def get_staff_api(
    staff_id: IdPath,
    session: DbSession,
    runtime: RuntimeDep,
    directory: FacilityDirectoryDep,
    staff: BearerStaff,
) -> StaffRead:
    actor = require(staff, "staff.manage")
    user = staff_admin.get_account(session, actor=actor, staff_id=staff_id, directory=directory)
    return staff_read(session, user, runtime, detail=True)


@router.patch("/api/v1/staff/{staff_id}", response_model=StaffRead)
def update_staff_api(
    request: Request,
    staff_id: IdPath,
    body: StaffUpdate,
    session: DbSession,
    runtime: RuntimeDep,
    directory: FacilityDirectoryDep,
    staff: BearerStaff,
) -> StaffRead:
    """Change the name, role or scope (the same rules as creating)."""
    actor = require(staff, "staff.manage")
    sent = body.model_fields_set
    user = staff_admin.update_account(
        session,
        ctx=context_for(request, actor),
        directory=directory,
        clock=runtime.clock,
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
    return staff_read(session, user, runtime, detail=True)


def _set_active(
    request: Request,
    staff_id: str,
    session: Session,
    runtime: Runtime,
    directory: FacilityDirectory,
    staff: Actor | None,
    active: bool,
) -> StaffRead:
    actor = require(staff, "staff.manage")
    user = staff_admin.set_active(
        session,
        ctx=context_for(request, actor),
        directory=directory,
        clock=runtime.clock,
        staff_id=staff_id,
        active=active,
    )
    return staff_read(session, user, runtime, detail=True)


@router.post("/api/v1/staff/{staff_id}/deactivate", response_model=StaffRead)
def deactivate_staff_api(
    request: Request,
    staff_id: IdPath,
    session: DbSession,
    runtime: RuntimeDep,
    directory: FacilityDirectoryDep,
    staff: BearerStaff,
) -> StaffRead:
    """Deactivate the account: it cannot log in, and its sessions and tokens end now."""
    return _set_active(request, staff_id, session, runtime, directory, staff, False)


@router.post("/api/v1/staff/{staff_id}/reactivate", response_model=StaffRead)
def reactivate_staff_api(
    request: Request,
    staff_id: IdPath,
    session: DbSession,
    runtime: RuntimeDep,
    directory: FacilityDirectoryDep,
    staff: BearerStaff,
) -> StaffRead:
    return _set_active(request, staff_id, session, runtime, directory, staff, True)


@router.post("/api/v1/staff/{staff_id}/password", response_model=StaffRead)
def reset_password_api(
    request: Request,
    staff_id: IdPath,
    body: PasswordReset,
    session: DbSession,
    runtime: RuntimeDep,
    directory: FacilityDirectoryDep,
    staff: BearerStaff,
) -> StaffRead:
    """Set a new password (tell it to the person); every session and token ends."""
    actor = require(staff, "staff.manage")
    user = staff_admin.reset_password(
        session,
        ctx=context_for(request, actor),
        directory=directory,
        clock=runtime.clock,
        staff_id=staff_id,
        password=body.password,
    )
    return staff_read(session, user, runtime, detail=True)


@router.get("/api/v1/staff/{staff_id}/credentials", response_model=CredentialsRead)
def staff_credentials_api(
    staff_id: IdPath,
    session: DbSession,
    runtime: RuntimeDep,
    directory: FacilityDirectoryDep,
    staff: BearerStaff,
) -> CredentialsRead:
    """The account's live browser sessions and API tokens."""
    actor = require(staff, "staff.manage")
    user = staff_admin.get_account(session, actor=actor, staff_id=staff_id, directory=directory)
    return credentials_of(session, user, runtime, None)


@router.post("/api/v1/staff/{staff_id}/sessions/{session_id}/revoke", response_model=Ended)
def revoke_staff_session_api(
    request: Request,
    staff_id: IdPath,
    session_id: IdPath,
    session: DbSession,
    runtime: RuntimeDep,
    directory: FacilityDirectoryDep,
    staff: BearerStaff,
) -> Ended:
    actor = require(staff, "staff.manage")
    staff_admin.revoke_session(
        session,
        ctx=context_for(request, actor),
        directory=directory,
        clock=runtime.clock,
        staff_id=staff_id,
        session_id=session_id,
    )
    return Ended(sessions=1)


@router.post("/api/v1/staff/{staff_id}/tokens/{token_id}/revoke", response_model=Ended)
def revoke_staff_token_api(
    request: Request,
    staff_id: IdPath,
    token_id: IdPath,
    session: DbSession,
    runtime: RuntimeDep,
    directory: FacilityDirectoryDep,
    staff: BearerStaff,
) -> Ended:
    actor = require(staff, "staff.manage")
    ended = staff_admin.revoke_token(
        session,
        ctx=context_for(request, actor),
        directory=directory,
        clock=runtime.clock,
        staff_id=staff_id,
        token_id=token_id,
    )
    return Ended(tokens=ended)


@router.post("/api/v1/staff/{staff_id}/revoke-all", response_model=Ended)
def revoke_all_api(
    request: Request,
    staff_id: IdPath,
    session: DbSession,
    runtime: RuntimeDep,
    directory: FacilityDirectoryDep,
    staff: BearerStaff,
) -> Ended:
    """End every session and revoke every token of the account (a lost phone, a
    suspected leak); the password stays."""
    actor = require(staff, "staff.manage")
    sessions, tokens = staff_admin.sign_out_everywhere(
        session,
        ctx=context_for(request, actor),
        directory=directory,
        clock=runtime.clock,
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


def _common(
    session: Session, actor: Actor, directory: FacilityDirectory, runtime: Runtime
) -> dict[str, Any]:
    districts = list(directory.districts())
    names = dict(districts)
    return {
        "staff": actor,
        "roles": grantable_roles(actor),
        "role_label": role_label,
        "districts": districts,
        "district_label": lambda lgd: names.get(lgd, str(lgd)) if lgd is not None else "",
        "can_create": allowed(actor, "staff.create"),
        "now": runtime.clock.now(),
    }


def _to_login(request: Request) -> RedirectResponse:
    return login_redirect(request.url.path)


@router.get("/admin/staff", response_class=HTMLResponse, response_model=None)
def staff_list_page(
    request: Request,
    session: DbSession,
    runtime: RuntimeDep,
    directory: FacilityDirectoryDep,
    staff: OptionalStaff,
    q: str = Query(default="", max_length=64),
    role: str = Query(default="", max_length=32),
    facility_id: str = Query(default="", max_length=16),
    active: str = Query(default="", pattern="^(|yes|no)$"),
    page: int = Query(default=1, ge=1, le=10_000),
) -> Response:
    if staff is None:
        return _to_login(request)
    actor = require(staff, "staff.manage")
    role_filter = Role(role) if role in {r.value for r in Role} else None
    found = staff_admin.list_staff(
        session,
        actor=actor,
        directory=directory,
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
        request,
        "staff/list.html",
        items=found.items,
        total=found.total,
        page=page,
        pages=pages,
        filters=filters,
        link=lambda n: "/admin/staff?" + urlencode({**filters, "page": n}),
        **_common(session, actor, directory, runtime),
    )


def _new_page(
    request: Request,
    session: Session,
    runtime: Runtime,
    directory: FacilityDirectory,
    actor: Actor,
    form: StaffForm,
    status: int = 200,
) -> HTMLResponse:
    if not form.facility_id and actor.role is Role.FACILITY_ADMIN:
        form.facility_id = actor.facility_id or ""
    return render(
        request,
        "staff/new.html",
        status_code=status,
        form=form,
        **_common(session, actor, directory, runtime),
    )


@router.get("/admin/staff/new", response_class=HTMLResponse, response_model=None)
def staff_new_page(
    request: Request,
    session: DbSession,
    runtime: RuntimeDep,
    directory: FacilityDirectoryDep,
    staff: OptionalStaff,
) -> Response:
    if staff is None:
        return _to_login(request)
    actor = require(staff, "staff.create")
    return _new_page(request, session, runtime, directory, actor, StaffForm())


@posts.post("/admin/staff/new", response_model=None)
def staff_create_submit(
    request: Request,
    session: DbSession,
    runtime: RuntimeDep,
    directory: FacilityDirectoryDep,
    staff: OptionalStaff,
    username: Annotated[str, Form(max_length=64)] = "",
    full_name: Annotated[str, Form(max_length=128)] = "",
    role: Annotated[str, Form(max_length=32)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    facility_id: Annotated[str, Form(max_length=16)] = "",
    district_lgd: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    if staff is None:
        return _to_login(request)
    actor = require(staff, "staff.create")
    form = StaffForm(username, full_name, role, facility_id, district_lgd)
    try:
        user = staff_admin.create_account(
            session,
            ctx=context_for(request, actor),
            directory=directory,
            clock=runtime.clock,
            username=username,
            full_name=full_name,
            role=form.role_value(),
            password=password,
            facility_id=facility_id.strip() or None,
            district_lgd=form.district(),
        )
    except DomainError as exc:
        absorb(session, exc)
        form.errors[exc.field or "form"] = exc.message
        return _new_page(request, session, runtime, directory, actor, form, exc.status_hint)
    return RedirectResponse(f"/admin/staff/{user.public_id}?done=created", status_code=303)


def _detail_page(
    request: Request,
    session: Session,
    runtime: Runtime,
    directory: FacilityDirectory,
    actor: Actor,
    staff_id: str,
    *,
    status: int = 200,
    error: str | None = None,
    error_field: str | None = None,
    done: str = "",
) -> HTMLResponse:
    user = staff_admin.get_account(session, actor=actor, staff_id=staff_id, directory=directory)
    return render(
        request,
        "staff/detail.html",
        status_code=status,
        user=user,
        info=staff_read(session, user, runtime, detail=True),
        creds=credentials_of(session, user, runtime, current_credential(request)),
        is_self=actor.id == str(user.public_id),
        error=error,
        error_field=error_field,
        done=done,
        **_common(session, actor, directory, runtime),
    )


@router.get("/admin/staff/{staff_id}", response_class=HTMLResponse, response_model=None)
def staff_detail_page(
    request: Request,
    staff_id: IdPath,
    session: DbSession,
    runtime: RuntimeDep,
    directory: FacilityDirectoryDep,
    staff: OptionalStaff,
    done: str = Query(default="", max_length=32),
) -> Response:
    if staff is None:
        return _to_login(request)
    actor = require(staff, "staff.manage")
    return _detail_page(request, session, runtime, directory, actor, staff_id, done=done)


def _detail_action(
    request: Request,
    session: Session,
    runtime: Runtime,
    directory: FacilityDirectory,
    staff: Actor | None,
    staff_id: str,
    done: str,
    run: Callable[[Actor], object],
) -> Response:
    if staff is None:
        return _to_login(request)
    actor = require(staff, "staff.manage")
    try:
        run(actor)
    except DomainError as exc:
        if exc.code == staff_admin.HIDDEN_ACCOUNT_CODE:
            raise  # the error page; the unit of work keeps the failure's audit row
        absorb(session, exc)
        return _detail_page(
            request,
            session,
            runtime,
            directory,
            actor,
            staff_id,
            status=exc.status_hint,
            error=exc.message,
            error_field=exc.field,
        )
    return RedirectResponse(f"/admin/staff/{staff_id}?done={done}", status_code=303)


@posts.post("/admin/staff/{staff_id}/edit", response_model=None)
def staff_edit_submit(
    request: Request,
    staff_id: IdPath,
    session: DbSession,
    runtime: RuntimeDep,
    directory: FacilityDirectoryDep,
    staff: OptionalStaff,
    full_name: Annotated[str, Form(max_length=128)] = "",
    role: Annotated[str, Form(max_length=32)] = "",
    facility_id: Annotated[str, Form(max_length=16)] = "",
    district_lgd: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    form = StaffForm("", full_name, role, facility_id, district_lgd)

    def run(actor: Actor) -> object:
        return staff_admin.update_account(
            session,
            ctx=context_for(request, actor),
            directory=directory,
            clock=runtime.clock,
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

    return _detail_action(request, session, runtime, directory, staff, staff_id, "updated", run)


@posts.post("/admin/staff/{staff_id}/deactivate", response_model=None)
def staff_deactivate_submit(
    request: Request,
    staff_id: IdPath,
    session: DbSession,
    runtime: RuntimeDep,
    directory: FacilityDirectoryDep,
    staff: OptionalStaff,
) -> Response:
    def run(actor: Actor) -> object:
        return staff_admin.set_active(
            session,
            ctx=context_for(request, actor),
            directory=directory,
            clock=runtime.clock,
            staff_id=staff_id,
            active=False,
        )

    return _detail_action(request, session, runtime, directory, staff, staff_id, "deactivated", run)


@posts.post("/admin/staff/{staff_id}/reactivate", response_model=None)
def staff_reactivate_submit(
    request: Request,
    staff_id: IdPath,
    session: DbSession,
    runtime: RuntimeDep,
    directory: FacilityDirectoryDep,
    staff: OptionalStaff,
) -> Response:
    def run(actor: Actor) -> object:
        return staff_admin.set_active(
            session,
            ctx=context_for(request, actor),
            directory=directory,
            clock=runtime.clock,
            staff_id=staff_id,
            active=True,
        )

    return _detail_action(request, session, runtime, directory, staff, staff_id, "reactivated", run)


@posts.post("/admin/staff/{staff_id}/password", response_model=None)
def staff_password_submit(
    request: Request,
    staff_id: IdPath,
    session: DbSession,
    runtime: RuntimeDep,
    directory: FacilityDirectoryDep,
    staff: OptionalStaff,
    password: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    def run(actor: Actor) -> object:
        return staff_admin.reset_password(
            session,
            ctx=context_for(request, actor),
            directory=directory,
            clock=runtime.clock,
            staff_id=staff_id,
            password=password,
        )

    return _detail_action(
        request, session, runtime, directory, staff, staff_id, "password-reset", run
    )


@posts.post("/admin/staff/{staff_id}/revoke-all", response_model=None)
def staff_revoke_all_submit(
    request: Request,
    staff_id: IdPath,
    session: DbSession,
    runtime: RuntimeDep,
    directory: FacilityDirectoryDep,
    staff: OptionalStaff,
) -> Response:
    def run(actor: Actor) -> object:
        return staff_admin.sign_out_everywhere(
            session,
            ctx=context_for(request, actor),
            directory=directory,
            clock=runtime.clock,
            staff_id=staff_id,
        )

    return _detail_action(request, session, runtime, directory, staff, staff_id, "signed-out", run)


@posts.post("/admin/staff/{staff_id}/sessions/{session_id}/revoke", response_model=None)
def staff_session_revoke_submit(
    request: Request,
    staff_id: IdPath,
    session_id: IdPath,
    session: DbSession,
    runtime: RuntimeDep,
    directory: FacilityDirectoryDep,
    staff: OptionalStaff,
) -> Response:
    def run(actor: Actor) -> object:
        staff_admin.revoke_session(
            session,
            ctx=context_for(request, actor),
            directory=directory,
            clock=runtime.clock,
            staff_id=staff_id,
            session_id=session_id,
        )
        return None

    return _detail_action(
        request, session, runtime, directory, staff, staff_id, "session-ended", run
    )


@posts.post("/admin/staff/{staff_id}/tokens/{token_id}/revoke", response_model=None)
def staff_token_revoke_submit(
    request: Request,
    staff_id: IdPath,
    token_id: IdPath,
    session: DbSession,
    runtime: RuntimeDep,
    directory: FacilityDirectoryDep,
    staff: OptionalStaff,
) -> Response:
    def run(actor: Actor) -> object:
        return staff_admin.revoke_token(
            session,
            ctx=context_for(request, actor),
            directory=directory,
            clock=runtime.clock,
            staff_id=staff_id,
            token_id=token_id,
        )

    return _detail_action(
        request, session, runtime, directory, staff, staff_id, "token-revoked", run
    )


router.include_router(posts)
