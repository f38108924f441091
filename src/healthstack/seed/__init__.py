"""Synthetic demo state: the residents of a state and their ABHA accounts.

Owns the seeding profiles (``jk``: Jammu & Kashmir, its 20 districts at LGD codes,
with populations summing to the target population at scale 1), the name and address
vocabularies of the region's people, the deterministic resident generator and the
bulk loader that writes the KYC sandbox (``kyc_resident``) and the ABHA registry
(``abha_account``, ``abha_address``) with COPY on PostgreSQL and batched inserts on
SQLite.

It does not own the tables it fills (``integrations.aadhaar`` and ``network.abha`` do), and it
never takes part in a request: seeding is a CLI job (``healthstack seed``).
"""
