"""FHIR R4 documents per the NRCeS IG 6.0.0: building and reading them
(``documents``), validating them (``validation``) and the code systems they use
(``terminology``)."""
