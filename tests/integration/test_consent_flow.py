"""Consent and health information requests through the gateway, over HTTP: an HIU's
request, the patient's grant in the PHR API, the signed artefact at the HIP, the HIU's
fetch, the data request and its forward, transfer notices, acknowledgements; then
every refusal (error callback + audit row), denial, revocation, expiry, and duplicate
and late callbacks that must change nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import jwt
import pytest
from sqlalchemy import select

from healthstack.integrations.sms import SMS_TOPIC
from healthstack.jobs.worker import Worker
from healthstack.kernel.outbox import OutboxMessage
from healthstack.kernel.uow import unit_of_work
from healthstack.network.consent.models import (
    ConsentArtefact,
    ConsentNotice,
    ConsentRequest,
    HiRequest,
    TransferNotice,
)
from healthstack.protocol.abdm import messages as m
from tests.factories_consent import (
    HIP_A,
    HIP_C,
    HIU_B,
    HIU_D,
    PIN,
    HipRecords,
    audit,
    consent_body,
    dt,
    hi_request_body,
    init_consent,
    link_directly,
    network_settings,
    patient,
    phr_headers,
    pump,
    rows,
)
from tests.factories_phr import make_ravi


@pytest.fixture
def settings(settings):
    return network_settings(settings)


@pytest.fixture
def ravi(runtime):
    """Ravi with his records linked and his consent PIN set."""
    return make_ravi(runtime, linked=True, pin=True)


def approve(client, runtime, account, request_id, consents=None):
    body = {"consents": consents or [{"hip": {"id": HIP_A}}], "pin": PIN}
    return client.post(
        f"/api/v1/phr/consents/{request_id}/approve",
        json=body,
        headers=phr_headers(runtime, account),
    )


def granted(client, runtime, bridge, account, *, consents=None, **body_over):
    """A request by HIU B, granted by the patient; (request id, [artefact ids])."""
    rid = init_consent(runtime, bridge, consent_body(account, **body_over))["consentRequest"]["id"]
    r = approve(client, runtime, account, rid, consents)
    assert r.status_code == 200, r.text
    pump(runtime, bridge)
    return rid, [a["id"] for a in r.json()["consentArtefacts"]]


def hi_request(runtime, bridge, body, hiu=HIU_B):
    assert bridge.call(m.HI_REQUEST, body, hiu=hiu).status_code == 202
    pump(runtime, bridge)
    return bridge.last(m.ON_HI_REQUEST).body


def jwks_key(bridge, kid):
    keys = bridge.http.get("/gateway/v3/certs").json()
    return {k.key_id: k.key for k in jwt.PyJWKSet.from_dict(keys).keys}[kid]


def test_the_sms_to_a_family_mobile_says_which_member_it_is_for(runtime, bridge):
    """Ravi and his mother share one mobile: the request's SMS names whose records are
    asked for, masked (the SMS outbox and a locked phone's screen show it)."""
    ravi = patient(runtime, name="Ravi Kumar", birth_date=date(1990, 4, 12), handle="ravi.k")
    mother = patient(runtime, name="Kamla Devi", gender="F", birth_date=date(1962, 2, 2))
    assert ravi.mobile == mother.mobile
    body = consent_body(ravi)
    body["consent"]["patient"]["id"] = "ravi.k@sbx"
    init_consent(runtime, bridge, body)
    init_consent(runtime, bridge, consent_body(mother))  # her default address: the number
    with unit_of_work(runtime.session_factory) as s:
        sms = s.scalars(select(OutboxMessage).where(OutboxMessage.topic == SMS_TOPIC)).all()
    texts = [o.payload["text"] for o in sms if o.payload["template"] == "consent.request"]
    assert len(texts) == 2
    assert "for R*** K****, ra***@sbx" in texts[0]
    assert f"for K**** D***, {mother.abha_number[:2]}***@sbx" in texts[1]
    for text, who in zip(texts, (ravi, mother), strict=True):
        assert who.name not in text and who.abha_number not in text
        assert "Ravi" not in text and "ravi.k@" not in text and "Kamla" not in text


# --------------------------------------------------------------------------- the whole way


def test_request_grant_fetch_and_data_request(runtime, bridge, client, ravi):
    on_init = init_consent(
        runtime, bridge, consent_body(ravi, hi_types=["OPConsultation", "Prescription"])
    )
    rid = on_init["consentRequest"]["id"]
    assert "error" not in on_init and uuid.UUID(rid)
    # The patient hears of it (no details in the SMS).
    with unit_of_work(runtime.session_factory) as s:
        sms = s.scalars(select(OutboxMessage).where(OutboxMessage.topic == SMS_TOPIC)).all()
    assert [o.payload["template"] for o in sms] == ["consent.request"]
    assert "GMC Srinagar" in sms[0].payload["text"]

    bridge.call(m.CONSENT_STATUS, {"consentRequestId": rid}, hiu=HIU_B)
    pump(runtime, bridge)
    assert bridge.last(m.ON_CONSENT_STATUS).body["consentRequest"] == {
        "id": rid,
        "status": "REQUESTED",
    }

    # The patient grants less than asked: one HI type, a shorter period.
    r = approve(
        client,
        runtime,
        ravi,
        rid,
        [
            {
                "hip": {"id": HIP_A},
                "hiTypes": ["OPConsultation"],
                "permission": {"dateRange": {"from": dt(2021), "to": dt(2026, 11, 20)}},
            }
        ],
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "GRANTED"
    [artefact_id] = [a["id"] for a in r.json()["consentArtefacts"]]
    pump(runtime, bridge)

    # The HIP has the signed artefact, verifiable with the gateway's published key.
    note = bridge.last(m.HIP_CONSENT_NOTIFY).body["notification"]
    assert note["status"] == "GRANTED" and note["consentId"] == artefact_id
    detail = note["consentDetail"]
    assert detail["hiTypes"] == ["OPConsultation"]
    assert detail["permission"]["dateRange"] == {
        "from": "2021-01-01T00:00:00.000Z",
        "to": "2026-11-20T00:00:00.000Z",
    }
    assert detail["hip"] == {"id": HIP_A} and detail["hiu"] == {"id": HIU_B}
    assert detail["consentManager"] == {"id": "sbx"}
    assert {c["careContextReference"] for c in detail["careContexts"]} == {
        "OPD-2026-11",
        "OPD-2026-12",
    }
    kid = m.consent_signature_kid(note["signature"])
    assert m.verify_consent_signature(detail, note["signature"], jwks_key(bridge, kid))
    tampered = {**detail, "hiTypes": ["OPConsultation", "Prescription"]}
    assert not m.verify_consent_signature(tampered, note["signature"], jwks_key(bridge, kid))
    assert bridge.last(m.HIP_CONSENT_NOTIFY).hip_id == HIP_A

    # The HIU hears the artefact ids; both acknowledgements are recorded.
    hiu_note = bridge.last(m.HIU_CONSENT_NOTIFY)
    assert hiu_note.hiu_id == HIU_B
    assert hiu_note.body["notification"] == {
        "consentRequestId": rid,
        "status": "GRANTED",
        "consentArtefacts": [{"id": artefact_id}],
    }
    notices = rows(runtime, ConsentNotice)
    assert {(n.target, n.status_sent, n.ack_status) for n in notices} == {
        ("HIP", "GRANTED", "OK"),
        ("HIU", "GRANTED", "OK"),
    }
    assert all(n.acked_at is not None for n in notices)

    # The HIU fetches the same artefact and signature.
    bridge.call(m.CONSENT_FETCH, {"consentId": artefact_id}, hiu=HIU_B)
    pump(runtime, bridge)
    fetched = bridge.last(m.ON_CONSENT_FETCH).body["consent"]
    assert fetched == {"status": "GRANTED", "consentDetail": detail, "signature": note["signature"]}
    bridge.call(m.CONSENT_STATUS, {"consentRequestId": rid}, hiu=HIU_B)
    pump(runtime, bridge)
    assert bridge.last(m.ON_CONSENT_STATUS).body["consentRequest"]["status"] == "GRANTED"

    # The data request: checked, answered with a transactionId, forwarded to the HIP.
    body = hi_request_body(artefact_id, date_from=dt(2022), date_to=dt(2026, 11, 1))
    answer = hi_request(runtime, bridge, body)
    txn = answer["hiRequest"]["transactionId"]
    assert answer["hiRequest"]["sessionStatus"] == "REQUESTED"
    forwarded = bridge.last(m.HIP_HI_REQUEST)
    assert forwarded.hip_id == HIP_A and forwarded.body["transactionId"] == txn
    assert forwarded.body["hiRequest"]["keyMaterial"] == body["hiRequest"]["keyMaterial"]
    assert forwarded.body["hiRequest"]["dataPushUrl"] == body["hiRequest"]["dataPushUrl"]
    [row] = rows(runtime, HiRequest)
    assert (str(row.public_id), row.status) == (txn, "ACKNOWLEDGED")
    assert [e.outcome for e in audit(runtime, "consent.hi_request")] == ["success"]

    # Transfer notices from both sides, per care context.
    for kind, party, status in (("HIP", HIP_A, "TRANSFERRED"), ("HIU", HIU_B, "TRANSFERRED")):
        notify = {
            "notification": {
                "consentId": artefact_id,
                "transactionId": txn,
                "doneAt": m.abdm_timestamp(runtime.clock.now()),
                "notifier": {"type": kind, "id": party},
                "statusNotification": {
                    "sessionStatus": status,
                    "hipId": HIP_A,
                    "statusResponses": [
                        {
                            "careContextReference": "OPD-2026-11",
                            "hiStatus": "DELIVERED" if kind == "HIP" else "OK",
                            "description": "done",
                        }
                    ],
                },
            }
        }
        headers = {"hip": party} if kind == "HIP" else {"hiu": party}
        assert bridge.call(m.HI_NOTIFY, notify, **headers).status_code == 202
        pump(runtime, bridge)
    notes = rows(runtime, TransferNotice)
    assert [(n.notifier_type, n.session_status) for n in notes] == [
        ("HIP", "TRANSFERRED"),
        ("HIU", "TRANSFERRED"),
    ]
    assert notes[0].status_responses[0]["hiStatus"] == "DELIVERED"
    assert rows(runtime, HiRequest)[0].status == "TRANSFERRED"


def test_one_artefact_per_hip(runtime, bridge, client, ravi):
    link_directly(
        runtime,
        ravi,
        HipRecords(
            abha_number=ravi.abha_number,
            patient_reference="BJB-77",
            care_contexts=[("IPD-2025-3", "Admission, March 2025", "DischargeSummary")],
        ),
        hip=HIP_C,
    )
    rid, ids = granted(
        client,
        runtime,
        bridge,
        ravi,
        hi_types=["OPConsultation", "DischargeSummary"],
        consents=[{"hip": {"id": HIP_A}}, {"hip": {"id": HIP_C}, "hiTypes": ["DischargeSummary"]}],
    )
    assert len(ids) == 2
    notes = {c.hip_id: c.body["notification"] for c in bridge.at(m.HIP_CONSENT_NOTIFY)}
    assert set(notes) == {HIP_A, HIP_C}
    assert notes[HIP_C]["consentDetail"]["careContexts"] == [
        {"patientReference": "BJB-77", "careContextReference": "IPD-2025-3"}
    ]
    assert notes[HIP_C]["consentDetail"]["hiTypes"] == ["DischargeSummary"]
    # Each artefact names only its own HIP's care contexts.
    assert all(
        c["patientReference"] == "PT-1001" for c in notes[HIP_A]["consentDetail"]["careContexts"]
    )
    assert bridge.last(m.HIU_CONSENT_NOTIFY).body["notification"]["consentArtefacts"] == [
        {"id": i} for i in ids
    ]


# --------------------------------------------------------------------------- bad requests


@pytest.mark.parametrize(
    ("over", "code"),
    [
        ({"purpose": "SHOPPING"}, "ABDM-1201"),
        ({"hi_types": ["XRay"]}, "ABDM-1202"),
        ({"hi_types": []}, "ABDM-1202"),
        ({"date_from": dt(2026, 6), "date_to": dt(2025, 1)}, "ABDM-1203"),
        ({"erase_at": dt(2026, 1)}, "ABDM-1204"),
        ({"hiu": HIU_D}, "ABDM-1205"),  # sent as HIU B, naming HIU D
    ],
)
def test_bad_consent_requests_are_refused_and_audited(runtime, bridge, ravi, over, code):
    answer = init_consent(runtime, bridge, consent_body(ravi, **over))
    assert answer["error"]["code"] == code and "consentRequest" not in answer
    assert rows(runtime, ConsentRequest) == []
    [event] = audit(runtime, "consent.request.init")
    assert event.reason_code == code and event.actor_id == HIU_B


def test_consent_request_for_unknown_patient_or_malformed(runtime, bridge, ravi):
    body = consent_body(ravi)
    body["consent"]["patient"]["id"] = "nobody@sbx"
    assert init_consent(runtime, bridge, body)["error"]["code"] == "ABDM-1010"
    body = consent_body(ravi)
    del body["consent"]["permission"]
    answer = init_consent(runtime, bridge, body)
    assert answer["error"]["code"] == "ABDM-1206"
    assert "permission" in answer["error"]["message"]
    assert [e.reason_code for e in audit(runtime, "consent.request.init")] == [
        "ABDM-1010",
        "ABDM-1206",
    ]


def test_another_hiu_cannot_see_status_or_fetch(runtime, bridge, client, ravi):
    rid, [artefact] = granted(client, runtime, bridge, ravi)
    bridge.call(m.CONSENT_STATUS, {"consentRequestId": rid}, hiu=HIU_D)
    bridge.call(m.CONSENT_FETCH, {"consentId": artefact}, hiu=HIU_D)
    bridge.call(m.CONSENT_FETCH, {"consentId": str(uuid.uuid4())}, hiu=HIU_B)
    pump(runtime, bridge)
    assert bridge.last(m.ON_CONSENT_STATUS).body["error"]["code"] == "ABDM-1207"
    fetches = bridge.at(m.ON_CONSENT_FETCH)
    assert [f.body["error"]["code"] for f in fetches] == ["ABDM-1208", "ABDM-1208"]
    assert {f.hiu_id for f in fetches} == {HIU_D, HIU_B}


# --------------------------------------------------------------------------- HI request security


def test_hi_request_refusals_are_errors_and_audited(runtime, bridge, client, ravi, clock):
    rid, [artefact] = granted(client, runtime, bridge, ravi)
    cases = [
        (hi_request_body(str(uuid.uuid4())), HIU_B, "ABDM-1220"),  # no consent
        (hi_request_body(artefact), HIU_D, "ABDM-1223"),  # another HIU
        (hi_request_body(artefact, date_from=dt(2019)), HIU_B, "ABDM-1224"),
        (hi_request_body(artefact, date_to=dt(2026, 11, 26)), HIU_B, "ABDM-1224"),
        (hi_request_body(artefact, date_from=dt(2024), date_to=dt(2023)), HIU_B, "ABDM-1203"),
        (hi_request_body(artefact, push_url="ftp://hiu.example.org/x"), HIU_B, "ABDM-1226"),
        (
            hi_request_body(
                artefact,
                key_material={
                    "cryptoAlg": "ECDH",
                    "curve": "Curve25519",
                    "dhPublicKey": {"expiry": dt(2027), "parameters": "x", "keyValue": "AAAA"},
                    "nonce": "AAAA",
                },
            ),
            HIU_B,
            "ABDM-1225",
        ),
    ]
    for body, hiu, code in cases:
        answer = hi_request(runtime, bridge, body, hiu=hiu)
        assert answer["error"]["code"] == code, (code, answer)
        assert "hiRequest" not in answer
    assert rows(runtime, HiRequest) == []
    assert bridge.at(m.HIP_HI_REQUEST) == []
    events = audit(runtime, "consent.hi_request")
    assert [e.reason_code for e in events] == [c for _, _, c in cases]
    assert all(e.outcome != "success" for e in events)
    assert events[1].outcome == "denied" and events[1].actor_id == HIU_D

    # Revoked by the patient: refused; the HIP and HIU were both told.
    r = client.post(
        f"/api/v1/phr/consents/{rid}/revoke", json={}, headers=phr_headers(runtime, ravi)
    )
    assert r.status_code == 200 and r.json()["status"] == "REVOKED"
    pump(runtime, bridge)
    assert bridge.last(m.HIP_CONSENT_NOTIFY).body["notification"] == {
        "status": "REVOKED",
        "consentId": artefact,
    }
    assert bridge.last(m.HIU_CONSENT_NOTIFY).body["notification"]["status"] == "REVOKED"
    assert hi_request(runtime, bridge, hi_request_body(artefact))["error"]["code"] == "ABDM-1221"
    bridge.call(m.CONSENT_FETCH, {"consentId": artefact}, hiu=HIU_B)
    pump(runtime, bridge)
    assert bridge.last(m.ON_CONSENT_FETCH).body["consent"]["status"] == "REVOKED"
    assert audit(runtime, "consent.hi_request")[-1].reason_code == "ABDM-1221"


def test_denied_request_has_no_artefact(runtime, bridge, client, ravi):
    rid = init_consent(runtime, bridge, consent_body(ravi))["consentRequest"]["id"]
    r = client.post(f"/api/v1/phr/consents/{rid}/deny", headers=phr_headers(runtime, ravi))
    assert r.status_code == 200 and r.json()["status"] == "DENIED"
    pump(runtime, bridge)
    assert bridge.last(m.HIU_CONSENT_NOTIFY).body["notification"] == {
        "consentRequestId": rid,
        "status": "DENIED",
    }
    assert bridge.at(m.HIP_CONSENT_NOTIFY) == []
    # The request id is no artefact: a data request with it is refused.
    assert hi_request(runtime, bridge, hi_request_body(rid))["error"]["code"] == "ABDM-1220"


# --------------------------------------------------------------------------- expiry


def test_expiry_job(runtime, bridge, client, ravi, clock):
    _, [artefact] = granted(
        client,
        runtime,
        bridge,
        ravi,
        consents=[
            {"hip": {"id": HIP_A}, "permission": {"dataEraseAt": dt(2026, 12, 1)}},
        ],
    )
    pending = init_consent(runtime, bridge, consent_body(ravi, erase_at=dt(2026, 12, 5)))
    pending_id = pending["consentRequest"]["id"]
    clock.advance(days=5, hours=1)  # 2026-12-01T10:00: the artefact's expiry passed
    # Before the job runs, the expiry already holds.
    assert hi_request(runtime, bridge, hi_request_body(artefact))["error"]["code"] == "ABDM-1222"
    worker = Worker(runtime)
    worker.run_due_jobs(now=0.0)  # the SCHEDULE entry, as the worker runs it
    pump(runtime, bridge)
    [row] = rows(runtime, ConsentArtefact)
    assert row.status == "EXPIRED" and row.expired_at == clock.now()
    assert bridge.last(m.HIP_CONSENT_NOTIFY).body["notification"] == {
        "status": "EXPIRED",
        "consentId": artefact,
    }
    assert bridge.last(m.HIU_CONSENT_NOTIFY).body["notification"]["status"] == "EXPIRED"
    statuses = {str(r.public_id): r.status for r in rows(runtime, ConsentRequest)}
    # The granted request ended with its last artefact; the pending one runs on.
    assert sorted(statuses.values()) == ["EXPIRED", "REQUESTED"]
    assert statuses[pending_id] == "REQUESTED"
    assert hi_request(runtime, bridge, hi_request_body(artefact))["error"]["code"] == "ABDM-1222"

    clock.advance(days=5)
    from healthstack.network.consent.consents import expire_due
    from healthstack.network.gateway.config import callback_sender

    with unit_of_work(runtime.session_factory) as s:
        assert (
            expire_due(s, clock=runtime.clock, sender=callback_sender(runtime)) == 1
        )  # the pending request, now past its expiry
    pump(runtime, bridge)
    statuses = {str(r.public_id): r.status for r in rows(runtime, ConsentRequest)}
    assert set(statuses.values()) == {"EXPIRED"}
    last = bridge.last(m.HIU_CONSENT_NOTIFY).body["notification"]
    assert last == {"consentRequestId": pending_id, "status": "EXPIRED"}
    before = len(bridge.received)
    with unit_of_work(runtime.session_factory) as s:
        assert (
            expire_due(s, clock=runtime.clock, sender=callback_sender(runtime)) == 0
        )  # idempotent
    pump(runtime, bridge)
    assert len(bridge.received) == before
    assert {e.resource_type for e in audit(runtime, "consent.expire")} == {
        "consent_artefact",
        "consent_request",
    }
    # The patient can no longer approve an expired request.
    r = client.post(
        f"/api/v1/phr/consents/{pending_id}/approve",
        json={"consents": [{"hip": {"id": HIP_A}}], "pin": PIN},
        headers=phr_headers(runtime, ravi),
    )
    assert r.status_code == 409 and r.json()["code"] == "HS-1601"


# --------------------------------------------------------------------------- duplicates, late


def test_duplicate_and_late_answers_change_nothing(runtime, bridge, client, ravi, clock):
    _, [artefact] = granted(client, runtime, bridge, ravi)
    hip_ack = bridge.last(m.HIP_CONSENT_NOTIFY)
    [hip_notice] = [n for n in rows(runtime, ConsentNotice) if n.target == "HIP"]
    acked_at = hip_notice.acked_at
    clock.advance(minutes=5)
    # A second acknowledgement (new REQUEST-ID, same answer) changes nothing.
    again = {"acknowledgement": {"status": "UNKNOWN", "consentId": artefact}}
    again["response"] = {"requestId": hip_ack.request_id}
    assert bridge.call(m.HIP_ON_CONSENT_NOTIFY, again, hip=HIP_A).status_code == 202
    pump(runtime, bridge)
    [hip_notice] = [n for n in rows(runtime, ConsentNotice) if n.target == "HIP"]
    assert (hip_notice.acked_at, hip_notice.ack_status) == (acked_at, "OK")
    # An acknowledgement of nothing, or from another HIP, is refused (and audited).
    stray = {"acknowledgement": {"status": "OK", "consentId": artefact}}
    stray["response"] = {"requestId": str(uuid.uuid4())}
    bridge.call(m.HIP_ON_CONSENT_NOTIFY, stray, hip=HIP_A)
    bridge.call(m.HIP_ON_CONSENT_NOTIFY, again, hip=HIP_C)
    pump(runtime, bridge)
    refused = [e for e in audit(runtime, "consent.notice.ack") if e.outcome != "success"]
    assert [e.reason_code for e in refused] == ["ABDM-1208", "ABDM-1208"]

    # The data request: the HIP's acknowledgement once; a repeat with the same
    # REQUEST-ID is refused at the gateway (409); a late FAILED after the transfer is kept
    # as a notice but does not undo TRANSFERRED.
    bridge.answer["hi"] = False
    txn = hi_request(runtime, bridge, hi_request_body(artefact))["hiRequest"]["transactionId"]
    forward = bridge.last(m.HIP_HI_REQUEST)
    ack = {
        "hiRequest": {"transactionId": txn, "sessionStatus": "ACKNOWLEDGED"},
        "response": {"requestId": forward.request_id},
    }
    request_id = str(uuid.uuid4())
    for status in (202, 409):
        assert (
            bridge.call(m.HIP_ON_HI_REQUEST, ack, hip=HIP_A, request_id=request_id).status_code
            == status
        )
    late_error = {**ack, "error": {"code": "ABDM-9999", "message": "late"}}
    late_error.pop("hiRequest")
    bridge.call(m.HIP_ON_HI_REQUEST, late_error, hip=HIP_A)
    pump(runtime, bridge)
    [row] = rows(runtime, HiRequest)
    assert row.status == "ACKNOWLEDGED" and row.error_code is None
    acks = audit(runtime, "consent.hi_request.ack")
    assert [e.outcome for e in acks] == ["success", "success"]  # the replay never ran

    def notify(status, request_id=None):
        body = {
            "notification": {
                "consentId": artefact,
                "transactionId": txn,
                "doneAt": m.abdm_timestamp(clock.now()),
                "notifier": {"type": "HIP", "id": HIP_A},
                "statusNotification": {"sessionStatus": status, "hipId": HIP_A},
            }
        }
        bridge.call(m.HI_NOTIFY, body, hip=HIP_A, request_id=request_id)
        pump(runtime, bridge)

    rid = str(uuid.uuid4())
    notify("TRANSFERRED", rid)
    notify("TRANSFERRED", rid)  # the same message again: a no-op
    notify("FAILED")  # a late contradiction
    [row] = rows(runtime, HiRequest)
    assert row.status == "TRANSFERRED"
    assert [n.session_status for n in rows(runtime, TransferNotice)] == ["TRANSFERRED", "FAILED"]

    # A notice naming another transaction or from the wrong party is refused.
    body = {
        "notification": {
            "consentId": artefact,
            "transactionId": txn,
            "doneAt": m.abdm_timestamp(clock.now()),
            "notifier": {"type": "HIU", "id": HIU_D},
            "statusNotification": {"sessionStatus": "TRANSFERRED", "hipId": HIP_A},
        }
    }
    bridge.call(m.HI_NOTIFY, body, hiu=HIU_D)
    bridge.call(m.HI_NOTIFY, body, hiu=HIU_B)  # claims to be HIU D
    pump(runtime, bridge)
    codes = [e.reason_code for e in audit(runtime, "consent.hi_notify") if e.outcome != "success"]
    assert codes == ["ABDM-1227", "ABDM-1205"]
    assert len(rows(runtime, TransferNotice)) == 2


def test_artefact_signature_covers_canonical_json(runtime, bridge, client, ravi):
    _, [artefact] = granted(client, runtime, bridge, ravi)
    [row] = rows(runtime, ConsentArtefact)
    assert row.signature.count(".") == 2 and ".." in row.signature
    header = jwt.get_unverified_header(row.signature)
    assert header["alg"] == "RS256" and header["kid"]
    key = runtime.keyring.private_key("signing").public_key()
    assert m.verify_consent_signature(row.detail, row.signature, key)
    assert m.ConsentDetail.model_validate(row.detail).consent_id == artefact
    assert datetime.fromisoformat(row.detail["createdAt"].replace("Z", "+00:00")) == datetime(
        2026, 11, 26, 9, tzinfo=UTC
    )


def test_what_the_cm_sends_fits_the_specs(runtime, bridge, client, ravi):
    """The bodies the consent manager actually sent, against the shared specs (the
    converter and the v3 adjustments of tests/factories_abdm_specs.py)."""
    from tests.factories_abdm_specs import check, component, load_spec, v3_component

    spec = load_spec("ndhm-gateway-v1.yml")
    rid, [artefact] = granted(client, runtime, bridge, ravi)
    bridge.call(m.CONSENT_STATUS, {"consentRequestId": rid}, hiu=HIU_B)
    bridge.call(m.CONSENT_FETCH, {"consentId": artefact}, hiu=HIU_B)
    pump(runtime, bridge)
    hi_request(runtime, bridge, hi_request_body(artefact))
    hi_request(runtime, bridge, hi_request_body(artefact), hiu=HIU_D)  # an error answer

    hip_notify = v3_component(spec, "HIPConsentNotification")
    notification = hip_notify["properties"]["notification"]
    fetched = component(spec, "ConsentArtefactResponse")["properties"]["consent"]
    extra = fetched["properties"]["consentDetail"]["properties"]
    notification["properties"]["consentDetail"]["properties"].update(
        hiu=extra["hiu"], requester=extra["requester"]
    )
    notification["properties"]["grantAcknowledgement"] = {"type": "boolean"}
    expected = {
        m.ON_CONSENT_INIT: v3_component(spec, "ConsentRequestInitResponse"),
        m.ON_CONSENT_STATUS: v3_component(spec, "HIUConsentRequestStatus"),
        m.HIP_CONSENT_NOTIFY: hip_notify,
        m.HIU_CONSENT_NOTIFY: v3_component(spec, "HIUConsentNotificationEvent"),
        m.ON_CONSENT_FETCH: v3_component(spec, "ConsentArtefactResponse"),
        m.ON_HI_REQUEST: v3_component(spec, "HIUHealthInformationRequestResponse"),
        m.HIP_HI_REQUEST: v3_component(spec, "HIPHIRequest"),
    }
    for path, schema in expected.items():
        sent = bridge.at(path)
        assert sent, path
        for ctx in sent:
            check(schema, ctx.body)
