"""Request-scoped dependencies: the runtime, the state profile, one unit of work, who
is calling."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from healthstack.accounts import credentials
from healthstack.accounts.passwords import PasswordGate
from healthstack.accounts.service import LoginGuard, actor_for
from healthstack.accounts.staff_admin import FacilityDirectory
from healthstack.accounts.throttle import ThrottlePolicy
from healthstack.kernel.context import ANONYMOUS_ACTOR, Actor, ActorKind, Purpose, RequestContext
from healthstack.kernel.errors import AuthenticationRequired
from healthstack.kernel.uow import unit_of_work
from healthstack.runtime import Runtime
from healthstack.settings import StateProfile

STAFF_COOKIE = "hs_staff"
PATIENT_COOKIE = "hs_patient"
# Where a patient sent to log in was going (a PHR page, e.g. from the CM's SMS link);
# the login returns there. Path /patient/login: only the login pages read it.
AFTER_LOGIN_COOKIE = "hs_after_login"


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _db_session(request: Request) -> Iterator[Session]:
    runtime = get_runtime(request)
    with unit_of_work(runtime.session_factory) as session:
        yield session


# scope="function": the unit of work commits before the response is sent, so a
# client never sees success for a change that then failed to commit.
DbSession = Annotated[Session, Depends(_db_session, scope="function")]
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_state_profile(request: Request) -> StateProfile:
    """The state this deployment serves (``settings.profile``)."""
    return get_runtime(request).settings.profile


StateProfileDep = Annotated[StateProfile, Depends(get_state_profile)]


def request_id(request: Request) -> str:
    rid = request.headers.get("REQUEST-ID") or request.headers.get("X-Request-ID")
    try:
        return str(uuid.UUID(rid)) if rid else str(uuid.uuid4())
    except ValueError:
        return str(uuid.uuid4())


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


@dataclass(frozen=True)
class Credential:
    """What the caller authenticated with: a browser session or an API token (row id)."""

    kind: Literal["session", "token"]
    row_id: int
    public_id: str


def _bearer(request: Request) -> str | None:
    auth = request.headers.get("Authorization", "")
    return auth[7:].strip() if auth.lower().startswith("bearer ") else None


def _staff_from_request(request: Request, session: Session, runtime: Runtime) -> Actor | None:
    now = runtime.clock.now()
    token = _bearer(request)
    if token is not None:
        if not token.startswith(credentials.TOKEN_PREFIX):
            return None  # another kind of bearer (the ABHA user token, a gateway's)
        row = credentials.resolve_token(session, secret=token, now=now)
        if row is None:
            raise AuthenticationRequired(
                "The API token is unknown, revoked or expired. Create a new one "
                "from your account page.",
                code="HS-1403",
            )
        request.state.staff_credential = Credential("token", row.id, str(row.public_id))
        return actor_for(row.user, ActorKind.CLIENT)
    cookie = request.cookies.get(STAFF_COOKIE)
    if not cookie:
        return None
    live = credentials.resolve_session(
        session, secret=cookie, now=now, idle_seconds=runtime.settings.auth.session_idle_seconds
    )
    if live is None:
        return None
    request.state.staff_credential = Credential("session", live.id, str(live.public_id))
    return actor_for(live.user)


def optional_staff(request: Request, session: DbSession, runtime: RuntimeDep) -> Actor | None:
    return _staff_from_request(request, session, runtime)


OptionalStaff = Annotated[Actor | None, Depends(optional_staff)]


def bearer_staff(request: Request, session: DbSession, runtime: RuntimeDep) -> Actor | None:
    """Staff by ``Authorization: Bearer`` only, for the JSON APIs: a browser sends its
    cookie with a forged cross-site request, never this header."""
    if _bearer(request) is None:
        return None
    return _staff_from_request(request, session, runtime)


BearerStaff = Annotated[Actor | None, Depends(bearer_staff)]


def current_credential(request: Request) -> Credential | None:
    """The credential ``optional_staff`` or ``bearer_staff`` resolved (after them)."""
    found: Credential | None = getattr(request.state, "staff_credential", None)
    return found


def staff_context(
    request: Request, actor: OptionalStaff, purpose: Purpose = Purpose.ADMINISTRATION
) -> RequestContext:
    return RequestContext(
        actor=actor or ANONYMOUS_ACTOR,
        purpose=purpose,
        request_id=request_id(request),
        ip=client_address(request),
    )


def context_for(request: Request, actor: Actor | None) -> RequestContext:
    """The audit context of this request for ``actor`` (anonymous when None)."""
    return RequestContext(
        actor=actor or ANONYMOUS_ACTOR,
        purpose=Purpose.ADMINISTRATION,
        request_id=request_id(request),
        ip=client_address(request),
    )


def get_facility_directory(request: Request) -> FacilityDirectory:
    directory: FacilityDirectory = request.app.state.facility_directory
    return directory


def get_login_guard(request: Request) -> LoginGuard:
    gate: PasswordGate = request.app.state.password_gate
    return LoginGuard(ThrottlePolicy.from_settings(get_runtime(request).settings.auth), gate)


FacilityDirectoryDep = Annotated[FacilityDirectory, Depends(get_facility_directory)]
LoginGuardDep = Annotated[LoginGuard, Depends(get_login_guard)]
