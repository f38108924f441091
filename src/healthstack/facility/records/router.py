"""The facility's bridge endpoints (ABDM HIE-CM v3 paths, at the root of the app).

Every route but the data push takes a gateway callback: ``VerifiedCallback`` checks
the gateway's signature, TIMESTAMP and REQUEST-ID (a duplicate is answered 202 with
nothing done) and records it in the facility's ledger in the route's unit of work; the
route hands it to the HIP (``facility.records.hip``, ``facility.records.care_contexts``) or HIU
(``facility.records.hiu``) service and answers 202 with an empty body. Answers to the consent
manager go out later through the outbox.

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
from healthstack.facility.records.config import RecordsConfig
from healthstack.integrations.abdm import CallbackContext, VerifiedCallback
from healthstack.integrations.abdm.callbacks import raw_body
from healthstack.kernel.errors import ValidationFailed
from healthstack.protocol.abdm import messages as m
from healthstack.runtime import Runtime
from healthstack.web.deps import DbSession, RuntimeDep

router = APIRouter(tags=["ABDM bridge (facility)"])
DATA_PUSH_PATH = RecordsConfig().data_push_path

Apply = Callable[[Session, Runtime, CallbackContext], None]


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
    def route(cb: VerifiedCallback, session: DbSession, runtime: RuntimeDep) -> Response:
        apply(session, runtime, _for_hip(cb))
        return _accepted()

    route.__name__ = "hip_" + path.strip("/").replace("/", "_").replace("-", "_")
    router.post(path, status_code=202, include_in_schema=True)(route)


def _hiu_route(path: str, apply: Apply) -> None:
    def route(cb: VerifiedCallback, session: DbSession, runtime: RuntimeDep) -> Response:
        apply(session, runtime, _for_hiu(cb))
        return _accepted()

    route.__name__ = "hiu_" + path.strip("/").replace("/", "_").replace("-", "_")
    router.post(path, status_code=202, include_in_schema=True)(route)


# HIP: answers to its own calls (HIP-initiated linking)
_hip_route(m.ON_GENERATE_TOKEN, care_contexts.on_generate_token)
_hip_route(m.ON_LINK_CARE_CONTEXT, care_contexts.on_link_care_context)
_hip_route(m.ON_CONTEXT_NOTIFY, care_contexts.on_context_notify)
_hip_route(m.ON_SMS_NOTIFY, care_contexts.on_sms_notify)
# HIP: what the consent manager asks of it
_hip_route(m.DISCOVER, hip.discover)
_hip_route(m.LINK_INIT, hip.link_init)
_hip_route(m.LINK_CONFIRM, hip.link_confirm)
_hip_route(m.HIP_CONSENT_NOTIFY, hip.consent_notify)
_hip_route(m.HIP_HI_REQUEST, hip.hi_request)
# HIU
_hiu_route(m.ON_CONSENT_INIT, hiu.on_consent_init)
_hiu_route(m.ON_CONSENT_STATUS, hiu.on_consent_status)
_hiu_route(m.HIU_CONSENT_NOTIFY, hiu.consent_notify)
_hiu_route(m.ON_CONSENT_FETCH, hiu.on_consent_fetch)
_hiu_route(m.ON_HI_REQUEST, hiu.on_hi_request)


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
        runtime,
        body,
        authorization=request.headers.get("Authorization"),
        ip=request.client.host if request.client else None,
    )
    return _accepted()
