"""The facility's bridge endpoints (ABDM HIE-CM v3 paths, at the root of the app).

Every route but the data push takes a gateway callback: ``VerifiedCallback`` checks
the gateway's signature, TIMESTAMP and REQUEST-ID (a duplicate is answered 202 with
nothing done) and records it in the facility's ledger in the route's unit of work; the
route hands it to the HIP (``facility.records.hip``, ``facility.records.care_contexts``) or HIU
(``facility.records.hiu``) service and answers 202 with an empty body. Answers to the consent
manager go out later through the outbox. The routes unpack the runtime (the clock, the
gateway client, the gateway's keys, the hasher, the facility registry's names) for the
services, which take what they use.

The data push (``/api/v3/hiu/data/push``) comes from a HIP directly, not through the
gateway: it carries the HIP bridge's gateway session token, verified like every other
inbound call, and names a transaction this HIU started (``hiu.receive_push``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy.orm import Session

from healthstack.facility.records import care_contexts, hip, hiu
from healthstack.facility.records.config import DEFAULT_CONFIG, data_push_url, ig_for
from healthstack.facility.records.dependencies import FacilityNamesDep, VerifiedCallback, raw_body
from healthstack.integrations.abdm import CallbackContext
from healthstack.integrations.hfr import FacilityNames
from healthstack.kernel.errors import ValidationFailed
from healthstack.protocol.abdm import messages as m
from healthstack.runtime import Runtime
from healthstack.web.deps import DbSession, RuntimeDep

router = APIRouter(tags=["ABDM bridge (facility)"])
DATA_PUSH_PATH = DEFAULT_CONFIG.data_push_path

# A callback's service, given what the route unpacks for it.
Apply = Callable[[Session, CallbackContext, Runtime, FacilityNames], None]


def _accepted() -> Response:
    return Response(status_code=202)


def _for_hip(cb: CallbackContext) -> CallbackContext:
    if not cb.hip_id:
        raise ValidationFailed("This callback needs the X-HIP-ID header.", field="X-HIP-ID")
    return cb


def _for_hiu(cb: CallbackContext) -> CallbackContext:
    if not cb.hiu_id:
        raise ValidationFailed("This callback needs the X-HIU-ID header.", field="X-HIU-ID")
    return cb


def _hip_route(path: str, apply: Apply) -> None:
    def route(
        cb: VerifiedCallback, session: DbSession, runtime: RuntimeDep, names: FacilityNamesDep
    ) -> Response:
        apply(session, _for_hip(cb), runtime, names)
        return _accepted()

    route.__name__ = "hip_" + path.strip("/").replace("/", "_").replace("-", "_")
    router.post(path, status_code=202, include_in_schema=True)(route)


def _hiu_route(path: str, apply: Apply) -> None:
    def route(
        cb: VerifiedCallback, session: DbSession, runtime: RuntimeDep, names: FacilityNamesDep
    ) -> Response:
        apply(session, _for_hiu(cb), runtime, names)
        return _accepted()

    route.__name__ = "hiu_" + path.strip("/").replace("/", "_").replace("-", "_")
    router.post(path, status_code=202, include_in_schema=True)(route)


# HIP: answers to its own calls (HIP-initiated linking)
_hip_route(
    m.ON_GENERATE_TOKEN,
    lambda s, cb, rt, _: care_contexts.on_generate_token(
        s, cb=cb, clock=rt.clock, outbox=rt.abdm_outbox(), hasher=rt.hasher
    ),
)
_hip_route(
    m.ON_LINK_CARE_CONTEXT,
    lambda s, cb, rt, _: care_contexts.on_link_care_context(
        s, cb=cb, clock=rt.clock, outbox=rt.abdm_outbox()
    ),
)
_hip_route(m.ON_CONTEXT_NOTIFY, lambda s, cb, rt, _: care_contexts.on_context_notify(s, cb=cb))
_hip_route(m.ON_SMS_NOTIFY, lambda s, cb, rt, _: care_contexts.on_sms_notify(s, cb=cb))
# HIP: what the consent manager asks of it
_hip_route(
    m.DISCOVER,
    lambda s, cb, rt, _: hip.discover(s, cb=cb, clock=rt.clock, outbox=rt.abdm_outbox()),
)
_hip_route(
    m.LINK_INIT,
    lambda s, cb, rt, names: hip.link_init(
        s, cb=cb, clock=rt.clock, hasher=rt.hasher, outbox=rt.abdm_outbox(), names=names
    ),
)
_hip_route(
    m.LINK_CONFIRM,
    lambda s, cb, rt, _: hip.link_confirm(
        s, cb=cb, clock=rt.clock, hasher=rt.hasher, outbox=rt.abdm_outbox()
    ),
)
_hip_route(
    m.HIP_CONSENT_NOTIFY,
    lambda s, cb, rt, _: hip.consent_notify(
        s, cb=cb, clock=rt.clock, keys=rt.gateway_keys(), outbox=rt.abdm_outbox()
    ),
)
_hip_route(
    m.HIP_HI_REQUEST,
    lambda s, cb, rt, _: hip.hi_request(s, cb=cb, clock=rt.clock, outbox=rt.abdm_outbox()),
)
# HIU
_hiu_route(m.ON_CONSENT_INIT, lambda s, cb, rt, _: hiu.on_consent_init(s, cb=cb, clock=rt.clock))
_hiu_route(
    m.ON_CONSENT_STATUS,
    lambda s, cb, rt, _: hiu.on_consent_status(s, cb=cb, clock=rt.clock, outbox=rt.abdm_outbox()),
)
_hiu_route(
    m.HIU_CONSENT_NOTIFY,
    lambda s, cb, rt, _: hiu.consent_notify(s, cb=cb, clock=rt.clock, outbox=rt.abdm_outbox()),
)
_hiu_route(
    m.ON_CONSENT_FETCH,
    lambda s, cb, rt, _: hiu.on_consent_fetch(
        s,
        cb=cb,
        clock=rt.clock,
        keys=rt.gateway_keys(),
        outbox=rt.abdm_outbox(),
        hasher=rt.hasher,
        push_url=data_push_url(rt.settings),
    ),
)
_hiu_route(m.ON_HI_REQUEST, lambda s, cb, rt, _: hiu.on_hi_request(s, cb=cb, clock=rt.clock))


@router.post(DATA_PUSH_PATH, status_code=202)
def data_push(
    request: Request,
    session: DbSession,
    runtime: RuntimeDep,
    raw: Annotated[bytes, Depends(raw_body)],
) -> Response:
    """A HIP's page of encrypted records (ABDM's DataNotification), with the HIP
    bridge's gateway session token as ``Authorization: Bearer``."""
    try:
        body: Any = json.loads(raw or b"null")
    except ValueError:
        body = None
    hiu.receive_push(
        session,
        raw=body,
        authorization=request.headers.get("Authorization"),
        ip=request.client.host if request.client else None,
        clock=runtime.clock,
        keys=runtime.gateway_keys(),
        hasher=runtime.hasher,
        ig=ig_for(runtime.settings),
        outbox=runtime.abdm_outbox(),
        bridge_id=runtime.settings.abdm.client_id,
    )
    return _accepted()
