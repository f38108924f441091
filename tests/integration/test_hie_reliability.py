"""Reliability of the exchange with the real consent manager and the real facility
side over HTTP (``tests/factories_hie.py``): a worker killed in the middle of a paged
transfer and a fresh one started; callbacks the bridge already took delivered again;
answers that arrive ten minutes late. Every transfer completes exactly once and the
repeats change nothing. (tests/integration/test_records_exchange.py does the same
against the fake consent manager; this is the real one.)"""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest
from sqlalchemy import func, select

from healthstack.facility.records.models import (
    HipConsentArtefact,
    HipDataTransfer,
    HipTransferPage,
    HiuConsentArtefact,
    HiuConsentRequest,
    HiuDataRequest,
    HiuReceivedRecord,
)
from healthstack.integrations.abdm.models import AbdmMessage
from healthstack.kernel.outbox import OutboxMessage
from healthstack.kernel.uow import unit_of_work
from healthstack.network.consent.models import (
    ConsentArtefact,
    ConsentNotice,
    ConsentRequest,
    HiRequest,
    TransferNotice,
)
from healthstack.network.gateway.models import GatewayMessage
from healthstack.protocol.abdm import messages as m
from tests.factories_hie import Exchange, gateway_callback, grant, hie_settings

Send = Callable[[httpx.Request], httpx.Response]


@pytest.fixture
def settings(settings):
    return hie_settings(settings)


class KilledWorker(BaseException):
    """The worker process dies (no handler catches it: the relay's transaction rolls
    back and its claims stay taken until they time out)."""


def page_of(request: httpx.Request) -> int | None:
    if request.url.path != "/api/v3/hiu/data/push":
        return None
    return int(json.loads(request.content)["pageNumber"])


def snapshot(hie: Exchange) -> dict[str, int]:
    """How many rows each part of the exchange holds (a repeat must change none)."""
    models: tuple[type, ...] = (
        ConsentRequest,
        ConsentArtefact,
        ConsentNotice,
        HiRequest,
        TransferNotice,
        HipConsentArtefact,
        HipDataTransfer,
        HipTransferPage,
        HiuConsentArtefact,
        HiuDataRequest,
        HiuReceivedRecord,
    )
    with unit_of_work(hie.runtime.session_factory) as s:
        counts = {
            model.__name__: int(s.scalar(select(func.count()).select_from(model)) or 0)
            for model in models
        }
        counts["sent pages"] = int(
            s.scalar(
                select(func.count())
                .select_from(HipTransferPage)
                .where(HipTransferPage.status == "sent")
            )
            or 0
        )
        counts["records ok"] = int(
            s.scalar(
                select(func.count())
                .select_from(HiuReceivedRecord)
                .where(HiuReceivedRecord.status == "OK")
            )
            or 0
        )
    return counts


def assert_completed_once(hie: Exchange, *, documents: int, pages: int) -> None:
    [transfer] = hie.rows(HipDataTransfer)
    assert transfer.status == "TRANSFERRED" and transfer.page_count == pages
    assert {p.status for p in hie.rows(HipTransferPage)} == {"sent"}
    [dr] = hie.rows(HiuDataRequest)
    assert dr.status == "COMPLETED" and dr.pages_received == list(range(1, pages + 1))
    received = hie.rows(HiuReceivedRecord)
    assert len(received) == documents and {r.status for r in received} == {"OK"}
    assert len({(r.page_number, r.entry_index) for r in received}) == documents
    [txn] = hie.rows(HiRequest)
    assert txn.status == "TRANSFERRED"
    notices = sorted((n.notifier_type, n.session_status) for n in hie.rows(TransferNotice))
    assert notices == [("HIP", "TRANSFERRED"), ("HIU", "TRANSFERRED")]


# --------------------------------------------------------------------------- a killed worker


@pytest.mark.parametrize("moment", ["before the HIU took page 2", "after the HIU took page 2"])
def test_a_worker_killed_mid_transfer_and_a_fresh_one_finish_it_once(
    hie: Exchange, runtime, clock, moment
):
    killed = {"done": False}

    def die_on_page_2(request: httpx.Request, send: Send) -> httpx.Response:
        if page_of(request) == 2 and not killed["done"]:
            killed["done"] = True
            if moment.startswith("after"):
                send(request)  # the HIU stored page 2; the HIP never heard back
            raise KilledWorker
        return send(request)

    hie.network.intercept = die_on_page_2
    # Five documents (a prescription and a lab report, then three prescriptions): five
    # pages, one document each.
    with pytest.raises(KilledWorker):
        grant(hie, hi_types=("Prescription", "DiagnosticReport"), documents=5)
    hie.network.intercept = None
    pages = {p.page_number: p.status for p in hie.rows(HipTransferPage)}
    assert pages == {1: "sent", 2: "pending", 3: "pending", 4: "pending", 5: "pending"}
    stored = sorted({r.page_number for r in hie.rows(HiuReceivedRecord)})
    assert stored == ([1, 2] if moment.startswith("after") else [1])
    with unit_of_work(runtime.session_factory) as s:
        stuck = s.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status == "in_flight")
        )
    assert stuck and stuck >= 1  # the dead worker's claims

    # A fresh worker process: nothing is due until the dead one's claims time out.
    hie.restart_worker()
    assert hie.worker.run_once() == 0
    clock.advance(minutes=6)
    hie.settle()
    assert_completed_once(hie, documents=5, pages=5)
    sent = [page_of(r) for r in hie.network.to_hmis if page_of(r) is not None]
    assert sent == ([1, 2, 2, 3, 4, 5] if moment.startswith("after") else [1, 2, 3, 4, 5])
    hie.assert_ledgers_clean()


# --------------------------------------------------------------------------- duplicates, late


def test_callbacks_delivered_again_change_nothing(hie: Exchange, clock):
    grant(hie)
    assert_completed_once(hie, documents=2, pages=2)
    before = snapshot(hie)
    outbox = hie.count(OutboxMessage)

    # Each callback the bridge took, delivered again with its REQUEST-ID (a gateway
    # that never saw the 2xx): answered 202, applied never again.
    delivered = [r for r in hie.network.to_hmis if page_of(r) is None]
    assert {r.url.path for r in delivered} >= {
        m.ON_GENERATE_TOKEN,
        m.ON_LINK_CARE_CONTEXT,
        m.ON_CONSENT_INIT,
        m.HIP_CONSENT_NOTIFY,
        m.HIU_CONSENT_NOTIFY,
        m.ON_CONSENT_FETCH,
        m.ON_HI_REQUEST,
        m.HIP_HI_REQUEST,
    }
    for request in delivered:
        r = hie.network.resend(request)
        assert r.status_code == 202, (request.url.path, r.text)
    hie.settle()
    assert snapshot(hie) == before
    assert hie.count(OutboxMessage) == outbox  # nothing new was queued
    duplicates = hie.audit("abdm.callback.receive", failed=True, reason="ABDM-1112")
    assert len(duplicates) == len(delivered)

    # The same HI request from the consent manager under a new REQUEST-ID: the HIP
    # answers as before and starts no second transfer.
    forwarded = hie.network.callbacks(m.HIP_HI_REQUEST)[0]
    body = json.loads(forwarded.content)
    r = gateway_callback(hie, m.HIP_HI_REQUEST, body, hip=hie.hip_a)
    assert r.status_code == 202
    hie.settle()
    assert snapshot(hie) == before
    assert len(hie.network.pushes()) == 2  # one page per document, each sent once
    refused = hie.audit("consent.hi_request.ack", failed=True)
    assert [e.reason_code for e in refused] == ["ABDM-1227"]  # an ack to no request of the CM

    # A stale copy ten minutes on: refused at the door (its gateway token has expired,
    # as has its TIMESTAMP), nothing applied.
    clock.advance(minutes=11)
    note = hie.network.callbacks(m.HIU_CONSENT_NOTIFY)[0]
    r = hie.network.resend(note)
    assert r.status_code == 401 and r.json()["error"]["code"] == "ABDM-1102"
    hie.settle()
    assert snapshot(hie) == before


def test_answers_ten_minutes_late_are_applied_once(hie: Exchange, clock):
    """The bridge is unreachable when the CM's artefact comes (on-fetch), and the
    HIP's acknowledgement of the consent cannot reach the gateway; ten minutes later
    both get through: the HIU finds its fetch, the CM its notification, and the
    transfer runs once."""
    held: dict[str, int] = {"on-fetch": 0, "hip-ack": 0}
    down = {"yes": True}

    def partition(request: httpx.Request, send: Send) -> httpx.Response:
        if down["yes"] and request.url.path == m.ON_CONSENT_FETCH:
            held["on-fetch"] += 1
            raise httpx.ConnectError("bridge unreachable", request=request)
        if down["yes"] and request.url.path.endswith(m.HIP_ON_CONSENT_NOTIFY):
            held["hip-ack"] += 1
            return httpx.Response(503, request=request)
        return send(request)

    hie.network.intercept = partition
    g = grant(hie)
    assert held == {"on-fetch": 1, "hip-ack": 1}
    [art] = hie.rows(HiuConsentArtefact)
    assert art.status == "REQUESTED" and hie.rows(HiuDataRequest) == []
    [hip_notice] = hie.rows(ConsentNotice, lambda n: n.target == "HIP")
    assert hip_notice.acked_at is None
    waiting = hie.rows(GatewayMessage, lambda g: g.path == m.ON_CONSENT_FETCH)
    assert [w.status for w in waiting] == ["retrying"]
    calls = hie.rows(AbdmMessage, lambda a: a.path == m.HIP_ON_CONSENT_NOTIFY)
    assert [c.status for c in calls] == ["retrying"]

    clock.advance(minutes=10)
    down["yes"] = False
    hie.settle()
    assert held == {"on-fetch": 1, "hip-ack": 1}  # one failed try each, then through
    [art] = hie.rows(HiuConsentArtefact)
    assert art.status == "GRANTED" and art.consent_id == g.consent_id
    [hip_notice] = hie.rows(ConsentNotice, lambda n: n.target == "HIP")
    assert hip_notice.acked_at is not None and hip_notice.ack_status == "OK"
    assert_completed_once(hie, documents=2, pages=2)
    # The late on-fetch was applied once: a second delivery of it is a duplicate.
    delivered = [r for r in hie.network.callbacks(m.ON_CONSENT_FETCH)]
    assert len(delivered) == 1
    before = snapshot(hie)
    assert hie.network.resend(delivered[0]).status_code == 202
    hie.settle()
    assert snapshot(hie) == before
    hie.assert_ledgers_clean()


def test_a_late_artefact_does_not_revive_a_revoked_consent(hie: Exchange, clock):
    """The CM's answer to the HIU's fetch (GRANTED, as it stood then) is held up; the
    patient revokes meanwhile and the HIU hears of it; then the old answer arrives."""
    down = {"yes": True}

    def hold_on_fetch(request: httpx.Request, send: Send) -> httpx.Response:
        if down["yes"] and request.url.path == m.ON_CONSENT_FETCH:
            return httpx.Response(503, request=request)
        return send(request)

    hie.network.intercept = hold_on_fetch
    g = grant(hie)
    [art] = hie.rows(HiuConsentArtefact)
    assert art.status == "REQUESTED"  # granted, its artefact not fetched yet
    hie.phr_post(f"/consents/{g.cm_request}/revoke", g.phr, {})
    hie.settle()
    [art] = hie.rows(HiuConsentArtefact)
    assert art.status == "REVOKED"
    assert {a.status for a in hie.rows(HipConsentArtefact)} == {"REVOKED"}

    clock.advance(minutes=10)
    down["yes"] = False
    hie.settle()
    assert len(hie.network.callbacks(m.ON_CONSENT_FETCH)) == 1  # the late answer came
    [art] = hie.rows(HiuConsentArtefact)
    assert art.status == "REVOKED"
    assert hie.rows(HiuDataRequest) == [] and hie.rows(HiRequest) == []
    [row] = hie.rows(HiuConsentRequest)
    assert row.status == "REVOKED"
    hie.assert_ledgers_clean()


def test_a_grant_overtaken_by_its_revocation_stays_revoked_at_the_hip(hie: Exchange, clock):
    """The GRANTED notification to the HIP is held up; the patient revokes and the
    REVOKED one gets through first; then the old GRANTED arrives. The HIP must not
    hold a live artefact for a consent the patient withdrew."""
    down = {"yes": True}

    def hold_grant(request: httpx.Request, send: Send) -> httpx.Response:
        if (
            down["yes"]
            and request.url.path == m.HIP_CONSENT_NOTIFY
            and json.loads(request.content)["notification"]["status"] == "GRANTED"
        ):
            return httpx.Response(503, request=request)
        return send(request)

    hie.network.intercept = hold_grant
    g = grant(hie)
    assert hie.rows(HipConsentArtefact) == []
    # The HIU asked for data meanwhile: the CM forwarded it, and the HIP, which has not
    # heard of the artefact yet, has it delivered again later (nothing kept, no refusal).
    assert hie.rows(HipDataTransfer) == []
    assert hie.network.callbacks(m.HIP_HI_REQUEST)
    hie.phr_post(f"/consents/{g.cm_request}/revoke", g.phr, {})
    hie.settle()

    clock.advance(minutes=10)
    down["yes"] = False
    hie.settle()
    held = hie.rows(HipConsentArtefact)
    assert [(a.consent_id, a.status) for a in held] == [(g.consent_id, "REVOKED")]
    assert held[0].detail is None and held[0].signature is None
    assert len(hie.network.callbacks(m.HIP_CONSENT_NOTIFY)) == 2  # both came, in that order
    # The request delivered again found the consent revoked: refused, nothing pushed.
    [transfer] = hie.rows(HipDataTransfer)
    assert (transfer.status, transfer.error_code) == ("REFUSED", "ABDM-1302")
    assert hie.network.pushes() == []
    hie.assert_ledgers_clean()


def test_a_data_request_ahead_of_its_artefact_is_served_when_the_artefact_arrives(
    hie: Exchange, clock
):
    """The GRANTED notice to the HIP is held up while the HIU already asks for data: the
    HIP has the request delivered again later, and once the notice is in, serves it
    exactly once."""
    down = {"yes": True}

    def hold_grant(request: httpx.Request, send: Send) -> httpx.Response:
        if down["yes"] and request.url.path == m.HIP_CONSENT_NOTIFY:
            return httpx.Response(503, request=request)
        return send(request)

    hie.network.intercept = hold_grant
    grant(hie)
    assert hie.rows(HipDataTransfer) == [] and hie.rows(HiuReceivedRecord) == []
    down["yes"] = False
    clock.advance(minutes=10)
    hie.settle()
    [transfer] = hie.rows(HipDataTransfer)
    assert transfer.status == "TRANSFERRED", transfer.status
    assert {r.status for r in hie.rows(HiuReceivedRecord)} == {"OK"}
    assert len(hie.rows(HiuReceivedRecord)) == 2
    hie.assert_ledgers_clean()
