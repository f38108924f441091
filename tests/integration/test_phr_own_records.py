"""The patient reads their own records in the PHR: the PHR is an HIU of its own
(``HEALTHSTACK-PHR``) asking with purpose PATRQT; the consent manager grants at once for
the linked facilities; the HIP pushes, encrypted, to the PHR's HIU, over HTTP with the
worker running every hop. Only the patient reads what arrived; a facility may not ask
with PATRQT, nor the PHR with anything else."""

from __future__ import annotations

from datetime import timedelta

import pytest

from healthstack.facility.records import hiu
from healthstack.facility.records.models import HiuConsentRequest, HiuReceivedRecord
from healthstack.kernel.context import SYSTEM_ACTOR, Purpose, RequestContext
from healthstack.kernel.errors import NotFound, PermissionDenied
from healthstack.kernel.uow import unit_of_work
from healthstack.network.abha.auth import patient_context
from healthstack.network.consent.models import ConsentArtefact, ConsentRequest
from healthstack.phr import own_records as phr
from healthstack.protocol.abdm import messages as m
from tests.factories_hie import (
    PATIENT_ADDRESS,
    Exchange,
    hie_settings,
    linked_patient,
    patient_account,
    patient_asks,
    staff_context,
)

ALL = [t.value for t in m.HiType]


@pytest.fixture
def settings(settings):
    return hie_settings(settings)


def test_patient_fetches_and_reads_own_records(hie: Exchange, runtime):
    account, visits = linked_patient(hie, documents=3)
    asked = patient_asks(hie, account)
    hie.settle()

    # The consent manager granted the self-request at once, without asking by SMS.
    [cm] = hie.rows(ConsentRequest)
    assert (cm.purpose_code, cm.status, cm.hiu_id) == ("PATRQT", "GRANTED", hie.phr_hiu)
    assert cm.requester["identifier"]["value"] == PATIENT_ADDRESS
    [artefact] = hie.rows(ConsentArtefact)
    assert artefact.hip_id == hie.hip_a and artefact.hiu_id == hie.phr_hiu
    assert not hie.sms(template="consent.request")

    ctx = patient_context(account, request_id="read")
    with unit_of_work(runtime.session_factory) as s:
        row, arts = hiu.request_detail(
            s,
            ctx,
            public_id=asked,
            clock=runtime.clock,
            phr_hiu_id=runtime.settings.consent.phr_hiu_id,
        )
        assert row.requested_by == account.abha_number and row.purpose_code == "PATRQT"
        [got] = arts
        assert got.valid and {r.status for r in got.records} == {"OK"}
        assert len(got.records) == 3  # a prescription and a lab report, then a prescription
        assert phr.progress(row, arts, runtime.clock.now(), patience=timedelta(minutes=1)) == (
            phr.Progress("done", False)
        )
        record, view = hiu.read_record(
            s,
            ctx,
            public_id=str(got.records[0].public_id),
            clock=runtime.clock,
            phr_hiu_id=runtime.settings.consent.phr_hiu_id,
        )
        assert record.care_context_reference in {v.reference for v in visits}
        assert view.title
        assert [
            str(r.public_id)
            for r in hiu.list_requests(s, ctx, phr_hiu_id=runtime.settings.consent.phr_hiu_id)
        ] == [asked]
    assert hie.audit("records.received.read", failed=False)[-1].actor_id == account.abha_number
    hie.assert_ledgers_clean()

    # Nobody else reads them: another patient, or the doctor at a facility HIU.
    other = patient_account(runtime, handle="ravi.k", mobile="9876500099", name="Ravi Kumar")
    for stranger in (patient_context(other, request_id="x"), staff_context(hie.hiu_c)):
        with unit_of_work(runtime.session_factory) as s:
            with pytest.raises(NotFound):
                hiu.request_detail(
                    s,
                    stranger,
                    public_id=asked,
                    clock=runtime.clock,
                    phr_hiu_id=runtime.settings.consent.phr_hiu_id,
                )
            with pytest.raises(NotFound):
                hiu.read_record(
                    s,
                    stranger,
                    public_id=str(got.records[0].public_id),
                    clock=runtime.clock,
                    phr_hiu_id=runtime.settings.consent.phr_hiu_id,
                )
            assert (
                hiu.list_requests(s, stranger, phr_hiu_id=runtime.settings.consent.phr_hiu_id) == []
            )

    # Revoked in the PHR's consents: the PHR's copy is erased like a facility's.
    phr_headers = hie.patient_login(account)
    hie.phr_post(
        f"/consents/{cm.public_id}/revoke", phr_headers, {"consentIds": [str(artefact.public_id)]}
    )
    hie.settle()
    assert {r.status for r in hie.rows(HiuReceivedRecord)} == {"ERASED"}


def test_one_facility_only_and_nothing_linked(hie: Exchange, runtime):
    account, _ = linked_patient(hie, documents=2)
    # Asked from a facility where nothing is linked: the CM refuses, the PHR says so.
    asked = patient_asks(hie, account, hip_id=hie.hip_b)
    hie.settle()
    [row] = hie.rows(HiuConsentRequest)
    assert (row.status, row.error_code) == ("ERRORED", "HS-1603")
    assert hie.rows(ConsentArtefact) == []
    with unit_of_work(runtime.session_factory) as s:
        row, arts = hiu.request_detail(
            s,
            patient_context(account, request_id="r"),
            public_id=asked,
            clock=runtime.clock,
            phr_hiu_id=runtime.settings.consent.phr_hiu_id,
        )
        assert phr.progress(row, arts, runtime.clock.now(), patience=timedelta(minutes=1)) == (
            phr.Progress("refused", False)
        )
    # From the linked one: granted for it alone.
    patient_asks(hie, account, hip_id=hie.hip_a, hi_types=["Prescription"])
    hie.settle()
    [artefact] = hie.rows(ConsentArtefact)
    assert artefact.hip_id == hie.hip_a and artefact.hi_types == ["Prescription"]
    records = hie.rows(HiuReceivedRecord)
    assert records and {r.hi_type for r in records} == {"Prescription"}


def test_self_request_rules_hold_at_the_consent_manager(hie: Exchange, runtime):
    linked_patient(hie, documents=2)
    now = runtime.clock.now()
    common = {
        "patient_abha_address": PATIENT_ADDRESS,
        "hi_types": ["Prescription"],
        "date_from": now - timedelta(days=30),
        "date_to": now,
        "data_erase_at": now + timedelta(days=1),
        "requester_name": "Dr. Imran Lone",
    }
    # A facility's doctor may not pass off a request as the patient's own.
    with unit_of_work(runtime.session_factory) as s:
        hiu.request_records(
            s,
            staff_context(hie.hiu_c),
            clock=runtime.clock,
            outbox=runtime.abdm_outbox(),
            phr_hiu_id=runtime.settings.consent.phr_hiu_id,
            hiu_id=hie.hiu_c,
            purpose="PATRQT",
            **common,
        )
    # The PHR's HIU may ask with PATRQT only, and only naming the patient as requester.
    as_system = RequestContext(actor=SYSTEM_ACTOR, purpose=Purpose.CARE_MANAGEMENT)
    with unit_of_work(runtime.session_factory) as s:
        hiu.request_records(
            s,
            as_system,
            clock=runtime.clock,
            outbox=runtime.abdm_outbox(),
            phr_hiu_id=runtime.settings.consent.phr_hiu_id,
            hiu_id=hie.phr_hiu,
            purpose="CAREMGT",
            **common,
        )
        hiu.request_records(
            s,
            as_system,
            clock=runtime.clock,
            outbox=runtime.abdm_outbox(),
            phr_hiu_id=runtime.settings.consent.phr_hiu_id,
            hiu_id=hie.phr_hiu,
            purpose="PATRQT",
            **common,
        )
    hie.settle()
    errors = [
        (r.hiu_id, r.purpose_code, r.status, r.error_code) for r in hie.rows(HiuConsentRequest)
    ]
    assert errors == [
        (hie.hiu_c, "PATRQT", "ERRORED", "ABDM-1201"),
        (hie.phr_hiu, "CAREMGT", "ERRORED", "ABDM-1201"),
        (hie.phr_hiu, "PATRQT", "ERRORED", "ABDM-1205"),  # the requester is a doctor
    ]
    assert hie.rows(ConsentRequest) == [] and hie.rows(ConsentArtefact) == []
    assert len(hie.audit("consent.request.init", failed=True)) == 3


def test_the_phr_asks_only_for_its_own_holder(hie: Exchange, runtime):
    account, _ = linked_patient(hie, documents=2)
    other = patient_account(runtime, handle="ravi.k", mobile="9876500099", name="Ravi Kumar")
    now = runtime.clock.now()
    with unit_of_work(runtime.session_factory) as s:
        # The PHR fetches for the logged-in holder only.
        with pytest.raises(PermissionDenied):
            phr.ask(
                s,
                patient_context(other, request_id="x"),
                runtime=runtime,
                account=account,
                hi_types=ALL,
                date_from=now - timedelta(days=30),
                date_to=now,
            )
        # A patient asks nothing through a facility's HIU, nor for another purpose.
        for hiu_id, purpose in ((hie.hiu_c, "PATRQT"), (hie.phr_hiu, "CAREMGT")):
            with pytest.raises(NotFound):
                hiu.request_records(
                    s,
                    patient_context(account, request_id="y"),
                    clock=runtime.clock,
                    outbox=runtime.abdm_outbox(),
                    phr_hiu_id=runtime.settings.consent.phr_hiu_id,
                    hiu_id=hiu_id,
                    purpose=purpose,
                    patient_abha_address=PATIENT_ADDRESS,
                    hi_types=ALL,
                    date_from=now - timedelta(days=30),
                    date_to=now,
                    data_erase_at=now + timedelta(days=1),
                    requester_name="x",
                )
    assert hie.rows(HiuConsentRequest) == []
