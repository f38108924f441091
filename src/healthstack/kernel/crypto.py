"""Keyed hashes and the service's RSA key pairs.

- ``KeyedHasher``: HMAC-SHA256 under the deployment secret, one domain label per use
  ("aadhaar", "otp", ...), so an Aadhaar hash cannot be replayed as an OTP hash.
- ``KeyRing``: RSA key pairs kept as PEM files under ``<data_dir>/keys``, the private
  halves encrypted with the deployment secret. ``signing`` (2048-bit) signs user and
  staff tokens (RS256); ``enrolment`` (4096-bit, as ABDM's) is the public key clients
  use to RSA-OAEP-encrypt Aadhaar numbers and OTPs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import threading
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from healthstack.kernel.errors import ValidationFailed
from healthstack.kernel.files import ensure_private_dir


class KeyedHasher:
    def __init__(self, secret: str):
        self._key = hashlib.sha256(("healthstack:" + secret).encode()).digest()

    def hash(self, domain: str, value: str) -> str:
        msg = f"{domain}\x00{value}".encode()
        return hmac.new(self._key, msg, hashlib.sha256).hexdigest()

    def matches(self, domain: str, value: str, expected: str | None) -> bool:
        if not expected:
            return False
        return hmac.compare_digest(self.hash(domain, value), expected)


class SealBroken(Exception):
    """A sealed value could not be opened (another key, or tampered with)."""


class Sealer:
    """AES-256-GCM for a short secret a flow must carry between steps (an Aadhaar
    number between the OTP request and the KYC fetch). The key is derived from the
    deployment secret per ``purpose``; the value is bound to ``bound_to`` (the
    transaction id) as associated data, so it cannot be moved to another transaction.
    """

    def __init__(self, hasher: KeyedHasher, purpose: str):
        self._aead = AESGCM(bytes.fromhex(hasher.hash("seal-key", purpose)))

    def seal(self, value: str, bound_to: str) -> str:
        nonce = os.urandom(12)
        ct = self._aead.encrypt(nonce, value.encode(), bound_to.encode())
        return base64.b64encode(nonce + ct).decode()

    def unseal(self, sealed: str | None, bound_to: str) -> str:
        try:
            raw = base64.b64decode(sealed or "", validate=True)
            return self._aead.decrypt(raw[:12], raw[12:], bound_to.encode()).decode()
        except (ValueError, InvalidTag) as exc:
            raise SealBroken from exc


KEY_SIZES = {"signing": 2048, "enrolment": 4096}


class KeyRing:
    """Lazily loads or creates the named RSA key pairs; thread-safe."""

    def __init__(self, directory: Path, secret: str):
        self._dir = directory
        self._password = hashlib.sha256(("keyring:" + secret).encode()).digest()
        self._keys: dict[str, rsa.RSAPrivateKey] = {}
        self._lock = threading.Lock()

    def private_key(self, name: str) -> rsa.RSAPrivateKey:
        with self._lock:
            key = self._keys.get(name)
            if key is None:
                key = self._load_or_create(name)
                self._keys[name] = key
            return key

    def _load_or_create(self, name: str) -> rsa.RSAPrivateKey:
        path = self._dir / f"{name}.pem"
        if path.exists():
            loaded = serialization.load_pem_private_key(path.read_bytes(), self._password)
            if not isinstance(loaded, rsa.RSAPrivateKey):  # pragma: no cover
                raise RuntimeError(f"{path} does not hold an RSA key")
            return loaded
        key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZES[name])
        ensure_private_dir(self._dir)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(self._password),
        )
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        tmp.replace(path)
        return key

    def public_pem(self, name: str) -> str:
        return (
            self.private_key(name)
            .public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    def public_der_b64(self, name: str) -> str:
        """The public key as base64 DER, the form ABDM's certificate endpoint returns."""
        der = (
            self.private_key(name)
            .public_key()
            .public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        return base64.b64encode(der).decode()

    def decrypt_oaep(self, name: str, ciphertext_b64: str, *, field: str) -> str:
        """Undo the client's RSA/ECB/OAEPWithSHA-1AndMGF1Padding encryption (ABDM v3)."""
        try:
            raw = base64.b64decode(ciphertext_b64, validate=True)
            plain = self.private_key(name).decrypt(
                raw,
                padding.OAEP(
                    mgf=padding.MGF1(algorithm=hashes.SHA1()),  # noqa: S303 - ABDM's choice
                    algorithm=hashes.SHA1(),  # noqa: S303
                    label=None,
                ),
            )
            return plain.decode("utf-8")
        except Exception as exc:
            raise ValidationFailed(
                f"{field} could not be decrypted. Encrypt it with RSA-OAEP (SHA-1, MGF1) "
                "using the public key from /abha/api/v3/profile/public/certificate, "
                "then base64-encode it.",
                field=field,
                code="HS-1300",
            ) from exc


def encrypt_oaep(public_key_b64_der: str, plaintext: str) -> str:
    """What a client does (used by tests, benchmarks and the desk pages' own client)."""
    pub = serialization.load_der_public_key(base64.b64decode(public_key_b64_der))
    if not isinstance(pub, rsa.RSAPublicKey):  # pragma: no cover
        raise TypeError("not an RSA public key")
    ct = pub.encrypt(
        plaintext.encode(),
        padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None),  # noqa: S303
    )
    return base64.b64encode(ct).decode()
