"""Staff accounts: users with a role scoped to a facility or district, their
passwords (argon2), browser sessions and API tokens, and the permission matrix.

Owns: staff_user, api_token. Does not own patients (ABHA holders log in through
``abha``) nor the facility registry (a later domain; staff hold the HFR id).
"""
