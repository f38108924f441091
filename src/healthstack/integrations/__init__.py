"""Ports to the outside world and their adapters: the ABDM gateway client (``abdm``),
the facility registry's names (``hfr``), Aadhaar KYC (``aadhaar``) and SMS (``sms``),
later file storage. Each port has a fake that also serves tests or the demo. Nothing
here imports the process's ``Runtime``: each part takes what it uses, and the process
keeps its clients in ``runtime.Ports``."""
