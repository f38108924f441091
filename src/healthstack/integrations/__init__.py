"""Ports to the outside world and their adapters: Aadhaar KYC, SMS (and later the
ABDM gateway client and file storage). Each port has a fake that also serves the demo."""
