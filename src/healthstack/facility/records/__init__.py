"""Health records, the facility side's clinical documents.

The records domain owns care contexts, the FHIR documents a facility publishes as a HIP,
and the records it receives as a HIU. It does not own consent (``network.consent``) or the
gateway exchange that carries the documents (``integrations/abdm``).
"""
