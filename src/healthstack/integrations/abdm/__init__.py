"""The facility side's port to an ABDM gateway (ours at ``/api/hiecm``, or NHA's).

Owns: the ``AbdmClient`` port and its HTTP adapter (session token from
``/gateway/v3/sessions`` cached until shortly before expiry, refreshed; the protocol
headers), outbound calls through the outbox (``enqueue_call`` writes the call and a
ledger row in the caller's transaction; the worker sends it, retrying with backoff),
the facility's ledger (``abdm_message``: every call with the context its answer needs,
every callback received), and the verification of inbound callbacks for the facility's
bridge routes (gateway JWT through the gateway's JWKS, TIMESTAMP window, REQUEST-ID
replay guard), in every mode.

Does not own: what the calls and callbacks mean (``facility.records``), or the network side
(``network.gateway``), which it reaches only over HTTP.

Each part takes what it uses, typed (the ``abdm`` settings section, a clock, a
transport, the gateway's keys), never the process's ``Runtime``; the process keeps one
client and one key cache (``runtime.Ports``).

Public API: ``AbdmOutbox`` / ``enqueue_call``, ``find_context``,
``verify_callback_message``, ``CallbackContext``, ``JwksCache`` / ``gateway_jwks``,
``AbdmClient``, ``HttpAbdmClient`` / ``gateway_client``, ``FakeAbdmClient``.
"""

from healthstack.integrations.abdm.callbacks import (
    CallbackContext,
    DuplicateCallback,
    JwksCache,
    gateway_jwks,
    verify_callback_message,
    verify_session_token,
)
from healthstack.integrations.abdm.client import (
    AbdmCallFailed,
    AbdmCallRejected,
    AbdmClient,
    FakeAbdmClient,
    HttpAbdmClient,
    gateway_client,
)
from healthstack.integrations.abdm.outbound import (
    SEND_TOPIC,
    AbdmOutbox,
    OutboundCall,
    enqueue_call,
    find_context,
)

__all__ = [
    "SEND_TOPIC",
    "AbdmCallFailed",
    "AbdmCallRejected",
    "AbdmClient",
    "AbdmOutbox",
    "CallbackContext",
    "DuplicateCallback",
    "FakeAbdmClient",
    "HttpAbdmClient",
    "JwksCache",
    "OutboundCall",
    "enqueue_call",
    "find_context",
    "gateway_client",
    "gateway_jwks",
    "verify_callback_message",
    "verify_session_token",
]
