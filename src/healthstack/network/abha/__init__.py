"""ABHA health accounts (ABDM Milestone 1).

Owns: ABHA numbers and addresses, enrolment by Aadhaar OTP and by demographics,
login/verification and the user token (RS256), profile changes, the ABHA card, and
search for the registration desk.
Does not own: the OTP transactions and the Aadhaar OTP and e-KYC transaction
(``identity``, which HPR registration uses too), Aadhaar residents
(``integrations.aadhaar`` plays UIDAI), staff accounts (``accounts``), health records
or consent (later domains).
"""
