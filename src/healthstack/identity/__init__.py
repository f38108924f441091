"""Identity proofs shared by the registries: the OTP transactions (``models``, ``otp``:
every OTP HealthStack sends, under ABDM's rules, and their purge in ``jobs``) and the
Aadhaar OTP and e-KYC transaction (``aadhaar``) that ABHA enrolment and HPR
registration both run.

It reaches UIDAI through the ``integrations.aadhaar`` KYC port and takes its clock,
keyed hasher and settings as arguments. It owns no registry record: ABHA accounts and
HPR professionals stay in their packages, which sit above it (it imports only
``integrations``, ``protocol``, ``kernel`` and ``settings``).
"""
