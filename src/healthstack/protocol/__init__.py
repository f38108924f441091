"""The wire both sides speak, and nothing else: ``abdm`` (message shapes, signatures,
Fidelius) and ``fhir`` (the NRCeS IG documents, their validation and terminology).
Imports only ``kernel``.
"""
