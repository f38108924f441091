"""The facility's FHIR documents: building the eight ABDM record types, reading them back.

``model`` holds the typed inputs; ``bundle`` the document assembly (ids, header
resources, Composition, Bundle); ``resources`` one builder per clinical resource;
``facility.records`` the eight record builders and ``display_text``; ``view`` reads any IG
document (ours or another HIP's) into the ``view_model`` the doctor's record view
(web/templates/records) shows. The public API is re-exported by
``healthstack.facility.records.fhir``.
"""
