"""Administering other staff accounts, within the administrator's scope.

Scope (issue 8, item 1):

- the state admin administers every account and alone creates (or gives) the state
  admin, district officer and registry verifier roles;
- a district officer administers facility-role accounts (facility admin, desk, doctor,
  nurse, lab, radiology) at facilities whose HFR district is theirs;
- a facility admin administers facility-role accounts at their own facility.

Nobody grants a role or scope wider than their own, and nobody changes, deactivates or
resets their own account here (another administrator does). An account outside the
administrator's scope answers 404 as if it did not exist, and so does a facility
outside it: a district officer or facility admin naming a facility that HFR does not
hold is told to register it first. The state admin may place staff at an HFR id that is
not registered yet: the facility admin who will register it needs an account first.

The facility's district comes from the facility registry through ``FacilityDirectory``
(wired at the composition root, ``web/app.py``): accounts sits below the registries and
does not import them.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import ColumnElement, false, func, or_, select, true
from sqlalchemy.orm import Session

from healthstack.accounts import credentials, throttle
from healthstack.accounts.credentials import EndReason
from healthstack.accounts.models import StaffUser
from healthstack.accounts.passwords import hash_password
from healthstack.accounts.permissions import require
from healthstack.accounts.service import (
    check_password_rules,
    check_role_fields,
    check_text,
    create_staff,
    get_session_of,
    get_token_of,
)
from healthstack.kernel.audit import audited
from healthstack.kernel.clock import Clock
from healthstack.kernel.context import FACILITY_ROLES, Actor, ActorKind, RequestContext, Role
from healthstack.kernel.errors import NotFound, PermissionDenied, ValidationFailed


class FacilityDirectory(Protocol):
    """What staff administration needs to know of the facility registry (HFR)."""

    def district_of(self, session: Session, hfr_id: str) -> int | None:
        """The LGD code of the facility's district; None when HFR does not hold it."""
        ...

    def facilities_in(self, session: Session, district_lgd: int) -> Collection[str]:
        """The HFR ids of the district's facilities."""
        ...

    def districts(self) -> Sequence[tuple[int, str]]:
        """The state's districts (LGD code, name), for choosing a district officer's."""
        ...


STATE_GRANTED_ROLES = frozenset({Role.STATE_ADMIN, Role.DISTRICT_OFFICER, Role.REGISTRY_VERIFIER})
HIDDEN_ACCOUNT_CODE = "HS-1430"
_HIDDEN_ACCOUNT = (
    "No staff account with this id, or it is outside what your account administers. "
    "Check the link or the list of staff."
)
_HIDDEN_FACILITY = (
    "No facility with this HFR id is registered within what your account administers. "
    "If it is yours, register it first (Facilities → Register a facility), then create "
    "its staff; otherwise check the id."
)


def _state_wide(actor: Actor) -> bool:
    return actor.kind is ActorKind.SYSTEM or actor.role is Role.STATE_ADMIN


def can_administer(
    session: Session, *, actor: Actor, user: StaffUser, directory: FacilityDirectory
) -> bool:
    if _state_wide(actor):
        return True
    if Role(user.role) not in FACILITY_ROLES or user.facility_id is None:
        return False
    if actor.role is Role.FACILITY_ADMIN:
        return user.facility_id == actor.facility_id
    if actor.role is Role.DISTRICT_OFFICER:
        district = directory.district_of(session, user.facility_id)
        return district is not None and district == actor.district_lgd
    return False


def scope_clause(
    session: Session, *, actor: Actor, directory: FacilityDirectory
) -> ColumnElement[bool]:
    """``can_administer`` as a WHERE clause, for the list."""
    if _state_wide(actor):
        return true()
    facility_role = StaffUser.role.in_([r.value for r in FACILITY_ROLES])
    if actor.role is Role.FACILITY_ADMIN and actor.facility_id:
        return facility_role & (StaffUser.facility_id == actor.facility_id)
    if actor.role is Role.DISTRICT_OFFICER and actor.district_lgd is not None:
        ids = list(directory.facilities_in(session, actor.district_lgd))
        return facility_role & StaffUser.facility_id.in_(ids) if ids else false()
    return false()


@dataclass(frozen=True)
class Placement:
    role: Role
    facility_id: str | None
    district_lgd: int | None


def check_placement(
    session: Session,
    *,
    actor: Actor,
    role: Role,
    facility_id: str | None,
    district_lgd: int | None,
    directory: FacilityDirectory,
) -> Placement:
    """The role and scope ``actor`` may give, normalised; refuses anything wider than
    the actor's own (403) and any facility outside it (404)."""
    if role in STATE_GRANTED_ROLES and not _state_wide(actor):
        raise PermissionDenied(
            "Only the state admin creates state admin, district officer and registry "
            "verifier accounts, or gives those roles."
        )
    facility_id = check_role_fields(role, facility_id or None, district_lgd)
    if role not in FACILITY_ROLES:
        if facility_id is not None:
            raise ValidationFailed(
                f"A {role.value.replace('_', ' ')} account has no facility: leave the HFR "
                "id empty.",
                field="facility_id",
            )
        if role is not Role.DISTRICT_OFFICER and district_lgd is not None:
            raise ValidationFailed(
                f"A {role.value.replace('_', ' ')} account has no district: leave it empty.",
                field="district_lgd",
            )
        return Placement(role, None, district_lgd)
    assert facility_id is not None
    hfr_district = directory.district_of(session, facility_id)
    if not _state_wide(actor):
        if actor.role is Role.FACILITY_ADMIN and (
            facility_id != actor.facility_id or hfr_district is None
        ):
            raise NotFound(_HIDDEN_FACILITY, code="HS-1431", field="facility_id")
        if actor.role is Role.DISTRICT_OFFICER and (
            hfr_district is None or hfr_district != actor.district_lgd
        ):
            raise NotFound(_HIDDEN_FACILITY, code="HS-1431", field="facility_id")
        if actor.role not in (Role.FACILITY_ADMIN, Role.DISTRICT_OFFICER):
            raise PermissionDenied("Your role does not administer staff accounts.")
    if district_lgd is not None and hfr_district is not None and district_lgd != hfr_district:
        raise ValidationFailed(
            "A facility's staff take their district from the facility's HFR entry: leave "
            "the district empty.",
            field="district_lgd",
        )
    # Facility roles are scoped by the facility; their district is never a scope.
    return Placement(role, facility_id, None)


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class StaffFilter:
    q: str | None = None
    role: Role | None = None
    facility_id: str | None = None
    active: bool | None = None


@dataclass(frozen=True)
class StaffList:
    items: Sequence[StaffUser]
    total: int


def list_staff(
    session: Session,
    *,
    actor: Actor,
    directory: FacilityDirectory,
    where: StaffFilter,
    limit: int,
    offset: int,
) -> StaffList:
    require(actor, "staff.manage")
    query = select(StaffUser).where(scope_clause(session, actor=actor, directory=directory))
    q = "".join(c for c in where.q or "" if c.isprintable()).strip()
    if q:
        like = f"%{q.lower()}%"
        query = query.where(
            or_(StaffUser.username.like(like), func.lower(StaffUser.full_name).like(like))
        )
    if where.role is not None:
        query = query.where(StaffUser.role == where.role.value)
    if where.facility_id and where.facility_id.isprintable():
        query = query.where(StaffUser.facility_id == where.facility_id.strip().upper())
    if where.active is not None:
        query = query.where(StaffUser.is_active.is_(where.active))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = session.scalars(query.order_by(StaffUser.username).limit(limit).offset(offset)).all()
    return StaffList(items, int(total))


def get_account(
    session: Session, *, actor: Actor, staff_id: str, directory: FacilityDirectory
) -> StaffUser:
    """The account if ``actor`` administers it; 404 otherwise (existence not revealed)."""
    require(actor, "staff.manage")
    try:
        pid = uuid.UUID(staff_id)
    except ValueError:
        raise NotFound(_HIDDEN_ACCOUNT, code=HIDDEN_ACCOUNT_CODE) from None
    user = session.scalar(select(StaffUser).where(StaffUser.public_id == pid))
    if user is None or not can_administer(session, actor=actor, user=user, directory=directory):
        raise NotFound(_HIDDEN_ACCOUNT, code=HIDDEN_ACCOUNT_CODE)
    return user


def paused_until(session: Session, *, user: StaffUser, now: datetime) -> datetime | None:
    return throttle.account_pause(session, username=user.username, now=now)


# --------------------------------------------------------------------------- changing


def create_account(
    session: Session,
    ctx: RequestContext,
    *,
    directory: FacilityDirectory,
    clock: Clock,
    username: str,
    full_name: str,
    role: Role,
    password: str,
    facility_id: str | None,
    district_lgd: int | None,
) -> StaffUser:
    with audited(
        session, ctx, action="staff.create", resource_type="staff_user", clock=clock
    ) as target:
        require(ctx.actor, "staff.create")
        place = check_placement(
            session,
            actor=ctx.actor,
            role=role,
            facility_id=facility_id,
            district_lgd=district_lgd,
            directory=directory,
        )
        user = create_staff(
            session,
            username=username,
            full_name=full_name,
            role=place.role,
            password=password,
            facility_id=place.facility_id,
            district_lgd=place.district_lgd,
            clock=clock,
        )
        target.resource_id = str(user.public_id)
    return user


def _not_self(ctx: RequestContext, user: StaffUser, what: str) -> None:
    if ctx.actor.id == str(user.public_id):
        raise PermissionDenied(
            f"You cannot {what} your own account here. Ask another administrator "
            "(your district officer or the state admin)."
        )


@dataclass(frozen=True)
class StaffChange:
    """What to change; a field not ``*_sent`` keeps its value (so None can mean clear)."""

    full_name: str | None = None
    role: Role | None = None
    facility_sent: bool = False
    facility_id: str | None = None
    district_sent: bool = False
    district_lgd: int | None = None


def update_account(
    session: Session,
    ctx: RequestContext,
    *,
    directory: FacilityDirectory,
    clock: Clock,
    staff_id: str,
    change: StaffChange,
) -> StaffUser:
    with audited(
        session,
        ctx,
        action="staff.update",
        resource_type="staff_user",
        resource_id=staff_id[:64],
        clock=clock,
    ):
        user = get_account(session, actor=ctx.actor, staff_id=staff_id, directory=directory)
        if change.full_name is not None:
            user.full_name = check_text(
                change.full_name, field="full_name", what="the person's full name"
            )[:128]
        if change.role is not None or change.facility_sent or change.district_sent:
            role = change.role or Role(user.role)
            # What is not sent keeps its value where it still fits the role.
            facility_id = (
                change.facility_id
                if change.facility_sent
                else (user.facility_id if role in FACILITY_ROLES else None)
            )
            district_lgd = (
                change.district_lgd
                if change.district_sent
                else (user.district_lgd if role is Role.DISTRICT_OFFICER else None)
            )
            place = check_placement(
                session,
                actor=ctx.actor,
                role=role,
                facility_id=facility_id,
                district_lgd=district_lgd,
                directory=directory,
            )
            if (place.role.value, place.facility_id, place.district_lgd) != (
                user.role,
                user.facility_id,
                user.district_lgd,
            ):
                _not_self(ctx, user, "change the role or scope of")
                user.role = place.role.value
                user.facility_id = place.facility_id
                user.district_lgd = place.district_lgd
        session.flush()
    return user


def set_active(
    session: Session,
    ctx: RequestContext,
    *,
    directory: FacilityDirectory,
    clock: Clock,
    staff_id: str,
    active: bool,
) -> StaffUser:
    """Deactivate (ending every session and token at once) or reactivate."""
    action = "staff.reactivate" if active else "staff.deactivate"
    with audited(
        session,
        ctx,
        action=action,
        resource_type="staff_user",
        resource_id=staff_id[:64],
        clock=clock,
    ):
        user = get_account(session, actor=ctx.actor, staff_id=staff_id, directory=directory)
        _not_self(ctx, user, "deactivate or reactivate")
        if user.is_active != active:
            user.is_active = active
            if not active:
                credentials.end_everything(
                    session, user=user, now=clock.now(), reason=EndReason.DEACTIVATED
                )
        session.flush()
    return user


def reset_password(
    session: Session,
    ctx: RequestContext,
    *,
    directory: FacilityDirectory,
    clock: Clock,
    staff_id: str,
    password: str,
) -> StaffUser:
    """A new password, told to the person by the administrator; every session and token
    of the account ends, and any pause of its logins is lifted."""
    with audited(
        session,
        ctx,
        action="staff.password_reset",
        resource_type="staff_user",
        resource_id=staff_id[:64],
        clock=clock,
    ):
        user = get_account(session, actor=ctx.actor, staff_id=staff_id, directory=directory)
        _not_self(ctx, user, "reset the password of")
        check_password_rules(password)
        user.password_hash = hash_password(password)
        credentials.end_everything(
            session, user=user, now=clock.now(), reason=EndReason.PASSWORD_RESET
        )
        throttle.clear_account(session, username=user.username)
        session.flush()
    return user


def sign_out_everywhere(
    session: Session,
    ctx: RequestContext,
    *,
    directory: FacilityDirectory,
    clock: Clock,
    staff_id: str,
) -> tuple[int, int]:
    """End every session and token of the account."""
    with audited(
        session,
        ctx,
        action="staff.revoke_all",
        resource_type="staff_user",
        resource_id=staff_id[:64],
        clock=clock,
    ):
        user = get_account(session, actor=ctx.actor, staff_id=staff_id, directory=directory)
        return credentials.end_everything(
            session, user=user, now=clock.now(), reason=EndReason.REVOKED
        )


def revoke_session(
    session: Session,
    ctx: RequestContext,
    *,
    directory: FacilityDirectory,
    clock: Clock,
    staff_id: str,
    session_id: str,
) -> None:
    with audited(
        session,
        ctx,
        action="staff.session.revoke",
        resource_type="staff_session",
        resource_id=session_id[:64],
        clock=clock,
    ):
        user = get_account(session, actor=ctx.actor, staff_id=staff_id, directory=directory)
        row = get_session_of(session, user=user, public_id=session_id)
        credentials.end_session(session, row=row, now=clock.now(), reason=EndReason.REVOKED)


def revoke_token(
    session: Session,
    ctx: RequestContext,
    *,
    directory: FacilityDirectory,
    clock: Clock,
    staff_id: str,
    token_id: str,
) -> int:
    with audited(
        session,
        ctx,
        action="staff.token.revoke",
        resource_type="api_token",
        resource_id=token_id[:64],
        clock=clock,
    ):
        user = get_account(session, actor=ctx.actor, staff_id=staff_id, directory=directory)
        row = get_token_of(session, user=user, public_id=token_id)
        return credentials.revoke_token(session, row=row, now=clock.now(), reason=EndReason.REVOKED)
