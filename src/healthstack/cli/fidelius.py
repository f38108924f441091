"""``healthstack fidelius``: ABDM's health-data encryption from the command line.

The same three operations, field names and JSON output as ABDM's Fidelius CLI, so an
integrator can check their HIP or HIU against HealthStack (or the other way round)::

    healthstack fidelius generate-key-material
    healthstack fidelius encrypt request.json        # or - for stdin, or the options
    healthstack fidelius decrypt - < push.json

Input is a JSON object whose fields may also be given (or overridden) as options. Output
is JSON on stdout; a bad input prints one ``Error:`` line on stderr and exits non-zero
(2: the input is malformed or incomplete; 1: a key, nonce or ciphertext is refused).
The output of ``generate-key-material`` holds a private key: keep it out of logs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NoReturn

import typer

from healthstack.kernel.errors import ValidationFailed
from healthstack.protocol.abdm import fidelius

app = typer.Typer(
    help="ABDM health-data encryption (Fidelius): key material, encrypt, decrypt.",
    no_args_is_help=True,
)

_INPUT_HELP = "A JSON file with the fields, or - for stdin. Options override its fields."


def _fail(message: str, code: int) -> NoReturn:
    # typer.echo, not the Rich console: Rich wraps long lines, and this must stay one line.
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(code)


def _emit(data: dict[str, str]) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def _fields(source: str | None, options: dict[str, str | None]) -> dict[str, str]:
    """The named fields from the JSON input, overridden by any option given."""
    given: dict[str, Any] = {}
    if source is not None:
        try:
            text = sys.stdin.read() if source == "-" else Path(source).read_text("utf-8")
        except OSError as exc:
            _fail(f"cannot read {source}: {exc.strerror}", 2)
        except UnicodeDecodeError:
            _fail(f"{source} is not UTF-8 text; give a JSON file", 2)
        try:
            given = json.loads(text)
        except json.JSONDecodeError as exc:
            _fail(
                f"the input is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})",
                2,
            )
        if not isinstance(given, dict):
            _fail("the input must be a JSON object with the fields by name", 2)
    values: dict[str, str] = {}
    for name, option in options.items():
        value = option if option is not None else given.get(name)
        if value is None:
            flag = "--" + "".join("-" + c.lower() if c.isupper() else c for c in name)
            _fail(f"missing field {name}: give it in the JSON input or as {flag}", 2)
        if not isinstance(value, str):
            _fail(f"field {name} must be a string", 2)
        values[name] = value
    return values


@app.command("generate-key-material")
def generate_key_material() -> None:
    """Fresh key material: privateKey, publicKey, x509PublicKey and nonce (base64)."""
    _emit(fidelius.generate_key_material().to_dict())


@app.command("encrypt")
def encrypt(
    source: str | None = typer.Argument(None, metavar="[INPUT]", help=_INPUT_HELP),
    string_to_encrypt: str | None = typer.Option(None, help="The plaintext (UTF-8)."),
    sender_nonce: str | None = typer.Option(None, help="The sender's (HIP's) nonce."),
    requester_nonce: str | None = typer.Option(None, help="The requester's (HIU's) nonce."),
    sender_private_key: str | None = typer.Option(None, help="The sender's private key."),
    requester_public_key: str | None = typer.Option(
        None, help="The requester's public key (publicKey or x509PublicKey)."
    ),
) -> None:
    """Encrypt stringToEncrypt as the HIP does; prints {"encryptedData": ...}."""
    f = _fields(
        source,
        {
            "stringToEncrypt": string_to_encrypt,
            "senderNonce": sender_nonce,
            "requesterNonce": requester_nonce,
            "senderPrivateKey": sender_private_key,
            "requesterPublicKey": requester_public_key,
        },
    )
    try:
        data = fidelius.encrypt(
            f["stringToEncrypt"],
            sender_private_key=f["senderPrivateKey"],
            sender_nonce=f["senderNonce"],
            receiver_public_key=f["requesterPublicKey"],
            receiver_nonce=f["requesterNonce"],
        )
    except ValidationFailed as exc:
        _fail(f"{exc.field}: {exc.message}" if exc.field else exc.message, 1)
    _emit({"encryptedData": data})


@app.command("decrypt")
def decrypt(
    source: str | None = typer.Argument(None, metavar="[INPUT]", help=_INPUT_HELP),
    encrypted_data: str | None = typer.Option(None, help="base64(ciphertext ‖ tag)."),
    requester_nonce: str | None = typer.Option(None, help="The requester's (HIU's) nonce."),
    sender_nonce: str | None = typer.Option(None, help="The sender's (HIP's) nonce."),
    requester_private_key: str | None = typer.Option(None, help="The requester's private key."),
    sender_public_key: str | None = typer.Option(
        None, help="The sender's public key (publicKey or x509PublicKey)."
    ),
) -> None:
    """Decrypt encryptedData as the HIU does; prints {"decryptedData": ...}."""
    f = _fields(
        source,
        {
            "encryptedData": encrypted_data,
            "requesterNonce": requester_nonce,
            "senderNonce": sender_nonce,
            "requesterPrivateKey": requester_private_key,
            "senderPublicKey": sender_public_key,
        },
    )
    try:
        text = fidelius.decrypt(
            f["encryptedData"],
            receiver_private_key=f["requesterPrivateKey"],
            receiver_nonce=f["requesterNonce"],
            sender_public_key=f["senderPublicKey"],
            sender_nonce=f["senderNonce"],
        )
    except ValidationFailed as exc:
        _fail(f"{exc.field}: {exc.message}" if exc.field else exc.message, 1)
    _emit({"decryptedData": text})
