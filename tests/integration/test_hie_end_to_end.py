"""The health information exchange end to end, as its users meet it, with the real
consent manager and the real facility side talking over HTTP (one app, two host names,
``tests/factories_hie.py``) and the worker running every hop.

The state admin registers the HMIS with the gateway; a patient with an ABHA has visits
at HIP A (which knows the ABHA: HIP-initiated linking) and at HIP B (which knows only
her mobile: an SMS, then discovery and OTP linking in the PHR); a doctor at facility C
asks for her records; she approves in the PHR, narrowing the record types; both HIPs
push, encrypted, to the HIU, which decrypts, checks and stores; the doctor reads them.
Then she revokes: the HIPs drop their artefacts, the HIU erases, and the next request
for data under that consent is refused and audited. Every gateway message delivered."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from healthstack.facility.records import hiu
from healthstack.facility.records.config import data_push_url
from healthstack.facility.records.models import (
    CareContext,
    HipConsentArtefact,
    HipDataTransfer,
    HiuConsentArtefact,
    HiuDataRequest,
    HiuReceivedRecord,
)
from healthstack.kernel.uow import unit_of_work
from healthstack.network.consent.models import (
    ConsentArtefact,
    ConsentNotice,
    HiRequest,
    PatientLink,
    TransferNotice,
)
from healthstack.network.gateway.models import GatewayMessage
from healthstack.protocol.abdm import messages as m
from healthstack.protocol.fhir.terminology import EncounterClass
from tests.factories_hie import (
    PATIENT_ADDRESS,
    PATIENT_MOBILE,
    PIN,
    Exchange,
    hie_settings,
    medicines,
    patient_account,
    rng,
    samples,
)


@pytest.fixture
def settings(settings):
    return hie_settings(settings)


def _page(doctor: TestClient, path: str) -> str:
    r = doctor.get(path)
    assert r.status_code == 200, r.text
    return r.text


def test_records_follow_the_patient_with_her_consent(hie: Exchange, runtime, clock, make_staff):
    now = clock.now()
    HIP_A, HIP_B, HIU_C = hie.hip_a, hie.hip_b, hie.hiu_c  # noqa: N806 - the cast of sites
    asha = patient_account(runtime)
    r = rng()

    # --- HIP A knows her ABHA: records are linked by the HIP as they are created.
    mrn_a = hie.register_patient(
        HIP_A, abha_number=asha.abha_number, abha_address=PATIENT_ADDRESS, mobile=None
    )
    opd_at, ipd_at = now - timedelta(days=60), now - timedelta(days=20)
    opd_docs = [
        samples.op_consultation(r, opd_at),
        samples.prescription(r, opd_at),
        samples.lab_report(r, opd_at),
    ]
    opd = hie.record_visit(HIP_A, mrn_a, start=opd_at, contents=opd_docs)
    ipd = hie.record_visit(
        HIP_A,
        mrn_a,
        start=ipd_at,
        kind=EncounterClass.IPD,
        contents=[
            samples.imaging_report(r, ipd_at, 1),
            samples.invoice(r, ipd_at, "B/7", ipd=True),
        ],
    )
    hie.settle()
    contexts = {c.reference: c for c in hie.rows(CareContext)}
    assert {contexts[v.reference].link_status for v in (opd, ipd)} == {"linked"}
    [link_a] = hie.rows(PatientLink, lambda m: m.hip_id == HIP_A)
    with unit_of_work(runtime.session_factory) as s:
        link_a = s.get(PatientLink, link_a.id)
        linked_a = {cc.reference: sorted(cc.hi_types) for cc in link_a.care_contexts}
        assert link_a.patient_reference == mrn_a and link_a.linked_via == "HIP"
    assert linked_a == {
        opd.reference: ["DiagnosticReport", "OPConsultation", "Prescription"],
        ipd.reference: ["DiagnosticReport", "Invoice"],
    }

    # New data on a linked visit is notified; a new visit is linked with the token the
    # HIP holds (no second token request).
    extra_at = ipd_at + timedelta(days=2)
    extra_rx = samples.prescription(r, extra_at)
    hie.record_visit(
        HIP_A, mrn_a, start=ipd_at, reference=ipd.reference, at=extra_at, contents=[extra_rx]
    )
    later_at = now - timedelta(days=10)
    later_rx = samples.prescription(r, later_at)
    later = hie.record_visit(HIP_A, mrn_a, start=later_at, contents=[later_rx])
    hie.settle()
    with unit_of_work(runtime.session_factory) as s:
        link_a = s.get(PatientLink, link_a.id)
        linked_a = {cc.reference: sorted(cc.hi_types) for cc in link_a.care_contexts}
        notified = {cc.reference: cc.data_added_at for cc in link_a.care_contexts}
    assert linked_a[ipd.reference] == ["DiagnosticReport", "Invoice", "Prescription"]
    assert notified[ipd.reference] is not None
    assert linked_a[later.reference] == ["Prescription"]
    token_requests = hie.rows(GatewayMessage, lambda g: g.path == m.GENERATE_TOKEN)
    assert len(token_requests) == 1
    assert {c.link_status for c in hie.rows(CareContext)} == {"linked"}

    # --- HIP B knows only her mobile: it asks the CM to send her the deep link.
    mrn_b = hie.register_patient(HIP_B, mobile=PATIENT_MOBILE)
    b_at = now - timedelta(days=30)
    b_docs = [samples.op_consultation(r, b_at), samples.prescription(r, b_at)]
    visit_b = hie.record_visit(HIP_B, mrn_b, start=b_at, contents=b_docs)
    hie.settle()
    [deep_link] = hie.sms(PATIENT_MOBILE, "consent.deep_link")
    assert "SDH Bijbehara" in deep_link["text"] and "http://hmis.test/phr" in deep_link["text"]
    assert hie.rows(CareContext, lambda m: m.hip_id == HIP_B)[0].link_status == "unlinked"

    # She logs in to the PHR, finds HIP B's records and links them with its OTP.
    phr = hie.patient_login(asha)
    assert {f["id"] for f in hie.phr_get("/facilities", phr)} >= {HIP_A, HIP_B}
    found = hie.phr_post("/discover", phr, {"hipId": HIP_B}, expect=202)
    txn = found["transactionId"]
    hie.settle()
    seen = hie.phr_get(f"/discover/{txn}", phr)
    assert seen["status"] == "FOUND", seen
    assert seen["matchedBy"] == ["MOBILE"]
    assert {c["referenceNumber"] for p in seen["patient"] for c in p["careContexts"]} == {
        visit_b.reference
    }
    hie.phr_post(f"/discover/{txn}/link", phr, {}, expect=202)
    hie.settle()
    assert hie.phr_get(f"/discover/{txn}", phr)["status"] == "OTP_SENT"
    otp = hie.last_link_otp(PATIENT_MOBILE)
    wrong = f"{(int(otp) + 1) % 10 ** len(otp):0{len(otp)}d}"
    hie.phr_post(f"/discover/{txn}/confirm", phr, {"otp": wrong}, expect=202)
    hie.settle()
    after_wrong = hie.phr_get(f"/discover/{txn}", phr)
    assert after_wrong["status"] == "OTP_SENT" and after_wrong["error"]["code"] == "ABDM-1035"
    hie.phr_post(f"/discover/{txn}/confirm", phr, {"otp": otp}, expect=202)
    hie.settle()
    assert hie.phr_get(f"/discover/{txn}", phr)["status"] == "LINKED"
    links = {f["hip"]["id"]: f for f in hie.phr_get("/links", phr)}
    assert set(links) == {HIP_A, HIP_B}
    assert [c["referenceNumber"] for c in links[HIP_B]["patients"][0]["careContexts"]] == [
        visit_b.reference
    ]
    assert hie.rows(CareContext, lambda m: m.hip_id == HIP_B)[0].link_status == "linked"
    # A lab report added to that visit later: HIP B tells the CM (context notify).
    b_lab = samples.lab_report(r, b_at)
    hie.record_visit(
        HIP_B, mrn_b, start=b_at, reference=visit_b.reference, at=b_at, contents=[b_lab]
    )
    hie.settle()
    links = {f["hip"]["id"]: f for f in hie.phr_get("/links", phr)}
    [b_context] = links[HIP_B]["patients"][0]["careContexts"]
    assert "DiagnosticReport" in b_context["hiTypes"] and b_context["dataAddedAt"]

    # --- A doctor at facility C asks for her records on the record pages.
    doctor = hie.doctor_client(make_staff)
    request_id = hie.ask_for_records(
        doctor,
        hi_types=["OPConsultation", "Prescription", "DiagnosticReport"],
        date_from="2025-11-26",
        date_to="2026-11-26",
        expiry="2026-12-26",
    )
    assert "waiting for the patient" in _page(doctor, f"/records/requests/{request_id}")
    hie.settle()
    [asked] = hie.sms(PATIENT_MOBILE, "consent.request")
    assert "GMC Srinagar" in asked["text"]

    # --- She sees it pending and approves, narrowing HIP A to two record types.
    [pending] = hie.phr_get("/consents", phr, status="REQUESTED")
    assert pending["hiu"] == {"id": HIU_C, "name": "GMC Srinagar"}
    assert pending["hiTypes"] == ["OPConsultation", "Prescription", "DiagnosticReport"]
    # Her first approval: the PHR has her set a consent PIN first, then enter it.
    hie.set_pin(phr)
    approved = hie.phr_post(
        f"/consents/{pending['id']}/approve",
        phr,
        {
            "consents": [
                {"hip": {"id": HIP_A}, "hiTypes": ["Prescription", "DiagnosticReport"]},
                {"hip": {"id": HIP_B}},
            ],
            "pin": PIN,
        },
    )
    assert approved["status"] == "GRANTED"
    granted = {a["hip"]["id"]: a for a in approved["consentArtefacts"]}
    assert granted[HIP_A]["hiTypes"] == ["Prescription", "DiagnosticReport"]
    # Left as asked at HIP B: what it holds of those types is shared.
    assert granted[HIP_B]["hiTypes"] == ["OPConsultation", "Prescription", "DiagnosticReport"]
    hie.settle()

    # The artefacts reached both sides, signed and verified.
    hip_artefacts = {a.consent_id: a for a in hie.rows(HipConsentArtefact)}
    assert set(hip_artefacts) == {granted[HIP_A]["id"], granted[HIP_B]["id"]}
    assert {a.status for a in hip_artefacts.values()} == {"GRANTED"}
    assert hip_artefacts[granted[HIP_A]["id"]].hiu_id == HIU_C
    hiu_artefacts = {a.consent_id: a for a in hie.rows(HiuConsentArtefact)}
    assert set(hiu_artefacts) == set(hip_artefacts)
    assert {a.status for a in hiu_artefacts.values()} == {"GRANTED"}
    assert all(a.verified_at is not None for a in hiu_artefacts.values())

    # HI request → the HIPs' encrypted pushes → decrypted, checked, stored.
    transfers = hie.rows(HipDataTransfer)
    assert sorted(t.status for t in transfers) == ["TRANSFERRED", "TRANSFERRED"]
    pushes = hie.network.pushes()
    # One page per document, each under its own key material.
    assert len(pushes) == len(hie.rows(HiuReceivedRecord)) == 8
    assert len({p["keyMaterial"]["nonce"] for p in pushes}) == 8
    for push in pushes:
        for entry in push["entries"]:
            assert "resourceType" not in entry["content"] and len(entry["checksum"]) == 32
    data_requests = hie.rows(HiuDataRequest)
    assert sorted(d.status for d in data_requests) == ["COMPLETED", "COMPLETED"]
    assert all(d.key_sealed is None for d in data_requests)
    got = sorted(
        (r.care_context_reference, r.hi_type, r.status) for r in hie.rows(HiuReceivedRecord)
    )
    assert got == sorted(
        [
            (opd.reference, "Prescription", "OK"),
            (opd.reference, "DiagnosticReport", "OK"),
            (ipd.reference, "DiagnosticReport", "OK"),
            (ipd.reference, "Prescription", "OK"),
            (later.reference, "Prescription", "OK"),
            (visit_b.reference, "OPConsultation", "OK"),
            (visit_b.reference, "Prescription", "OK"),
            (visit_b.reference, "DiagnosticReport", "OK"),
        ]
    )
    # The CM heard both ends of each transaction.
    assert sorted(t.status for t in hie.rows(HiRequest)) == ["TRANSFERRED", "TRANSFERRED"]
    notices = sorted((n.notifier_type, n.session_status) for n in hie.rows(TransferNotice))
    assert notices == [
        ("HIP", "TRANSFERRED"),
        ("HIP", "TRANSFERRED"),
        ("HIU", "TRANSFERRED"),
        ("HIU", "TRANSFERRED"),
    ]

    # Every consent notification was acknowledged by the side it went to.
    assert all(n.acked_at is not None for n in hie.rows(ConsentNotice))

    # The doctor asks the CM for the status again: the answer changes nothing.
    fetches = len(hie.rows(GatewayMessage, lambda g: g.path == m.CONSENT_FETCH))
    r = doctor.post(f"/records/requests/{request_id}/refresh", follow_redirects=False)
    assert r.status_code == 303
    hie.settle()
    assert len(hie.rows(GatewayMessage, lambda g: g.path == m.ON_CONSENT_STATUS)) == 1
    assert len(hie.rows(GatewayMessage, lambda g: g.path == m.CONSENT_FETCH)) == fetches == 2
    assert len(hie.rows(HiuDataRequest)) == 2

    # --- The doctor's pages show them: medicines and lab values, readable.
    page = _page(doctor, f"/records/requests/{request_id}")
    assert "granted" in page
    # Each facility's share under its registry name, beside its HFR id.
    assert "From PHC Khag" in page and "From SDH Bijbehara" in page
    links_on_page = re.findall(r'href="(/records/received/[0-9a-f-]{36})"', page)
    assert len(links_on_page) == 8
    shown = "\n".join(_page(doctor, href) for href in links_on_page)
    assert "Asha Devi" in shown
    for name in medicines(opd_docs[1], extra_rx, later_rx, b_docs[1]):
        assert name in shown, name
    haemoglobin = opd_docs[2].results[0].value
    assert "Haemoglobin" in shown and str(haemoglobin.value) in shown
    # The consultation at HIP A was not granted: it never left HIP A.
    assert (opd.reference, "OPConsultation") not in {(g[0], g[1]) for g in got}
    reads = hie.audit("records.received.read", failed=False)
    assert len(reads) == 8 and {e.facility_id for e in reads} == {HIU_C}

    # --- She withdraws HIP B's share first: only what came from HIP B goes.
    hie.phr_post(f"/consents/{pending['id']}/revoke", phr, {"consentIds": [granted[HIP_B]["id"]]})
    hie.settle()
    kept = {r.care_context_reference: r.status for r in hie.rows(HiuReceivedRecord)}
    assert kept[visit_b.reference] == "ERASED" and kept[opd.reference] == "OK"
    page = _page(doctor, f"/records/requests/{request_id}")
    assert len(re.findall(r'href="/records/received/[0-9a-f-]{36}"', page)) == 5
    assert re.search(r'id="status">granted', page), "HIP A's share still stands"
    [still] = hie.phr_get("/consents", phr, status="GRANTED")
    assert still["id"] == pending["id"]

    # --- Then all of it. The HIPs drop their artefacts; the HIU erases what came.
    hie.phr_post(f"/consents/{pending['id']}/revoke", phr, {})
    hie.settle()
    assert {a.status for a in hie.rows(ConsentArtefact)} == {"REVOKED"}
    ended = hie.rows(HipConsentArtefact)
    assert {a.status for a in ended} == {"REVOKED"}
    assert all(a.detail is None and a.signature is None for a in ended)
    assert {r.status for r in hie.rows(HiuReceivedRecord)} == {"ERASED"}
    assert all(r.bundle is None for r in hie.rows(HiuReceivedRecord))
    gone = doctor.get(links_on_page[0])
    assert gone.status_code == 403 and "consent for this record has ended" in gone.text
    refused_read = hie.audit("records.received.read", failed=True)
    assert [e.reason_code for e in refused_read] == ["ABDM-1302"]
    page = _page(doctor, f"/records/requests/{request_id}")
    assert "revoked by the patient" in page and "/records/received/" not in page
    [revoked_view] = hie.phr_get("/consents", phr, status="REVOKED")
    assert revoked_view["id"] == pending["id"]

    # The next request for data under that consent (an HIU that missed the
    # revocation) is refused by the consent manager, and audited.
    with unit_of_work(runtime.session_factory) as s:
        art = s.get(HiuConsentArtefact, hiu_artefacts[granted[HIP_A]["id"]].id)
        hiu.start_data_request(
            s,
            artefact=art,
            clock=runtime.clock,
            outbox=runtime.abdm_outbox(),
            hasher=runtime.hasher,
            push_url=data_push_url(runtime.settings),
        )
    hie.settle()
    [refused] = hie.audit("consent.hi_request", failed=True)
    assert refused.reason_code == "ABDM-1221" and refused.outcome == "denied"
    assert refused.facility_id == HIU_C
    newest = max(hie.rows(HiuDataRequest), key=lambda d: d.id)
    assert newest.status == "ERRORED" and newest.error_code == "ABDM-1221"
    assert len(hie.rows(HipDataTransfer)) == 2  # nothing reached a HIP

    # Every gateway message was delivered; nothing is dead, failed or waiting.
    ledgers = hie.assert_ledgers_clean()
    assert ledgers["gateway.outbound"]["delivered"] >= 20
