"""The ABHA holder on a JSON API request: the account whose user token comes in
``X-token: Bearer <token>`` (as ABHA's profile API takes it), and their request
context. The ABHA profile API and the PHR API both take them (``patient.session`` is
the same holder on a page)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from healthstack.kernel.context import ANONYMOUS_ACTOR, Purpose, RequestContext
from healthstack.network.abha import profile
from healthstack.network.abha.auth import patient_context
from healthstack.network.abha.models import AbhaAccount
from healthstack.web.deps import DbSession, RuntimeDep, request_id


def _holder(
    request: Request,
    session: DbSession,
    runtime: RuntimeDep,
    x_token: Annotated[str | None, Header(alias="X-token")] = None,
) -> AbhaAccount:
    ctx = RequestContext(
        actor=ANONYMOUS_ACTOR,
        purpose=Purpose.SELF_SERVICE,
        request_id=request_id(request),
        ip=request.client.host if request.client else None,
    )
    return profile.authenticate(
        session, ctx, x_token=x_token, keyring=runtime.keyring, clock=runtime.clock
    )


Holder = Annotated[AbhaAccount, Depends(_holder)]


def _patient(request: Request, account: Holder) -> RequestContext:
    return patient_context(
        account,
        request_id=request_id(request),
        ip=request.client.host if request.client else None,
    )


Patient = Annotated[RequestContext, Depends(_patient)]
