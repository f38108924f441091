"""The PHR JSON API for the logged-in ABHA holder (``/api/v1/phr``): discovery and OTP
linking with a fake HIP over the gateway, linked facilities, and consents (pending,
approve with narrowing, deny, revoke). Another patient's link or consent is 404; every
refusal says what to do; reads and writes are audited."""

from __future__ import annotations

import uuid

import pytest

from healthstack.kernel.context import Role
from healthstack.network.consent.models import ConsentArtefact, LinkTransaction
from healthstack.protocol.abdm import messages as m
from tests.factories_abha import login_token
from tests.factories_consent import (
    HIP_A,
    HIP_C,
    OTP,
    PIN,
    HipRecords,
    audit,
    consent_body,
    dt,
    init_consent,
    link_directly,
    network_settings,
    patient,
    phr_headers,
    pump,
    rows,
)

API = "/api/v1/phr"


@pytest.fixture
def settings(settings):
    return network_settings(settings)


# --------------------------------------------------------------------------- authentication


def test_the_user_token_is_required(client, runtime, bridge, ravi, make_staff):
    for path in ("/links", "/consents", "/facilities"):
        assert client.get(API + path).status_code == 401
    staff = make_staff(Role.STATE_ADMIN)
    r = client.get(API + "/consents", headers={"X-token": f"Bearer {staff.token}"})
    assert r.status_code == 401
    # A real login (ABHA number + mobile OTP) gives a token the PHR takes.
    token = login_token(client, runtime, ravi)
    r = client.get(API + "/facilities", headers={"X-token": f"Bearer {token}"})
    assert r.status_code == 200
    assert r.json() == [
        {"id": HIP_A, "name": "PHC Khag"},
        {"id": HIP_C, "name": "SDH Bijbehara"},
    ]


def test_deactivated_account_cannot_use_the_phr(client, runtime, bridge):
    gone = patient(runtime, status="DEACTIVATED", mobile="9876500009")
    r = client.get(API + "/links", headers=phr_headers(runtime, gone))
    assert r.status_code == 403


# --------------------------------------------------------------------------- discovery and linking


def discover(client, runtime, account, hip=HIP_A, **extra):
    r = client.post(
        API + "/discover", json={"hipId": hip, **extra}, headers=phr_headers(runtime, account)
    )
    assert r.status_code == 202, r.text
    return r.json()


def status(client, runtime, account, txn):
    r = client.get(f"{API}/discover/{txn}", headers=phr_headers(runtime, account))
    assert r.status_code == 200, r.text
    return r.json()


def test_discover_link_and_confirm(client, runtime, bridge, ravi):
    bridge.records[HIP_A].append(HipRecords(abha_number=ravi.abha_number))
    started = discover(client, runtime, ravi, recordNumber="PT-1001")
    txn = started["transactionId"]
    assert started["status"] == "DISCOVERING" and started["hip"]["name"] == "PHC Khag"
    pump(runtime, bridge)

    # What the HIP was asked: verified identifiers and demographics, from the ABHA.
    asked = bridge.last(m.DISCOVER)
    assert asked.hip_id == HIP_A and asked.body["transactionId"] == txn
    patient_sent = asked.body["patient"]
    assert patient_sent["verifiedIdentifiers"] == [
        {"type": "MOBILE", "value": ravi.mobile},
        {"type": "ABHA_NUMBER", "value": ravi.abha_number},
    ]
    assert patient_sent["unverifiedIdentifiers"] == [{"type": "MR", "value": "PT-1001"}]
    assert (patient_sent["name"], patient_sent["gender"], patient_sent["yearOfBirth"]) == (
        "Ravi Kumar Sharma",
        "M",
        1990,
    )
    assert patient_sent["id"] == f"{ravi.abha_number}@sbx"

    found = status(client, runtime, ravi, txn)
    assert found["status"] == "FOUND" and found["error"] is None
    refs = [c["referenceNumber"] for p in found["patient"] for c in p["careContexts"]]
    assert refs == ["OPD-2026-11", "OPD-2026-12"]

    r = client.post(
        f"{API}/discover/{txn}/link",
        json={"careContexts": ["OPD-2026-11"]},
        headers=phr_headers(runtime, ravi),
    )
    assert r.status_code == 202 and r.json()["status"] == "INITIATING"
    pump(runtime, bridge)
    init = bridge.last(m.LINK_INIT).body
    assert init["patient"] == [
        {
            "referenceNumber": "PT-1001",
            "careContexts": [{"referenceNumber": "OPD-2026-11"}],
            "hiType": "OPConsultation",
            "count": 1,
        }
    ]
    waiting = status(client, runtime, ravi, txn)
    assert waiting["status"] == "OTP_SENT" and waiting["otpExpiresAt"] == "2026-11-26T09:10:00.000Z"

    # A wrong OTP: the HIP says ABDM-1035; the patient may try again.
    r = client.post(
        f"{API}/discover/{txn}/confirm", json={"otp": "654321"}, headers=phr_headers(runtime, ravi)
    )
    assert r.status_code == 202 and r.json()["status"] == "CONFIRMING"
    pump(runtime, bridge)
    wrong = status(client, runtime, ravi, txn)
    assert wrong["status"] == "OTP_SENT" and wrong["error"]["code"] == "ABDM-1035"
    assert "OTP" in wrong["error"]["message"]

    r = client.post(
        f"{API}/discover/{txn}/confirm", json={"otp": OTP}, headers=phr_headers(runtime, ravi)
    )
    assert r.status_code == 202
    pump(runtime, bridge)
    assert status(client, runtime, ravi, txn)["status"] == "LINKED"
    # The CM never sees the OTP after it is delivered (the gateway drops the body).
    assert all(OTP not in str(t.chosen) for t in rows(runtime, LinkTransaction))

    links = client.get(API + "/links", headers=phr_headers(runtime, ravi)).json()
    assert links == [
        {
            "hip": {"id": HIP_A, "name": "PHC Khag"},
            "patients": [
                {
                    "referenceNumber": "PT-1001",
                    "linkedVia": "PATIENT",
                    "careContexts": [
                        {
                            "referenceNumber": "OPD-2026-11",
                            "display": "OPD visit, 1 Nov 2026",
                            "hiTypes": ["OPConsultation"],
                            "linkedAt": "2026-11-26T09:00:00.000Z",
                            "dataAddedAt": None,
                        }
                    ],
                }
            ],
        }
    ]
    actions = [e.action for e in audit(runtime, "consent.link.confirm")]
    assert actions == ["consent.link.confirm", "consent.link.confirm"]
    assert {e.actor_kind for e in audit(runtime, "phr.links.read")} == {"patient"}


def test_not_found_at_the_hip(client, runtime, bridge, ravi):
    txn = discover(client, runtime, ravi)["transactionId"]
    pump(runtime, bridge)
    seen = status(client, runtime, ravi, txn)
    assert seen["status"] == "NOT_FOUND" and seen["error"]["code"] == "ABDM-1010"
    r = client.post(f"{API}/discover/{txn}/link", json={}, headers=phr_headers(runtime, ravi))
    assert r.status_code == 409 and r.json()["code"] == "HS-1606"


def test_silent_hip_then_late_and_stale_answers(client, runtime, bridge, ravi, clock):
    bridge.records[HIP_A].append(HipRecords(abha_number=ravi.abha_number))
    bridge.answer["discover"] = False
    txn = discover(client, runtime, ravi)["transactionId"]
    pump(runtime, bridge)
    assert status(client, runtime, ravi, txn)["error"] is None
    clock.advance(seconds=31)
    seen = status(client, runtime, ravi, txn)
    assert seen["status"] == "DISCOVERING" and seen["error"]["code"] == "HS-1608"

    # The answer comes late, quoting the discover message: it still applies.
    asked = bridge.last(m.DISCOVER)
    late = {
        "transactionId": txn,
        "patient": HipRecords(abha_number=ravi.abha_number).entries(),
        "matchedBy": ["MOBILE"],
        "response": {"requestId": asked.request_id},
    }
    assert bridge.call(m.ON_DISCOVER, late, hip=HIP_A).status_code == 202
    pump(runtime, bridge)
    assert status(client, runtime, ravi, txn)["status"] == "FOUND"
    # The same answer again (a new REQUEST-ID): nothing changes.
    late_again = {**late, "patient": [], "error": {"code": "ABDM-1010", "message": "x"}}
    bridge.call(m.ON_DISCOVER, late_again, hip=HIP_A)
    pump(runtime, bridge)
    assert status(client, runtime, ravi, txn)["status"] == "FOUND"
    # From another HIP: refused and audited.
    bridge.call(m.ON_DISCOVER, late, hip=HIP_C)
    pump(runtime, bridge)
    refused = [e for e in audit(runtime, "consent.discover.answer") if e.outcome != "success"]
    assert [e.reason_code for e in refused] == ["ABDM-1215"]

    # Two link inits: the answer to the first, arriving after the second, is stale.
    bridge.answer["init"] = False
    for _ in range(2):
        r = client.post(f"{API}/discover/{txn}/link", json={}, headers=phr_headers(runtime, ravi))
        assert r.status_code == 202
        pump(runtime, bridge)
    first, second = bridge.at(m.LINK_INIT)

    def on_init(ctx, ref):
        body = {
            "transactionId": txn,
            "link": {"referenceNumber": ref, "authenticationType": "DIRECT"},
            "response": {"requestId": ctx.request_id},
        }
        assert bridge.call(m.ON_LINK_INIT, body, hip=HIP_A).status_code == 202
        pump(runtime, bridge)

    on_init(first, "LNK-OLD")
    assert status(client, runtime, ravi, txn)["status"] == "INITIATING"
    on_init(second, "LNK-NEW")
    assert status(client, runtime, ravi, txn)["status"] == "OTP_SENT"
    [row] = rows(runtime, LinkTransaction)
    assert row.link_ref_number == "LNK-NEW"


def test_discovery_refusals(client, runtime, bridge, ravi, sita):
    r = client.post(
        API + "/discover", json={"hipId": "IN0110009999"}, headers=phr_headers(runtime, ravi)
    )
    assert r.status_code == 404 and r.json()["code"] == "HS-1609"
    txn = discover(client, runtime, ravi)["transactionId"]
    # Another patient's transaction does not exist for them.
    for method, path, body in (
        ("GET", f"/discover/{txn}", None),
        ("POST", f"/discover/{txn}/link", {}),
        ("POST", f"/discover/{txn}/confirm", {"otp": "123456"}),
    ):
        r = client.request(method, API + path, json=body, headers=phr_headers(runtime, sita))
        assert r.status_code == 404, (path, r.text)
    r = client.get(f"{API}/discover/not-a-uuid", headers=phr_headers(runtime, ravi))
    assert r.status_code == 404
    # Confirming before any OTP was sent, or with a malformed OTP.
    pump(runtime, bridge)
    r = client.post(
        f"{API}/discover/{txn}/confirm", json={"otp": "123456"}, headers=phr_headers(runtime, ravi)
    )
    assert r.status_code == 409 and r.json()["code"] == "HS-1606"
    denied = [e for e in audit(runtime, "phr.link.read") if e.outcome != "success"]
    assert denied and all(e.outcome == "not_found" for e in denied)


# --------------------------------------------------------------------------- consents


def approve(client, runtime, account, rid, consents, pin=PIN):
    return client.post(
        f"{API}/consents/{rid}/approve",
        json={"consents": consents, "pin": pin},
        headers=phr_headers(runtime, account),
    )


def test_pending_list_and_detail(client, runtime, bridge, linked, sita):
    rid = init_consent(runtime, bridge, consent_body(linked))["consentRequest"]["id"]
    r = client.get(API + "/consents?status=REQUESTED", headers=phr_headers(runtime, linked))
    assert r.status_code == 200
    [pending] = r.json()
    assert pending["id"] == rid and pending["status"] == "REQUESTED"
    assert pending["hiu"] == {"id": "IN0110000002", "name": "GMC Srinagar"}
    assert pending["purpose"] == {"code": "CAREMGT", "text": "Care Management"}
    assert pending["requester"]["name"] == "Dr. Manju Sharma"
    assert pending["permission"]["dateRange"] == {
        "from": "2020-01-01T00:00:00.000Z",
        "to": "2026-11-25T00:00:00.000Z",
    }
    assert (
        client.get(API + "/consents?status=GRANTED", headers=phr_headers(runtime, linked)).json()
        == []
    )
    r = client.get(API + "/consents?status=LATER", headers=phr_headers(runtime, linked))
    assert r.status_code == 400
    assert (
        client.get(f"{API}/consents/{rid}", headers=phr_headers(runtime, linked)).json() == pending
    )
    # Another patient sees neither the request nor that it exists.
    assert client.get(API + "/consents", headers=phr_headers(runtime, sita)).json() == []
    assert (
        client.get(f"{API}/consents/{rid}", headers=phr_headers(runtime, sita)).status_code == 404
    )
    reads = audit(runtime, "phr.consent.read")
    assert [e.outcome for e in reads] == ["success", "not_found"]


@pytest.mark.parametrize(
    ("choice", "status_code", "code"),
    [
        ({"hip": {"id": HIP_A}, "hiTypes": ["DischargeSummary"]}, 400, "HS-1602"),
        (
            {"hip": {"id": HIP_A}, "permission": {"dateRange": {"from": dt(2019), "to": dt(2025)}}},
            400,
            "HS-1602",
        ),
        (
            {
                "hip": {"id": HIP_A},
                "permission": {"dateRange": {"from": dt(2021), "to": dt(2026, 11, 26)}},
            },
            400,
            "HS-1602",
        ),
        ({"hip": {"id": HIP_A}, "permission": {"dataEraseAt": dt(2028)}}, 400, "HS-1602"),
        ({"hip": {"id": HIP_A}, "permission": {"dataEraseAt": dt(2026, 1)}}, 400, "ABDM-1204"),
        (
            {"hip": {"id": HIP_A}, "permission": {"dateRange": {"from": dt(2024), "to": dt(2023)}}},
            400,
            "ABDM-1203",
        ),
        ({"hip": {"id": HIP_C}}, 400, "HS-1603"),
        (
            {
                "hip": {"id": HIP_A},
                "careContexts": [
                    {"patientReference": "PT-1001", "careContextReference": "OPD-1999"}
                ],
            },
            400,
            "HS-1604",
        ),
        ({"hip": {"id": HIP_A}, "hiTypes": []}, 200, None),  # empty: what was asked
    ],
)
def test_grant_never_widens(client, runtime, bridge, linked, choice, status_code, code):
    rid = init_consent(runtime, bridge, consent_body(linked))["consentRequest"]["id"]
    r = approve(client, runtime, linked, rid, [choice])
    assert r.status_code == status_code, r.text
    if code:
        assert r.json()["code"] == code
        assert rows(runtime, ConsentArtefact) == []
        [event] = audit(runtime, "consent.grant")
        assert event.outcome == "failed" and event.reason_code == code


def test_grant_limited_to_the_requested_hip_and_care_contexts(client, runtime, bridge, linked):
    link_directly(
        runtime,
        linked,
        HipRecords(abha_number=linked.abha_number, patient_reference="BJB-1"),
        hip=HIP_C,
    )
    body = consent_body(
        linked,
        hip={"id": HIP_A},
        careContexts=[{"patientReference": "PT-1001", "careContextReference": "OPD-2026-12"}],
    )
    rid = init_consent(runtime, bridge, body)["consentRequest"]["id"]
    r = approve(client, runtime, linked, rid, [{"hip": {"id": HIP_C}}])
    assert r.status_code == 400 and r.json()["code"] == "HS-1602"
    other = [{"patientReference": "PT-1001", "careContextReference": "OPD-2026-11"}]
    r = approve(client, runtime, linked, rid, [{"hip": {"id": HIP_A}, "careContexts": other}])
    assert r.status_code == 400 and r.json()["code"] == "HS-1602"
    r = approve(client, runtime, linked, rid, [{"hip": {"id": HIP_A}}])
    assert r.status_code == 200
    [artefact] = r.json()["consentArtefacts"]
    assert artefact["careContexts"] == [
        {"patientReference": "PT-1001", "careContextReference": "OPD-2026-12"}
    ]


def test_decisions_belong_to_the_patient_and_happen_once(client, runtime, bridge, linked, sita):
    rid = init_consent(runtime, bridge, consent_body(linked))["consentRequest"]["id"]
    for action, body in (
        ("approve", {"consents": [{"hip": {"id": HIP_A}}], "pin": PIN}),
        ("deny", None),
        ("revoke", {}),
    ):
        r = client.post(
            f"{API}/consents/{rid}/{action}", json=body, headers=phr_headers(runtime, sita)
        )
        assert r.status_code == 404, (action, r.text)
    assert [e.outcome for e in audit(runtime, "consent.grant")] == ["not_found"]
    assert rows(runtime, ConsentArtefact) == []

    r = client.post(f"{API}/consents/{rid}/revoke", json={}, headers=phr_headers(runtime, linked))
    assert r.status_code == 409 and r.json()["code"] == "HS-1607"
    r = approve(client, runtime, linked, rid, [{"hip": {"id": HIP_A}}])
    assert r.status_code == 200 and r.json()["status"] == "GRANTED"
    pump(runtime, bridge)
    assert approve(client, runtime, linked, rid, [{"hip": {"id": HIP_A}}]).status_code == 409
    r = client.post(f"{API}/consents/{rid}/deny", headers=phr_headers(runtime, linked))
    assert r.status_code == 409 and r.json()["code"] == "HS-1601"
    [artefact] = [a.public_id for a in rows(runtime, ConsentArtefact)]
    r = client.post(
        f"{API}/consents/{rid}/revoke",
        json={"consentIds": [str(uuid.uuid4())]},
        headers=phr_headers(runtime, linked),
    )
    assert r.status_code == 404
    r = client.post(
        f"{API}/consents/{rid}/revoke",
        json={"consentIds": [str(artefact)]},
        headers=phr_headers(runtime, linked),
    )
    assert r.status_code == 200 and r.json()["status"] == "REVOKED"
    assert r.json()["consentArtefacts"][0]["status"] == "REVOKED"
    r = client.post(f"{API}/consents/{rid}/revoke", json={}, headers=phr_headers(runtime, linked))
    assert r.status_code == 409
    listed = client.get(API + "/consents?status=REVOKED", headers=phr_headers(runtime, linked))
    assert [c["id"] for c in listed.json()] == [rid]


def test_approve_needs_a_facility(client, runtime, bridge, linked):
    rid = init_consent(runtime, bridge, consent_body(linked))["consentRequest"]["id"]
    r = client.post(
        f"{API}/consents/{rid}/approve",
        json={"consents": [], "pin": PIN},
        headers=phr_headers(runtime, linked),
    )
    assert r.status_code == 400 and r.json()["code"] == "HS-1000"
    r = approve(client, runtime, linked, rid, [{"hip": {"id": HIP_A}}, {"hip": {"id": HIP_A}}])
    assert r.status_code == 400 and r.json()["code"] == "HS-1605"
