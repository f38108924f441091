"""A HIP's encrypted entry whose decrypted bundle nests a thousand levels deep: the
HIU keeps the page and marks that record as not a valid document (ABDM-1311), as for
any other unreadable bundle, instead of a 500 that would make the HIP retry forever.
The request body itself is shallow, so only the parse after decryption can catch it."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from healthstack.protocol.abdm import fidelius
from tests.factories_records import (
    FakeCm,
    grant,
    push_headers,
    received,
    records_settings,
    seed_hip,
)


@pytest.fixture
def settings(settings):
    return records_settings(settings)


def test_a_deeply_nested_bundle_is_an_errored_record_not_a_server_error(runtime, app, clock):
    cm = FakeCm(runtime, app)
    hip = seed_hip(runtime, clock)
    g = grant(cm, runtime, clock, hip, forward=False)
    sender = fidelius.generate_key_material()
    hiu_key = fidelius.WireKeyMaterial.from_dict(g.hi_request["hiRequest"]["keyMaterial"])
    plaintext = b'{"resourceType": "Bundle", "entry": ' + b"[" * 1000 + b"]" * 1000 + b"}"
    content = fidelius.encrypt(
        plaintext,
        sender_private_key=sender.private_key,
        sender_nonce=sender.nonce,
        receiver_public_key=hiu_key.public_key,
        receiver_nonce=hiu_key.nonce,
    )
    page = {
        "pageNumber": 1,
        "pageCount": 1,
        "transactionId": g.transaction_id,
        "entries": [
            {
                "content": content,
                "media": "application/fhir+json",
                "checksum": hashlib.md5(plaintext).hexdigest(),  # noqa: S324
                "careContextReference": hip.visits["opd"],
            }
        ],
        "keyMaterial": sender.wire(clock.now() + timedelta(hours=1)).to_dict(),
    }
    r = TestClient(cm.hmis_app, raise_server_exceptions=False).post(
        "/api/v3/hiu/data/push", json=page, headers=push_headers(runtime)
    )
    assert r.status_code == 202, r.text
    assert [(st, code) for _, _, st, code, _ in received(runtime)] == [("ERRORED", "ABDM-1311")]
