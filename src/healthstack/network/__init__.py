"""The network side: what NHA runs for the whole country, here for one state.

``abha`` (health accounts), ``hpr`` (professionals), ``hfr`` (facilities), ``gateway``
(sessions, bridges, callback routing) and ``consent`` (the consent manager: linking,
consents, artefacts, the checks on a health-information request). A facility reaches
all of it only over ABDM's protocol; nothing here imports ``facility``.
"""
