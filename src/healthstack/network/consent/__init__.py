"""The consent manager and the patient's PHR API (network side, ABDM HIE-CM).

Owns: link tokens (HIP-initiated linking) and the care contexts linked to each ABHA
account per HIP; patient-initiated discovery and OTP linking (the CM's side of it:
transactions, forwarding to the HIP, storing the answers); consent requests from HIUs,
the patient's grant (narrowing, never widening), denial and revocation, the signed
consent artefacts (one per HIP) and their expiry; the checks on a health information
request and its forwarding to the HIP; the transfer notifications; and the PHR JSON API
under ``/api/v1/phr`` for the logged-in ABHA holder. Every PHI access is audited;
consent is checked here, in the services, so no route, CLI or job can bypass it.

Does not own: the gateway's transport, ledger and callback delivery (``network.gateway``: this
package registers handlers with ``network.gateway.routing.register_handler`` and sends with
``send_callback``), ABHA accounts and the patient's login (``network.abha``), the body shapes
(``protocol.abdm.messages``, shared with the facility side), or any health record
(the HIP pushes data straight to the HIU; the CM never sees it). The PHR pages are
another module's. docs/domains/consent.md describes the flows and error codes.
"""
