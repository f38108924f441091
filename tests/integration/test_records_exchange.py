"""Health information exchange at the facility, both ends: a doctor's consent request
(HIU), the artefact checked and stored (HIP), the HI request, the encrypted push
straight to the HIU's dataPushUrl, decryption, checksums and erasure; and what must be
refused. The consent manager is the fake of tests/factories_records.py, which signs its
callbacks and artefacts like the real gateway and CM; the lead's end-to-end test runs
the same flow against the real consent manager."""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from healthstack.facility.records import hiu
from healthstack.facility.records.exceptions import ConsentRefused
from healthstack.facility.records.models import (
    HipConsentArtefact,
    HipDataTransfer,
    HipTransferPage,
    HiuConsentArtefact,
    HiuConsentRequest,
    HiuDataRequest,
    HiuReceivedRecord,
)
from healthstack.jobs.worker import SCHEDULE
from healthstack.kernel.audit import AuditEvent
from healthstack.kernel.context import Actor, ActorKind, Role
from healthstack.kernel.errors import NotFound
from healthstack.kernel.uow import unit_of_work
from healthstack.protocol.abdm import fidelius
from healthstack.protocol.abdm import messages as m
from healthstack.seed import records as samples
from tests.factories_records import (
    DOCTOR_ACTOR as DOCTOR,
)
from tests.factories_records import (
    HIP_A,
    HIU,
    PATIENT,
    Hip,
    add_visit,
    ask,
    consent_notify,
    doctor_ctx,
    grant,
    push_headers,
    received,
    records_settings,
    seed_hip,
)


@pytest.fixture
def settings(settings):
    return records_settings(settings)


@pytest.fixture
def hip(runtime, clock) -> Hip:
    return seed_hip(runtime, clock)


def pushes(cm):
    return [r for r in cm.to_hmis if r.url.path == "/api/v3/hiu/data/push"]


def one(runtime, model):
    with unit_of_work(runtime.session_factory) as s:
        return s.scalar(select(model))


# --------------------------------------------------------------------------- the flow


def test_consent_to_records_end_to_end(runtime, cm, clock, hip):
    g = grant(cm, runtime, clock, hip)
    init = cm.last(m.CONSENT_INIT).body["consent"]
    assert init["patient"] == {"id": PATIENT} and init["hiu"] == {"id": HIU}
    assert init["purpose"]["code"] == "CAREMGT" and init["requester"]["name"] == "Dr. Demo Doctor"
    assert init["permission"]["accessMode"] == "VIEW"
    hr = g.hi_request["hiRequest"]
    assert hr["consent"] == {"id": g.consent_id}
    assert hr["dataPushUrl"] == "http://hmis.test/api/v3/hiu/data/push"
    # Fresh key material, its private half sealed at the HIU.
    wire = fidelius.WireKeyMaterial.from_dict(hr["keyMaterial"])
    dr = one(runtime, HiuDataRequest)
    assert (
        dr.public_key == wire.public_key and dr.key_sealed and wire.public_key not in dr.key_sealed
    )
    assert "privateKey" not in json.dumps(hr)

    cm.run_worker()  # HIP acknowledges, pushes, both sides notify
    ack = cm.last(m.HIP_ON_HI_REQUEST).body
    assert ack["hiRequest"] == {"transactionId": g.transaction_id, "sessionStatus": "ACKNOWLEDGED"}
    bodies = [json.loads(push.content) for push in pushes(cm)]
    # One document per page, each page under key material of its own.
    assert [(b["pageNumber"], b["pageCount"]) for b in bodies] == [(n, 4) for n in range(1, 5)]
    for body in bodies:
        assert body["transactionId"] == g.transaction_id and len(body["entries"]) == 1
        assert body["keyMaterial"]["dhPublicKey"]["keyValue"] != wire.public_key
        for e in body["entries"]:
            assert e["media"] == "application/fhir+json" and len(e["checksum"]) == 32
            assert "resourceType" not in e["content"]  # encrypted
    # Only what the artefact allows: its HI types, its care contexts, its dates.
    got = sorted((ref, t, st) for ref, t, st, _, _ in received(runtime))
    opd, ipd = hip.visits["opd"], hip.visits["ipd"]
    assert got == sorted(
        [
            (opd, "OPConsultation", "OK"),
            (opd, "Prescription", "OK"),
            (opd, "DiagnosticReport", "OK"),
            (ipd, "DiagnosticReport", "OK"),
        ]
    )
    # HIP: TRANSFERRED, DELIVERED per care context. HIU: OK per care context.
    notes = {c.body["notification"]["notifier"]["type"]: c for c in cm.taken(m.HI_NOTIFY)}
    hip_note = notes["HIP"].body["notification"]
    assert notes["HIP"].headers["x-hip-id"] == HIP_A
    assert hip_note["statusNotification"]["sessionStatus"] == "TRANSFERRED"
    assert {
        s["careContextReference"]: s["hiStatus"]
        for s in hip_note["statusNotification"]["statusResponses"]
    } == {
        opd: "DELIVERED",
        ipd: "DELIVERED",
    }
    hiu_note = notes["HIU"].body["notification"]
    assert notes["HIU"].headers["x-hiu-id"] == HIU and hiu_note["consentId"] == g.consent_id
    assert {
        s["careContextReference"]: s["hiStatus"]
        for s in hiu_note["statusNotification"]["statusResponses"]
    } == {
        opd: "OK",
        ipd: "OK",
    }
    assert one(runtime, HipDataTransfer).status == "TRANSFERRED"
    dr = one(runtime, HiuDataRequest)
    assert dr.status == "COMPLETED" and dr.key_sealed is None

    # The doctor reads a record: checked and audited with the doctor's context.
    with unit_of_work(runtime.session_factory) as s:
        rec = s.scalar(select(HiuReceivedRecord).where(HiuReceivedRecord.hi_type == "Prescription"))
        record, view = hiu.read_record(
            s,
            doctor_ctx(),
            public_id=str(rec.public_id),
            clock=runtime.clock,
            phr_hiu_id=runtime.settings.consent.phr_hiu_id,
        )
        assert view.kind.value == "Prescription" and view.patient.name == "Asha Devi"
    with unit_of_work(runtime.session_factory) as s:
        audit = s.scalar(select(AuditEvent).where(AuditEvent.action == "records.received.read"))
        assert (
            audit.actor_id == DOCTOR.id and audit.facility_id == HIU and audit.purpose == "CAREMGT"
        )

    # Duplicate and late callbacks change nothing: the same HI request again.
    cm.callback(m.HIP_HI_REQUEST, {"transactionId": g.transaction_id, "hiRequest": hr}, hip=HIP_A)
    cm.run_worker()
    assert len(pushes(cm)) == 4 and len(received(runtime)) == 4


def test_every_document_is_a_page_under_key_material_of_its_own(runtime, cm, clock, hip):
    grant(cm, runtime, clock, hip)
    cm.run_worker()
    bodies = [json.loads(p.content) for p in pushes(cm)]
    assert [(b["pageNumber"], b["pageCount"]) for b in bodies] == [(n, 4) for n in range(1, 5)]
    assert [len(b["entries"]) for b in bodies] == [1, 1, 1, 1]
    # Fidelius derives one AES-GCM key and IV per key material: no two plaintexts may
    # share one, so no two pages share a key or a nonce.
    assert len({b["keyMaterial"]["dhPublicKey"]["keyValue"] for b in bodies}) == 4
    assert len({b["keyMaterial"]["nonce"] for b in bodies}) == 4
    assert len(received(runtime)) == 4 and one(runtime, HiuDataRequest).status == "COMPLETED"
    assert len([c for c in cm.taken(m.HI_NOTIFY)]) == 2


class KilledWorker(BaseException):
    """The worker process dies (not an exception any handler would catch)."""


@pytest.mark.parametrize("moment", ["before the HIU took page 2", "after the HIU took page 2"])
def test_a_worker_killed_mid_transfer_resumes_exactly_once(runtime, cm, clock, hip, moment):
    # Five pages: add one more consented document to the admission.
    rng = random.Random(9)
    add_visit(
        runtime,
        start=clock.now() - timedelta(days=20),
        reference=hip.visits["ipd"],
        link=False,
        contents=[samples.lab_report(rng, clock.now() - timedelta(days=19))],
    )
    grant(cm, runtime, clock, hip)
    killed = {"done": False}

    def crash_on_page_2(request, send):
        page = (
            json.loads(request.content).get("pageNumber")
            if request.url.path.endswith("/push")
            else None
        )
        if page == 2 and not killed["done"]:
            killed["done"] = True
            if moment.startswith("after"):
                send(request)  # the HIU stored it; the HIP never heard back
            raise KilledWorker
        return send(request)

    cm.intercept = crash_on_page_2
    with pytest.raises(KilledWorker):
        cm.run_worker()
    with unit_of_work(runtime.session_factory) as s:
        pages = {p.page_number: p.status for p in s.scalars(select(HipTransferPage))}
    assert pages == {1: "sent", 2: "pending", 3: "pending", 4: "pending", 5: "pending"}
    stored_pages = sorted({p for *_, p in received(runtime)})
    assert stored_pages == ([1, 2] if moment.startswith("after") else [1])

    # The restarted worker: the abandoned claim is taken again after its timeout.
    cm.intercept = None
    assert cm.run_worker() == 0  # nothing is due yet: the claim is still fresh
    clock.advance(minutes=6)
    cm.run_worker()
    with unit_of_work(runtime.session_factory) as s:
        pages = {p.page_number: p.status for p in s.scalars(select(HipTransferPage))}
        assert pages == {n: "sent" for n in range(1, 6)}
        dr = s.scalar(select(HiuDataRequest))
        assert dr.pages_received == [1, 2, 3, 4, 5] and dr.status == "COMPLETED"
    # Every document exactly once at the HIU, though page 2 may have been sent twice.
    rows = received(runtime)
    assert len(rows) == 5
    assert len({(ref, t, p) for ref, t, _, _, p in rows}) == 5
    sent_pages = [json.loads(p.content)["pageNumber"] for p in pushes(cm)]
    assert sent_pages == ([1, 2, 2, 3, 4, 5] if moment.startswith("after") else [1, 2, 3, 4, 5])
    # And each side told the consent manager once.
    kinds = sorted(c.body["notification"]["notifier"]["type"] for c in cm.taken(m.HI_NOTIFY))
    assert kinds == ["HIP", "HIU"]


def test_a_checksum_mismatch_is_errored_and_reported(runtime, cm, clock, hip):
    grant(cm, runtime, clock, hip)

    def corrupt(request, send):
        if not request.url.path.endswith("/push"):
            return send(request)
        body = json.loads(request.content)
        if body["pageNumber"] != 1:
            return send(request)
        body["entries"][0]["checksum"] = hashlib.md5(b"something else").hexdigest()  # noqa: S324
        return send(
            httpx.Request(
                "POST",
                request.url,
                headers={
                    "Content-Type": "application/json",
                    "Authorization": request.headers["Authorization"],
                },
                content=json.dumps(body),
            )
        )

    cm.intercept = corrupt
    cm.run_worker()
    rows = received(runtime)
    bad = [r for r in rows if r[2] == "ERRORED"]
    # Each page is one document: the corrupted page's document is the one errored.
    assert len(bad) == 1 and bad[0][3] == "ABDM-1309" and bad[0][1] is None
    with unit_of_work(runtime.session_factory) as s:
        errored = s.scalar(select(HiuReceivedRecord).where(HiuReceivedRecord.status == "ERRORED"))
        assert errored.bundle is None  # nothing kept of what failed its checksum
    assert one(runtime, HiuDataRequest).status == "PARTIAL"
    note = next(
        c.body["notification"]
        for c in cm.taken(m.HI_NOTIFY)
        if c.body["notification"]["notifier"]["type"] == "HIU"
    )
    statuses = {
        s["careContextReference"]: s["hiStatus"]
        for s in note["statusNotification"]["statusResponses"]
    }
    assert (
        statuses[bad[0][0]] == "ERRORED" and note["statusNotification"]["sessionStatus"] == "FAILED"
    )


# --------------------------------------------------------------------------- the HIP refuses


def _hip_request(cm, clock, consent_id, **over):
    key = fidelius.generate_key_material()
    now = clock.now()
    args = {
        "hip": HIP_A,
        "consent_id": consent_id,
        "key_material": key.wire(now + timedelta(hours=1)).to_dict(),
        "date_from": now - timedelta(days=200),
        "date_to": now,
    }
    args.update(over)
    txn, r = cm.hi_request_to_hip(**args)
    assert r.status_code == 202, r.text
    cm.run_worker()
    return txn, cm.last(m.HIP_ON_HI_REQUEST).body


def _granted_at_hip(cm, clock, hip, *, types=("Prescription",), erase_days=30):
    now = clock.now()
    detail = cm.artefact(
        hip=HIP_A,
        hiu=HIU,
        patient=PATIENT,
        care_contexts=[("MRN-0001", hip.visits["opd"]), ("MRN-0001", hip.visits["old"])],
        hi_types=types,
        date_from=now - timedelta(days=365),
        date_to=now,
        erase_at=now + timedelta(days=erase_days),
    )
    assert cm.notify_hip(detail).status_code == 202
    return detail


def _refusals(runtime):
    with unit_of_work(runtime.session_factory) as s:
        return [
            e.reason_code
            for e in s.scalars(
                select(AuditEvent).where(
                    AuditEvent.action == "records.hi_request.serve", AuditEvent.outcome != "success"
                )
            )
        ]


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("revoked", "ABDM-1302"),
        ("expired", "ABDM-1303"),
        ("date outside", "ABDM-1305"),
        ("another HIP's artefact", "ABDM-1301"),
        ("expired key material", "ABDM-1307"),
        ("dataPushUrl not http(s)", "ABDM-1315"),
        # Its own code, not the key material's (ABDM-1307): the URL is at fault.
        ("dataPushUrl without a host", "ABDM-1315"),
    ],
)
def test_the_hip_refuses_requests_outside_the_artefact(runtime, cm, clock, hip, case, code):
    detail = _granted_at_hip(cm, clock, hip)
    consent_id = detail["consentId"]
    over: dict = {}
    if case == "revoked":
        cm.notify_hip(detail, status="REVOKED")
    elif case == "expired":
        clock.advance(days=31)
    elif case == "date outside":
        over["date_from"] = clock.now() - timedelta(days=400)
    elif case == "another HIP's artefact":
        over["hip"] = "IN0110000003"
    elif case == "expired key material":
        key = fidelius.generate_key_material()
        over["key_material"] = key.wire(clock.now() - timedelta(minutes=1)).to_dict()
    elif case == "dataPushUrl not http(s)":
        over["push_url"] = "ftp://hiu.example.org/push"
    elif case == "dataPushUrl without a host":
        over["push_url"] = "https:///api/v3/hiu/data/push"
    txn, answer = _hip_request(cm, clock, consent_id, **over)
    assert answer["error"]["code"] == code
    assert "hiRequest" not in answer and txn
    assert pushes(cm) == []
    assert _refusals(runtime) == [code]
    with unit_of_work(runtime.session_factory) as s:
        assert s.scalar(select(HipDataTransfer)).status == "REFUSED"


def test_a_request_ahead_of_its_artefact_is_delivered_again_later(runtime, cm, clock, hip):
    """The CM forwards requests only under artefacts it issued, so one the HIP has not
    heard of is a GRANTED notice still on its way: 404 (the gateway retries), nothing
    kept, nothing refused; once the notice is in, the request is served."""
    now = clock.now()
    detail = cm.artefact(
        hip=HIP_A,
        hiu=HIU,
        patient=PATIENT,
        care_contexts=[("MRN-0001", hip.visits["opd"])],
        hi_types=["Prescription"],
        date_from=now - timedelta(days=365),
        date_to=now,
        erase_at=now + timedelta(days=30),
    )
    key = fidelius.generate_key_material().wire(now + timedelta(hours=1)).to_dict()
    args = {"hip": HIP_A, "key_material": key, "date_from": now - timedelta(days=200)}
    _, r = cm.hi_request_to_hip(consent_id=detail["consentId"], date_to=now, **args)
    assert r.status_code == 404 and r.json()["error"]["code"] == "ABDM-1301", r.text
    cm.run_worker()
    with unit_of_work(runtime.session_factory) as s:
        assert s.scalars(select(HipDataTransfer)).all() == []
    assert _refusals(runtime) == []

    assert cm.notify_hip(detail).status_code == 202
    txn, answer = _hip_request(cm, clock, detail["consentId"])
    assert answer["hiRequest"]["sessionStatus"] == "ACKNOWLEDGED"

    # An artefact whose signature failed was never kept: a request under it is never
    # served (it waits, and dies at the gateway), and the forgery was refused at notify.
    forged = cm.artefact(
        hip=HIP_A,
        hiu=HIU,
        patient=PATIENT,
        care_contexts=[("MRN-0001", hip.visits["ipd"])],
        hi_types=["DischargeSummary"],
        date_from=now - timedelta(days=30),
        date_to=now,
        erase_at=now + timedelta(days=3),
    )
    signature = cm.sign(forged)
    forged["hiTypes"] = ["DischargeSummary", "DiagnosticReport"]
    cm.notify_hip(forged, signature=signature)
    cm.run_worker()
    _, r = cm.hi_request_to_hip(consent_id=forged["consentId"], date_to=now, **args)
    assert r.status_code == 404, r.text
    with unit_of_work(runtime.session_factory) as s:
        assert len(s.scalars(select(HipDataTransfer)).all()) == 1  # the first one only


def test_the_hip_sends_only_consented_types_contexts_and_dates(runtime, cm, clock, hip):
    # The artefact: prescriptions only, in the OPD visit and the 400-day-old visit.
    detail = _granted_at_hip(cm, clock, hip, types=("Prescription",))
    key = fidelius.generate_key_material()
    txn, answer = _hip_request(
        cm,
        clock,
        detail["consentId"],
        key_material=key.wire(clock.now() + timedelta(hours=1)).to_dict(),
        push_url="http://elsewhere.test/push",
    )
    assert answer["hiRequest"]["sessionStatus"] == "ACKNOWLEDGED"
    with unit_of_work(runtime.session_factory) as s:
        [page] = s.scalars(select(HipTransferPage)).all()
        from healthstack.facility.records.models import HealthDocument

        docs = [s.get(HealthDocument, e["document"]) for e in page.entries]
    # The old visit's prescription is outside the requested 200 days; the lab report and
    # the consultation in the OPD visit are not consented types; the admission is not
    # in the artefact at all.
    assert [
        (d.hi_type, e["careContextReference"]) for d, e in zip(docs, page.entries, strict=True)
    ] == [("Prescription", hip.visits["opd"])]


def test_a_revocation_mid_transfer_stops_the_push(runtime, cm, clock, hip):
    g = grant(cm, runtime, clock, hip)
    sent = {"n": 0}

    def revoke_after_first(request, send):
        response = send(request)
        if request.url.path.endswith("/push"):
            sent["n"] += 1
            if sent["n"] == 1:
                cm.notify_hip(g.detail, status="REVOKED")
        return response

    cm.intercept = revoke_after_first
    cm.run_worker()
    assert len(pushes(cm)) == 1
    transfer = one(runtime, HipDataTransfer)
    assert transfer.status == "FAILED"
    note = next(
        c.body["notification"]
        for c in cm.taken(m.HI_NOTIFY)
        if c.body["notification"]["notifier"]["type"] == "HIP"
    )
    assert note["statusNotification"]["sessionStatus"] == "FAILED"
    assert "ERRORED" in {s["hiStatus"] for s in note["statusNotification"]["statusResponses"]}


# --------------------------------------------------------------------------- the HIU refuses


def test_the_hiu_refuses_an_artefact_for_another_hiu_or_wider_than_asked(runtime, cm, clock, hip):
    g = grant(cm, runtime, clock, hip, hiu_in_artefact="IN0110000009")
    assert g.transaction_id == ""  # no HI request was sent
    art = one(runtime, HiuConsentArtefact)
    assert (art.status, art.error_code) == ("ERRORED", "ABDM-1301")
    with unit_of_work(runtime.session_factory) as s:
        refused = s.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "records.artefact.verify", AuditEvent.outcome != "success"
            )
        )
        assert refused.reason_code == "ABDM-1301"


def test_the_hiu_refuses_granted_types_it_did_not_ask_for(runtime, cm, clock, hip):
    g = grant(
        cm,
        runtime,
        clock,
        hip,
        hi_types=("Prescription",),
        granted_types=("Prescription", "DischargeSummary"),
    )
    assert g.transaction_id == ""
    assert one(runtime, HiuConsentArtefact).error_code == "ABDM-1304"


def _page(clock, hiu_key, txn, key, *, reference, n=1, count=2, plaintext=None):
    data = plaintext if plaintext is not None else b'{"resourceType": "Bundle"}'
    content = fidelius.encrypt(
        data,
        sender_private_key=key.private_key,
        sender_nonce=key.nonce,
        receiver_public_key=hiu_key.public_key,
        receiver_nonce=hiu_key.nonce,
    )
    return {
        "pageNumber": n,
        "pageCount": count,
        "transactionId": txn,
        "entries": [
            {
                "content": content,
                "media": "application/fhir+json",
                "checksum": hashlib.md5(data).hexdigest(),  # noqa: S324
                "careContextReference": reference,
            }
        ],
        "keyMaterial": key.wire(clock.now() + timedelta(hours=1)).to_dict(),
    }


def test_the_push_endpoint_refuses_unknown_transactions_and_takes_each_pages_keys(
    runtime, cm, clock, hip
):
    g = grant(cm, runtime, clock, hip, forward=False)
    hiu_key = fidelius.WireKeyMaterial.from_dict(g.hi_request["hiRequest"]["keyMaterial"])

    def page(txn, key, n=1, plaintext=None):
        return _page(
            clock, hiu_key, txn, key, reference=hip.visits["opd"], n=n, plaintext=plaintext
        )

    from fastapi.testclient import TestClient

    client = TestClient(cm.hmis_app, headers=push_headers(runtime))
    sender = fidelius.generate_key_material()
    r = client.post("/api/v3/hiu/data/push", json=page(str(uuid.uuid4()), sender))
    assert r.status_code == 404 and r.json()["error"]["code"] == "ABDM-1308"
    r = client.post("/api/v3/hiu/data/push", json={"pageNumber": 1})
    assert r.status_code == 400 and r.json()["error"]["code"] == "ABDM-1314"
    # A page with a document that is not a valid FHIR document: stored as ERRORED,
    # with the rule it breaks.
    r = client.post("/api/v3/hiu/data/push", json=page(g.transaction_id, sender))
    assert r.status_code == 202
    assert [(st, code) for _, _, st, code, _ in received(runtime)] == [("ERRORED", "ABDM-1311")]
    # Page 2 with key material of its own (ABDM asks for key material on every page,
    # never that it stays the same): decrypted with its own keys.
    with unit_of_work(runtime.session_factory) as s:
        from healthstack.facility.records.models import HealthDocument

        bundle = s.scalars(select(HealthDocument.bundle)).first()
    data = json.dumps(bundle).encode()
    r = client.post(
        "/api/v3/hiu/data/push",
        json=page(g.transaction_id, fidelius.generate_key_material(), n=2, plaintext=data),
    )
    assert r.status_code == 202, r.text
    assert [(st, n) for _, _, st, _, n in received(runtime)] == [("ERRORED", 1), ("OK", 2)]
    with unit_of_work(runtime.session_factory) as s:
        codes = [
            e.reason_code
            for e in s.scalars(
                select(AuditEvent).where(
                    AuditEvent.action == "records.data.receive", AuditEvent.outcome != "success"
                )
            )
        ]
    assert codes == ["ABDM-1308", "ABDM-1314"]


def test_pages_of_another_deployments_hip_come_from_one_bridge(runtime, cm, clock, hip):
    """The artefact's HIP is not this deployment's: the first page's bridge is the
    transfer's, and this deployment's own bridge never pushes for it."""
    g = grant(cm, runtime, clock, hip, forward=False, hip_here=False)
    hiu_key = fidelius.WireKeyMaterial.from_dict(g.hi_request["hiRequest"]["keyMaterial"])
    with unit_of_work(runtime.session_factory) as s:
        from healthstack.facility.records.models import HealthDocument

        bundle = s.scalars(select(HealthDocument.bundle)).first()
    data = json.dumps(bundle).encode()

    def page(n):
        key = fidelius.generate_key_material()
        return _page(
            clock, hiu_key, g.transaction_id, key, reference=hip.visits["opd"], n=n, plaintext=data
        )

    from fastapi.testclient import TestClient

    client = TestClient(cm.hmis_app)
    url = "/api/v3/hiu/data/push"
    r = client.post(url, json=page(1), headers=push_headers(runtime))  # our own bridge
    assert r.status_code == 403 and r.json()["error"]["code"] == "ABDM-1109", r.text
    assert (
        client.post(url, json=page(1), headers=push_headers(runtime, "ext-hmis")).status_code == 202
    )
    r = client.post(url, json=page(2), headers=push_headers(runtime, "third-hmis"))
    assert r.status_code == 403 and r.json()["error"]["code"] == "ABDM-1109", r.text
    assert (
        client.post(url, json=page(2), headers=push_headers(runtime, "ext-hmis")).status_code == 202
    )
    assert [(st, n) for _, _, st, _, n in received(runtime)] == [("OK", 1), ("OK", 2)]
    assert one(runtime, HiuDataRequest).sender_client_id == "ext-hmis"


def test_an_entry_encrypted_for_another_key_does_not_decrypt(runtime, cm, clock, hip):
    g = grant(cm, runtime, clock, hip, forward=False)
    sender = fidelius.generate_key_material()
    stranger = fidelius.generate_key_material()  # not the HIU's key
    content = fidelius.encrypt(
        b"{}",
        sender_private_key=sender.private_key,
        sender_nonce=sender.nonce,
        receiver_public_key=stranger.public_key,
        receiver_nonce=stranger.nonce,
    )
    from fastapi.testclient import TestClient

    r = TestClient(cm.hmis_app, headers=push_headers(runtime)).post(
        "/api/v3/hiu/data/push",
        json={
            "pageNumber": 1,
            "pageCount": 1,
            "transactionId": g.transaction_id,
            "entries": [
                {
                    "content": content,
                    "media": "application/fhir+json",
                    "checksum": hashlib.md5(b"{}").hexdigest(),  # noqa: S324
                    "careContextReference": hip.visits["opd"],
                }
            ],
            "keyMaterial": sender.wire(clock.now() + timedelta(hours=1)).to_dict(),
        },
    )
    assert r.status_code == 202
    assert [(st, code) for _, _, st, code, _ in received(runtime)] == [("ERRORED", "ABDM-1310")]


# --------------------------------------------------------------------------- consent ends


def test_revocation_and_expiry_erase_at_the_hiu(runtime, cm, clock, hip):
    g = grant(cm, runtime, clock, hip)
    cm.run_worker()
    assert len(received(runtime)) == 4
    with unit_of_work(runtime.session_factory) as s:
        rec_id = str(s.scalar(select(HiuReceivedRecord.public_id)))
    consent_notify(cm, "REVOKED", g.consent_id)
    with unit_of_work(runtime.session_factory) as s:
        statuses = set(s.scalars(select(HiuReceivedRecord.status)))
        assert statuses == {"ERASED"}
        assert (
            s.scalar(
                select(func.count())
                .select_from(HiuReceivedRecord)
                .where(HiuReceivedRecord.bundle.is_not(None))
            )
            == 0
        )
    with pytest.raises(ConsentRefused), unit_of_work(runtime.session_factory) as s:
        hiu.read_record(
            s,
            doctor_ctx(),
            public_id=rec_id,
            clock=runtime.clock,
            phr_hiu_id=runtime.settings.consent.phr_hiu_id,
        )
    with unit_of_work(runtime.session_factory) as s:
        refused = s.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "records.received.read", AuditEvent.outcome != "success"
            )
        )
        assert refused.reason_code == "ABDM-1302" and refused.actor_id == DOCTOR.id


def test_the_erase_job_erases_at_data_erase_at(runtime, cm, clock, hip):
    grant(cm, runtime, clock, hip)
    cm.run_worker()
    [job] = [j for j in SCHEDULE if j.name == "records.erase_expired"]
    with unit_of_work(runtime.session_factory) as s:
        assert job.run(s, runtime) == 0  # nothing is due yet
    clock.advance(days=30, minutes=1)
    with unit_of_work(runtime.session_factory) as s:
        assert job.run(s, runtime) == 4
    with unit_of_work(runtime.session_factory) as s:
        assert set(s.scalars(select(HiuReceivedRecord.status))) == {"ERASED"}
        assert s.scalar(select(HiuConsentArtefact.status)) == "EXPIRED"
        assert s.scalar(select(HipConsentArtefact.status)) == "EXPIRED"
        assert s.scalar(select(HiuDataRequest.key_sealed)) is None
        assert job.run(s, runtime) == 0  # idempotent


def test_records_are_only_for_the_requesting_facility(runtime, cm, clock, hip):
    g = grant(cm, runtime, clock, hip)
    cm.run_worker()
    other = Actor(
        kind=ActorKind.STAFF, id="x", role=Role.DOCTOR, facility_id="IN0110000002", display="x"
    )
    with unit_of_work(runtime.session_factory) as s:
        rec_id = str(s.scalar(select(HiuReceivedRecord.public_id)))
    with pytest.raises(NotFound), unit_of_work(runtime.session_factory) as s:
        hiu.read_record(
            s,
            doctor_ctx(other),
            public_id=rec_id,
            clock=runtime.clock,
            phr_hiu_id=runtime.settings.consent.phr_hiu_id,
        )
    with pytest.raises(NotFound), unit_of_work(runtime.session_factory) as s:
        hiu.request_detail(
            s,
            doctor_ctx(other),
            public_id=g.request_id,
            clock=runtime.clock,
            phr_hiu_id=runtime.settings.consent.phr_hiu_id,
        )
    with unit_of_work(runtime.session_factory) as s:
        row, arts = hiu.request_detail(
            s,
            doctor_ctx(),
            public_id=g.request_id,
            clock=runtime.clock,
            phr_hiu_id=runtime.settings.consent.phr_hiu_id,
        )
        assert row.status == "GRANTED" and len(arts[0].records) == 4
        assert s.scalar(select(HiuConsentRequest.patient_abha_address)) == PATIENT


def test_a_notify_before_on_init_is_delivered_again_later(runtime, cm, clock, hip):
    ask(runtime, clock)
    cm.run_worker()
    r = cm.callback(
        m.HIU_CONSENT_NOTIFY,
        {"notification": {"consentRequestId": "cr-9", "status": "DENIED", "consentArtefacts": []}},
        hiu=HIU,
    )
    # Not ours (yet): refused, so the gateway's retry is processed once on-init arrived.
    assert r.status_code == 404
    init = cm.last(m.CONSENT_INIT)
    cm.callback(
        m.ON_CONSENT_INIT, {"consentRequest": {"id": "cr-9"}}, hiu=HIU, in_reply_to=init.request_id
    )
    again = cm.transport.handle_request(
        httpx.Request("POST", r.request.url, headers=r.request.headers, content=r.request.content)
    )
    assert again.status_code == 202
    assert one(runtime, HiuConsentRequest).status == "DENIED"


def test_a_clock_with_microseconds_still_matches_the_artefact(runtime, cm, clock, hip):
    """ABDM timestamps carry milliseconds: the HIU keeps what it asked for at that
    precision, so the consent manager's artefact is not "wider than asked" by the
    microseconds the wire dropped (found against the real consent manager)."""
    clock.advance(microseconds=123456)
    g = grant(cm, runtime, clock, hip)
    assert g.transaction_id, one(runtime, HiuConsentArtefact).error_code
    with unit_of_work(runtime.session_factory) as s:
        row = s.scalar(select(HiuConsentRequest))
        assert row.date_to.microsecond == 123000
