"""The HIP at the facility: records, HIP-initiated linking, discovery and OTP linking,
consent artefacts. Both sides talk HTTP (``AsgiLoopback``): the app at ``hmis.test`` is
the state HMIS bridge, ``cm.test`` a fake consent manager (tests/factories_records.py)
whose callbacks are gateway-signed like the real gateway's."""

from __future__ import annotations

import copy
import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from healthstack.app import HfrFacilityNames
from healthstack.facility.records import care_contexts as cc
from healthstack.facility.records.config import ig_for
from healthstack.facility.records.exceptions import DocumentInvalid
from healthstack.facility.records.models import (
    CareContext,
    FacilityPatient,
    HealthDocument,
    HipConsentArtefact,
    LinkStatus,
)
from healthstack.kernel.audit import AuditEvent
from healthstack.kernel.uow import unit_of_work
from healthstack.protocol.abdm import messages as m
from healthstack.seed import records as samples
from tests.factories_records import (
    HIP_A,
    HIP_B,
    HIU,
    SEED_CTX,
    add_visit,
    make_patient,
    otp_sms,
    records_settings,
)

RNG_SEED = 7


@pytest.fixture
def settings(settings):
    return records_settings(settings)


def _rng():
    import random

    return random.Random(RNG_SEED)


def _contexts(runtime, hip=HIP_A):
    with unit_of_work(runtime.session_factory) as s:
        return {
            c.reference: (c.link_status, list(c.hi_types), c.display)
            for c in s.scalars(select(CareContext).where(CareContext.hip_id == hip))
        }


def _errors(runtime, action):
    with unit_of_work(runtime.session_factory) as s:
        return [
            e.reason_code
            for e in s.scalars(
                select(AuditEvent).where(
                    AuditEvent.action == action, AuditEvent.outcome != "success"
                )
            )
        ]


# --------------------------------------------------------------------------- records


def test_a_document_is_validated_before_it_is_stored(runtime, clock):
    make_patient(runtime, abha_number=None, abha_address=None, mobile=None)
    start = clock.now() - timedelta(days=2)
    ref = add_visit(runtime, start=start, contents=[samples.op_consultation(_rng(), start)])
    [(status, types, display)] = _contexts(runtime).values()
    assert status == LinkStatus.UNLINKED.value and types == ["OPConsultation"]
    # The display names the visit, its date and the facility: nothing clinical.
    assert display.startswith("OPD visit, ") and "Chest" not in display and ref.startswith("OPD-")
    with pytest.raises(DocumentInvalid) as err, unit_of_work(runtime.session_factory) as s:
        visit = s.scalar(select(CareContext))
        broken = copy.deepcopy(s.scalar(select(HealthDocument)).bundle)
        broken["entry"][0]["resource"]["status"] = "not-a-status"
        cc.add_document(
            s,
            SEED_CTX,
            clock=runtime.clock,
            ig=ig_for(runtime.settings),
            outbox=runtime.abdm_outbox(),
            hasher=runtime.hasher,
            names=HfrFacilityNames(),
            care_context=visit,
            bundle=broken,
        )
    assert err.value.field.startswith("Bundle.entry[0].resource")
    assert "Bundle.entry[0]" in err.value.message and "not-a-status" not in err.value.message
    with unit_of_work(runtime.session_factory) as s:
        assert len(s.scalars(select(HealthDocument)).all()) == 1
    assert _errors(runtime, "records.document.add") == ["ABDM-1311"]


def test_a_retired_document_is_kept_with_its_status(runtime, clock):
    make_patient(runtime, abha_number=None, abha_address=None, mobile=None)
    start = clock.now() - timedelta(days=2)
    add_visit(runtime, start=start, contents=[samples.prescription(_rng(), start)])
    with unit_of_work(runtime.session_factory) as s:
        doc = s.scalar(select(HealthDocument))
        cc.retire_document(s, SEED_CTX, clock=runtime.clock, document=doc)
    with unit_of_work(runtime.session_factory) as s:
        assert s.scalar(select(HealthDocument)).status == "entered-in-error"


# --------------------------------------------------------------------------- HIP-initiated linking


def test_hip_initiated_linking_token_then_link_then_context_notify(runtime, cm, clock):
    make_patient(runtime)
    start = clock.now() - timedelta(days=3)
    ref = add_visit(
        runtime,
        start=start,
        contents=[samples.op_consultation(_rng(), start), samples.prescription(_rng(), start)],
    )
    cm.run_worker()
    # No link token yet: the HIP asks for one, for this patient's ABHA.
    [token_call] = cm.taken(m.GENERATE_TOKEN)
    assert token_call.headers["x-hip-id"] == HIP_A
    assert token_call.body == {
        "abhaNumber": 91628545755116,
        "abhaAddress": "asha.devi@sbx",
        "name": "Asha Devi",
        "gender": "F",
        "yearOfBirth": 1985,
    }
    assert cm.taken(m.LINK_CARE_CONTEXT) == []
    r = cm.callback(
        m.ON_GENERATE_TOKEN,
        {"abhaAddress": "asha.devi@sbx", "linkToken": "link-token-123"},
        hip=HIP_A,
        in_reply_to=token_call.request_id,
    )
    assert r.status_code == 202, r.text
    with unit_of_work(runtime.session_factory) as s:
        patient = s.scalar(select(FacilityPatient))
        # A credential: kept sealed, never in clear.
        assert patient.link_token_sealed and "link-token-123" not in patient.link_token_sealed
        assert (
            cc.link_token(patient, clock=runtime.clock, hasher=runtime.hasher) == "link-token-123"
        )
    cm.run_worker()
    [link] = cm.taken(m.LINK_CARE_CONTEXT)
    assert link.headers["x-link-token"] == "link-token-123"
    assert link.body["abhaAddress"] == "asha.devi@sbx"
    # One entry per HI type (ABDM v3), each with its care contexts and their count.
    entries = {p["hiType"]: p for p in link.body["patient"]}
    assert set(entries) == {"OPConsultation", "Prescription"}
    assert entries["Prescription"]["careContexts"][0]["referenceNumber"] == ref
    assert (
        entries["Prescription"]["count"] == 1
        and entries["Prescription"]["referenceNumber"] == "MRN-0001"
    )
    assert _contexts(runtime)[ref][0] == LinkStatus.LINKING.value
    r = cm.callback(
        m.ON_LINK_CARE_CONTEXT,
        {"abhaAddress": "asha.devi@sbx", "status": "SUCCESS"},
        hip=HIP_A,
        in_reply_to=link.request_id,
    )
    assert r.status_code == 202
    assert _contexts(runtime)[ref][0] == LinkStatus.LINKED.value

    # New data in the linked context: a context notify, not another link.
    add_visit(runtime, start=start, reference=ref, contents=[samples.lab_report(_rng(), start)])
    cm.run_worker()
    [notify] = cm.taken(m.CONTEXT_NOTIFY)
    assert notify.body["notification"]["careContext"] == {
        "patientReference": "MRN-0001",
        "careContextReference": ref,
    }
    assert notify.body["notification"]["hiTypes"] == ["DiagnosticReport"]
    assert len(cm.taken(m.LINK_CARE_CONTEXT)) == 1 and len(cm.taken(m.GENERATE_TOKEN)) == 1

    # A second visit later: the stored token links it directly.
    later = clock.now() - timedelta(days=1)
    ref2 = add_visit(runtime, start=later, contents=[samples.wellness(_rng(), later)])
    cm.run_worker()
    assert len(cm.taken(m.GENERATE_TOKEN)) == 1
    second = cm.taken(m.LINK_CARE_CONTEXT)[-1]
    assert [c["referenceNumber"] for p in second.body["patient"] for c in p["careContexts"]] == [
        ref2
    ]


def test_a_refused_link_fails_and_the_next_try_asks_for_a_new_token(runtime, cm, clock):
    make_patient(runtime)
    start = clock.now() - timedelta(days=3)
    ref = add_visit(runtime, start=start, contents=[samples.prescription(_rng(), start)])
    cm.run_worker()
    call = cm.last(m.GENERATE_TOKEN)
    cm.callback(m.ON_GENERATE_TOKEN, {"linkToken": "t1"}, hip=HIP_A, in_reply_to=call.request_id)
    cm.run_worker()
    link = cm.last(m.LINK_CARE_CONTEXT)
    cm.callback(
        m.ON_LINK_CARE_CONTEXT,
        {"error": {"code": "ABDM-1051", "message": "Invalid link token"}},
        hip=HIP_A,
        in_reply_to=link.request_id,
    )
    assert _contexts(runtime)[ref][0] == LinkStatus.FAILED.value
    with unit_of_work(runtime.session_factory) as s:
        assert (
            cc.link_pending(
                s, clock=runtime.clock, outbox=runtime.abdm_outbox(), hasher=runtime.hasher
            )
            == 1
        )
    cm.run_worker()
    assert len(cm.taken(m.GENERATE_TOKEN)) == 2


def test_an_error_answer_to_the_token_request_marks_the_contexts_failed(runtime, cm, clock):
    make_patient(runtime)
    start = clock.now() - timedelta(days=3)
    ref = add_visit(runtime, start=start, contents=[samples.prescription(_rng(), start)])
    cm.run_worker()
    call = cm.last(m.GENERATE_TOKEN)
    cm.callback(
        m.ON_GENERATE_TOKEN,
        {"error": {"code": "ABDM-1027", "message": "blocked"}},
        hip=HIP_A,
        in_reply_to=call.request_id,
    )
    assert _contexts(runtime)[ref][0] == LinkStatus.FAILED.value


def test_a_patient_known_by_mobile_only_gets_the_deep_link_sms(runtime, cm, clock):
    make_patient(runtime, abha_number=None, abha_address=None)
    start = clock.now() - timedelta(days=1)
    add_visit(
        runtime,
        start=start,
        contents=[samples.op_consultation(_rng(), start), samples.prescription(_rng(), start)],
    )
    cm.run_worker()
    [sms] = cm.taken(m.SMS_NOTIFY)  # once per new visit, not per document
    assert sms.body["notification"]["phoneNo"] == "9876543210"
    assert sms.body["notification"]["hip"]["id"] == HIP_A
    assert "OPD visit" in sms.body["notification"]["careContextInfo"]
    assert cm.taken(m.GENERATE_TOKEN) == []


def test_seeded_records_wait_for_link_pending(runtime, cm, clock):
    make_patient(runtime)
    start = clock.now() - timedelta(days=3)
    add_visit(runtime, start=start, contents=[samples.prescription(_rng(), start)], link=False)
    cm.run_worker()
    assert cm.calls == []
    with unit_of_work(runtime.session_factory) as s:
        assert cc.link_counts(s) == {"pending": 1}
        assert (
            cc.link_pending(
                s, clock=runtime.clock, outbox=runtime.abdm_outbox(), hasher=runtime.hasher
            )
            == 1
        )
    cm.run_worker()
    assert len(cm.taken(m.GENERATE_TOKEN)) == 1


# --------------------------------------------------------------------------- discovery


def _discover(cm, *, name="Asha Devi", gender="F", yob=1985, ids=None, txn="txn-1", hip=HIP_A):
    body = {
        "transactionId": txn,
        "patient": {
            "id": "asha.devi@sbx",
            "verifiedIdentifiers": ids
            if ids is not None
            else [{"type": "MOBILE", "value": "9876543210"}],
            "unverifiedIdentifiers": [],
            "name": name,
            "gender": gender,
            "yearOfBirth": yob,
        },
    }
    r = cm.callback(m.DISCOVER, body, hip=hip)
    assert r.status_code == 202, r.text
    cm.run_worker()
    answer = cm.last(m.ON_DISCOVER)
    assert answer.body["response"]["requestId"] == r.request.headers["REQUEST-ID"]
    return answer.body


@pytest.fixture
def mobile_only_patient(runtime, clock):
    make_patient(runtime, abha_number=None, abha_address=None)
    start = clock.now() - timedelta(days=30)
    a = add_visit(runtime, start=start, contents=[samples.op_consultation(_rng(), start)])
    b = add_visit(
        runtime,
        start=start + timedelta(days=10),
        contents=[samples.health_documents(_rng(), start), samples.prescription(_rng(), start)],
    )
    # A namesake with the same mobile (a family phone) but another birth year.
    make_patient(
        runtime,
        mrn="MRN-0002",
        name="Asha Devi",
        year_of_birth=2010,
        abha_number=None,
        abha_address=None,
    )
    return a, b


def test_discovery_matches_a_verified_identifier_then_demographics(
    runtime, cm, mobile_only_patient
):
    a, b = mobile_only_patient
    answer = _discover(cm, name="ASHA  devi", yob=1986)  # spelling and ±1 year tolerated
    assert answer["transactionId"] == "txn-1" and "error" not in answer
    assert answer["matchedBy"] == ["MOBILE"]
    refs = {c["referenceNumber"] for p in answer["patient"] for c in p["careContexts"]}
    assert refs == {a, b}
    by_type = {p["hiType"]: p["count"] for p in answer["patient"]}
    assert by_type == {"OPConsultation": 1, "HealthDocumentRecord": 1, "Prescription": 1}
    assert all(p["referenceNumber"] == "MRN-0001" for p in answer["patient"])


@pytest.mark.parametrize(
    "change",
    [
        {"yob": 1983},  # two years off
        {"gender": "M"},
        {"name": "Rahul Sharma"},
        {"ids": [{"type": "MOBILE", "value": "9000000000"}]},
        {"ids": []},  # no verified identifier: demographics alone never match
    ],
)
def test_discovery_refuses_what_does_not_match(runtime, cm, mobile_only_patient, change):
    answer = _discover(cm, **change)
    assert answer["error"]["code"] == "ABDM-1010" and "patient" not in answer
    assert _errors(runtime, "records.discover") == ["ABDM-1010"]


def test_discovery_by_abha_number(runtime, cm, clock):
    make_patient(runtime, mobile=None)
    start = clock.now() - timedelta(days=2)
    add_visit(runtime, start=start, contents=[samples.prescription(_rng(), start)], link=False)
    answer = _discover(cm, ids=[{"type": "ABHA_NUMBER", "value": "91-6285-4575-5116"}])
    assert set(answer["matchedBy"]) == {"ABHA_NUMBER", "ABHA_ADDRESS"}


# --------------------------------------------------------------------------- OTP linking


def _init(cm, refs, *, txn="txn-1"):
    body = {
        "transactionId": txn,
        "abhaAddress": "asha.devi@sbx",
        "patient": [
            {
                "referenceNumber": "MRN-0001",
                "careContexts": [{"referenceNumber": r} for r in refs],
                "hiType": "OPConsultation",
                "count": len(refs),
            }
        ],
    }
    assert cm.callback(m.LINK_INIT, body, hip=HIP_A).status_code == 202
    cm.run_worker()
    return cm.last(m.ON_LINK_INIT).body


def _confirm(cm, link_ref, otp):
    body = {"confirmation": {"linkRefNumber": link_ref, "token": otp}}
    assert cm.callback(m.LINK_CONFIRM, body, hip=HIP_A).status_code == 202
    cm.run_worker()
    return cm.last(m.ON_LINK_CONFIRM).body


def test_patient_initiated_link_with_the_hips_otp(runtime, cm, mobile_only_patient):
    a, b = mobile_only_patient
    _discover(cm)
    init = _init(cm, [a])
    link = init["link"]
    assert link["authenticationType"] == "DIRECT"
    assert link["meta"]["communicationMedium"] == "MOBILE"
    assert link["meta"]["communicationHint"] == "XXXXXX3210"
    otp = otp_sms(runtime)
    assert otp.isdigit() and len(otp) == 6
    wrong = "000000" if otp != "000000" else "111111"
    refused = _confirm(cm, link["referenceNumber"], wrong)
    assert refused["error"]["code"] == "ABDM-1035"
    assert _contexts(runtime)[a][0] == LinkStatus.UNLINKED.value
    done = _confirm(cm, link["referenceNumber"], otp)
    assert "error" not in done
    assert [c["referenceNumber"] for p in done["patient"] for c in p["careContexts"]] == [a]
    states = _contexts(runtime)
    assert states[a][0] == LinkStatus.LINKED.value and states[b][0] == LinkStatus.UNLINKED.value
    # Used once: the same OTP again is refused.
    assert _confirm(cm, link["referenceNumber"], otp)["error"]["code"] == "ABDM-1312"
    with unit_of_work(runtime.session_factory) as s:
        patient = s.scalar(select(FacilityPatient).where(FacilityPatient.mrn == "MRN-0001"))
        assert patient.abha_address == "asha.devi@sbx"


def test_three_wrong_otps_lock_the_link(runtime, cm, mobile_only_patient):
    a, _ = mobile_only_patient
    _discover(cm)
    ref = _init(cm, [a])["link"]["referenceNumber"]
    otp = otp_sms(runtime)
    wrong = "000000" if otp != "000000" else "111111"
    codes = [_confirm(cm, ref, wrong)["error"]["code"] for _ in range(3)]
    assert codes == ["ABDM-1035", "ABDM-1035", "ABDM-1312"]  # the third locks it
    assert _confirm(cm, ref, otp)["error"]["code"] == "ABDM-1312"
    assert _contexts(runtime)[a][0] == LinkStatus.UNLINKED.value


def test_link_init_refuses_other_patients_contexts_and_unknown_transactions(
    runtime, cm, mobile_only_patient, clock
):
    a, _ = mobile_only_patient
    make_patient(
        runtime,
        mrn="MRN-0009",
        name="Other Person",
        mobile="9123456780",
        abha_number=None,
        abha_address=None,
    )
    start = clock.now() - timedelta(days=5)
    other = add_visit(
        runtime, mrn="MRN-0009", start=start, contents=[samples.prescription(_rng(), start)]
    )
    assert _init(cm, [a], txn="never-discovered")["error"]["code"] == "ABDM-1312"
    _discover(cm)
    assert _init(cm, [a, other])["error"]["code"] == "ABDM-1313"


def test_the_otp_expires(runtime, cm, mobile_only_patient, clock):
    a, _ = mobile_only_patient
    _discover(cm)
    ref = _init(cm, [a])["link"]["referenceNumber"]
    otp = otp_sms(runtime)
    clock.advance(minutes=11)
    assert _confirm(cm, ref, otp)["error"]["code"] == "ABDM-1312"


# --------------------------------------------------------------------------- consent artefacts


def _detail(cm, clock, *, hip=HIP_A, hiu=HIU, types=("Prescription",)):
    now = clock.now()
    return cm.artefact(
        hip=hip,
        hiu=hiu,
        patient="asha.devi@sbx",
        care_contexts=[("MRN-0001", "OPD-1")],
        hi_types=types,
        date_from=now - timedelta(days=365),
        date_to=now,
        erase_at=now + timedelta(days=30),
    )


def _artefacts(runtime):
    with unit_of_work(runtime.session_factory) as s:
        return {a.consent_id: a.status for a in s.scalars(select(HipConsentArtefact))}


def test_a_granted_artefact_is_kept_after_its_signature_verifies(runtime, cm, clock):
    detail = _detail(cm, clock)
    r = cm.notify_hip(detail)
    assert r.status_code == 202
    cm.run_worker()
    ack = cm.last(m.HIP_ON_CONSENT_NOTIFY)
    assert ack.body["acknowledgement"] == {"status": "OK", "consentId": detail["consentId"]}
    assert ack.body["response"]["requestId"] == r.request.headers["REQUEST-ID"]
    assert _artefacts(runtime) == {detail["consentId"]: "GRANTED"}
    with unit_of_work(runtime.session_factory) as s:
        row = s.scalar(select(HipConsentArtefact))
        assert row.hi_types == ["Prescription"] and row.hiu_id == HIU
        assert row.care_contexts == [
            {"patientReference": "MRN-0001", "careContextReference": "OPD-1"}
        ]
    # Revoked: it ends (and its signed body is dropped).
    cm.notify_hip(detail, status="REVOKED")
    assert _artefacts(runtime) == {detail["consentId"]: "REVOKED"}
    # A late or replayed GRANTED does not bring it back.
    cm.notify_hip(detail)
    assert _artefacts(runtime) == {detail["consentId"]: "REVOKED"}


@pytest.mark.parametrize("forgery", ["tampered", "unsigned", "another key", "another HIP"])
def test_a_forged_artefact_is_refused_audited_and_not_kept(runtime, cm, clock, forgery):
    detail = _detail(cm, clock)
    signature = cm.sign(detail)
    if forgery == "tampered":
        detail = json.loads(json.dumps(detail))
        detail["hiTypes"] = ["Prescription", "DischargeSummary"]  # widened after signing
    elif forgery == "unsigned":
        signature = ""
    elif forgery == "another key":
        import jwt
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        signature = jwt.api_jws.encode(
            m.consent_signing_input(detail),
            key,
            algorithm="RS256",
            headers={"kid": signature and jwt.get_unverified_header(signature)["kid"]},
            is_payload_detached=True,
        )
    else:
        detail = _detail(cm, clock, hip=HIP_B)
        signature = cm.sign(detail)
        r = cm.callback(
            m.HIP_CONSENT_NOTIFY,
            {
                "notification": {
                    "status": "GRANTED",
                    "consentId": detail["consentId"],
                    "consentDetail": detail,
                    "signature": signature,
                }
            },
            hip=HIP_A,
        )
        assert r.status_code == 202
        cm.run_worker()
        assert cm.last(m.HIP_ON_CONSENT_NOTIFY).body["error"]["code"] == "ABDM-1301"
        assert _artefacts(runtime) == {}
        return
    r = cm.notify_hip(detail, signature=signature)
    assert r.status_code == 202
    cm.run_worker()
    ack = cm.last(m.HIP_ON_CONSENT_NOTIFY).body
    assert ack["error"]["code"] == "ABDM-1306" and "acknowledgement" not in ack
    assert _artefacts(runtime) == {}
    assert _errors(runtime, "records.consent.granted") == ["ABDM-1306"]


def test_an_abha_opt_out_ends_the_patients_artefacts(runtime, cm, clock):
    from healthstack.facility.records.hip import forget_patient

    detail = _detail(cm, clock)
    cm.notify_hip(detail)
    with unit_of_work(runtime.session_factory) as s:
        assert (
            forget_patient(s, clock=runtime.clock, hip_id=HIP_A, abha_address="ASHA.DEVI@sbx") == 1
        )
    assert _artefacts(runtime) == {detail["consentId"]: "DELETED"}
    with unit_of_work(runtime.session_factory) as s:
        row = s.scalar(select(HipConsentArtefact))
        assert row.detail is None and row.signature is None


def test_data_added_while_the_link_is_on_its_way_is_notified_once_linked(runtime, cm, clock):
    make_patient(runtime)
    start = clock.now() - timedelta(days=3)
    ref = add_visit(runtime, start=start, contents=[samples.prescription(_rng(), start)])
    cm.run_worker()
    call = cm.last(m.GENERATE_TOKEN)
    cm.callback(m.ON_GENERATE_TOKEN, {"linkToken": "t"}, hip=HIP_A, in_reply_to=call.request_id)
    cm.run_worker()
    link = cm.last(m.LINK_CARE_CONTEXT)
    # A lab report lands before the CM confirms the link.
    add_visit(runtime, start=start, reference=ref, contents=[samples.lab_report(_rng(), start)])
    cm.run_worker()
    assert len(cm.taken(m.LINK_CARE_CONTEXT)) == 1 and cm.taken(m.CONTEXT_NOTIFY) == []
    cm.callback(
        m.ON_LINK_CARE_CONTEXT, {"status": "SUCCESS"}, hip=HIP_A, in_reply_to=link.request_id
    )
    cm.run_worker()
    [notify] = cm.taken(m.CONTEXT_NOTIFY)
    assert notify.body["notification"]["hiTypes"] == ["DiagnosticReport"]
