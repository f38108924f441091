"""Aadhaar KYC port and the offline sandbox that plays UIDAI.

The sandbox keeps a registry of synthetic residents (``kyc_resident``), the only place
in HealthStack where an Aadhaar number is stored in clear, because it stands in for
UIDAI. Everything else keeps a keyed hash and the last four digits.
"""
