"""The exchange's security matrix with the real consent manager and the real facility
side over HTTP (``tests/factories_hie.py``): every case is refused, and the refusal is
in the audit trail with the action that refused it and ABDM's code.

Cases the well-behaved sides never produce (a tampered artefact, a forged or unsigned
callback, a replay, a HIP pushing what the artefact does not cover, an HIU asking
outside its consent) are crafted by hand and sent over HTTP to the side that must
refuse them, as a misbehaving party on the network would."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select

from healthstack.facility.records import hiu
from healthstack.facility.records.config import data_push_url
from healthstack.facility.records.exceptions import ConsentRefused
from healthstack.facility.records.hip import plaintext
from healthstack.facility.records.models import (
    HealthDocument,
    HipConsentArtefact,
    HipDataTransfer,
    HiuConsentArtefact,
    HiuConsentRequest,
    HiuDataRequest,
    HiuReceivedRecord,
)
from healthstack.kernel import tokens
from healthstack.kernel.audit import AuditEvent
from healthstack.kernel.context import system_context
from healthstack.kernel.uow import unit_of_work
from healthstack.network.consent.models import ConsentArtefact, ConsentRequest, HiRequest
from healthstack.network.gateway.service import callback_token, register_bridge
from healthstack.protocol.abdm import fidelius
from healthstack.protocol.abdm import messages as m
from tests.factories_hie import (
    CLIENT_ID,
    PIN,
    Exchange,
    Granted,
    cm_request_id,
    doctor_asks,
    gateway_callback,
    grant,
    hie_settings,
    linked_patient,
    push_page,
    session_token,
    spec_page,
    staff_context,
)

REFUSED = {"denied", "failed", "not_found"}


@pytest.fixture
def settings(settings):
    return hie_settings(settings)


# --------------------------------------------------------------------------- by hand


def hiu_asks(
    hie: Exchange,
    consent_id: str,
    *,
    hiu_id: str | None = None,
    date_from: datetime | None = None,
    date_to: datetime | None = None,
) -> dict[str, Any]:
    """An HI request the HIU's bridge sends as it likes (through its ABDM client, over
    HTTP to the gateway); returns the body of the consent manager's on-request."""
    now = hie.runtime.clock.now()
    key = fidelius.generate_key_material()
    body = m.HiRequestBody(
        hi_request=m.HiRequest(
            consent=m.ArtefactRef(id=consent_id),
            date_range=m.DateRange(from_=date_from or now - timedelta(days=100), to=date_to or now),
            data_push_url=data_push_url(hie.runtime.settings),
            key_material=m.KeyMaterial.from_wire(key.wire(now + timedelta(hours=1))),
        )
    )
    with unit_of_work(hie.runtime.session_factory) as s:
        rid = hie.runtime.abdm_outbox().enqueue(
            s,
            path=m.HI_REQUEST,
            body=m.dump(body),
            headers={"X-HIU-ID": hiu_id or hie.hiu_c},
            context={"kind": "tests.hi-request"},
        )
    hie.settle()
    return answer_to(hie, m.ON_HI_REQUEST, rid)


def answer_to(hie: Exchange, path: str, request_id: str) -> dict[str, Any]:
    for request in reversed(hie.network.callbacks(path)):
        body = json.loads(request.content)
        if (body.get("response") or {}).get("requestId") == request_id:
            return body
    raise AssertionError(f"no answer to {request_id} reached the bridge at {path}")


def another_key_signs(claims: dict[str, Any], header: dict[str, str]) -> str:
    """A key that is not the gateway's, under the gateway's key id."""
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(claims, stranger, algorithm="RS256", headers=header)


def stop_pushes(hie: Exchange) -> None:
    """The HIP's pushes never arrive (the HIU keeps waiting for its pages)."""

    def drop(request: httpx.Request, send: Callable[[httpx.Request], httpx.Response]):
        if request.url.path.endswith("/data/push"):
            raise httpx.ConnectError("unreachable", request=request)
        return send(request)

    hie.network.intercept = drop


def records_ok(hie: Exchange) -> int:
    return len(hie.rows(HiuReceivedRecord, lambda m: m.status == "OK"))


# --------------------------------------------------------------------------- the cases
# Each case acts, asserts the refusal where it happens, and returns the audit rows it
# expects: (action, reason code).

Expected = list[tuple[str, str]]


def no_consent(hie: Exchange) -> Expected:
    linked_patient(hie)
    answer = hiu_asks(hie, str(uuid.uuid4()))
    assert answer["error"]["code"] == "ABDM-1220" and "hiRequest" not in answer
    assert hie.rows(HiRequest) == []
    return [("consent.hi_request", "ABDM-1220")]


def denied(hie: Exchange) -> Expected:
    asha, _ = linked_patient(hie)
    request = doctor_asks(hie, ("Prescription",))
    phr = hie.patient_login(asha)
    cm_request = cm_request_id(hie, request)
    assert hie.phr_post(f"/consents/{cm_request}/deny", phr)["status"] == "DENIED"
    hie.settle()
    [row] = hie.rows(HiuConsentRequest)
    assert row.status == "DENIED" and hie.rows(HiuConsentArtefact) == []
    # Asking for data under the denied request anyway: nothing was granted.
    answer = hiu_asks(hie, cm_request)
    assert answer["error"]["code"] == "ABDM-1220"
    # Nor can the patient change her mind on the same request.
    r = hie.client.post(
        f"/api/v1/phr/consents/{cm_request}/approve",
        headers=phr,
        json={"consents": [{"hip": {"id": hie.hip_a}}], "pin": PIN},
    )
    assert r.status_code == 409 and r.json()["code"] == "HS-1601"
    return [("consent.hi_request", "ABDM-1220"), ("consent.grant", "HS-1601")]


def revoked(hie: Exchange) -> Expected:
    g = grant(hie)
    assert records_ok(hie) == 2
    hie.phr_post(f"/consents/{g.cm_request}/revoke", g.phr, {})
    hie.settle()
    with unit_of_work(hie.runtime.session_factory) as s:
        row = s.scalar(
            select(HiuConsentArtefact).where(HiuConsentArtefact.consent_id == g.consent_id)
        )
        assert row is not None and row.status == "REVOKED"
        # an HIU that missed the revocation
        hiu.start_data_request(
            s,
            artefact=row,
            clock=hie.runtime.clock,
            outbox=hie.runtime.abdm_outbox(),
            hasher=hie.runtime.hasher,
            push_url=data_push_url(hie.runtime.settings),
        )
    hie.settle()
    latest = max(hie.rows(HiuDataRequest), key=lambda d: d.id)
    assert (latest.status, latest.error_code) == ("ERRORED", "ABDM-1221")
    assert len(hie.rows(HipDataTransfer)) == 1
    return [("consent.hi_request", "ABDM-1221")]


def expired(hie: Exchange) -> Expected:
    g = grant(hie)
    hie.runtime.clock.advance(days=31)  # the consent ran for 30 days
    answer = hiu_asks(hie, g.consent_id)
    assert answer["error"]["code"] == "ABDM-1222"
    # The doctor can no longer open what came under it either.
    [record] = hie.rows(HiuReceivedRecord)[:1]
    with pytest.raises(ConsentRefused) as refused, unit_of_work(hie.runtime.session_factory) as s:
        hiu.read_record(
            s,
            staff_context(hie.hiu_c),
            public_id=str(record.public_id),
            clock=hie.runtime.clock,
            phr_hiu_id=hie.runtime.settings.consent.phr_hiu_id,
        )
    assert refused.value.code == "ABDM-1303"
    # The scheduler's expiry job tells both sides, which end the consent there too.
    done = hie.restart_worker().run_due_jobs()
    assert done["consent.expire"] >= 1
    hie.settle()
    assert {a.status for a in hie.rows(ConsentArtefact)} == {"EXPIRED"}
    assert {a.status for a in hie.rows(HipConsentArtefact)} == {"EXPIRED"}
    assert {a.status for a in hie.rows(HiuConsentArtefact)} == {"EXPIRED"}
    assert {r.status for r in hie.rows(HiuReceivedRecord)} == {"ERASED"}
    phr = hie.patient_login(g.account)  # a month on: her PHR session had ended
    [shown] = hie.phr_get("/consents", phr, status="EXPIRED")
    assert shown["id"] == g.cm_request
    return [("consent.hi_request", "ABDM-1222"), ("records.received.read", "ABDM-1303")]


def hi_type_outside(hie: Exchange) -> Expected:
    """The patient granted prescriptions only; a HIP sends the lab report too."""
    stop_pushes(hie)
    g = grant(hie, granted=["Prescription"])
    [dr] = hie.rows(HiuDataRequest)
    assert dr.transaction_id and dr.status == "ACKNOWLEDGED"
    hie.network.intercept = None
    [lab] = hie.rows(HealthDocument, lambda m: m.hi_type == "DiagnosticReport")
    sender = fidelius.generate_key_material()
    data = plaintext(lab.bundle)
    page = {
        "pageNumber": 1,
        "pageCount": 1,
        "transactionId": dr.transaction_id,
        "entries": [
            {
                "content": fidelius.encrypt(
                    data,
                    sender_private_key=sender.private_key,
                    sender_nonce=sender.nonce,
                    receiver_public_key=dr.public_key,
                    receiver_nonce=dr.nonce,
                ),
                "media": "application/fhir+json",
                "checksum": hashlib.md5(data).hexdigest(),  # noqa: S324 - ABDM's checksum
                "careContextReference": g.opd,
            }
        ],
        "keyMaterial": sender.wire(hie.runtime.clock.now() + timedelta(hours=1)).to_dict(),
    }
    r = push_page(hie, page, authorization=f"Bearer {session_token(hie)}")
    assert r.status_code == 202, r.text
    [stored] = hie.rows(HiuReceivedRecord)
    assert (stored.status, stored.error_code, stored.bundle) == ("ERRORED", "ABDM-1304", None)
    return [("records.data.entry", "ABDM-1304")]


def date_outside(hie: Exchange) -> Expected:
    g = grant(hie)
    now = hie.runtime.clock.now()
    answer = hiu_asks(hie, g.consent_id, date_from=now - timedelta(days=400))
    assert answer["error"]["code"] == "ABDM-1224"
    assert len(hie.rows(HiRequest)) == 1  # only the first, granted request
    return [("consent.hi_request", "ABDM-1224")]


def another_hiu(hie: Exchange) -> Expected:
    g = grant(hie)
    answer = hiu_asks(hie, g.consent_id, hiu_id=hie.hiu_d)
    assert answer["error"]["code"] == "ABDM-1223"
    assert len(hie.rows(HiRequest)) == 1
    return [("consent.hi_request", "ABDM-1223")]


def tampered_artefact_at_hip(hie: Exchange) -> Expected:
    """A GRANTED notification, gateway-signed, whose artefact was widened after the CM
    signed it."""
    g = grant(hie, granted=["Prescription"])
    [cm_artefact] = hie.rows(ConsentArtefact)
    detail = json.loads(json.dumps(cm_artefact.detail))
    detail["hiTypes"] = ["Prescription", "DiagnosticReport"]
    r = gateway_callback(
        hie,
        m.HIP_CONSENT_NOTIFY,
        {
            "notification": {
                "status": "GRANTED",
                "consentId": g.consent_id,
                "consentDetail": detail,
                "signature": cm_artefact.signature,
                "grantAcknowledgement": False,
            }
        },
        hip=hie.hip_a,
    )
    assert r.status_code == 202
    [held] = hie.rows(HipConsentArtefact)
    assert held.hi_types == ["Prescription"]  # the signed one stays as it was
    hie.settle()
    [answer] = [
        json.loads(c.content)
        for c in hie.network.to_gateway
        if c.url.path.endswith(m.HIP_ON_CONSENT_NOTIFY) and b"error" in c.content
    ]
    assert answer["error"]["code"] == "ABDM-1306"
    return [("records.consent.granted", "ABDM-1306")]


def tampered_artefact_at_hiu(hie: Exchange) -> Expected:
    """The HIU's fetch is answered first by someone with a widened artefact."""

    def hold_on_fetch(request: httpx.Request, send: Callable[[httpx.Request], httpx.Response]):
        if request.url.path == m.ON_CONSENT_FETCH:
            return httpx.Response(503, request=request)
        return send(request)

    hie.network.intercept = hold_on_fetch
    grant(hie, granted=["Prescription"])
    hie.network.intercept = None
    [cm_artefact] = hie.rows(ConsentArtefact)
    [fetch] = [
        json.loads(c.content) | {"rid": c.headers["REQUEST-ID"]}
        for c in hie.network.to_gateway
        if c.url.path.endswith(m.CONSENT_FETCH)
    ]
    detail = json.loads(json.dumps(cm_artefact.detail))
    detail["hiTypes"] = ["Prescription", "DiagnosticReport"]
    r = gateway_callback(
        hie,
        m.ON_CONSENT_FETCH,
        {
            "consent": {
                "status": "GRANTED",
                "consentDetail": detail,
                "signature": cm_artefact.signature,
            },
            "response": {"requestId": fetch["rid"]},
        },
        hiu_id=hie.hiu_c,
    )
    assert r.status_code == 202
    [art] = hie.rows(HiuConsentArtefact)
    assert (art.status, art.error_code) == ("ERRORED", "ABDM-1306")
    assert hie.rows(HiuDataRequest) == []  # no data asked for under it
    return [("records.artefact.verify", "ABDM-1306")]


def _forged_revocation(hie: Exchange, g: Granted) -> dict[str, Any]:
    return {
        "notification": {
            "consentRequestId": g.cm_request,
            "status": "REVOKED",
            "consentArtefacts": [{"id": g.consent_id}],
        }
    }


def forged_callback(hie: Exchange) -> Expected:
    g = grant(hie)
    r = gateway_callback(
        hie,
        m.HIU_CONSENT_NOTIFY,
        _forged_revocation(hie, g),
        hiu_id=hie.hiu_c,
        signer=another_key_signs,
    )
    assert r.status_code == 401 and r.json()["error"]["code"] == "ABDM-1101"
    assert records_ok(hie) == 2  # nothing was erased
    return [("abdm.callback.receive", "ABDM-1101")]


def unsigned_callback(hie: Exchange) -> Expected:
    g = grant(hie)
    r = gateway_callback(
        hie, m.HIU_CONSENT_NOTIFY, _forged_revocation(hie, g), hiu_id=hie.hiu_c, authorization=None
    )
    assert r.status_code == 401 and r.json()["error"]["code"] == "ABDM-1101"
    assert records_ok(hie) == 2
    return [("abdm.callback.receive", "ABDM-1101")]


def genuine_token_other_body(hie: Exchange) -> Expected:
    """A real callback's gateway token, lifted onto another body (a forged revocation)."""
    g = grant(hie)
    [granted_note] = hie.network.callbacks(m.HIU_CONSENT_NOTIFY)
    r = gateway_callback(
        hie,
        m.HIU_CONSENT_NOTIFY,
        _forged_revocation(hie, g),
        hiu_id=hie.hiu_c,
        authorization=granted_note.headers["Authorization"],
        request_id=granted_note.headers["REQUEST-ID"],
    )
    assert r.status_code == 401 and r.json()["error"]["code"] == "ABDM-1101"
    assert records_ok(hie) == 2
    return [("abdm.callback.receive", "ABDM-1101")]


def replayed_request_id_at_gateway(hie: Exchange) -> Expected:
    """The HIU's consent request sent again with its REQUEST-ID: once as it was, once
    with another body. Both are refused with 409: a 202 promises a callback, and the
    one callback this REQUEST-ID gets was sent for the first request already."""
    linked_patient(hie)
    doctor_asks(hie, ("Prescription",))
    [init] = [c for c in hie.network.to_gateway if c.url.path.endswith(m.CONSENT_INIT)]
    answers = len(hie.network.callbacks(m.ON_CONSENT_INIT))
    assert answers == 1
    again = hie.network.resend(init)
    assert again.status_code == 409, again.text
    error = again.json()["error"]
    assert error["code"] == "ABDM-1113" and "already accepted" in error["message"]
    hie.settle()
    assert len(hie.rows(ConsentRequest)) == 1
    assert len(hie.network.callbacks(m.ON_CONSENT_INIT)) == answers  # no second answer
    changed = json.loads(init.content)
    changed["consent"]["hiTypes"] = ["DischargeSummary"]
    content = json.dumps(changed).encode()
    headers = {k: v for k, v in init.headers.items() if k.lower() != "content-length"}
    r = hie.network.handle_request(
        httpx.Request("POST", init.url, headers=headers, content=content)
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "ABDM-1112"
    hie.settle()
    assert len(hie.rows(ConsentRequest)) == 1
    return [("gateway.accept", "ABDM-1113"), ("gateway.accept", "ABDM-1112")]


def replayed_request_id_at_bridge(hie: Exchange) -> Expected:
    """The gateway's GRANTED notification delivered again with its REQUEST-ID."""
    grant(hie)
    [note] = hie.network.callbacks(m.HIU_CONSENT_NOTIFY)
    fetches = len([c for c in hie.network.to_gateway if c.url.path.endswith(m.CONSENT_FETCH)])
    r = hie.network.resend(note)
    assert r.status_code == 202
    hie.settle()
    after = len([c for c in hie.network.to_gateway if c.url.path.endswith(m.CONSENT_FETCH)])
    assert after == fetches == 1 and len(hie.rows(HiuDataRequest)) == 1
    return [("abdm.callback.receive", "ABDM-1112")]


# --------------------------------------------------------------------------- the data push


def held_page(hie: Exchange) -> tuple[Granted, dict[str, Any]]:
    """A granted transfer whose pushes the HIP's worker never got through, and the page
    a HIP made from the specs would push for it (its two documents, fresh keys)."""
    stop_pushes(hie)
    g = grant(hie)
    hie.network.intercept = None
    [transfer] = hie.rows(HipDataTransfer)
    hiu_key = fidelius.WireKeyMaterial.from_dict(transfer.hiu_key_material)
    docs = [(d.bundle, g.opd) for d in hie.rows(HealthDocument)]
    return g, spec_page(hie, transfer.transaction_id, hiu_key, docs)


def nothing_received(hie: Exchange) -> bool:
    return hie.rows(HiuReceivedRecord) == [] and hie.rows(HiuDataRequest)[0].pages_received == []


def push_without_the_gateways_token(hie: Exchange) -> Expected:
    """The transaction id alone is no credential: the push must carry the HIP bridge's
    gateway session token, verified like every other inbound call."""
    _, page = held_page(hie)
    keyring, clock = hie.runtime.keyring, hie.runtime.clock
    now = int(clock.now().timestamp())
    access = {
        "iss": tokens.ISSUER,
        "sub": CLIENT_ID,
        "aud": "hiecm-gateway",
        "iat": now,
        "exp": now + 600,
        "typ": "access",
        "clientId": CLIENT_ID,
    }
    content = json.dumps(page).encode()
    tries = {
        "none": None,
        "garbage": "Bearer garbage.not.jwt",
        "not a bearer": "Basic " + base64.b64encode(b"jk-hmis:secret").decode(),
        "another key": "Bearer " + another_key_signs(access, {"kid": tokens.key_id(keyring)}),
        "a callback's token": "Bearer "
        + callback_token(
            hie.runtime.keyring,
            audience=CLIENT_ID,
            request_id=str(uuid.uuid4()),
            body_digest=hashlib.sha256(content).hexdigest(),
            service_header="X-HIU-ID",
            service_id=hie.hiu_c,
            clock=hie.runtime.clock,
            settings=hie.runtime.settings.gateway,
        ),
        "a refresh token": "Bearer "
        + tokens.issue(
            keyring,
            subject=CLIENT_ID,
            audience="hiecm-gateway-refresh",
            ttl_seconds=600,
            clock=clock,
            claims={"clientId": CLIENT_ID, "typ": "refresh"},
        ),
        "an ABHA user token": "Bearer "
        + tokens.issue(
            keyring, subject="someone", audience=tokens.USER_AUDIENCE, ttl_seconds=600, clock=clock
        ),
        "expired": "Bearer "
        + tokens.issue(
            keyring,
            subject=CLIENT_ID,
            audience="hiecm-gateway",
            ttl_seconds=-120,
            clock=clock,
            claims={"clientId": CLIENT_ID, "typ": "access"},
        ),
    }
    for what, authorization in tries.items():
        r = push_page(hie, page, authorization=authorization)
        assert r.status_code == 401, (what, r.status_code, r.text)
        code = "ABDM-1102" if what == "expired" else "ABDM-1101"
        assert r.json()["error"]["code"] == code, (what, r.text)
        assert nothing_received(hie), what
    # The very same page with the HIP bridge's session token is taken.
    r = push_page(hie, page, authorization=f"Bearer {session_token(hie)}")
    assert r.status_code == 202, r.text
    assert records_ok(hie) == 2
    return [("records.data.receive", "ABDM-1101"), ("records.data.receive", "ABDM-1102")]


def push_with_another_bridges_token(hie: Exchange) -> Expected:
    """A genuine session token of a bridge that does not serve the transfer's HIP (the
    HIP is this deployment's, so the HIU knows its bridge)."""
    _, page = held_page(hie)
    with unit_of_work(hie.runtime.session_factory) as s:
        _, secret = register_bridge(
            s,
            system_context(),
            client_id="other-hmis",
            name="Another HMIS",
            url="http://other.test",
            clock=hie.runtime.clock,
            settings=hie.runtime.settings.gateway,
            development=hie.runtime.settings.is_development,
        )
    r = push_page(hie, page, authorization=f"Bearer {session_token(hie, 'other-hmis', secret)}")
    assert r.status_code == 403, r.text
    assert r.json()["error"]["code"] == "ABDM-1109"
    assert nothing_received(hie)
    return [("records.data.receive", "ABDM-1109")]


def push_after_revocation(hie: Exchange) -> Expected:
    """The patient revoked: a page sent before and sent again, and a page never sent,
    are both refused with the consent's code (the HIP learns the consent is gone)."""
    g = grant(hie)
    assert records_ok(hie) == 2
    sent, _second = [r for r in hie.network.to_hmis if r.url.path.endswith("/data/push")]
    hie.phr_post(f"/consents/{g.cm_request}/revoke", g.phr, {})
    hie.settle()
    assert {r.status for r in hie.rows(HiuReceivedRecord)} == {"ERASED"}
    r = hie.network.resend(sent)
    assert r.status_code == 403, r.text
    error = r.json()["error"]
    assert error["code"] == "ABDM-1302" and "revoked" in error["message"]
    page = json.loads(sent.content) | {"pageNumber": 3, "pageCount": 3}
    r = push_page(hie, page, authorization=f"Bearer {session_token(hie)}")
    assert r.status_code == 403 and r.json()["error"]["code"] == "ABDM-1302", r.text
    assert {(r.status, r.bundle) for r in hie.rows(HiuReceivedRecord)} == {("ERASED", None)}
    assert len(hie.rows(HiuReceivedRecord)) == 2
    return [("records.data.receive", "ABDM-1302")]


CASES: dict[str, Callable[[Exchange], Expected]] = {
    "no consent": no_consent,
    "denied": denied,
    "revoked": revoked,
    "expired": expired,
    "HI type outside the artefact": hi_type_outside,
    "date outside the range": date_outside,
    "another HIU": another_hiu,
    "tampered artefact signature (HIP)": tampered_artefact_at_hip,
    "tampered artefact signature (HIU)": tampered_artefact_at_hiu,
    "forged callback (another key)": forged_callback,
    "unsigned callback": unsigned_callback,
    "gateway token on another body": genuine_token_other_body,
    "replayed REQUEST-ID (gateway)": replayed_request_id_at_gateway,
    "replayed REQUEST-ID (bridge)": replayed_request_id_at_bridge,
    "data push without the gateway's token": push_without_the_gateways_token,
    "data push with another bridge's token": push_with_another_bridges_token,
    "data push after revocation": push_after_revocation,
}


@pytest.mark.parametrize("case", list(CASES))
def test_refused_and_audited(hie: Exchange, case: str) -> None:
    expected = CASES[case](hie)
    assert expected
    for action, reason in expected:
        rows = hie.audit(action, failed=True, reason=reason)
        assert rows, f"{case}: no refusal of {action} with {reason} in the audit trail"
        assert {r.outcome for r in rows} <= REFUSED
    # The trail names things by ids and codes: never the patient's ABHA address.
    with unit_of_work(hie.runtime.session_factory) as s:
        named = s.scalars(select(AuditEvent.resource_id).where(AuditEvent.resource_id.is_not(None)))
        assert not [n for n in named if "@" in n]
