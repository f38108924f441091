"""Contract: the bodies the facility side actually sends (captured at the fake consent
manager and at the data push URL while the flows run) against the shared ABDM specs,
with the schema converter and the v3 adjustments of tests/factories_abdm_specs.py
(the link-token spec; the v0.5 gateway schemas with requestId / timestamp moved to the
headers; the endpoint map's v3 linking examples; ``ndhm-hiu.yml`` DataNotification)."""

from __future__ import annotations

import json
import random
from datetime import timedelta

import pytest

from healthstack.protocol.abdm import messages as m
from healthstack.seed import records as samples
from tests.factories_abdm_specs import (
    check,
    component,
    link_token_schemas,
    schema_from_example,
    v3_component,
)
from tests.factories_records import (
    HIP_A,
    FakeCm,
    add_visit,
    grant,
    make_patient,
    otp_sms,
    records_settings,
    seed_hip,
)


@pytest.fixture
def settings(settings):
    return records_settings(settings)


def _bodies(cm: FakeCm, path: str) -> list[dict]:
    found = [c.body for c in cm.taken(path)]
    assert found, f"the flow sent nothing to {path}"
    return found


def test_hip_linking_bodies(runtime, cm, clock, link_token_spec, endpoint_map, gateway_spec):
    rng = random.Random(5)
    make_patient(runtime)
    start = clock.now() - timedelta(days=3)
    ref = add_visit(runtime, start=start, contents=[samples.prescription(rng, start)])
    cm.run_worker()
    token_call = cm.last(m.GENERATE_TOKEN)
    cm.callback(
        m.ON_GENERATE_TOKEN, {"linkToken": "t"}, hip=HIP_A, in_reply_to=token_call.request_id
    )
    cm.run_worker()
    link = cm.last(m.LINK_CARE_CONTEXT)
    cm.callback(
        m.ON_LINK_CARE_CONTEXT, {"status": "SUCCESS"}, hip=HIP_A, in_reply_to=link.request_id
    )
    add_visit(runtime, start=start, reference=ref, contents=[samples.wellness(rng, start)])
    make_patient(
        runtime, mrn="MRN-0002", abha_number=None, abha_address=None, name="Ravi Kumar", gender="M"
    )
    add_visit(runtime, mrn="MRN-0002", start=start, contents=[samples.prescription(rng, start)])
    cm.run_worker()

    schema, _ = link_token_schemas(link_token_spec)
    for body in _bodies(cm, m.GENERATE_TOKEN):
        check(schema, body)
    entry = next(e for e in endpoint_map["hip_outbound_v3"] if e["path"] == m.LINK_CARE_CONTEXT)
    for body in _bodies(cm, m.LINK_CARE_CONTEXT):
        check(schema_from_example(entry["body"]), body)
    for body in _bodies(cm, m.CONTEXT_NOTIFY):
        check(v3_component(gateway_spec, "HipDataNotificationRequest"), body)
    for body in _bodies(cm, m.SMS_NOTIFY):
        check(v3_component(gateway_spec, "PatientSMSNotifcationRequest"), body)


def test_discovery_and_link_answers(runtime, cm, clock, endpoint_map, gateway_spec):
    rng = random.Random(6)
    make_patient(runtime, abha_number=None, abha_address=None)
    start = clock.now() - timedelta(days=3)
    ref = add_visit(runtime, start=start, link=False, contents=[samples.prescription(rng, start)])
    patient = {
        "id": "asha.devi@sbx",
        "verifiedIdentifiers": [{"type": "MOBILE", "value": "9876543210"}],
        "name": "Asha Devi",
        "gender": "F",
        "yearOfBirth": 1985,
    }
    cm.callback(m.DISCOVER, {"transactionId": "t-1", "patient": patient}, hip=HIP_A)
    cm.callback(
        m.DISCOVER, {"transactionId": "t-2", "patient": {**patient, "gender": "M"}}, hip=HIP_A
    )
    cm.run_worker()
    init = {
        "transactionId": "t-1",
        "abhaAddress": "asha.devi@sbx",
        "patient": [{"referenceNumber": "MRN-0001", "careContexts": [{"referenceNumber": ref}]}],
    }
    cm.callback(m.LINK_INIT, init, hip=HIP_A)
    cm.run_worker()
    link_ref = cm.last(m.ON_LINK_INIT).body["link"]["referenceNumber"]
    cm.callback(
        m.LINK_CONFIRM, {"confirmation": {"linkRefNumber": link_ref, "token": "x"}}, hip=HIP_A
    )
    otp = otp_sms(runtime)
    cm.callback(
        m.LINK_CONFIRM, {"confirmation": {"linkRefNumber": link_ref, "token": otp}}, hip=HIP_A
    )
    cm.run_worker()

    outbound = {e["path"]: e for e in endpoint_map["hip_outbound_v3"]}
    found, refused = _bodies(cm, m.ON_DISCOVER)
    check(schema_from_example(outbound[m.ON_DISCOVER]["body"]), found)
    check(v3_component(gateway_spec, "PatientDiscoveryResult"), refused)
    [on_init] = _bodies(cm, m.ON_LINK_INIT)
    check(schema_from_example(outbound[m.ON_LINK_INIT]["body"]), on_init)
    wrong, right = _bodies(cm, m.ON_LINK_CONFIRM)
    assert wrong["error"]["code"] == "ABDM-1035"
    check(v3_component(gateway_spec, "PatientLinkResult"), wrong)
    schema = schema_from_example(outbound[m.ON_LINK_CONFIRM]["body"])
    schema["properties"]["patient"]["items"]["properties"]["careContexts"] = schema_from_example(
        outbound[m.ON_DISCOVER]["body"]
    )["properties"]["patient"]["items"]["properties"]["careContexts"]
    check(schema, right)


def test_consent_and_data_flow_bodies(runtime, cm, clock, gateway_spec, hiu_spec):
    hip = seed_hip(runtime, clock)
    g = grant(cm, runtime, clock, hip)
    cm.run_worker()
    # A refused HI request too (a period wider than the artefact's).
    cm.hi_request_to_hip(
        hip=HIP_A,
        consent_id=g.consent_id,
        key_material=g.hi_request["hiRequest"]["keyMaterial"],
        date_from=clock.now() - timedelta(days=3650),
        date_to=clock.now(),
    )
    cm.run_worker()

    init = v3_component(gateway_spec, "ConsentRequest")
    init["properties"]["consent"]["required"].remove("consentNotificationUrl")
    for body in _bodies(cm, m.CONSENT_INIT):
        check(init, body)
    for body in _bodies(cm, m.HIU_ON_CONSENT_NOTIFY):
        check(v3_component(gateway_spec, "HIUConsentNotificationResponse"), body)
    for body in _bodies(cm, m.CONSENT_FETCH):
        check(v3_component(gateway_spec, "ConsentFetchRequest"), body)
    for body in _bodies(cm, m.HIP_ON_CONSENT_NOTIFY):
        check(v3_component(gateway_spec, "HIPConsentNotificationResponse"), body)
    for body in _bodies(cm, m.HI_REQUEST):
        check(v3_component(gateway_spec, "HIRequest"), body)
    acks = _bodies(cm, m.HIP_ON_HI_REQUEST)
    assert {"error" in a for a in acks} == {True, False}
    for body in acks:
        check(v3_component(gateway_spec, "HIPHealthInformationRequestAcknowledgement"), body)
    notes = _bodies(cm, m.HI_NOTIFY)
    assert sorted(n["notification"]["notifier"]["type"] for n in notes) == ["HIP", "HIU"]
    for body in notes:
        check(v3_component(gateway_spec, "HealthInformationNotification"), body)
    pushes = [json.loads(r.content) for r in cm.to_hmis if r.url.path.endswith("/data/push")]
    assert pushes
    for body in pushes:
        check(component(hiu_spec, "DataNotification"), body)
