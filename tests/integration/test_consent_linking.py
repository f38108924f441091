"""HIP-initiated linking through the gateway, over HTTP: link token, care contexts with
X-LINK-TOKEN, context notify, the deep-link SMS, and each refusal (its error callback
and its audit row)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from healthstack.integrations.sms import SMS_TOPIC, sent_to
from healthstack.kernel.outbox import OutboxMessage
from healthstack.kernel.uow import unit_of_work
from healthstack.network.consent.models import LinkedCareContext, LinkToken, PatientLink
from healthstack.protocol.abdm import messages as m
from tests.factories_consent import (
    HIP_A,
    HIP_C,
    address_of,
    audit,
    network_settings,
    patient,
    pump,
    rows,
)


@pytest.fixture
def settings(settings):
    return network_settings(settings)


def token_body(account, **over):
    return {
        "abhaNumber": account.abha_number,
        "abhaAddress": address_of(account),
        "name": "Ravi Kumar Sharma",
        "gender": "M",
        "yearOfBirth": 1990,
        **over,
    }


def get_token(runtime, bridge, account, hip=HIP_A, **over) -> m.OnGenerateToken:
    r = bridge.call(m.GENERATE_TOKEN, token_body(account, **over), hip=hip)
    assert r.status_code == 202 and r.content == b"", r.text
    pump(runtime, bridge)
    return m.OnGenerateToken.model_validate(bridge.last(m.ON_GENERATE_TOKEN).body)


def link_body(account, refs=(("OPD-1", "OPD visit, 1 Nov 2026"),), hi_type="OPConsultation"):
    return {
        "abhaNumber": account.abha_number,
        "abhaAddress": address_of(account),
        "patient": [
            {
                "referenceNumber": "PT-1001",
                "display": "Ravi Kumar Sharma",
                "careContexts": [{"referenceNumber": r, "display": d} for r, d in refs],
                "hiType": hi_type,
                "count": len(refs),
            }
        ],
    }


def test_link_token_then_care_contexts(runtime, bridge, ravi):
    answer = get_token(runtime, bridge, ravi)
    assert answer.error is None and answer.link_token and answer.abha_address == address_of(ravi)
    ctx = bridge.last(m.ON_GENERATE_TOKEN)
    assert ctx.hip_id == HIP_A and ctx.in_reply_to is not None
    # Only a hash is stored, valid for about six months.
    [row] = rows(runtime, LinkToken)
    assert row.token_hash != answer.link_token and len(row.token_hash) == 64
    assert (row.expires_at - row.issued_at).days == 182

    r = bridge.call(m.LINK_CARE_CONTEXT, link_body(ravi), hip=HIP_A, link_token=answer.link_token)
    assert r.status_code == 202
    pump(runtime, bridge)
    done = bridge.last(m.ON_LINK_CARE_CONTEXT)
    assert done.body["status"] == "SUCCESS" and done.body["abhaAddress"] == address_of(ravi)
    [link] = rows(runtime, PatientLink)
    assert (link.hip_id, link.patient_reference, link.linked_via) == (HIP_A, "PT-1001", "HIP")
    [cc] = rows(runtime, LinkedCareContext)
    assert (cc.reference, cc.display, cc.hi_types) == (
        "OPD-1",
        "OPD visit, 1 Nov 2026",
        ["OPConsultation"],
    )

    # The token links more (until it expires); the same references are not duplicated.
    again = link_body(
        ravi,
        refs=(("OPD-1", "OPD visit, 1 Nov 2026 (revised)"), ("OPD-2", "OPD visit, 12 Nov 2026")),
        hi_type="Prescription",
    )
    assert (
        bridge.call(m.LINK_CARE_CONTEXT, again, hip=HIP_A, link_token=answer.link_token).status_code
        == 202
    )
    pump(runtime, bridge)
    ccs = {c.reference: c for c in rows(runtime, LinkedCareContext)}
    assert set(ccs) == {"OPD-1", "OPD-2"} and len(rows(runtime, PatientLink)) == 1
    assert ccs["OPD-1"].hi_types == ["OPConsultation", "Prescription"]
    assert ccs["OPD-1"].display.endswith("(revised)")
    assert [e.outcome for e in audit(runtime, "consent.link.hip")] == ["success", "success"]


def test_tolerant_name_match(runtime, bridge, ravi):
    for name in ("RAVI KUMAR SHARMA", "Ravi Sharma", "Ravi Kumar  Sharma"):
        assert get_token(runtime, bridge, ravi, name=name).link_token, name
    # By ABHA address alone, or by number alone.
    assert get_token(runtime, bridge, ravi, abhaNumber=None).link_token
    assert get_token(runtime, bridge, ravi, abhaAddress=None).link_token


@pytest.mark.parametrize(
    ("over", "code"),
    [
        ({"name": "Suresh Raina"}, "ABDM-1051"),
        ({"gender": "F"}, "ABDM-1051"),
        ({"yearOfBirth": 1991}, "ABDM-1051"),
        ({"abhaNumber": "91-0000-0000-0000", "abhaAddress": None}, "ABDM-1051"),
        ({"abhaAddress": "nobody@sbx", "abhaNumber": None}, "ABDM-1051"),
        ({"abhaAddress": "ravi@abdm", "abhaNumber": None}, "ABDM-1051"),  # another CM's
        ({"abhaNumber": None, "abhaAddress": None}, "ABDM-1051"),
        ({"yearOfBirth": "nineteen ninety"}, "ABDM-1206"),
    ],
)
def test_link_token_refusals(runtime, bridge, ravi, over, code):
    answer = get_token(runtime, bridge, ravi, **over)
    assert answer.link_token is None and answer.error is not None
    assert answer.error.code == code
    assert "Ravi" not in answer.error.message and ravi.abha_number not in answer.error.message
    assert rows(runtime, LinkToken) == []
    [event] = audit(runtime, "consent.link_token.issue")
    assert event.outcome != "success" and event.reason_code == code
    assert event.actor_id == HIP_A


def test_repeated_mismatches_block_for_a_day(runtime, bridge, ravi, clock):
    for _ in range(5):
        assert get_token(runtime, bridge, ravi, yearOfBirth=1980).error.code == "ABDM-1051"
    # Now even the right details are refused for a day.
    assert get_token(runtime, bridge, ravi).error.code == "ABDM-1027"
    clock.advance(hours=25)
    assert get_token(runtime, bridge, ravi).link_token


def test_link_token_misuse(runtime, bridge, ravi, clock):
    token = get_token(runtime, bridge, ravi).link_token
    sita = patient(
        runtime, name="Sita Devi", gender="F", birth_date=date(1985, 1, 1), mobile="9876500002"
    )

    def link(body, hip=HIP_A, link_token=token):
        assert (
            bridge.call(m.LINK_CARE_CONTEXT, body, hip=hip, link_token=link_token).status_code
            == 202
        )
        pump(runtime, bridge)
        return bridge.last(m.ON_LINK_CARE_CONTEXT).body

    assert link(link_body(ravi), link_token="not-a-token")["error"]["code"] == "ABDM-1209"
    assert link(link_body(ravi), hip=HIP_C)["error"]["code"] == "ABDM-1209"  # A's token at C
    assert link(link_body(sita))["error"]["code"] == "ABDM-1211"  # another patient
    assert link({"patient": []})["error"]["code"] == "ABDM-1212"
    bad_type = link_body(ravi, hi_type="XRay")
    assert link(bad_type)["error"]["code"] == "ABDM-1202"
    clock.advance(days=183)
    assert link(link_body(ravi))["error"]["code"] == "ABDM-1210"
    assert rows(runtime, LinkedCareContext) == []
    codes = [e.reason_code for e in audit(runtime, "consent.link.hip")]
    assert codes == ["ABDM-1209", "ABDM-1209", "ABDM-1211", "ABDM-1212", "ABDM-1202", "ABDM-1210"]

    # Without the header the gateway refuses at once.
    r = bridge.call(m.LINK_CARE_CONTEXT, link_body(ravi), hip=HIP_A)
    assert r.status_code == 400 and r.json()["error"]["code"] == "ABDM-1108"


def test_context_notify(runtime, bridge, ravi, clock):
    token = get_token(runtime, bridge, ravi).link_token
    bridge.call(m.LINK_CARE_CONTEXT, link_body(ravi), hip=HIP_A, link_token=token)
    pump(runtime, bridge)
    clock.advance(days=3)

    def notify(cc_ref="OPD-1", hip_id=HIP_A, hi_types=("Prescription",), pid=None):
        body = {
            "notification": {
                "patient": {"id": pid or address_of(ravi)},
                "careContext": {"patientReference": "PT-1001", "careContextReference": cc_ref},
                "hiTypes": list(hi_types),
                "date": m.abdm_timestamp(clock.now()),
                "hip": {"id": hip_id},
            }
        }
        assert bridge.call(m.CONTEXT_NOTIFY, body, hip=HIP_A).status_code == 202
        pump(runtime, bridge)
        return bridge.last(m.ON_CONTEXT_NOTIFY).body

    assert notify()["acknowledgement"] == {"status": "SUCCESS"}
    [cc] = rows(runtime, LinkedCareContext)
    assert cc.hi_types == ["OPConsultation", "Prescription"] and cc.data_added_at == clock.now()
    assert notify(pid=ravi.abha_number)["acknowledgement"]["status"] == "SUCCESS"
    assert notify(cc_ref="OPD-9")["error"]["code"] == "ABDM-1213"
    assert notify(hip_id=HIP_C)["error"]["code"] == "ABDM-1205"
    assert notify(pid="nobody@sbx")["error"]["code"] == "ABDM-1010"
    assert notify(hi_types=())["error"]["code"] == "ABDM-1202"


def test_sms_deep_link(runtime, bridge):
    def sms(phone="+91-9876543210", **over):
        body = {
            "notification": {
                "phoneNo": phone,
                "careContextInfo": "OPD visit on 1 Nov",
                "hip": {"id": HIP_A, "name": "PHC Khag"},
                **over,
            }
        }
        assert bridge.call(m.SMS_NOTIFY, body, hip=HIP_A).status_code == 202
        pump(runtime, bridge)
        return bridge.last(m.ON_SMS_NOTIFY).body

    assert sms()["status"] == "ACKNOWLEDGED"
    with unit_of_work(runtime.session_factory) as s:
        [sent] = s.scalars(select(OutboxMessage).where(OutboxMessage.topic == SMS_TOPIC)).all()
    # Delivered: the number masked (integrations.sms), the +91 form normalised first.
    assert sent_to(sent.payload, "9876543210", runtime.hasher)
    assert sent.payload["template"] == "consent.deep_link"
    assert (
        "PHC Khag" in sent.payload["text"] and "http://127.0.0.1:8000/phr" in sent.payload["text"]
    )
    # The HIP's own https deep link is used when given.
    sms(deeplinkUrl="https://hmis.example.org/records")
    with unit_of_work(runtime.session_factory) as s:
        texts = [
            o.payload["text"]
            for o in s.scalars(select(OutboxMessage).where(OutboxMessage.topic == SMS_TOPIC))
        ]
    assert "https://hmis.example.org/records" in texts[-1]
    assert sms(phone="12345")["error"]["code"] == "ABDM-1214"
    assert sms(hip={"id": HIP_C})["error"]["code"] == "ABDM-1205"


def test_what_the_cm_sends_fits_the_link_token_spec(runtime, bridge, ravi):
    from tests.factories_abdm_specs import check, link_token_schemas, load_spec

    success, *_ = link_token_schemas(load_spec("HIECM-LinkTokenService.yml"))[1]
    get_token(runtime, bridge, ravi)
    check(success, bridge.last(m.ON_GENERATE_TOKEN).body)
