"""The health facility registry (HFR).

Owns: facilities and their HFR ids (``IN`` + state LGD + 8 digits, docs/adr/0006),
registration with ABDM's name rules, the verification workflow (submitted → verified
or rejected) with a full history of every change (``facility_version``, so "what did
the registry say on date X" has an answer), the state's own master list of public
facilities (CSV import with a dry-run preview, then an atomic confirm), and the
reconciliation of that master with HFR (matched, master-only, HFR-only, ambiguous)
with a review screen for the ambiguous pairs and the "public facilities registered"
figure it yields.

Does not own: staff accounts (``accounts``), professionals and their work places
(``network.hpr``), the dashboard's aggregates (``programme.monitoring``: it hears about
registrations and verifications through ``facility.*`` events and may call
``reconcile.public_facility_coverage``).
"""
