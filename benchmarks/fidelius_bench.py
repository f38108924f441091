"""Fidelius (ABDM health-data encryption) throughput: encrypt and decrypt at FHIR-bundle
sizes, and the ECDH operations behind them, on the X25519 fast path and the exact path.

    .venv/bin/python -m benchmarks.fidelius_bench [--runs 5] [--seconds 0.3]

One call of ``encrypt``/``decrypt`` is a whole Fidelius operation as a HIP or HIU does it:
decode the peer's public key, ECDH, HKDF, AES-256-GCM, base64. "fast" uses a generated
key (it has a clamped representative, so X25519 does the ECDH); "exact" uses a key
without one (pure-Python short-Weierstrass arithmetic, as for the published vector).
"aead_only" is AES-256-GCM alone, the floor. MB = 10⁶ bytes of plaintext. Each figure is
the median over the runs of a loop run for at least ``--seconds``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from benchmarks.common import machine, median
from healthstack.protocol.abdm import fidelius as f

SIZES = {"4KB": 4 * 1024, "64KB": 64 * 1024, "1MB": 1024 * 1024}


def _rate(fn: Callable[[], object], seconds: float) -> float:
    """Calls per second of ``fn``, looping for at least ``seconds``."""
    fn()  # warm up
    calls, started = 0, time.perf_counter()
    while True:
        fn()
        calls += 1
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            return calls / elapsed


def _bundle(size: int) -> str:
    """FHIR-bundle-like JSON text of ``size`` bytes."""
    entry = json.dumps(
        {
            "resource": {
                "resourceType": "Observation",
                "status": "final",
                "valueQuantity": {"value": 98.6, "unit": "degF"},
            }
        }
    )
    text = '{"resourceType":"Bundle","entry":[' + ",".join([entry] * (size // len(entry) + 1))
    return text[:size]


def _exact_key() -> f.KeyMaterial:
    rng = random.Random(1)
    while True:
        d = rng.randrange(1, f.N)
        if f.clamped_representative(d) is None:
            return f.KeyMaterial(d, f.public_key_for(d), os.urandom(32))


def one_run(seconds: float) -> dict[str, Any]:
    fast, exact, peer = f.generate_key_material(), _exact_key(), f.generate_key_material()
    out: dict[str, Any] = {}
    for label, size in SIZES.items():
        text = _bundle(size)
        row: dict[str, float] = {}
        for path, ours in (("fast", fast), ("exact", exact)):
            encrypt = partial(
                f.encrypt,
                text,
                sender_private_key=ours.private_key,
                sender_nonce=ours.nonce,
                receiver_public_key=peer.public_key_b64,
                receiver_nonce=peer.nonce,
            )
            # Decryption times our key's path, so we receive what the peer sends us.
            to_us = f.encrypt(
                text,
                sender_private_key=peer.private_key,
                sender_nonce=peer.nonce,
                receiver_public_key=ours.public_key,
                receiver_nonce=ours.nonce,
            )
            decrypt = partial(
                f.decrypt_bytes,
                to_us,
                receiver_private_key=ours.private_key,
                receiver_nonce=ours.nonce,
                sender_public_key=peer.public_key_b64,
                sender_nonce=peer.nonce,
            )
            row[f"encrypt_{path}_ops"] = _rate(encrypt, seconds)
            row[f"decrypt_{path}_ops"] = _rate(decrypt, seconds)
        aead = partial(AESGCM(os.urandom(32)).encrypt, os.urandom(12), text.encode(), None)
        row["aead_only_ops"] = _rate(aead, seconds)
        for key in list(row):
            row[key.replace("_ops", "_mb_s")] = row[key] * size / 1e6
        out[label] = row
    k = f.clamped_representative(fast.private_key)
    assert k is not None
    out["ecdh"] = {
        "generate_key_material_ops": _rate(f.generate_key_material, seconds),
        "shared_secret_fast_ops": _rate(
            partial(f.shared_secret_x25519, k, peer.public_key), seconds
        ),
        "shared_secret_exact_ops": _rate(
            partial(f.shared_secret_exact, fast.private_key, peer.public_key), seconds
        ),
        "decode_public_key_raw_ops": _rate(
            partial(f.decode_public_key, peer.public_key_b64), seconds
        ),
        "decode_public_key_x509_ops": _rate(
            partial(f.decode_public_key, peer.x509_public_key_b64), seconds
        ),
    }
    return out


def run(runs: int, seconds: float) -> dict[str, Any]:
    detail = [one_run(seconds) for _ in range(runs)]
    medians: dict[str, dict[str, float]] = {
        group: {key: median([r[group][key] for r in detail]) for key in detail[0][group]}
        for group in detail[0]
    }
    ecdh = medians["ecdh"]
    summary: dict[str, Any] = {}
    for size in SIZES:
        m = medians[size]
        summary[size] = {
            op: {"ops_s": round(m[f"{op}_ops"], 1), "mb_s": round(m[f"{op}_mb_s"], 1)}
            for op in ("encrypt_fast", "encrypt_exact", "decrypt_fast", "decrypt_exact")
        }
        summary[size]["aead_only_mb_s"] = round(m["aead_only_mb_s"], 1)
        for op in ("encrypt", "decrypt"):
            ratio = m[f"{op}_fast_ops"] / m[f"{op}_exact_ops"]
            summary[size][f"{op}_fast_over_exact"] = round(ratio, 2)
    summary["ecdh_ops_s"] = {key.removesuffix("_ops"): round(v, 1) for key, v in ecdh.items()}
    summary["shared_secret_fast_over_exact"] = round(
        ecdh["shared_secret_fast_ops"] / ecdh["shared_secret_exact_ops"], 1
    )
    return {
        "benchmark": "fidelius",
        "runs": runs,
        "seconds_per_figure": seconds,
        "summary": summary,
        "medians": medians,
        "runs_detail": detail,
        "machine": machine(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=0.3)
    args = parser.parse_args()
    print(json.dumps(run(args.runs, args.seconds), indent=2))


if __name__ == "__main__":
    main()
