"""Request-scoped dependencies: the runtime, one unit of work, who is calling."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from healthstack.accounts.service import actor_for, find_staff, resolve_api_token
from healthstack.kernel import tokens
from healthstack.kernel.context import ANONYMOUS_ACTOR, Actor, ActorKind, Purpose, RequestContext
from healthstack.kernel.db import unit_of_work
from healthstack.kernel.errors import AuthenticationRequired
from healthstack.runtime import Runtime

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


def request_id(request: Request) -> str:
    rid = request.headers.get("REQUEST-ID") or request.headers.get("X-Request-ID")
    try:
        return str(uuid.UUID(rid)) if rid else str(uuid.uuid4())
    except ValueError:
        return str(uuid.uuid4())


def _staff_from_request(request: Request, session: Session, runtime: Runtime) -> Actor | None:
    auth = request.headers.get("Authorization", "")
    if auth.lower().startswith("bearer "):
        token = auth[7:].strip()
        if token.startswith("hst_"):
            user = resolve_api_token(session, token, now=runtime.clock.now())
            if user is None:
                raise AuthenticationRequired(
                    "The API token is unknown, revoked or expired. Create a new one "
                    "from your account page.",
                    code="HS-1403",
                )
            return actor_for(user, ActorKind.CLIENT)
        return None
    cookie = request.cookies.get(STAFF_COOKIE)
    if not cookie:
        return None
    try:
        claims = tokens.verify(
            runtime.keyring, cookie, audience=tokens.STAFF_AUDIENCE, clock=runtime.clock
        )
    except AuthenticationRequired:
        return None
    user = find_staff(session, claims["sub"])
    if user is None or not user.is_active:
        return None
    return actor_for(user)


def optional_staff(request: Request, session: DbSession, runtime: RuntimeDep) -> Actor | None:
    return _staff_from_request(request, session, runtime)


OptionalStaff = Annotated[Actor | None, Depends(optional_staff)]


def staff_context(
    request: Request, actor: OptionalStaff, purpose: Purpose = Purpose.ADMINISTRATION
) -> RequestContext:
    return RequestContext(
        actor=actor or ANONYMOUS_ACTOR,
        purpose=purpose,
        request_id=request_id(request),
        ip=request.client.host if request.client else None,
    )
