"""Compliance chasing of public health professionals.

Owns: the HR roster of public posts (CSV import with a dry-run preview and an atomic
confirm), the roster ↔ HPR reconciliation and its review of uncertain pairs,
compliance campaigns (a registration deadline per cadre), the escalation ladder run by
the worker (SMS reminder, second reminder, notice to the facility head, the district
officer's show-cause list), exemptions that stop it, and the notices (PDF) and lists
(CSV) it produces.

Does not own: the professional registry itself (``healthstack.network.hpr``: this
package only reads it), SMS delivery (``integrations.sms``), the dashboard's
aggregates (``programme.monitoring`` reads the roster, overdue and verified-professional
figures from here, ``figures.py``; this package never imports it).
"""
