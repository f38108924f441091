"""The HIP's side of the exchange (being split into one module per protocol flow)."""

from healthstack.facility.records.hip.linking import (
    PUSH_TOPIC,
    consent_notify,
    discover,
    end_artefact,
    forget_patient,
    gateway_context,
    handlers,
    hi_request,
    link_confirm,
    link_init,
    plaintext,
)

__all__ = [
    "PUSH_TOPIC",
    "consent_notify",
    "discover",
    "end_artefact",
    "forget_patient",
    "gateway_context",
    "handlers",
    "hi_request",
    "link_confirm",
    "link_init",
    "plaintext",
]
