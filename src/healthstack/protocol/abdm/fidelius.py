"""ABDM health-data encryption ("Fidelius"), byte for byte as ABDM's Fidelius CLI does it.

This module owns the whole scheme (REFERENCE.md §4.5) and nothing about who sends what:

- the curve: BouncyCastle's ``curve25519``, i.e. Curve25519 written in *short Weierstrass*
  form ``y² = x³ + ax + b`` over p = 2²⁵⁵ − 19 (not RFC 7748 X25519), with exact point
  arithmetic here in pure Python, because no library offers that form;
- ECDH: ``shared = x(d·Q)`` as 32 big-endian bytes. The peer point must lie on the curve
  (the invalid-curve guard) and must not have small order; a small-order part is cleared
  as BouncyCastle's agreement clears it (the small-subgroup guard). Where d has an RFC 7748
  clamped representative (every key generated here, about half of all others) X25519 from
  ``cryptography`` computes the same x through the map x = u + 486662/3, about 30 times
  faster; otherwise the exact arithmetic runs;
- the session: ``x = nonceA ⊕ nonceB``; ``key = HKDF-SHA256(shared, salt=x[:20], info=∅,
  32)``; AES-256-GCM with ``iv = x[20:]``, no AAD; the wire carries ``base64(ct ‖ tag)``;
- the encodings Fidelius uses: privateKey = Java ``BigInteger.toByteArray()``; publicKey =
  ``0x04‖X‖Y`` (65 bytes); x509PublicKey = DER SubjectPublicKeyInfo with the curve's
  explicit parameters (309 bytes), read by a small DER reader that checks the parameters;
- the key material of one exchange (``KeyMaterial``) and its wire form (``WireKeyMaterial``).

Python integers are not constant-time; the ladder only keeps the *sequence* of operations
independent of the scalar's bits. Keys are ephemeral (one per data request), which is what
ABDM relies on too.

Every failure raises ``ValidationFailed`` saying what is wrong and what to do; messages
never carry key, nonce or plaintext bytes.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from healthstack.kernel.errors import ValidationFailed

# ------------------------------------------------------------------------------ the curve
# BouncyCastle CustomNamedCurves "curve25519" (org.bouncycastle.math.ec.custom.djb.Curve25519).
P = 2**255 - 19
A = 0x2AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA984914A144
B = 0x7B425ED097B425ED097B425ED097B425ED097B425ED097B4260B5E9C7710C864
N = 2**252 + 27742317777372353535851937790883648493  # prime order of the base point
COFACTOR = 8
_COFACTOR_INVERSE = pow(COFACTOR, -1, N)
# Montgomery form v² = u³ + 486662u² + u maps to this curve by x = u + 486662/3, y = v.
MONTGOMERY_A = 486662
U_TO_X = MONTGOMERY_A * pow(3, -1, P) % P

_COORD = 32  # bytes per coordinate, and of the shared secret
_NONCE = 32
_RAW_POINT = 1 + 2 * _COORD  # 0x04 ‖ X ‖ Y

# Wire constants of ABDM's keyMaterial object.
CRYPTO_ALG = "ECDH"
CURVE = "Curve25519"
KEY_PARAMETERS = "Curve25519/32byte random key"

_DECRYPT_FAILED = (
    "the data could not be decrypted: wrong key, nonce or tampered ciphertext. Check that the "
    "private key and both nonces belong to this data request, and ask the sender to resend."
)


def _fail(message: str, *, code: str, field: str | None = None) -> ValidationFailed:
    return ValidationFailed(message, code=code, field=field)


class Point(NamedTuple):
    """An affine point on the curve (never the point at infinity)."""

    x: int
    y: int


G = Point(
    0x2AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAD245A,
    0x20AE19A1B8A086B4E01EDD2C7748D14C923D4D7E6D7C61B229E9C5A27ECED3D9,
)

# Jacobian (X, Y, Z) stands for (X/Z², Y/Z³); Z == 0 is the point at infinity.
_Jac = tuple[int, int, int]
_INFINITY: _Jac = (1, 1, 0)


def _double(p1: _Jac) -> _Jac:
    x1, y1, z1 = p1
    if z1 == 0 or y1 == 0:  # infinity, or a point of order 2
        return _INFINITY
    yy = y1 * y1 % P
    s = 4 * x1 * yy % P
    zz = z1 * z1 % P
    m = (3 * x1 * x1 + A * zz * zz) % P  # a ≠ −3 here, so no shortcut
    x3 = (m * m - 2 * s) % P
    y3 = (m * (s - x3) - 8 * yy * yy) % P
    return x3, y3, 2 * y1 * z1 % P


def _add(p1: _Jac, p2: _Jac) -> _Jac:
    x1, y1, z1 = p1
    x2, y2, z2 = p2
    if z1 == 0:
        return p2
    if z2 == 0:
        return p1
    z1z1 = z1 * z1 % P
    z2z2 = z2 * z2 % P
    u1 = x1 * z2z2 % P
    u2 = x2 * z1z1 % P
    s1 = y1 * z2 * z2z2 % P
    s2 = y2 * z1 * z1z1 % P
    h = (u2 - u1) % P
    r = (s2 - s1) % P
    if h == 0:
        return _double(p1) if r == 0 else _INFINITY
    hh = h * h % P
    hhh = h * hh % P
    v = u1 * hh % P
    x3 = (r * r - hhh - 2 * v) % P
    y3 = (r * (v - x3) - s1 * hhh) % P
    return x3, y3, z1 * z2 * h % P


def _ladder(k: int, pt: Point) -> Point | None:
    """k·pt for k ≥ 1 by a Montgomery ladder: one add and one double per bit, whatever
    the bit. None is the point at infinity."""
    r0: _Jac = (pt.x, pt.y, 1)
    r1 = _double(r0)
    for i in range(k.bit_length() - 2, -1, -1):
        if (k >> i) & 1:
            r0, r1 = _add(r0, r1), _double(r1)
        else:
            r0, r1 = _double(r0), _add(r0, r1)
    x, y, z = r0
    if z == 0:
        return None
    zi = pow(z, -1, P)
    zi2 = zi * zi % P
    return Point(x * zi2 % P, y * zi2 * zi % P)


def _fixed_length(k: int) -> int:
    """k + n or k + 2n, whichever is 254 bits long: the same multiple of any point of
    order n, but the ladder then runs the same number of steps for every scalar."""
    k %= N
    return k + N if (k + N) >> 253 else k + 2 * N


def is_on_curve(x: int, y: int) -> bool:
    return 0 <= x < P and 0 <= y < P and (y * y - (x * x * x + A * x + B)) % P == 0


def validate_point(x: int, y: int, *, field: str = "publicKey") -> Point:
    """The point, if it is on the curve (the invalid-curve guard: a point off the curve
    would make the arithmetic run on a weaker curve chosen by the sender)."""
    if not is_on_curve(x, y):
        raise _fail(
            "the public key is not a point on Curve25519 (it may be corrupted, or made for "
            "another curve); ask the sender for a fresh Fidelius Curve25519 public key",
            code="HS-1503",
            field=field,
        )
    return Point(x, y)


def _small_order(field: str) -> ValidationFailed:
    return _fail(
        "the public key is a point of small order, never a genuine key; "
        "ask the sender for a fresh Fidelius Curve25519 public key",
        code="HS-1503",
        field=field,
    )


def scalar_mult(d: int, pt: Point) -> Point:
    """d·pt for pt of order n (the base point, or a cleared point) and d ≢ 0 (mod n)."""
    result = _ladder(_fixed_length(d), pt) if d % N else None
    if result is None:
        raise ValueError("d·pt is the point at infinity: d ≡ 0 (mod n), or pt is not of order n")
    return result


def public_key_for(d: int) -> Point:
    return scalar_mult(d, G)


def shared_secret_exact(d: int, peer: Point, *, field: str = "publicKey") -> bytes:
    """x(d·peer) as 32 big-endian bytes, computed as BouncyCastle's ECDH basic agreement
    does it: (d/8 mod n)·(8·peer). For every genuine key (order n) that is exactly d·peer;
    a small-order part a forged point might carry is cleared, so it reveals nothing of d.
    (BouncyCastle's point decoder refuses such mixed points outright; clearing is as safe
    and costs three doublings instead of an extra 253-bit multiplication.)"""
    cleared = _double(_double(_double((peer.x, peer.y, 1))))
    if cleared[2] == 0:
        raise _small_order(field)
    zi = pow(cleared[2], -1, P)
    q8 = Point(cleared[0] * zi * zi % P, cleared[1] * zi * zi * zi % P)
    d8 = d * _COFACTOR_INVERSE % N
    return scalar_mult(d8, q8).x.to_bytes(_COORD, "big")


# ------------------------------------------------------------------ X25519 fast path
def clamped_representative(d: int) -> int | None:
    """The k ≡ d (mod n) that X25519 uses unchanged (RFC 7748 clamping: a multiple of 8
    in [2²⁵⁴, 2²⁵⁵)), if there is one. There is at most one, because 2²⁵⁴ < 4n; it exists
    for every key ``generate_key_material`` makes and for about half of all others."""
    d %= N
    k = d + (-5 * d) % 8 * N  # n ≡ 5 (mod 8) and 5·5 ≡ 1, so k ≡ 0 (mod 8)
    return k if k >> 254 == 1 else None


def shared_secret_x25519(k: int, peer: Point, *, field: str = "publicKey") -> bytes:
    """``shared_secret_exact`` through X25519, for a clamped k: the point maps to its
    Montgomery u = x − 486662/3, X25519 returns u(k·peer), which maps back to x. Both
    agree on every point of the curve: k is a multiple of 8, so X25519 clears a
    small-order part just as the exact path does, and x(k·Q) = x(d·Q) for Q of order n.
    The sign of y is lost on the way, which ECDH never needs: x(k·Q) = x(k·(−Q))."""
    if k >> 254 != 1 or k & 7:
        raise ValueError("X25519 computes k·Q only for clamped scalars")
    u = (peer.x - U_TO_X) % P
    ours = X25519PrivateKey.from_private_bytes(k.to_bytes(_COORD, "little"))
    try:
        shared_u = ours.exchange(X25519PublicKey.from_public_bytes(u.to_bytes(_COORD, "little")))
    except ValueError:  # an all-zero result: the point has small order
        raise _small_order(field) from None
    x = (int.from_bytes(shared_u, "little") + U_TO_X) % P
    return x.to_bytes(_COORD, "big")


def shared_secret(d: int, peer: Point, *, field: str = "publicKey") -> bytes:
    """x(d·peer), 32 big-endian bytes: X25519 where it provably gives the same value
    (a clamped representative of d exists), the exact arithmetic otherwise. ``peer`` must
    be on the curve (the decoders here return only such points)."""
    if d % N == 0:
        raise _fail(
            "the private key is zero modulo the curve order and cannot be used; "
            "generate new key material",
            code="HS-1502",
            field="privateKey",
        )
    k = clamped_representative(d)
    if k is not None:
        return shared_secret_x25519(k, peer, field=field)
    return shared_secret_exact(d, peer, field=field)


# ------------------------------------------------------------------------- encodings
def _b64decode(value: str | bytes, *, what: str, field: str) -> bytes:
    raw = value.encode("ascii", "replace") if isinstance(value, str) else value
    try:
        return binascii.a2b_base64(raw, strict_mode=True)
    except binascii.Error:
        pass
    # Java's decoders skip line breaks (MIME-wrapped base64); so do we, but only on this
    # second try, because removing whitespace costs as much as decoding a large payload.
    try:
        return binascii.a2b_base64(b"".join(raw.split()), strict_mode=True)
    except binascii.Error:
        raise _fail(
            f"the {what} is not valid base64; copy it again exactly as the sender gave it",
            code="HS-1500",
            field=field,
        ) from None


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def encode_private_key(d: int) -> str:
    """Java ``BigInteger.toByteArray()``: minimal signed big-endian, so a 33rd leading zero
    byte appears when the top bit of 32 bytes is set, and small scalars are shorter."""
    return _b64(d.to_bytes(d.bit_length() // 8 + 1, "big"))


def decode_private_key(value: str, *, field: str = "privateKey") -> int:
    """The scalar of a Fidelius privateKey.

    Read as *unsigned*: Java's ``toByteArray()`` of a positive scalar never sets the top
    bit, so a key with it set (32 bytes, top bit set) came from a tool that writes unsigned
    bytes and meant the positive value; its public key was made from that value. Fidelius's
    ``new BigInteger(bytes)`` reads it as negative and so refuses it or derives another
    secret; we take what the key meant. Scalars of n or more are reduced modulo n.
    """
    raw = _b64decode(value, what="private key", field=field)
    if len(raw) == _COORD + 1 and raw[0] == 0:
        raw = raw[1:]
    if not 1 <= len(raw) <= _COORD:
        raise _fail(
            f"the private key is {len(raw)} bytes; a Fidelius private key is at most 32 bytes "
            "(33 with a leading zero byte). Use the privateKey of generated key material",
            code="HS-1501",
            field=field,
        )
    d = int.from_bytes(raw, "big")
    if d % N == 0:
        raise _fail(
            "the private key is zero modulo the curve order and cannot be used; "
            "generate new key material",
            code="HS-1502",
            field=field,
        )
    return d


def _sec1(pt: Point) -> bytes:
    return b"\x04" + pt.x.to_bytes(_COORD, "big") + pt.y.to_bytes(_COORD, "big")


def encode_public_key(pt: Point) -> str:
    """Uncompressed SEC1 point with fixed 32-byte coordinates: 65 bytes, 88 characters."""
    return _b64(_sec1(pt))


def _point_from_sec1(raw: bytes, *, field: str) -> Point:
    if len(raw) != _RAW_POINT or raw[0] != 0x04:
        if raw == b"\x00":
            detail = "it is the point at infinity, which is never a key"
        elif raw[:1] in (b"\x02", b"\x03"):
            detail = "it is a compressed point; send the uncompressed form (0x04‖X‖Y)"
        elif len(raw) == _RAW_POINT:
            detail = "a 65-byte point must start with 0x04 (uncompressed)"
        else:
            detail = (
                f"a public key must be a 65-byte point 0x04‖X‖Y with 32-byte coordinates, "
                f"or an X.509 SubjectPublicKeyInfo (got {len(raw)} bytes)"
            )
        raise _fail(f"the public key is not usable: {detail}", code="HS-1501", field=field)
    x = int.from_bytes(raw[1:33], "big")
    y = int.from_bytes(raw[33:], "big")
    return validate_point(x, y, field=field)


def decode_public_key(value: str | Point, *, field: str = "publicKey") -> Point:
    """A validated point from a Fidelius publicKey (65-byte raw point) or x509PublicKey
    (any other length is read as DER, as Fidelius does)."""
    if isinstance(value, Point):
        return validate_point(value.x, value.y, field=field)
    raw = _b64decode(value, what="public key", field=field)
    if len(raw) == _RAW_POINT or raw[:1] != b"\x30":
        return _point_from_sec1(raw, field=field)
    return _point_from_sec1(_spki_point(raw, field=field), field=field)


# --- X.509 SubjectPublicKeyInfo with explicit parameters (RFC 5480, SEC1 §C.2, X9.62).
_OID_EC_PUBLIC_KEY = bytes.fromhex("2a8648ce3d0201")  # 1.2.840.10045.2.1
_OID_PRIME_FIELD = bytes.fromhex("2a8648ce3d0101")  # 1.2.840.10045.1.1
_SEQUENCE, _INTEGER, _BIT_STRING, _OCTET_STRING, _OID = 0x30, 0x02, 0x03, 0x04, 0x06


def _der(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        return bytes([tag, n]) + content
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + content


def _der_int(value: int) -> bytes:
    return _der(_INTEGER, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def _spki_der(pt: Point) -> bytes:
    params = _der(
        _SEQUENCE,
        _der_int(1)
        + _der(_SEQUENCE, _der(_OID, _OID_PRIME_FIELD) + _der_int(P))
        + _der(
            _SEQUENCE,
            _der(_OCTET_STRING, A.to_bytes(_COORD, "big"))
            + _der(_OCTET_STRING, B.to_bytes(_COORD, "big")),
        )
        + _der(_OCTET_STRING, _sec1(G))
        + _der_int(N)
        + _der_int(COFACTOR),
    )
    algorithm = _der(_SEQUENCE, _der(_OID, _OID_EC_PUBLIC_KEY) + params)
    return _der(_SEQUENCE, algorithm + _der(_BIT_STRING, b"\x00" + _sec1(pt)))


def encode_x509_public_key(pt: Point) -> str:
    """DER SubjectPublicKeyInfo with explicit curve parameters, as Java's
    ``PublicKey.getEncoded()`` writes a Fidelius key: 309 bytes, 412 characters."""
    return _b64(_spki_der(pt))


class _Der:
    """A strict reader of the few DER shapes a SubjectPublicKeyInfo uses."""

    def __init__(self, data: bytes, field: str):
        self.data, self.pos, self.field = data, 0, field

    def bad(self, detail: str) -> ValidationFailed:
        return _fail(
            f"the X.509 public key is malformed ({detail}); send the publicKey (65-byte point) "
            "or an x509PublicKey exactly as the key generator wrote it",
            code="HS-1504",
            field=self.field,
        )

    def at_end(self) -> bool:
        return self.pos == len(self.data)

    def peek(self) -> int | None:
        return None if self.at_end() else self.data[self.pos]

    def read(self, tag: int) -> bytes:
        data, pos = self.data, self.pos
        if pos + 2 > len(data):
            raise self.bad("it ends early")
        if data[pos] != tag:
            raise self.bad(f"expected tag 0x{tag:02x}, found 0x{data[pos]:02x}")
        length, pos = data[pos + 1], pos + 2
        if length & 0x80:
            size = length & 0x7F
            if not 1 <= size <= 2 or pos + size > len(data):
                raise self.bad("unsupported length")
            length, pos = int.from_bytes(data[pos : pos + size], "big"), pos + size
        if pos + length > len(data):
            raise self.bad("a length runs past the end")
        self.pos = pos + length
        return data[pos : pos + length]

    def nested(self, tag: int) -> _Der:
        return _Der(self.read(tag), self.field)

    def integer(self) -> int:
        raw = self.read(_INTEGER)
        if not raw:
            raise self.bad("an empty INTEGER")
        return int.from_bytes(raw, "big", signed=True)

    def done(self) -> None:
        if not self.at_end():
            raise self.bad("unexpected trailing data")


def _spki_point(der: bytes, *, field: str) -> bytes:
    """The raw point of a SubjectPublicKeyInfo, after checking its curve is Fidelius's."""
    outer = _Der(der, field)
    spki = outer.nested(_SEQUENCE)
    outer.done()
    algorithm = spki.nested(_SEQUENCE)
    if algorithm.read(_OID) != _OID_EC_PUBLIC_KEY:
        raise algorithm.bad("not an elliptic-curve key")
    if algorithm.peek() != _SEQUENCE:
        raise _fail(
            "the X.509 public key names its curve instead of carrying its parameters; "
            "Fidelius keys carry Curve25519's explicit parameters, so ask the sender for a "
            "Fidelius (BouncyCastle curve25519) key",
            code="HS-1505",
            field=field,
        )
    params = algorithm.nested(_SEQUENCE)
    algorithm.done()
    mismatched: list[str] = []
    if params.integer() != 1:
        raise params.bad("unknown ECParameters version")
    field_id = params.nested(_SEQUENCE)
    if field_id.read(_OID) != _OID_PRIME_FIELD or field_id.integer() != P:
        mismatched.append("field prime")
    curve = params.nested(_SEQUENCE)
    if int.from_bytes(curve.read(_OCTET_STRING), "big") != A:
        mismatched.append("a")
    if int.from_bytes(curve.read(_OCTET_STRING), "big") != B:
        mismatched.append("b")
    if curve.peek() == _BIT_STRING:  # the optional seed; it does not change the curve
        curve.read(_BIT_STRING)
    curve.done()
    if params.read(_OCTET_STRING) != _sec1(G):
        mismatched.append("base point")
    if params.integer() != N:
        mismatched.append("order")
    if params.peek() == _INTEGER and params.integer() != COFACTOR:
        mismatched.append("cofactor")
    params.done()
    if mismatched:
        raise _fail(
            "the X.509 public key is for another curve (it differs from Curve25519 in: "
            + ", ".join(mismatched)
            + "); ask the sender for a Fidelius Curve25519 key",
            code="HS-1505",
            field=field,
        )
    bits = spki.read(_BIT_STRING)
    spki.done()
    if not bits or bits[0] != 0:
        raise spki.bad("the key's BIT STRING has unused bits")
    return bits[1:]


def decode_nonce(value: str | bytes, *, field: str = "nonce") -> bytes:
    """32 raw bytes from a base64 nonce (or the raw bytes themselves)."""
    raw = value if isinstance(value, bytes) else _b64decode(value, what="nonce", field=field)
    if len(raw) != _NONCE:
        raise _fail(
            f"the nonce is {len(raw)} bytes; a Fidelius nonce is 32 random bytes in base64 "
            "(44 characters). Use the nonce of the key material sent with this request",
            code="HS-1506",
            field=field,
        )
    return raw


# ---------------------------------------------------------------------- the session
@dataclass(frozen=True)
class SessionKey:
    """What one exchange derives from the shared secret and the two nonces."""

    salt: bytes = field(repr=False)  # xor[0:20]
    iv: bytes = field(repr=False)  # xor[20:32]
    key: bytes = field(repr=False)  # HKDF-SHA256 → 32 bytes, the AES-256 key


def derive_session_key(shared: bytes, nonce_a: bytes, nonce_b: bytes) -> SessionKey:
    """The XOR of the nonces is symmetric, so the sender's and the receiver's order agree."""
    mixed = bytes(a ^ b for a, b in zip(nonce_a, nonce_b, strict=True))
    salt, iv = mixed[:20], mixed[20:]
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=None).derive(shared)
    return SessionKey(salt=salt, iv=iv, key=key)


PrivateKeyLike = str | int
PublicKeyLike = str | Point
NonceLike = str | bytes


def _scalar(value: PrivateKeyLike, field: str) -> int:
    if isinstance(value, int):
        if value <= 0 or value % N == 0:
            raise _fail(
                "the private key must be a positive scalar not divisible by the curve order",
                code="HS-1502",
                field=field,
            )
        return value
    return decode_private_key(value, field=field)


def _session(
    private_key: PrivateKeyLike,
    public_key: PublicKeyLike,
    sender_nonce: NonceLike,
    receiver_nonce: NonceLike,
    fields: tuple[str, str],
) -> SessionKey:
    """Checks the cheap inputs first, then runs the agreement and the derivation."""
    nonces = (
        decode_nonce(sender_nonce, field="senderNonce"),
        decode_nonce(receiver_nonce, field="requesterNonce"),
    )
    d = _scalar(private_key, fields[0])
    peer = decode_public_key(public_key, field=fields[1])
    return derive_session_key(shared_secret(d, peer, field=fields[1]), *nonces)


def encrypt(
    plaintext: str | bytes,
    *,
    sender_private_key: PrivateKeyLike,
    sender_nonce: NonceLike,
    receiver_public_key: PublicKeyLike,
    receiver_nonce: NonceLike,
) -> str:
    """base64(AES-256-GCM ciphertext ‖ tag) of the UTF-8 plaintext, as the HIP sends it."""
    session = _session(
        sender_private_key,
        receiver_public_key,
        sender_nonce,
        receiver_nonce,
        ("senderPrivateKey", "requesterPublicKey"),
    )
    data = plaintext.encode("utf-8") if isinstance(plaintext, str) else plaintext
    return _b64(AESGCM(session.key).encrypt(session.iv, data, None))


def decrypt_bytes(
    encrypted_data: str,
    *,
    receiver_private_key: PrivateKeyLike,
    receiver_nonce: NonceLike,
    sender_public_key: PublicKeyLike,
    sender_nonce: NonceLike,
) -> bytes:
    """The plaintext bytes of what ``encrypt`` produced, as the HIU reads it."""
    sealed = _b64decode(encrypted_data, what="encrypted data", field="encryptedData")
    if len(sealed) < 16:
        raise _fail(
            "the encrypted data is shorter than a GCM tag; it was cut off, ask for it again",
            code="HS-1507",
            field="encryptedData",
        )
    session = _session(
        receiver_private_key,
        sender_public_key,
        sender_nonce,
        receiver_nonce,
        ("requesterPrivateKey", "senderPublicKey"),
    )
    try:
        return AESGCM(session.key).decrypt(session.iv, sealed, None)
    except InvalidTag:
        raise _fail(_DECRYPT_FAILED, code="HS-1508", field="encryptedData") from None


def decrypt(
    encrypted_data: str,
    *,
    receiver_private_key: PrivateKeyLike,
    receiver_nonce: NonceLike,
    sender_public_key: PublicKeyLike,
    sender_nonce: NonceLike,
) -> str:
    """``decrypt_bytes`` as text (FHIR bundles are UTF-8 JSON)."""
    raw = decrypt_bytes(
        encrypted_data,
        receiver_private_key=receiver_private_key,
        receiver_nonce=receiver_nonce,
        sender_public_key=sender_public_key,
        sender_nonce=sender_nonce,
    )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _fail(
            "the data decrypted but is not UTF-8 text; read it as bytes (decrypt_bytes)",
            code="HS-1509",
            field="encryptedData",
        ) from None


# ---------------------------------------------------------------------- key material
@dataclass(frozen=True)
class KeyMaterial:
    """One side's key material for one data request: a private scalar, its public point
    and a nonce. ``to_dict`` gives the Fidelius CLI's JSON (the private key included, so
    keep it out of logs); ``wire`` gives what goes on the network."""

    private_key: int = field(repr=False)
    public_key: Point
    nonce: bytes = field(repr=False)

    @property
    def private_key_b64(self) -> str:
        return encode_private_key(self.private_key)

    @property
    def public_key_b64(self) -> str:
        return encode_public_key(self.public_key)

    @property
    def x509_public_key_b64(self) -> str:
        return encode_x509_public_key(self.public_key)

    @property
    def nonce_b64(self) -> str:
        return _b64(self.nonce)

    def to_dict(self) -> dict[str, str]:
        return {
            "privateKey": self.private_key_b64,
            "publicKey": self.public_key_b64,
            "x509PublicKey": self.x509_public_key_b64,
            "nonce": self.nonce_b64,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> KeyMaterial:
        """Reads ``to_dict`` output; the public key must belong to the private key."""
        for name in ("privateKey", "nonce"):
            if not isinstance(data.get(name), str):
                raise _fail(f"key material has no {name}", code="HS-1510", field=name)
        d = decode_private_key(data["privateKey"])
        public = public_key_for(d)
        given = data.get("publicKey") or data.get("x509PublicKey")
        if given is not None and decode_public_key(str(given)) != public:
            raise _fail(
                "the key material's public key does not belong to its private key; "
                "generate new key material",
                code="HS-1510",
                field="publicKey",
            )
        return cls(private_key=d, public_key=public, nonce=decode_nonce(data["nonce"]))

    def wire(self, expiry: datetime, *, x509: bool = False) -> WireKeyMaterial:
        return WireKeyMaterial(
            public_key=self.x509_public_key_b64 if x509 else self.public_key_b64,
            nonce=self.nonce_b64,
            expiry=expiry.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        )


def generate_key_material(
    *, random_bytes: Callable[[int], bytes] = secrets.token_bytes
) -> KeyMaterial:
    """Fresh key material. The scalar is k mod n for a random RFC 7748-clamped k: in
    [1, n − 1] as BouncyCastle requires of a private key, and with a clamped
    representative, so X25519 serves its agreements. The 2²⁵¹ possible k give 2²⁵¹
    distinct scalars, X25519's own key space."""
    raw = bytearray(random_bytes(_COORD))
    raw[0] &= 0xF8
    raw[31] = (raw[31] & 0x7F) | 0x40
    d = int.from_bytes(raw, "little") % N
    return KeyMaterial(private_key=d, public_key=public_key_for(d), nonce=random_bytes(_NONCE))


@dataclass(frozen=True)
class WireKeyMaterial:
    """ABDM's ``keyMaterial`` object as it travels in a data request or a data push."""

    public_key: str  # dhPublicKey.keyValue: a Fidelius publicKey or x509PublicKey
    nonce: str
    expiry: str  # dhPublicKey.expiry, ISO-8601 as ABDM writes it
    crypto_alg: str = CRYPTO_ALG
    curve: str = CURVE
    parameters: str = KEY_PARAMETERS

    def to_dict(self) -> dict[str, Any]:
        return {
            "cryptoAlg": self.crypto_alg,
            "curve": self.curve,
            "dhPublicKey": {
                "expiry": self.expiry,
                "parameters": self.parameters,
                "keyValue": self.public_key,
            },
            "nonce": self.nonce,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WireKeyMaterial:
        """Checks the shape, the algorithm and the key (valid point) and the nonce."""
        dh = data.get("dhPublicKey")
        if not isinstance(dh, Mapping):
            raise _fail(
                "keyMaterial has no dhPublicKey object", code="HS-1511", field="keyMaterial"
            )
        values = {
            "cryptoAlg": data.get("cryptoAlg"),
            "curve": data.get("curve"),
            "nonce": data.get("nonce"),
            "dhPublicKey.keyValue": dh.get("keyValue"),
            "dhPublicKey.expiry": dh.get("expiry"),
        }
        for name, value in values.items():
            if not isinstance(value, str) or not value:
                raise _fail(f"keyMaterial has no {name}", code="HS-1511", field="keyMaterial")
        if (
            str(values["cryptoAlg"]).upper() != CRYPTO_ALG
            or str(values["curve"]).lower() != CURVE.lower()
        ):
            raise _fail(
                f"keyMaterial must use cryptoAlg {CRYPTO_ALG} on curve {CURVE}; "
                "other algorithms are not part of ABDM's data exchange",
                code="HS-1511",
                field="keyMaterial",
            )
        decode_public_key(str(values["dhPublicKey.keyValue"]), field="dhPublicKey.keyValue")
        decode_nonce(str(values["nonce"]), field="nonce")
        parameters = dh.get("parameters")
        return cls(
            public_key=str(values["dhPublicKey.keyValue"]),
            nonce=str(values["nonce"]),
            expiry=str(values["dhPublicKey.expiry"]),
            crypto_alg=str(values["cryptoAlg"]),
            curve=str(values["curve"]),
            parameters=parameters if isinstance(parameters, str) else KEY_PARAMETERS,
        )
