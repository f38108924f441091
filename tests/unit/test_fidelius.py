"""ABDM Fidelius encryption: the published vector byte for byte, round trips, refusals,
and the X25519 fast path against the exact short-Weierstrass arithmetic."""

from __future__ import annotations

import base64
import json
import random
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from healthstack.kernel.errors import ValidationFailed
from healthstack.protocol.abdm import fidelius as f
from tests.conftest import shared_path

Aff = tuple[int, int] | None  # an affine point, None for infinity


# An independent, plain affine implementation (double-and-add) to check the module's
# Jacobian ladder against, and to build small-order and mixed points.
def aff_add(p1: Aff, p2: Aff) -> Aff:
    if p1 is None:
        return p2
    if p2 is None:
        return p1
    (x1, y1), (x2, y2) = p1, p2
    if x1 == x2 and (y1 + y2) % f.P == 0:
        return None
    if p1 == p2:
        lam = (3 * x1 * x1 + f.A) * pow(2 * y1, -1, f.P) % f.P
    else:
        lam = (y2 - y1) * pow(x2 - x1, -1, f.P) % f.P
    x3 = (lam * lam - x1 - x2) % f.P
    return x3, (lam * (x1 - x3) - y1) % f.P


def aff_mul(k: int, pt: Aff) -> Aff:
    result: Aff = None
    for bit in bin(k)[2:]:
        result = aff_add(result, result)
        if bit == "1":
            result = aff_add(result, pt)
    return result


def sqrt_mod_p(a: int) -> int | None:
    y = pow(a, (f.P + 3) // 8, f.P)  # p ≡ 5 (mod 8)
    if y * y % f.P != a % f.P:
        y = y * pow(2, (f.P - 1) // 4, f.P) % f.P
    return y if y * y % f.P == a % f.P else None


def random_curve_point(rng: random.Random) -> tuple[int, int]:
    while True:
        x = rng.randrange(f.P)
        y = sqrt_mod_p((x**3 + f.A * x + f.B) % f.P)
        if y is not None:
            return x, y


def small_order_point(order: int, rng: random.Random) -> tuple[int, int]:
    while True:
        t = aff_mul(f.N, random_curve_point(rng))  # kills the order-n part
        if t is not None and aff_mul(order, t) is None and aff_mul(order // 2, t) is not None:
            return t


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def refused(code: str, fn: Any, *args: Any, **kwargs: Any) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as err:
        fn(*args, **kwargs)
    assert err.value.code == code, err.value.message
    return err.value


@pytest.fixture(scope="module")
def vector() -> dict[str, Any]:
    return json.loads(shared_path("crypto", "fidelius-test-vector.json").read_text())


@pytest.fixture(scope="module")
def hip() -> f.KeyMaterial:
    return f.generate_key_material()


@pytest.fixture(scope="module")
def hiu() -> f.KeyMaterial:
    return f.generate_key_material()


# ------------------------------------------------------------------ the curve itself
def test_curve_is_bouncycastle_curve25519(vector):
    c = vector["curve"]
    assert (
        int(c["p_hex"], 16),
        int(c["a_hex"], 16),
        int(c["b_hex"], 16),
        int(c["n_hex"], 16),
        c["cofactor"],
    ) == (f.P, f.A, f.B, f.N, f.COFACTOR)
    assert (int(c["Gx_hex"], 16), int(c["Gy_hex"], 16)) == f.G
    assert f.is_on_curve(*f.G)
    assert aff_mul(f.N, f.G) is None


def test_weierstrass_form_is_the_montgomery_curve_moved_by_a_third():
    a_m, inv3, inv27 = f.MONTGOMERY_A, pow(3, -1, f.P), pow(27, -1, f.P)
    assert (3 - a_m * a_m) * inv3 % f.P == f.A
    assert (2 * a_m**3 - 9 * a_m) * inv27 % f.P == f.B
    assert f.G.x == (9 + f.U_TO_X) % f.P  # X25519's base point u = 9


@settings(max_examples=15, deadline=None)
@given(st.integers(min_value=1, max_value=f.N - 1))
def test_ladder_matches_plain_affine_arithmetic(d):
    assert f.public_key_for(d) == aff_mul(d, f.G)


# ------------------------------------------------------------- the published vector
def test_vector_keys_encode_as_fidelius_writes_them(vector):
    for side in ("requester_HIU", "sender_HIP"):
        keys = vector[side]
        d = f.decode_private_key(keys["privateKey"])
        assert f.encode_private_key(d) == keys["privateKey"]
        public = f.public_key_for(d)
        assert f.encode_public_key(public) == keys["publicKey"]
        assert f.encode_x509_public_key(public) == keys["x509PublicKey"]
        assert len(keys["publicKey"]) == 88 and len(keys["x509PublicKey"]) == 412
        assert len(base64.b64decode(keys["x509PublicKey"])) == 309
        assert f.decode_public_key(keys["x509PublicKey"]) == public
        assert f.decode_public_key(keys["publicKey"]) == public


def test_vector_intermediates(vector):
    hiu, hip, derived = vector["requester_HIU"], vector["sender_HIP"], vector["derived"]
    d_hiu = f.decode_private_key(hiu["privateKey"])
    d_hip = f.decode_private_key(hip["privateKey"])
    # Neither vector key has a clamped representative: this is the exact path.
    assert f.clamped_representative(d_hiu) is None and f.clamped_representative(d_hip) is None
    shared_hip = f.shared_secret(d_hip, f.decode_public_key(hiu["publicKey"]))
    shared_hiu = f.shared_secret(d_hiu, f.decode_public_key(hip["x509PublicKey"]))
    assert shared_hip == shared_hiu
    assert shared_hip.hex() == derived["ecdh_shared_secret_x_hex"]
    assert b64(shared_hip) == derived["ecdh_shared_secret_x_32B_base64"]

    nonce_hip, nonce_hiu = f.decode_nonce(hip["nonce"]), f.decode_nonce(hiu["nonce"])
    session = f.derive_session_key(shared_hip, nonce_hip, nonce_hiu)
    assert session == f.derive_session_key(shared_hip, nonce_hiu, nonce_hip)
    assert (session.salt + session.iv).hex() == derived["nonce_xor_32B_hex"]
    assert session.salt.hex() == derived["hkdf_salt_first20B_hex"]
    assert session.iv.hex() == derived["aes_gcm_iv_last12B_hex"]
    assert session.key.hex() == derived["aes256_key_hex"]

    sealed = base64.b64decode(vector["encryptedData_base64"])
    assert len(sealed) == derived["ciphertext_len_bytes"]
    assert sealed[-16:].hex() == derived["gcm_tag_last16B_hex"]
    assert len(vector["plaintext"].encode()) == derived["plaintext_len_bytes"]


@pytest.mark.parametrize("public_form", ["publicKey", "x509PublicKey"])
def test_vector_decrypts_to_the_plaintext(vector, public_form):
    hiu, hip = vector["requester_HIU"], vector["sender_HIP"]
    plain = f.decrypt(
        vector["encryptedData_base64"],
        receiver_private_key=hiu["privateKey"],
        receiver_nonce=hiu["nonce"],
        sender_public_key=hip[public_form],
        sender_nonce=hip["nonce"],
    )
    assert plain == vector["plaintext"]


@pytest.mark.parametrize("public_form", ["publicKey", "x509PublicKey"])
def test_vector_encrypts_to_the_published_ciphertext(vector, public_form):
    hiu, hip = vector["requester_HIU"], vector["sender_HIP"]
    for plaintext in (vector["plaintext"], vector["plaintext"].encode()):
        sealed = f.encrypt(
            plaintext,
            sender_private_key=hip["privateKey"],
            sender_nonce=hip["nonce"],
            receiver_public_key=hiu[public_form],
            receiver_nonce=hiu["nonce"],
        )
        assert sealed == vector["encryptedData_base64"]


def test_line_wrapped_base64_is_accepted(vector):
    """Java's decoders skip line breaks (MIME-wrapped base64), so a copied value may have them."""
    hiu, hip = vector["requester_HIU"], vector["sender_HIP"]
    data = vector["encryptedData_base64"]
    wrapped = "\n".join(data[i : i + 76] for i in range(0, len(data), 76)) + "\n"
    plain = f.decrypt(
        wrapped,
        receiver_private_key=hiu["privateKey"],
        receiver_nonce=hiu["nonce"],
        sender_public_key=hip["x509PublicKey"][:200] + "\r\n" + hip["x509PublicKey"][200:],
        sender_nonce=hip["nonce"],
    )
    assert plain == vector["plaintext"]


# ------------------------------------------------------------------------ round trips
def _seal(plain: str | bytes, sender: f.KeyMaterial, receiver: f.KeyMaterial, x509: bool) -> str:
    return f.encrypt(
        plain,
        sender_private_key=sender.private_key_b64,
        sender_nonce=sender.nonce_b64,
        receiver_public_key=receiver.x509_public_key_b64 if x509 else receiver.public_key_b64,
        receiver_nonce=receiver.nonce_b64,
    )


def _open(sealed: str, sender: f.KeyMaterial, receiver: f.KeyMaterial, x509: bool) -> bytes:
    return f.decrypt_bytes(
        sealed,
        receiver_private_key=receiver.private_key_b64,
        receiver_nonce=receiver.nonce_b64,
        sender_public_key=sender.x509_public_key_b64 if x509 else sender.public_key_b64,
        sender_nonce=sender.nonce_b64,
    )


@pytest.mark.parametrize("x509", [False, True])
def test_round_trip_with_fresh_keys_both_directions(hip, hiu, x509):
    bundle = json.dumps({"resourceType": "Bundle", "note": "नमस्ते"})
    for sender, receiver in ((hip, hiu), (hiu, hip)):
        sealed = _seal(bundle, sender, receiver, x509)
        assert _open(sealed, sender, receiver, not x509).decode() == bundle
        assert len(base64.b64decode(sealed)) == len(bundle.encode()) + 16


@settings(max_examples=30, deadline=None)
@given(
    plain=st.binary(max_size=4096),
    n1=st.binary(min_size=32, max_size=32),
    n2=st.binary(min_size=32, max_size=32),
)
def test_round_trip_property(hip, hiu, plain, n1, n2):
    sender = f.KeyMaterial(hip.private_key, hip.public_key, n1)
    receiver = f.KeyMaterial(hiu.private_key, hiu.public_key, n2)
    assert _open(_seal(plain, sender, receiver, False), sender, receiver, True) == plain


@settings(max_examples=5, deadline=None)
@given(st.integers(min_value=1, max_value=f.N - 1), st.text(max_size=200))
def test_round_trip_with_any_scalar(d, text):
    """Arbitrary scalars (most without a clamped representative) take the exact path."""
    sender = f.KeyMaterial(d, f.public_key_for(d), bytes(range(32)))
    receiver = f.generate_key_material()
    sealed = _seal(text, sender, receiver, False)
    assert _open(sealed, sender, receiver, False).decode() == text


def test_generated_material_is_well_formed():
    km = f.generate_key_material()
    out = km.to_dict()
    assert set(out) == {"privateKey", "publicKey", "x509PublicKey", "nonce"}
    assert len(out["publicKey"]) == 88 and len(out["x509PublicKey"]) == 412
    assert len(base64.b64decode(out["nonce"])) == 32
    assert 1 <= km.private_key < f.N  # BouncyCastle refuses private scalars outside [1, n-1]
    assert f.clamped_representative(km.private_key) is not None
    assert f.KeyMaterial.from_dict(out) == km
    assert out["privateKey"] not in repr(km) and str(km.private_key) not in repr(km)


# --------------------------------------------------------------------------- refusals
DECRYPT_FAILED = "the data could not be decrypted: wrong key, nonce or tampered ciphertext"


@settings(max_examples=20, deadline=None)
@given(st.data())
def test_any_flipped_bit_is_detected(hip, hiu, data):
    sealed = bytearray(base64.b64decode(_seal("a FHIR bundle", hip, hiu, False)))
    bit = data.draw(st.integers(min_value=0, max_value=len(sealed) * 8 - 1))
    sealed[bit // 8] ^= 1 << (bit % 8)
    err = refused("HS-1508", _open, b64(bytes(sealed)), hip, hiu, False)
    assert err.message.startswith(DECRYPT_FAILED)


def test_wrong_key_or_nonce_is_refused(hip, hiu):
    sealed = _seal("a FHIR bundle", hip, hiu, False)
    stranger = f.generate_key_material()
    refused("HS-1508", _open, sealed, hip, stranger, False)  # another private key
    refused("HS-1508", _open, sealed, stranger, hiu, False)  # another sender key
    other_nonce = f.KeyMaterial(hiu.private_key, hiu.public_key, bytes(32))
    refused("HS-1508", _open, sealed, hip, other_nonce, False)
    refused("HS-1507", _open, b64(b"short"), hip, hiu, False)


def test_point_off_the_curve_is_refused(hiu):
    x, y = hiu.public_key
    for bad in ((x, (y + 1) % f.P), (x, y + f.P), (0, 0)):
        raw = b"\x04" + bad[0].to_bytes(32, "big") + (bad[1] % 2**256).to_bytes(32, "big")
        err = refused("HS-1503", f.decode_public_key, b64(raw))
        assert "not a point on Curve25519" in err.message
    refused("HS-1503", f.decode_public_key, f.Point(x, (y + 1) % f.P))


def test_point_at_infinity_is_refused():
    err = refused("HS-1501", f.decode_public_key, b64(b"\x00"))
    assert "point at infinity" in err.message


@pytest.mark.parametrize("order", [2, 4, 8])
def test_small_order_points_are_refused_on_both_paths(hip, order):
    t = f.validate_point(*small_order_point(order, random.Random(order)))
    d, k = hip.private_key, f.clamped_representative(hip.private_key)
    assert k is not None
    refused("HS-1503", f.shared_secret_exact, d, t)
    refused("HS-1503", f.shared_secret_x25519, k, t)
    refused(
        "HS-1503",
        f.encrypt,
        "x",
        sender_private_key=d,
        sender_nonce=bytes(32),
        receiver_public_key=f.encode_public_key(t),
        receiver_nonce=bytes(32),
    )


def test_mixed_point_has_its_small_order_part_cleared_on_both_paths(hip, hiu):
    """Q + T (T of order 8) gives the same secret as Q on both paths, so it reveals
    nothing about d mod 8."""
    t = small_order_point(8, random.Random(8))
    mixed = f.validate_point(*aff_add(hiu.public_key, t))  # type: ignore[misc]
    d = hip.private_key
    k = f.clamped_representative(d)
    assert k is not None
    genuine = f.shared_secret_exact(d, hiu.public_key)
    assert f.shared_secret_exact(d, mixed) == genuine == f.shared_secret_x25519(k, mixed)


def test_malformed_inputs_say_what_is_wrong(hiu):
    refused("HS-1500", f.decode_public_key, "not base64!")
    refused("HS-1500", f.decode_private_key, "@@@@")
    refused("HS-1500", f.decode_nonce, "***")
    err = refused("HS-1501", f.decode_public_key, b64(b"\x04" + bytes(63)))
    assert "got 64 bytes" in err.message
    compressed = b"\x02" + hiu.public_key.x.to_bytes(32, "big")
    assert "compressed" in refused("HS-1501", f.decode_public_key, b64(compressed)).message
    err = refused("HS-1506", f.decode_nonce, b64(bytes(31)))
    assert "31 bytes" in err.message and err.field == "nonce"
    refused(
        "HS-1506",
        f.encrypt,
        "x",
        sender_private_key=hiu.private_key_b64,
        sender_nonce=b64(bytes(16)),
        receiver_public_key=hiu.public_key_b64,
        receiver_nonce=hiu.nonce_b64,
    )


def test_messages_never_carry_key_material(vector):
    hiu = vector["requester_HIU"]
    bad_private = b64(bytes(40))
    bad_nonce = hiu["nonce"][:-4]
    for fn, value in ((f.decode_private_key, bad_private), (f.decode_nonce, bad_nonce)):
        with pytest.raises(ValidationFailed) as err:
            fn(value)
        assert value not in err.value.message
    with pytest.raises(ValidationFailed) as err:
        f.decrypt(
            vector["encryptedData_base64"][:-8] + "AAAAAAA=",
            receiver_private_key=hiu["privateKey"],
            receiver_nonce=hiu["nonce"],
            sender_public_key=vector["sender_HIP"]["publicKey"],
            sender_nonce=vector["sender_HIP"]["nonce"],
        )
    assert vector["plaintext"][:10] not in err.value.message
    assert hiu["privateKey"] not in err.value.message


def test_non_utf8_plaintext_is_reported(hip, hiu):
    sealed = _seal(b"\xff\xfe", hip, hiu, False)
    refused(
        "HS-1509",
        f.decrypt,
        sealed,
        receiver_private_key=hiu.private_key_b64,
        receiver_nonce=hiu.nonce_b64,
        sender_public_key=hip.public_key_b64,
        sender_nonce=hip.nonce_b64,
    )


# ------------------------------------------------------------------ private key parsing
def test_java_negative_scalar_is_read_as_the_unsigned_value_it_meant(hiu):
    """32 bytes with the top bit set: Java's BigInteger(byte[]) would read a negative
    number; the key's public half was made from the unsigned value, so that is the one."""
    raw = bytes([0xC3]) + bytes(range(1, 32))
    d = int.from_bytes(raw, "big")
    assert f.decode_private_key(b64(raw)) == d
    java_negative = int.from_bytes(raw, "big", signed=True)
    assert java_negative < 0 and java_negative % f.N != d % f.N
    # ...and it works end to end with the public key of the unsigned value.
    sender = f.KeyMaterial(d, f.public_key_for(d), bytes(32))
    sealed = f.encrypt(
        "x",
        sender_private_key=b64(raw),
        sender_nonce=bytes(32),
        receiver_public_key=hiu.public_key_b64,
        receiver_nonce=hiu.nonce_b64,
    )
    assert _open(sealed, sender, hiu, False) == b"x"


def test_private_key_lengths():
    d = 2**255 + 12345  # toByteArray() of a 256-bit number is 33 bytes, leading 0x00
    encoded = base64.b64decode(f.encode_private_key(d))
    assert len(encoded) == 33 and encoded[0] == 0
    assert f.decode_private_key(f.encode_private_key(d)) == d
    assert f.decode_private_key(b64(encoded[1:])) == d  # the same scalar as 32 bytes
    assert len(base64.b64decode(f.encode_private_key(2**240))) == 31  # short, as Java's
    assert f.decode_private_key(f.encode_private_key(2**240)) == 2**240
    refused("HS-1501", f.decode_private_key, b64(b"\x01" + encoded[1:]))  # 33, no 0x00
    refused("HS-1501", f.decode_private_key, b64(bytes(34)))
    refused("HS-1501", f.decode_private_key, "")
    refused("HS-1502", f.decode_private_key, b64(bytes(32)))
    refused("HS-1502", f.decode_private_key, b64(f.N.to_bytes(32, "big")))


# ---------------------------------------------------------------------------- X.509
def _der_with(der: bytes, old: bytes, new: bytes) -> str:
    assert der.count(old) == 1
    return b64(der.replace(old, new))


def test_x509_for_another_curve_is_refused(hiu):
    der = base64.b64decode(hiu.x509_public_key_b64)
    b_bytes = f.B.to_bytes(32, "big")
    err = refused("HS-1505", f.decode_public_key, _der_with(der, b_bytes, b_bytes[:-1] + b"\x65"))
    assert "another curve" in err.message and "in: b)" in err.message
    p_bytes = f.P.to_bytes(32, "big")
    err = refused("HS-1505", f.decode_public_key, _der_with(der, p_bytes, p_bytes[:-1] + b"\xef"))
    assert "field prime" in err.message
    n_bytes = f.N.to_bytes(32, "big")
    err = refused("HS-1505", f.decode_public_key, _der_with(der, n_bytes, n_bytes[:-1] + b"\xef"))
    assert "order" in err.message
    base = b"\x04" + f.G.x.to_bytes(32, "big")
    err = refused("HS-1505", f.decode_public_key, _der_with(der, base, b"\x04" + bytes(32)))
    assert "base point" in err.message


def test_x509_naming_a_curve_or_malformed_is_refused(hiu):
    point = base64.b64decode(hiu.public_key_b64)
    # SubjectPublicKeyInfo with a named curve (prime256v1) instead of explicit parameters.
    algorithm = bytes.fromhex("301306072a8648ce3d020106082a8648ce3d030107")
    named = b"\x30\x59" + algorithm + b"\x03\x42\x00" + point
    assert "names its curve" in refused("HS-1505", f.decode_public_key, b64(named)).message
    der = base64.b64decode(hiu.x509_public_key_b64)
    refused("HS-1504", f.decode_public_key, b64(der[:-1]))  # cut short
    refused("HS-1504", f.decode_public_key, b64(der + b"\x00"))  # trailing data
    refused("HS-1504", f.decode_public_key, b64(der[:-66] + b"\x07" + point))  # unused bits
    rsa_oid = bytes.fromhex("2a864886f70d010101")
    assert (
        "not an elliptic-curve key"
        in refused(
            "HS-1504",
            f.decode_public_key,
            _der_with(der, bytes.fromhex("2a8648ce3d0201"), rsa_oid[:7]),
        ).message
    )
    # A point off the curve inside valid X.509 is still refused.
    x, y = hiu.public_key
    off = b"\x04" + x.to_bytes(32, "big") + ((y + 1) % f.P).to_bytes(32, "big")
    refused("HS-1503", f.decode_public_key, b64(der[:-65] + off))


# -------------------------------------------------------------------------- fast path
@settings(max_examples=15, deadline=None)
@given(st.integers(min_value=1, max_value=f.N - 1), st.integers(min_value=1, max_value=f.N - 1))
def test_fast_path_equals_exact_arithmetic(d, e):
    peer = f.public_key_for(e)
    k = f.clamped_representative(d)
    if k is not None:
        assert k % f.N == d and k % 8 == 0 and 2**254 <= k < 2**255
        assert f.shared_secret_x25519(k, peer) == f.shared_secret_exact(d, peer)
    assert f.shared_secret(d, peer) == f.shared_secret_exact(d, peer)
    assert f.shared_secret_exact(d, peer) == aff_mul(d * e, f.G)[0].to_bytes(32, "big")  # type: ignore[index]


def test_fast_path_serves_generated_keys_and_about_half_of_others(hip, hiu):
    assert f.shared_secret_x25519(
        f.clamped_representative(hip.private_key),
        hiu.public_key,  # type: ignore[arg-type]
    ) == f.shared_secret_exact(hip.private_key, hiu.public_key)
    rng = random.Random(7)
    share = sum(f.clamped_representative(rng.randrange(1, f.N)) is not None for _ in range(4000))
    assert 0.45 < share / 4000 < 0.55
    with pytest.raises(ValueError):
        f.shared_secret_x25519(hip.private_key, hiu.public_key)  # not clamped


# ---------------------------------------------------------------------- wire objects
def test_wire_key_material_round_trip(hiu):
    wire = hiu.wire(datetime(2025, 7, 14, 10, 30, tzinfo=UTC))
    out = wire.to_dict()
    assert out == {
        "cryptoAlg": "ECDH",
        "curve": "Curve25519",
        "dhPublicKey": {
            "expiry": "2025-07-14T10:30:00.000Z",
            "parameters": "Curve25519/32byte random key",
            "keyValue": hiu.public_key_b64,
        },
        "nonce": hiu.nonce_b64,
    }
    assert f.WireKeyMaterial.from_dict(out) == wire
    x509 = hiu.wire(datetime(2025, 7, 14, tzinfo=UTC), x509=True)
    assert f.decode_public_key(f.WireKeyMaterial.from_dict(x509.to_dict()).public_key) == (
        hiu.public_key
    )


def test_wire_key_material_refusals(hiu):
    good = hiu.wire(datetime(2025, 7, 14, tzinfo=UTC)).to_dict()
    refused("HS-1511", f.WireKeyMaterial.from_dict, {**good, "cryptoAlg": "RSA"})
    refused("HS-1511", f.WireKeyMaterial.from_dict, {**good, "dhPublicKey": None})
    refused("HS-1511", f.WireKeyMaterial.from_dict, {k: v for k, v in good.items() if k != "nonce"})
    bad_key = {**good, "dhPublicKey": {**good["dhPublicKey"], "keyValue": b64(bytes(65))}}
    assert refused("HS-1501", f.WireKeyMaterial.from_dict, bad_key).field == "dhPublicKey.keyValue"
    refused("HS-1506", f.WireKeyMaterial.from_dict, {**good, "nonce": b64(bytes(8))})


def test_key_material_from_dict_checks_the_pair(hip, hiu):
    mixed = {**hip.to_dict(), "publicKey": hiu.public_key_b64}
    refused("HS-1510", f.KeyMaterial.from_dict, mixed)
    refused("HS-1510", f.KeyMaterial.from_dict, {"publicKey": hip.public_key_b64})
