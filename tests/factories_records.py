"""A small fake consent manager for the facility side's tests, and record factories.

The facility side (the whole app, at ``hmis.test``: the state HMIS bridge serving a few
HIPs and HIUs) talks to ``cm.test`` over HTTP through ``AsgiLoopback``, exactly as it
would to NHA's gateway. The fake CM is a tiny ASGI app: it hands out a session token,
publishes the keyring's key at ``/gateway/v3/certs``, and answers every other call 202
while recording it. The test then plays the consent manager: it sends the callbacks a
CM would send, signed like the gateway signs them (``network.gateway.service.callback_token``),
and consent artefacts signed like the CM signs them (RS256 detached JWS over the
canonical JSON of consentDetail, with the key the certs endpoint publishes).

The ``cm`` fixture (a pytest plugin of tests/conftest.py) is that fake CM, for a test
whose module runs on ``records_settings``.
"""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import select

from healthstack.app import HfrFacilityNames
from healthstack.facility.records import care_contexts as cc
from healthstack.facility.records import hiu
from healthstack.facility.records.config import ig_for
from healthstack.facility.records.fhir import Practitioner
from healthstack.facility.records.models import HiuReceivedRecord
from healthstack.integrations.abdm.client import stamp
from healthstack.integrations.abdm.transport import AsgiLoopback
from healthstack.integrations.sms import SMS_TOPIC, sent_to
from healthstack.jobs.worker import handlers_for
from healthstack.kernel import tokens
from healthstack.kernel.context import (
    Actor,
    ActorKind,
    Purpose,
    RequestContext,
    Role,
    system_context,
)
from healthstack.kernel.outbox import OutboxMessage
from healthstack.kernel.relay import drain
from healthstack.kernel.uow import unit_of_work
from healthstack.network.gateway.service import callback_token
from healthstack.protocol.abdm import messages as m
from healthstack.protocol.fhir.terminology import EncounterClass
from healthstack.runtime import Runtime
from healthstack.seed import records as samples
from healthstack.settings import AbdmSettings, Settings

CM_HOST = "cm.test"
HMIS_HOST = "hmis.test"
CLIENT_ID = "jk-hmis"
SECRET = "a-bridge-secret-for-tests-only"  # noqa: S105
HIU = "IN0110000001"  # the doctor's facility (FACILITY_A in tests/conftest.py)
HIP_A = "IN0110000002"
HIP_B = "IN0110000003"
DOCTOR = Practitioner(hpr_id="71-4321-8765-2109", name="Dr. Imran Lone")
SEED_CTX = RequestContext(actor=system_context().actor, purpose=Purpose.SEEDING)


def records_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "base_url": f"http://{HMIS_HOST}",
            "abdm": AbdmSettings(
                gateway_url=f"http://{CM_HOST}/api/hiecm", client_id=CLIENT_ID, client_secret=SECRET
            ),
        }
    )


@dataclass
class Call:
    path: str  # relative to the gateway base, e.g. /v3/token/generate-token
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def request_id(self) -> str:
        return self.headers["request-id"]


@dataclass
class FakeCm:
    runtime: Runtime
    hmis_app: Any
    calls: list[Call] = field(default_factory=list)
    # Pushes and callbacks the HMIS received (what went over the wire to it).
    to_hmis: list[httpx.Request] = field(default_factory=list)
    # Wraps each request to the HMIS: ``intercept(request, send)`` may change the
    # request, drop it, or raise (a worker killed before or after the HMIS took it).
    intercept: (
        Callable[[httpx.Request, Callable[[httpx.Request], httpx.Response]], httpx.Response] | None
    ) = None
    sessions_issued: int = 0

    def __post_init__(self) -> None:
        app = FastAPI()
        runtime = self.runtime

        @app.post("/api/hiecm/gateway/v3/sessions")
        def sessions() -> JSONResponse:
            self.sessions_issued += 1
            return JSONResponse(
                {
                    "accessToken": session_token(runtime),
                    "expiresIn": 1800,
                    "tokenType": "bearer",
                }
            )

        @app.get("/api/hiecm/gateway/v3/certs")
        def certs() -> JSONResponse:
            return JSONResponse(tokens.jwks(runtime.keyring))

        @app.post("/api/hiecm/{path:path}")
        async def anything(path: str, request: Request) -> Response:
            body = json.loads(await request.body() or b"{}")
            self.calls.append(
                Call("/" + path, {k.lower(): v for k, v in request.headers.items()}, body)
            )
            return Response(status_code=202)

        self.app = app
        self.loop = AsgiLoopback({CM_HOST: app, HMIS_HOST: self.hmis_app})
        outer = self

        class Network(httpx.BaseTransport):
            def handle_request(self, request: httpx.Request) -> httpx.Response:
                if request.url.host != HMIS_HOST:
                    return outer.loop.handle_request(request)
                request.read()

                def send(req: httpx.Request) -> httpx.Response:
                    req.read()
                    outer.to_hmis.append(req)
                    return outer.loop.handle_request(req)

                if outer.intercept is not None:
                    return outer.intercept(request, send)
                return send(request)

        self.transport = Network()
        runtime.ports.abdm_transport = self.transport

    # ------------------------------------------------------------------ the worker

    def run_worker(self) -> int:
        return drain(
            self.runtime.session_factory, handlers_for(self.runtime), clock=self.runtime.clock
        )

    def taken(self, path: str) -> list[Call]:
        return [c for c in self.calls if c.path == path]

    def last(self, path: str) -> Call:
        found = self.taken(path)
        assert found, f"no call to {path}; calls: {[c.path for c in self.calls]}"
        return found[-1]

    # ------------------------------------------------------------------ callbacks

    def callback(
        self,
        path: str,
        body: dict[str, Any],
        *,
        hip: str | None = None,
        hiu: str | None = None,
        in_reply_to: str | None = None,
        request_id: str | None = None,
    ) -> httpx.Response:
        """POST a gateway-signed callback to the HMIS bridge, as the gateway would."""
        payload = dict(body)
        if in_reply_to is not None and "response" not in payload:
            payload["response"] = {"requestId": in_reply_to}
        content = m.canonical_json(payload)
        rid = request_id or str(uuid.uuid4())
        header, sid = ("X-HIP-ID", hip) if hip else ("X-HIU-ID", hiu)
        token = callback_token(
            self.runtime.keyring,
            audience=CLIENT_ID,
            request_id=rid,
            body_digest=hashlib.sha256(content).hexdigest(),
            service_header=header if sid else None,
            service_id=sid,
            clock=self.runtime.clock,
            settings=self.runtime.settings.gateway,
        )
        headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "REQUEST-ID": rid,
            "TIMESTAMP": stamp(self.runtime.clock.now()),
            "X-CM-ID": self.runtime.settings.abdm.cm_id,
        }
        if sid:
            headers[header] = sid
        request = httpx.Request(
            "POST", f"http://{HMIS_HOST}{path}", headers=headers, content=content
        )
        return self.transport.handle_request(request)

    # ------------------------------------------------------------------ artefacts

    def sign(self, detail: dict[str, Any]) -> str:
        return jwt.api_jws.encode(
            m.consent_signing_input(detail),
            self.runtime.keyring.private_key("signing"),
            algorithm="RS256",
            headers={"kid": tokens.key_id(self.runtime.keyring)},
            is_payload_detached=True,
        )

    def artefact(
        self,
        *,
        hip: str,
        hiu: str,
        patient: str,
        care_contexts: Iterable[tuple[str, str]],
        hi_types: Iterable[str],
        date_from: datetime,
        date_to: datetime,
        erase_at: datetime,
        consent_id: str | None = None,
    ) -> dict[str, Any]:
        detail = m.ConsentDetail(
            consent_id=consent_id or str(uuid.uuid4()),
            created_at=self.runtime.clock.now(),
            patient=m.PatientId(id=patient),
            care_contexts=[
                m.CareContextRef(patient_reference=p, care_context_reference=c)
                for p, c in care_contexts
            ],
            purpose=m.UsePurpose(text="Care Management", code="CAREMGT", ref_uri=m.PURPOSE_REF_URI),
            hip=m.OrgRef(id=hip, name="GMC Jammu"),
            hiu=m.OrgRef(id=hiu),
            consent_manager=m.OrgRef(id="sbx"),
            requester=m.Requester(name="Dr. Demo Doctor"),
            hi_types=list(hi_types),
            permission=m.Permission(
                access_mode="VIEW",
                date_range=m.DateRange(from_=date_from, to=date_to),
                data_erase_at=erase_at,
                frequency=m.Frequency(unit="HOUR", value=1, repeats=0),
            ),
        )
        return m.dump(detail)

    def notify_hip(
        self, detail: dict[str, Any], *, signature: str | None = None, status: str = "GRANTED"
    ) -> httpx.Response:
        notification: dict[str, Any] = {"status": status, "consentId": detail["consentId"]}
        if status == "GRANTED":
            notification.update(
                consentDetail=detail,
                signature=signature if signature is not None else self.sign(detail),
                grantAcknowledgement=False,
            )
        return self.callback(
            m.HIP_CONSENT_NOTIFY, {"notification": notification}, hip=detail["hip"]["id"]
        )

    def hi_request_to_hip(
        self,
        *,
        hip: str,
        consent_id: str,
        key_material: dict[str, Any],
        date_from: datetime,
        date_to: datetime,
        transaction_id: str | None = None,
        push_url: str | None = None,
    ) -> tuple[str, httpx.Response]:
        txn = transaction_id or str(uuid.uuid4())
        body = {
            "transactionId": txn,
            "hiRequest": {
                "consent": {"id": consent_id},
                "dateRange": {"from": m.abdm_timestamp(date_from), "to": m.abdm_timestamp(date_to)},
                "dataPushUrl": push_url or f"http://{HMIS_HOST}/api/v3/hiu/data/push",
                "keyMaterial": key_material,
            },
        }
        return txn, self.callback(m.HIP_HI_REQUEST, body, hip=hip)


def session_token(runtime: Runtime, client_id: str = CLIENT_ID, ttl_seconds: int = 1800) -> str:
    """A gateway session token for ``client_id`` as the gateway issues one (signed with
    the key its certs publish; the session audience and type)."""
    return tokens.issue(
        runtime.keyring,
        subject=client_id,
        audience="hiecm-gateway",
        ttl_seconds=ttl_seconds,
        clock=runtime.clock,
        claims={"clientId": client_id, "typ": "access"},
    )


def push_headers(runtime: Runtime, client_id: str = CLIENT_ID) -> dict[str, str]:
    """What a HIP sends its data push with: its bridge's gateway session token."""
    return {"Authorization": f"Bearer {session_token(runtime, client_id)}"}


# --------------------------------------------------------------------------- records


def make_patient(
    runtime: Runtime,
    *,
    hip: str = HIP_A,
    mrn: str = "MRN-0001",
    name: str = "Asha Devi",
    gender: str = "F",
    year_of_birth: int = 1985,
    mobile: str | None = "9876543210",
    abha_number: str | None = "91-6285-4575-5116",
    abha_address: str | None = "asha.devi@sbx",
) -> str:
    with unit_of_work(runtime.session_factory) as s:
        p = cc.ensure_patient(
            s,
            SEED_CTX,
            clock=runtime.clock,
            hip_id=hip,
            mrn=mrn,
            name=name,
            gender=gender,
            year_of_birth=year_of_birth,
            mobile=mobile,
            abha_number=abha_number,
            abha_address=abha_address,
        )
        return str(p.public_id)


def add_visit(
    runtime: Runtime,
    *,
    hip: str = HIP_A,
    mrn: str = "MRN-0001",
    kind: EncounterClass = EncounterClass.OPD,
    start: datetime,
    contents: Iterable[Any],
    link: bool = True,
    reference: str | None = None,
) -> str:
    """A visit with its documents; returns the care context reference."""
    with unit_of_work(runtime.session_factory) as s:
        patient = cc.get_patient(s, hip_id=hip, mrn=mrn)
        visit = cc.open_care_context(
            s,
            SEED_CTX,
            clock=runtime.clock,
            names=HfrFacilityNames(),
            patient=patient,
            kind=kind,
            start=start,
            reference=reference,
        )
        for n, content in enumerate(contents):
            cc.record_document(
                s,
                SEED_CTX,
                clock=runtime.clock,
                ig=ig_for(runtime.settings),
                outbox=runtime.abdm_outbox(),
                hasher=runtime.hasher,
                names=HfrFacilityNames(),
                care_context=visit,
                content=content,
                practitioner=DOCTOR,
                now=start + timedelta(minutes=10 * (n + 1)),
                link=link,
            )
        return visit.reference


# --------------------------------------------------------------------------- the exchange

PATIENT = "asha.devi@sbx"
DOCTOR_ACTOR = Actor(
    kind=ActorKind.STAFF, id="doctor-public-id", role=Role.DOCTOR, facility_id=HIU, display="doc"
)


def doctor_ctx(actor: Actor = DOCTOR_ACTOR) -> RequestContext:
    return RequestContext(actor=actor, purpose=Purpose.CARE_MANAGEMENT)


@dataclass
class Hip:
    visits: dict[str, str]  # name -> care context reference


def seed_hip(runtime, clock) -> Hip:
    """A patient at HIP A with three visits: an OPD visit 60 days ago (consultation,
    prescription, lab report), an admission 20 days ago (imaging, discharge summary) and
    an OPD visit 400 days ago (prescription), outside a one-year consent."""
    rng = random.Random(3)
    make_patient(runtime)
    now = clock.now()
    opd = now - timedelta(days=60)
    ipd = now - timedelta(days=20)
    old = now - timedelta(days=400)
    visits = {
        "opd": add_visit(
            runtime,
            start=opd,
            link=False,
            contents=[
                samples.op_consultation(rng, opd),
                samples.prescription(rng, opd),
                samples.lab_report(rng, opd),
            ],
        ),
        "ipd": add_visit(
            runtime,
            kind=EncounterClass.IPD,
            start=ipd,
            link=False,
            contents=[
                samples.imaging_report(rng, ipd, 1),
                samples.invoice(rng, ipd, "B/1", ipd=True),
            ],
        ),
        "old": add_visit(runtime, start=old, link=False, contents=[samples.prescription(rng, old)]),
    }
    return Hip(visits)


@dataclass
class Granted:
    request_id: str  # the HIU consent request's public id
    consent_id: str
    detail: dict
    transaction_id: str
    hi_request: dict  # the body the HIU sent


def ask(runtime, clock, *, hi_types=("OPConsultation", "Prescription", "DiagnosticReport")):
    now = clock.now()
    with unit_of_work(runtime.session_factory) as s:
        row = hiu.request_records(
            s,
            doctor_ctx(),
            clock=runtime.clock,
            outbox=runtime.abdm_outbox(),
            phr_hiu_id=runtime.settings.consent.phr_hiu_id,
            hiu_id=HIU,
            patient_abha_address=PATIENT.upper(),
            hi_types=list(hi_types),
            date_from=now - timedelta(days=365),
            date_to=now,
            data_erase_at=now + timedelta(days=30),
            requester_name="Dr. Demo Doctor",
        )
        return str(row.public_id)


def consent_notify(cm: FakeCm, status: str, consent_id: str, request: str = "cr-1") -> Any:
    """The CM tells the HIU that consent request ``request``'s artefact ``consent_id``
    is now ``status`` (GRANTED, REVOKED, ...); the HIU's answer."""
    return cm.callback(
        m.HIU_CONSENT_NOTIFY,
        {
            "notification": {
                "consentRequestId": request,
                "status": status,
                "consentArtefacts": [{"id": consent_id}],
            }
        },
        hiu=HIU,
    )


def grant(
    cm: FakeCm,
    runtime,
    clock,
    hip: Hip,
    *,
    hi_types=("OPConsultation", "Prescription", "DiagnosticReport"),
    granted_types=None,
    visits=("opd", "ipd", "old"),
    hiu_in_artefact=HIU,
    forward=True,
    asked: str | None = None,
    hip_here=True,
) -> Granted:
    """Play the consent manager from consent init to the HIP's HI request (``asked``: a
    consent request made already, e.g. through the doctor's page; ``hip_here=False``:
    the artefact's HIP is another deployment's, so this one's HIP never hears of it)."""
    request_id = asked or ask(runtime, clock, hi_types=hi_types)
    cm.run_worker()
    init = cm.last(m.CONSENT_INIT)
    assert init.headers["x-hiu-id"] == HIU
    r = cm.callback(
        m.ON_CONSENT_INIT, {"consentRequest": {"id": "cr-1"}}, hiu=HIU, in_reply_to=init.request_id
    )
    assert r.status_code == 202, r.text
    now = clock.now()
    detail = cm.artefact(
        hip=HIP_A,
        hiu=hiu_in_artefact,
        patient=PATIENT,
        care_contexts=[("MRN-0001", hip.visits[v]) for v in visits],
        hi_types=granted_types or hi_types,
        date_from=now - timedelta(days=365),
        date_to=now,
        erase_at=now + timedelta(days=30),
    )
    consent_id = detail["consentId"]
    if hip_here:
        assert cm.notify_hip(detail).status_code == 202
    r = consent_notify(cm, "GRANTED", consent_id)
    assert r.status_code == 202, r.text
    cm.run_worker()
    ack = cm.last(m.HIU_ON_CONSENT_NOTIFY)
    assert ack.body["acknowledgement"] == [{"status": "OK", "consentId": consent_id}]
    fetch = cm.last(m.CONSENT_FETCH)
    assert fetch.body == {"consentId": consent_id}
    r = cm.callback(
        m.ON_CONSENT_FETCH,
        {"consent": {"status": "GRANTED", "consentDetail": detail, "signature": cm.sign(detail)}},
        hiu=HIU,
        in_reply_to=fetch.request_id,
    )
    assert r.status_code == 202
    cm.run_worker()
    calls = cm.taken(m.HI_REQUEST)
    if not calls:
        return Granted(request_id, consent_id, detail, "", {})
    hi_call = calls[-1]
    transaction_id = str(uuid.uuid4())
    cm.callback(
        m.ON_HI_REQUEST,
        {"hiRequest": {"transactionId": transaction_id, "sessionStatus": "REQUESTED"}},
        hiu=HIU,
        in_reply_to=hi_call.request_id,
    )
    if forward:
        hr = hi_call.body["hiRequest"]
        cm.callback(m.HIP_HI_REQUEST, {"transactionId": transaction_id, "hiRequest": hr}, hip=HIP_A)
    return Granted(request_id, consent_id, detail, transaction_id, hi_call.body)


# --------------------------------------------------------------------------- fixtures and readers


@pytest.fixture
def cm(runtime: Runtime, app: Any) -> FakeCm:
    return FakeCm(runtime, app)


def received(runtime: Runtime) -> list[tuple[Any, ...]]:
    """What the HIU received, page by page: (care context, HI type, status, error code,
    page)."""
    with unit_of_work(runtime.session_factory) as s:
        return [
            (r.care_context_reference, r.hi_type, r.status, r.error_code, r.page_number)
            for r in s.scalars(
                select(HiuReceivedRecord).order_by(
                    HiuReceivedRecord.page_number, HiuReceivedRecord.entry_index
                )
            )
        ]


def otp_sms(runtime: Runtime) -> str:
    """The code of the last SMS, an OTP sent to the patient's mobile (9876543210)."""
    with unit_of_work(runtime.session_factory) as s:
        sms = s.scalars(
            select(OutboxMessage).where(OutboxMessage.topic == SMS_TOPIC).order_by(OutboxMessage.id)
        ).all()
    text = sms[-1].payload["text"]
    # Delivered by the worker: the number is masked (integrations.sms).
    assert sent_to(sms[-1].payload, "9876543210", runtime.hasher)
    return str(text.split(" ", 1)[0])
