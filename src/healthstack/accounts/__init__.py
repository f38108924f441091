"""Staff accounts: users with a role scoped to a facility or district, their
passwords (argon2), browser sessions and API tokens (server-side, revocable), the login
throttle, staff administration within scope, and the permission matrix.

Owns: staff_user, api_token, staff_session, login_throttle. Does not own patients
(ABHA holders log in through ``network.abha``) nor the facility registry: staff hold the HFR
id, and staff administration reads the facility's district through the
``staff_admin.FacilityDirectory`` port, wired at the composition root (``web/app.py``).
"""
