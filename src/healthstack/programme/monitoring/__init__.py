"""The state programme's view: indicators, targets and the coverage dashboard.

Owns: the indicator registry (``indicators.py``: what is counted, which events move
each figure, the rebuild query per indicator), domain events' consumer and the
incrementally maintained aggregates (``aggregates.py``: ``indicator_total``,
``indicator_daily``, ``applied_event`` for idempotency, ``indicator_member`` for
distinct registry entities; the rebuild and nightly reconciliation), targets per
district (``targets.py``), the figures (``service.py``, one function per figure and the
caller's scope), the dashboard pages (``pages.py``) and the monitoring JSON API
(``router.py``).

Does not own: the registries themselves. It reads the domains' tables (to rebuild
aggregates, to name facilities) but never writes to them; domains tell it what changed
through events (``events.emit``, in their own transaction).
"""
