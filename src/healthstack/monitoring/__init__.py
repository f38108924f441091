"""The state programme's view: indicators, targets and the coverage dashboard.

Owns: domain events' consumer, incrementally maintained aggregates, targets, the
dashboard pages and the monitoring JSON API. Reads the domains' tables (to rebuild
aggregates) but never writes to them; domains tell it what changed through events.
"""
