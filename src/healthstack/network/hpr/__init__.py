"""The Health Professional Registry (HPR) as a state runs it.

Owns: professional records (identity from Aadhaar OTP e-KYC, kept as a keyed hash and
the last four digits), HPR ids (14 digits, ``XX-XXXX-XXXX-XXXX``) and HPR addresses
(``<handle>@hpr.abdm``), the professional's category, council registration and
qualifications, their work places (facilities by HFR id), the council / state
verification workflow, and the registry's history (``professional_version``: a full
snapshot per change, so "what did the registry say on date X" has an answer).

Does not own: the Aadhaar OTP and e-KYC transaction (``healthstack.identity``, shared
with ABHA enrolment), the facilities themselves (``healthstack.network.hfr``, looked up by HFR
id), the HR roster and compliance chasing (the compliance helper builds on
``service.find_by_council_number`` / ``find_by_mobile`` /
``search_by_name_and_birth_year``), or the dashboard's aggregates
(``healthstack.programme.monitoring``, told through ``professional.*`` events).
"""
