"""The Aadhaar OTP and e-KYC transaction that ABHA and HPR enrolment share."""
