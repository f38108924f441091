"""The ABDM gateway, network side (what NHA runs; ``/api/hiecm`` as NHA's base URL).

Owns: bridges (client id, hashed secret, callback URL, the HIP / HIU services — HFR
ids — each serves), gateway sessions (client credentials → RS256 access and refresh
tokens, the JWKS and OpenID configuration), accepting a protocol request (headers,
token, rate limit, the ``gateway_message`` ledger, 202 at once), routing it to the
handler registered for its path (run by the worker, never in the request), and
delivering the callbacks handlers return: gateway-signed, retried with backoff, dead
after the last attempt. docs/adr/0009-gateway-ledger-and-callbacks.md records the
choices.

Does not own: what a message means (``network.consent`` registers the consent manager's
handlers with ``routing.register_handler``), the facility side's client
(``integrations.abdm``), or the facility registry the service ids come from.

Public API for the CM: ``accept.accept`` (call it from a route), ``routing.register_handler``,
``routing.InboundMessage``, ``routing.HandlerContext`` (what a handler runs with),
``routing.Callback``, ``routing.CallbackSender``; ``config`` builds the sender and the
handler context from a process's runtime, for the edges.
"""
