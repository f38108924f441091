"""The consent manager's gateway handlers: which function answers each protocol path,
on which callback path the sender hears a refusal, and which headers the path needs.

Importing this module registers them (``network.gateway.routing.HANDLER_MODULES`` names it, so
the worker loads it too); ``network.consent.router`` mounts one accepting route per path.
"""

from __future__ import annotations

from dataclasses import dataclass

from healthstack.network.consent import consents, dataflow, linking
from healthstack.network.gateway.routing import Handler, register_handler
from healthstack.protocol.abdm import messages as m

HIP = ("X-HIP-ID",)
HIU = ("X-HIU-ID",)


@dataclass(frozen=True)
class Route:
    path: str  # relative to /api/hiecm
    fn: Handler
    reply_path: str | None  # where a refusal goes; None: an answer, nobody to tell
    requires: tuple[str, ...]
    summary: str


ROUTES: tuple[Route, ...] = (
    Route(m.GENERATE_TOKEN, linking.generate_token, m.ON_GENERATE_TOKEN, HIP, "Link token"),
    Route(
        m.LINK_CARE_CONTEXT,
        linking.link_care_contexts,
        m.ON_LINK_CARE_CONTEXT,
        (*HIP, "X-LINK-TOKEN"),
        "Link care contexts (HIP-initiated)",
    ),
    Route(
        m.CONTEXT_NOTIFY,
        linking.context_notify,
        m.ON_CONTEXT_NOTIFY,
        HIP,
        "New data on a linked care context",
    ),
    Route(m.SMS_NOTIFY, linking.sms_notify, m.ON_SMS_NOTIFY, HIP, "Deep-link SMS"),
    Route(m.ON_DISCOVER, linking.on_discover, None, HIP, "HIP's discovery answer"),
    Route(m.ON_LINK_INIT, linking.on_link_init, None, HIP, "HIP's link init answer"),
    Route(m.ON_LINK_CONFIRM, linking.on_link_confirm, None, HIP, "HIP's link confirm answer"),
    Route(m.CONSENT_INIT, consents.init_request, m.ON_CONSENT_INIT, HIU, "Consent request"),
    Route(
        m.CONSENT_STATUS,
        consents.request_status,
        m.ON_CONSENT_STATUS,
        HIU,
        "Consent request status",
    ),
    Route(m.CONSENT_FETCH, consents.fetch_artefact, m.ON_CONSENT_FETCH, HIU, "Fetch artefact"),
    Route(
        m.HIP_ON_CONSENT_NOTIFY,
        consents.on_hip_notify,
        None,
        HIP,
        "HIP's acknowledgement of a consent notification",
    ),
    Route(
        m.HIU_ON_CONSENT_NOTIFY,
        consents.on_hiu_notify,
        None,
        HIU,
        "HIU's acknowledgement of a consent notification",
    ),
    Route(
        m.HI_REQUEST,
        dataflow.hi_request,
        m.ON_HI_REQUEST,
        HIU,
        "Health information request",
    ),
    Route(
        m.HIP_ON_HI_REQUEST,
        dataflow.hip_on_request,
        None,
        HIP,
        "HIP's acknowledgement of a health information request",
    ),
    # Sent by the HIP (X-HIP-ID) or the HIU (X-HIU-ID): the handler checks which.
    Route(m.HI_NOTIFY, dataflow.hi_notify, None, (), "Transfer notification"),
)

for _route in ROUTES:
    register_handler(_route.path, _route.fn, reply_path=_route.reply_path)
