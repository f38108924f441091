"""``healthstack fidelius`` through the real command: JSON in (file, stdin or options),
JSON out, one-line errors with a non-zero exit. No database is involved."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from typer.testing import CliRunner

from healthstack.cli.main import app
from tests.conftest import shared_path

runner = CliRunner()


@pytest.fixture(scope="module")
def vector() -> dict[str, Any]:
    return json.loads(shared_path("crypto", "fidelius-test-vector.json").read_text())


def encrypt_request(v: dict[str, Any]) -> dict[str, str]:
    return {
        "stringToEncrypt": v["plaintext"],
        "senderNonce": v["sender_HIP"]["nonce"],
        "requesterNonce": v["requester_HIU"]["nonce"],
        "senderPrivateKey": v["sender_HIP"]["privateKey"],
        "requesterPublicKey": v["requester_HIU"]["x509PublicKey"],
    }


def decrypt_request(v: dict[str, Any]) -> dict[str, str]:
    return {
        "encryptedData": v["encryptedData_base64"],
        "requesterNonce": v["requester_HIU"]["nonce"],
        "senderNonce": v["sender_HIP"]["nonce"],
        "requesterPrivateKey": v["requester_HIU"]["privateKey"],
        "senderPublicKey": v["sender_HIP"]["publicKey"],
    }


def run(*args: str, stdin: str | None = None) -> Any:
    return runner.invoke(app, ["fidelius", *args], input=stdin)


def error_line(result: Any, exit_code: int) -> str:
    assert result.exit_code == exit_code, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return str(lines[0])


def test_generate_key_material():
    result = run("generate-key-material")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert set(out) == {"privateKey", "publicKey", "x509PublicKey", "nonce"}
    assert len(out["publicKey"]) == 88 and len(out["x509PublicKey"]) == 412
    assert len(base64.b64decode(out["nonce"])) == 32


def test_encrypt_file_reproduces_the_vector(vector, tmp_path):
    path = tmp_path / "encrypt.json"
    path.write_text(json.dumps(encrypt_request(vector)))
    result = run("encrypt", str(path))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"encryptedData": vector["encryptedData_base64"]}


def test_decrypt_stdin_reproduces_the_vector(vector):
    result = run("decrypt", "-", stdin=json.dumps(decrypt_request(vector)))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"decryptedData": vector["plaintext"]}


def test_options_alone_and_overriding_the_file(vector, tmp_path):
    req = decrypt_request(vector)
    result = run(
        "decrypt",
        "--encrypted-data", req["encryptedData"],
        "--requester-nonce", req["requesterNonce"],
        "--sender-nonce", req["senderNonce"],
        "--requester-private-key", req["requesterPrivateKey"],
        "--sender-public-key", vector["sender_HIP"]["x509PublicKey"],
    )  # fmt: skip
    assert json.loads(result.stdout) == {"decryptedData": vector["plaintext"]}
    path = tmp_path / "encrypt.json"
    path.write_text(json.dumps({**encrypt_request(vector), "stringToEncrypt": "other"}))
    result = run("encrypt", str(path), "--string-to-encrypt", vector["plaintext"])
    assert json.loads(result.stdout) == {"encryptedData": vector["encryptedData_base64"]}


def test_round_trip_with_generated_keys():
    hip = json.loads(run("generate-key-material").stdout)
    hiu = json.loads(run("generate-key-material").stdout)
    bundle = json.dumps({"resourceType": "Bundle", "entry": []})
    sealed = run(
        "encrypt",
        "-",
        stdin=json.dumps(
            {
                "stringToEncrypt": bundle,
                "senderNonce": hip["nonce"],
                "requesterNonce": hiu["nonce"],
                "senderPrivateKey": hip["privateKey"],
                "requesterPublicKey": hiu["publicKey"],
            }
        ),
    )
    opened = run(
        "decrypt",
        "-",
        stdin=json.dumps(
            {
                "encryptedData": json.loads(sealed.stdout)["encryptedData"],
                "requesterNonce": hiu["nonce"],
                "senderNonce": hip["nonce"],
                "requesterPrivateKey": hiu["privateKey"],
                "senderPublicKey": hip["x509PublicKey"],
            }
        ),
    )
    assert json.loads(opened.stdout)["decryptedData"] == bundle


def test_bad_json_missing_field_and_wrong_types(vector, tmp_path):
    line = error_line(run("decrypt", "-", stdin="{not json"), 2)
    assert "not valid JSON" in line and "line 1" in line
    line = error_line(run("decrypt", "-", stdin="[1, 2]"), 2)
    assert "JSON object" in line
    req = decrypt_request(vector)
    del req["senderNonce"]
    line = error_line(run("decrypt", "-", stdin=json.dumps(req)), 2)
    assert "missing field senderNonce" in line and "--sender-nonce" in line
    line = error_line(run("decrypt", "-", stdin=json.dumps({**req, "senderNonce": 5})), 2)
    assert "senderNonce must be a string" in line
    line = error_line(run("encrypt", str(tmp_path / "absent.json")), 2)
    assert "cannot read" in line
    line = error_line(run("encrypt"), 2)
    assert "missing field stringToEncrypt" in line


def test_bad_keys_and_tampering(vector):
    req = decrypt_request(vector)
    line = error_line(run("decrypt", "-", stdin=json.dumps({**req, "senderPublicKey": "%%"})), 1)
    assert line.startswith("Error: senderPublicKey:") and "base64" in line
    point = bytearray(base64.b64decode(req["senderPublicKey"]))
    point[-1] ^= 1  # y changes: off the curve
    off_curve = {**req, "senderPublicKey": base64.b64encode(bytes(point)).decode()}
    line = error_line(run("decrypt", "-", stdin=json.dumps(off_curve)), 1)
    assert "not a point on Curve25519" in line
    sealed = bytearray(base64.b64decode(req["encryptedData"]))
    sealed[3] ^= 0x10
    tampered = {**req, "encryptedData": base64.b64encode(bytes(sealed)).decode()}
    line = error_line(run("decrypt", "-", stdin=json.dumps(tampered)), 1)
    assert "wrong key, nonce or tampered ciphertext" in line
    assert req["requesterPrivateKey"] not in line
    short_nonce = {**req, "requesterNonce": base64.b64encode(bytes(12)).decode()}
    line = error_line(run("decrypt", "-", stdin=json.dumps(short_nonce)), 1)
    assert "requesterNonce" in line and "12 bytes" in line
