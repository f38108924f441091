"""The consent manager (network side, ABDM HIE-CM).

Owns: link tokens (HIP-initiated linking) and the care contexts linked to each ABHA
account per HIP; patient-initiated discovery and OTP linking (the CM's side of it:
transactions, forwarding to the HIP, storing the answers); consent requests from HIUs,
the patient's grant (narrowing, never widening), denial and revocation, the signed
consent artefacts (one per HIP) and their expiry; the consent PIN; the checks on a
health information request and its forwarding to the HIP; the transfer notifications.
Every PHI access is audited; consent is checked here, in the services, so no route, CLI
or job can bypass it. The protocol handlers run with the gateway's ``HandlerContext``;
the patient-side services (``consents``, ``linking``, ``pin``) take the clock, sender,
keys and settings they use.

Does not own: the gateway's transport, ledger and callback delivery (``network.gateway``: this
package registers handlers with ``network.gateway.routing.register_handler`` and sends
through its ``CallbackSender``), ABHA accounts and the patient's login (``network.abha``),
the body shapes (``protocol.abdm.messages``, shared with the facility side), any health
record (the HIP pushes data straight to the HIU; the CM never sees it), or the patient's
app: the PHR's API and pages (``phr.router``, ``phr.pages``) call the services here for
the logged-in holder. docs/domains/consent.md describes the flows and error codes.
"""
