"""Staff administration (``staff``: accounts within the administrator's scope) and the
audit log for auditors (``audit``, ``audit_log``: who did what, by name and role, with
the patients and facilities it touched). Reads both sides' names; writes only staff
accounts, through ``accounts``.
"""
