"""The facility side's request dependencies: the verified gateway callback a bridge
route takes (``VerifiedCallback``), the raw body it is verified over, the answer to a
duplicate callback (``install``: 202, nothing done), and the facility registry's names
(``FacilityNamesDep``: the ``integrations.hfr.FacilityNames`` adapter the composition
root put on ``app.state.facility_names``).

The verification itself is ``integrations.abdm.callbacks.verify_callback_message``; this
module unpacks the runtime for it (the ``abdm`` settings, the clock, the gateway's keys)
and runs it in the route's unit of work, so the callback is recorded only if the route
succeeds.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, Request, Response

from healthstack.integrations.abdm.callbacks import (
    CallbackContext,
    DuplicateCallback,
    verify_callback_message,
)
from healthstack.integrations.hfr import FacilityNames
from healthstack.web.deps import DbSession, RuntimeDep


async def raw_body(request: Request) -> bytes:
    return await request.body()


def verify_callback(
    request: Request,
    session: DbSession,
    runtime: RuntimeDep,
    raw: Annotated[bytes, Depends(raw_body)],
) -> CallbackContext:
    """The FastAPI dependency for a bridge route: ``cb: VerifiedCallback``."""
    return verify_callback_message(
        session,
        settings=runtime.settings.abdm,
        keys=runtime.gateway_keys(),
        clock=runtime.clock,
        path=request.url.path,
        headers=request.headers,
        raw=raw,
    )


VerifiedCallback = Annotated[CallbackContext, Depends(verify_callback)]


def get_facility_names(request: Request) -> FacilityNames:
    names: FacilityNames = request.app.state.facility_names
    return names


FacilityNamesDep = Annotated[FacilityNames, Depends(get_facility_names)]


def install(app: FastAPI) -> None:
    """Answer a duplicate callback 202 with an empty body (called by create_app)."""

    @app.exception_handler(DuplicateCallback)
    async def _duplicate(request: Request, exc: DuplicateCallback) -> Response:
        return Response(status_code=202)
