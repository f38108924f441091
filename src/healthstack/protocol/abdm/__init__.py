"""ABDM's HIE-CM v3 protocol: the body shapes both sides send and read
(``messages``), and Fidelius, the ECDH + AES-GCM encryption of health information."""
