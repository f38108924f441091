"""The health information exchange with both real sides: the network side (gateway and
consent manager, ``/api/hiecm`` and the PHR API) and the facility side (the state HMIS
bridge with its HIPs and HIUs, ``facility.records``), served by the one app under two host names
and talking to each other over HTTP only (``AsgiLoopback``), as one deployment does.

- ``cm.test``: the gateway's base URL host (``HEALTHSTACK_ABDM_GATEWAY_URL``);
- ``hmis.test``: the bridge's callback URL and the HIU's data push URL (``base_url``).

``Network`` wraps the loopback so a test can see what went to the bridge and make a
hop fail (a killed worker, an unreachable bridge). ``Exchange`` is one scenario's
wiring: the state admin registers the bridge through the admin API, the worker (a real
``jobs.worker.Worker``) runs until quiet, and helpers act as the people do: staff
recording visits, the patient in the PHR API, the doctor on the record pages. The ``hie``
fixture (a pytest plugin of tests/conftest.py) is one such scenario, for a test whose
module runs on ``hie_settings``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import random
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import func, select

from healthstack.app import HfrFacilityNames
from healthstack.facility.records import care_contexts as cc
from healthstack.facility.records import hiu
from healthstack.facility.records.config import ig_for
from healthstack.facility.records.fhir import Practitioner
from healthstack.facility.records.models import (
    HealthDocument,
    HipDataTransfer,
    HipTransferPage,
    HiuConsentRequest,
)
from healthstack.integrations.abdm.client import stamp
from healthstack.integrations.abdm.models import AbdmMessage
from healthstack.integrations.abdm.transport import AsgiLoopback
from healthstack.integrations.sms import SMS_TOPIC, sent_to
from healthstack.jobs.worker import Worker
from healthstack.kernel import tokens
from healthstack.kernel.audit import AuditEvent
from healthstack.kernel.context import Actor, ActorKind, Purpose, RequestContext, Role
from healthstack.kernel.outbox import OutboxMessage
from healthstack.kernel.uow import unit_of_work
from healthstack.network.abha.models import AbhaAccount
from healthstack.network.gateway.models import GatewayMessage
from healthstack.network.gateway.service import callback_token
from healthstack.protocol.abdm import fidelius
from healthstack.protocol.abdm import messages as m
from healthstack.protocol.fhir.documents.model import RecordContent
from healthstack.protocol.fhir.terminology import EncounterClass
from healthstack.runtime import Runtime
from healthstack.seed import records as samples
from healthstack.settings import AbdmSettings, Settings
from tests.factories_abha import create_account, login_token

GATEWAY = "cm.test"
HMIS = "hmis.test"
GATEWAY_URL = f"http://{GATEWAY}/api/hiecm"
CLIENT_ID = "jk-hmis"
SECRET = "a-bridge-secret-for-tests-only"  # noqa: S105
# The facilities, registered in the HFR first (their ids come from the registry).
FACILITIES = (
    ("hip_a", "PHC Khag", "phc"),  # knows the patient's ABHA
    ("hip_b", "SDH Bijbehara", "sub_district_hospital"),  # knows only her mobile
    ("hiu_c", "GMC Srinagar", "medical_college_hospital"),  # the doctor who asks
    ("hiu_d", "DH Anantnag", "district_hospital"),  # another HIU on the same bridge
)
PATIENT_NAME = "Asha Devi"
PATIENT_HANDLE = "asha.devi"
PATIENT_ADDRESS = "asha.devi@sbx"
PATIENT_MOBILE = "9876500011"
DOCTOR_HPR = Practitioner(hpr_id="71-4321-8765-2109", name="Dr. Imran Lone")
PHR = "/api/v1/phr"
PIN = "2580"  # the patient's consent PIN (approving needs one)


def hie_settings(settings: Settings) -> Settings:
    """The facility side's client points at this deployment's own gateway."""
    return settings.model_copy(
        update={
            "base_url": f"http://{HMIS}",
            "abdm": AbdmSettings(
                gateway_url=GATEWAY_URL, client_id=CLIENT_ID, client_secret=SecretStr(SECRET)
            ),
        }
    )


Intercept = Callable[[httpx.Request, Callable[[httpx.Request], httpx.Response]], httpx.Response]


class Network(httpx.BaseTransport):
    """The loopback between the hosts, with what reached the bridge host recorded and
    an optional ``intercept(request, send)`` that may change, drop or fail a hop."""

    def __init__(self, app: Any):
        self.loop = AsgiLoopback({GATEWAY: app, HMIS: app})
        self.to_hmis: list[httpx.Request] = []
        self.to_gateway: list[httpx.Request] = []
        self.intercept: Intercept | None = None

    def _send(self, request: httpx.Request) -> httpx.Response:
        request.read()
        (self.to_hmis if request.url.host == HMIS else self.to_gateway).append(request)
        return self.loop.handle_request(request)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        if self.intercept is not None:
            return self.intercept(request, self._send)
        return self._send(request)

    def pushes(self) -> list[dict[str, Any]]:
        return [
            json.loads(r.content)
            for r in self.to_hmis
            if r.url.path == "/api/v3/hiu/data/push" and r.method == "POST"
        ]

    def callbacks(self, path: str) -> list[httpx.Request]:
        return [r for r in self.to_hmis if r.url.path == path]

    def resend(self, request: httpx.Request) -> httpx.Response:
        """The exact bytes and headers of an earlier request, again."""
        again = httpx.Request(
            request.method, request.url, headers=request.headers, content=request.content
        )
        return self._send(again)


def staff_context(facility: str, role: Role = Role.DOCTOR) -> RequestContext:
    actor = Actor(
        kind=ActorKind.STAFF,
        id=f"staff-{facility}",
        role=role,
        facility_id=facility,
        display="Facility staff",
    )
    return RequestContext(actor=actor, purpose=Purpose.CARE_MANAGEMENT)


@dataclass
class Visit:
    hip: str
    reference: str
    contents: list[RecordContent]


@dataclass
class Exchange:
    runtime: Runtime
    app: Any
    client: TestClient
    network: Network
    worker: Worker = field(init=False)
    sites: dict[str, str] = field(default_factory=dict)
    _mrn: Iterable[int] = field(default_factory=lambda: itertools.count(1001))

    def __post_init__(self) -> None:
        self.runtime.ports.gateway_transport = self.network
        self.runtime.ports.abdm_transport = self.network
        self.worker = Worker(self.runtime)

    # ------------------------------------------------------------------ the worker

    def settle(self, *, limit: int = 200) -> int:
        """Run the worker until nothing is due (every hop of the exchange is a job:
        calls to the gateway, the CM's handlers, callbacks, SMS, the HIP's push)."""
        total = 0
        for _ in range(limit):
            handled = self.worker.run_once()
            total += handled
            if handled == 0:
                return total
        raise AssertionError("the worker did not become quiet")

    def restart_worker(self) -> Worker:
        """A fresh worker process (no state carried over but the database)."""
        self.worker = Worker(self.runtime)
        return self.worker

    # ------------------------------------------------------------------ set-up as an admin

    def register_facilities(self) -> None:
        """The facilities are in the HFR (submitted by the state), running the HMIS."""
        from healthstack.network.hfr.service import register_facility
        from tests.factories_facilities import details

        state = RequestContext(
            actor=Actor(kind=ActorKind.STAFF, id="state-admin", role=Role.STATE_ADMIN),
            purpose=Purpose.ADMINISTRATION,
        )
        with unit_of_work(self.runtime.session_factory) as s:
            for key, name, kind in FACILITIES:
                done = register_facility(
                    s,
                    state,
                    clock=self.runtime.clock,
                    profile=self.runtime.settings.profile,
                    details=details(name=name, facility_type=kind, hmis="J&K HMIS"),
                )
                self.sites[key] = done.facility.hfr_id

    def register_bridge(self, admin_headers: dict[str, str]) -> None:
        """The state IT cell registers its HMIS with the gateway (admin API) and the
        facilities it serves, each as HIP and HIU, and the PHR's own HIU."""
        if not self.sites:
            self.register_facilities()
        r = self.client.post(
            "/api/v1/gateway/bridges",
            json={
                "client_id": CLIENT_ID,
                "name": "J&K state HMIS",
                "url": f"http://{HMIS}",
                "secret": SECRET,
            },
            headers=admin_headers,
        )
        assert r.status_code == 201, r.text
        for key, name, _ in FACILITIES:
            for kind in ("HIP", "HIU"):
                r = self.client.post(
                    f"/api/v1/gateway/bridges/{CLIENT_ID}/services",
                    json={"service_id": self.sites[key], "type": kind, "name": name},
                    headers=admin_headers,
                )
                assert r.status_code == 201, r.text
        # The PHR reads the patient's own records as an HIU of its own, on this bridge.
        r = self.client.post(
            f"/api/v1/gateway/bridges/{CLIENT_ID}/services",
            json={"service_id": self.phr_hiu, "type": "HIU", "name": "HealthStack PHR"},
            headers=admin_headers,
        )
        assert r.status_code == 201, r.text

    @property
    def phr_hiu(self) -> str:
        return self.runtime.settings.consent.phr_hiu_id

    @property
    def hip_a(self) -> str:
        return self.sites["hip_a"]

    @property
    def hip_b(self) -> str:
        return self.sites["hip_b"]

    @property
    def hiu_c(self) -> str:
        return self.sites["hiu_c"]

    @property
    def hiu_d(self) -> str:
        return self.sites["hiu_d"]

    # ------------------------------------------------------------------ the facility's records

    def register_patient(
        self,
        hip: str,
        *,
        abha_number: str | None = None,
        abha_address: str | None = None,
        mobile: str | None = PATIENT_MOBILE,
        name: str = PATIENT_NAME,
        gender: str = "F",
        year_of_birth: int = 1985,
        mrn: str | None = None,
    ) -> str:
        mrn = mrn or f"MRN-{next(self._mrn)}"  # type: ignore[call-overload]
        with unit_of_work(self.runtime.session_factory) as s:
            cc.ensure_patient(
                s,
                staff_context(hip, Role.REGISTRATION_DESK),
                clock=self.runtime.clock,
                hip_id=hip,
                mrn=mrn,
                name=name,
                gender=gender,
                year_of_birth=year_of_birth,
                mobile=mobile,
                abha_number=abha_number,
                abha_address=abha_address,
            )
        return mrn

    def record_visit(
        self,
        hip: str,
        mrn: str,
        *,
        start: datetime,
        contents: list[RecordContent],
        kind: EncounterClass = EncounterClass.OPD,
        reference: str | None = None,
        at: datetime | None = None,
    ) -> Visit:
        """A doctor at ``hip`` records a visit (or, with ``reference``, adds to one, at
        ``at``): each document is validated, stored and sets off linking (or an SMS, or
        a context notify) as the HMIS does."""
        with unit_of_work(self.runtime.session_factory) as s:
            patient = cc.get_patient(s, hip_id=hip, mrn=mrn)
            visit = cc.open_care_context(
                s,
                staff_context(hip),
                clock=self.runtime.clock,
                names=HfrFacilityNames(),
                patient=patient,
                kind=kind,
                start=start,
                reference=reference,
            )
            for n, content in enumerate(contents):
                cc.record_document(
                    s,
                    staff_context(hip),
                    clock=self.runtime.clock,
                    ig=ig_for(self.runtime.settings),
                    outbox=self.runtime.abdm_outbox(),
                    hasher=self.runtime.hasher,
                    names=HfrFacilityNames(),
                    care_context=visit,
                    content=content,
                    practitioner=DOCTOR_HPR,
                    now=(at or start) + timedelta(minutes=10 * (n + 1)),
                )
            return Visit(hip, visit.reference, list(contents))

    # ------------------------------------------------------------------ the patient (PHR API)

    def patient_login(self, account: AbhaAccount) -> dict[str, str]:
        """The patient logs in with their ABHA number and mobile OTP."""
        return {"X-token": f"Bearer {login_token(self.client, self.runtime, account)}"}

    def set_pin(self, headers: dict[str, str], pin: str = PIN) -> None:
        """The patient sets her consent PIN in the PHR (before her first approval)."""
        self.phr_post("/pin", headers, {"pin": pin})

    def phr_get(self, path: str, headers: dict[str, str], **params: Any) -> Any:
        r = self.client.get(PHR + path, headers=headers, params=params)
        assert r.status_code == 200, r.text
        return r.json()

    def phr_post(
        self, path: str, headers: dict[str, str], body: Any = None, expect: int = 200
    ) -> Any:
        r = self.client.post(PHR + path, headers=headers, json=body)
        assert r.status_code == expect, (path, r.status_code, r.text)
        return r.json()

    # ------------------------------------------------------------------ the doctor (pages)

    def doctor_client(self, make_staff: Any, facility: str | None = None) -> TestClient:
        doctor = TestClient(self.app)
        staff = make_staff(Role.DOCTOR, facility_id=facility or self.hiu_c)
        r = doctor.post(
            "/login",
            data={"username": staff.username, "password": staff.password},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
        return doctor

    def ask_for_records(
        self,
        doctor: TestClient,
        *,
        hi_types: list[str],
        date_from: str,
        date_to: str,
        expiry: str,
        address: str = PATIENT_ADDRESS,
    ) -> str:
        """The doctor's form on /records; returns the request's public id."""
        r = doctor.post(
            "/records/requests",
            data={
                "abha_address": address,
                "date_from": date_from,
                "date_to": date_to,
                "expiry": expiry,
                "hi_types": hi_types,
            },
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
        found = re.fullmatch(r"/records/requests/([0-9a-f-]{36})", r.headers["location"])
        assert found, r.headers["location"]
        return found.group(1)

    # ------------------------------------------------------------------ what happened

    def sms(self, mobile: str | None = None, template: str | None = None) -> list[dict[str, Any]]:
        with unit_of_work(self.runtime.session_factory) as s:
            rows = s.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.topic == SMS_TOPIC)
                .order_by(OutboxMessage.id)
            ).all()
            return [
                r.payload
                for r in rows
                if (mobile is None or sent_to(r.payload, mobile[-10:], self.runtime.hasher))
                and (template is None or r.payload["template"] == template)
            ]

    def last_link_otp(self, mobile: str) -> str:
        sent = self.sms(mobile, "records.link-otp")
        assert sent, "the HIP sent no OTP"
        found = re.match(r"(\d{4,8}) is your OTP", sent[-1]["text"])
        assert found, "the OTP SMS has another form"
        return found.group(1)

    def audit(
        self, action: str, *, failed: bool | None = None, reason: str | None = None
    ) -> list[AuditEvent]:
        with unit_of_work(self.runtime.session_factory) as s:
            query = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
            if failed is True:
                query = query.where(AuditEvent.outcome != "success")
            elif failed is False:
                query = query.where(AuditEvent.outcome == "success")
            if reason is not None:
                query = query.where(AuditEvent.reason_code == reason)
            return list(s.scalars(query))

    def rows(self, model: type, where: Callable[[Any], Any] | None = None) -> list[Any]:
        with unit_of_work(self.runtime.session_factory) as s:
            query = select(model).order_by(model.id)  # type: ignore[attr-defined]
            if where is not None:
                query = query.where(where(model))
            return list(s.scalars(query))

    def count(self, model: type) -> int:
        with unit_of_work(self.runtime.session_factory) as s:
            return int(s.scalar(select(func.count()).select_from(model)) or 0)

    def ledgers(self) -> dict[str, dict[str, int]]:
        """Message counts by status: the gateway's ledger (inbound, outbound), the
        facility side's (outbound, inbound) and the worker's outbox."""
        with unit_of_work(self.runtime.session_factory) as s:
            out: dict[str, dict[str, int]] = {}
            for name, model in (("gateway", GatewayMessage), ("facility", AbdmMessage)):
                for direction, status, n in s.execute(
                    select(model.direction, model.status, func.count()).group_by(
                        model.direction, model.status
                    )
                ).all():
                    out.setdefault(f"{name}.{direction}", {})[status] = int(n)
            for status, n in s.execute(
                select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
            ).all():
                out.setdefault("outbox", {})[status] = int(n)
            return out

    def assert_ledgers_clean(self) -> dict[str, dict[str, int]]:
        """Every gateway callback delivered, every request processed, every facility
        call taken by the gateway; nothing dead, failed, rejected or still waiting."""
        got = self.ledgers()
        assert set(got.get("gateway.outbound", {})) == {"delivered"}, got
        assert set(got.get("gateway.inbound", {})) == {"processed"}, got
        assert set(got.get("facility.outbound", {})) == {"sent"}, got
        assert set(got.get("facility.inbound", {})) == {"received"}, got
        assert set(got.get("outbox", {})) == {"sent"}, got
        return got


# --------------------------------------------------------------------------- a granted consent


@dataclass
class Granted:
    account: AbhaAccount
    phr: dict[str, str]  # the patient's PHR headers
    request: str  # the HIU's consent request (its public id at the HIU)
    cm_request: str  # the consent manager's consent request id
    consent_id: str  # the artefact (HIP A's)
    visits: list[Visit]  # at HIP A

    @property
    def opd(self) -> str:
        return self.visits[0].reference


def linked_patient(
    hie: Exchange, *, documents: int = 2, days_ago: int = 40
) -> tuple[AbhaAccount, list[Visit]]:
    """A patient whose visit at HIP A is linked by the HIP: a prescription and a lab
    report, then prescriptions up to ``documents`` in all (one visit each)."""
    now = hie.runtime.clock.now()
    account = patient_account(hie.runtime)
    mrn = hie.register_patient(
        hie.hip_a, abha_number=account.abha_number, abha_address=PATIENT_ADDRESS, mobile=None
    )
    r = rng()
    at = now - timedelta(days=days_ago)
    visits = [
        hie.record_visit(
            hie.hip_a,
            mrn,
            start=at,
            contents=[samples.prescription(r, at), samples.lab_report(r, at)][:documents],
        )
    ]
    for n in range(max(0, documents - 2)):
        later = at + timedelta(days=n + 1)
        visits.append(
            hie.record_visit(hie.hip_a, mrn, start=later, contents=[samples.prescription(r, later)])
        )
    hie.settle()
    return account, visits


def doctor_asks(hie: Exchange, hi_types: Iterable[str]) -> str:
    """The doctor at HIU C asks (the record pages' service); returns its public id."""
    now = hie.runtime.clock.now()
    with unit_of_work(hie.runtime.session_factory) as s:
        row = hiu.request_records(
            s,
            staff_context(hie.hiu_c),
            clock=hie.runtime.clock,
            outbox=hie.runtime.abdm_outbox(),
            phr_hiu_id=hie.runtime.settings.consent.phr_hiu_id,
            hiu_id=hie.hiu_c,
            patient_abha_address=PATIENT_ADDRESS,
            hi_types=list(hi_types),
            date_from=now - timedelta(days=365),
            date_to=now,
            data_erase_at=now + timedelta(days=30),
            requester_name="Dr. Imran Lone",
        )
        public_id = str(row.public_id)
    hie.settle()
    return public_id


def patient_asks(hie: Exchange, account: AbhaAccount, **over: Any) -> str:
    """The patient asks for their own records through the PHR (every HI type, the last
    year, unless ``over`` says otherwise); the PHR's request id."""
    from healthstack.network.abha.auth import patient_context
    from healthstack.phr import own_records

    now = hie.runtime.clock.now()
    kwargs = {
        "hi_types": [t.value for t in m.HiType],
        "date_from": now - timedelta(days=365),
        "date_to": now,
        **over,
    }
    with unit_of_work(hie.runtime.session_factory) as s:
        row = own_records.ask(
            s,
            patient_context(account, request_id="t"),
            runtime=hie.runtime,
            account=account,
            **kwargs,
        )
        return str(row.public_id)


def cm_request_id(hie: Exchange, request: str) -> str:
    """The consent manager's id of the HIU's request (from its on-init)."""
    [row] = hie.rows(HiuConsentRequest, lambda m: m.public_id == uuid.UUID(request))
    assert row.consent_request_id, "the consent manager never answered on-init"
    return str(row.consent_request_id)


def grant(
    hie: Exchange,
    *,
    hi_types: Iterable[str] = ("Prescription", "DiagnosticReport"),
    granted: list[str] | None = None,
    documents: int = 2,
    settle: bool = True,
) -> Granted:
    """Linked records at HIP A, the doctor's request, the patient's approval in the
    PHR (``granted``: the HI types she keeps); the worker carries the rest."""
    account, visits = linked_patient(hie, documents=documents)
    request = doctor_asks(hie, hi_types)
    phr = hie.patient_login(account)
    cm_request = cm_request_id(hie, request)
    choice: dict[str, Any] = {"hip": {"id": hie.hip_a}}
    if granted is not None:
        choice["hiTypes"] = granted
    hie.set_pin(phr)
    answer = hie.phr_post(
        f"/consents/{cm_request}/approve", phr, {"consents": [choice], "pin": PIN}
    )
    [artefact] = answer["consentArtefacts"]
    if settle:
        hie.settle()
    return Granted(account, phr, request, cm_request, artefact["id"], visits)


# --------------------------------------------------------------------------- by hand


def gateway_callback(
    hie: Exchange,
    path: str,
    body: dict[str, Any],
    *,
    hip: str | None = None,
    hiu_id: str | None = None,
    signer: Callable[[dict[str, Any], dict[str, str]], str] | None = None,
    authorization: str | None = "signed",
    request_id: str | None = None,
) -> httpx.Response:
    """POST a callback to the bridge as the gateway would, or as someone pretending to:
    ``signer`` makes the JWT from (claims, header); ``authorization=None`` sends none."""
    content = m.canonical_json(body)
    rid = request_id or str(uuid.uuid4())
    header, sid = ("X-HIP-ID", hip) if hip else ("X-HIU-ID", hiu_id)
    headers = {
        "Content-Type": "application/json",
        "REQUEST-ID": rid,
        "TIMESTAMP": stamp(hie.runtime.clock.now()),
        "X-CM-ID": "sbx",
    }
    if sid:
        headers[header] = sid
    if authorization == "signed":
        if signer is None:
            token = callback_token(
                hie.runtime.keyring,
                audience=CLIENT_ID,
                request_id=rid,
                body_digest=hashlib.sha256(content).hexdigest(),
                service_header=header if sid else None,
                service_id=sid,
                clock=hie.runtime.clock,
                settings=hie.runtime.settings.gateway,
            )
        else:
            now = int(hie.runtime.clock.now().timestamp())
            claims = {
                "iss": tokens.ISSUER,
                "sub": "gateway",
                "aud": CLIENT_ID,
                "iat": now,
                "exp": now + 60,
                "jti": str(uuid.uuid4()),
                "typ": "callback",
                "requestId": rid,
                "bodyDigest": hashlib.sha256(content).hexdigest(),
                **({header: sid} if sid else {}),
            }
            token = signer(claims, {"kid": tokens.key_id(hie.runtime.keyring)})
        headers["Authorization"] = f"Bearer {token}"
    elif authorization is not None:
        headers["Authorization"] = authorization
    request = httpx.Request("POST", f"http://{HMIS}{path}", headers=headers, content=content)
    return hie.network.handle_request(request)


# --------------------------------------------------------------------------- a HIP from the specs


def session_token(hie: Exchange, client_id: str = CLIENT_ID, secret: str = SECRET) -> str:
    """A bridge's gateway session token, as any bridge gets one (client credentials)."""
    r = hie.client.post(
        "/api/hiecm/gateway/v3/sessions",
        json={"clientId": client_id, "clientSecret": secret, "grantType": "client_credentials"},
    )
    assert r.status_code == 200, r.text
    return str(r.json()["accessToken"])


def spec_page(
    hie: Exchange,
    transaction_id: str,
    hiu_key: fidelius.WireKeyMaterial,
    documents: Iterable[tuple[dict[str, Any], str]],
    *,
    number: int = 1,
    count: int = 1,
    sender: fidelius.KeyMaterial | None = None,
) -> dict[str, Any]:
    """One page of a data push as a HIP written from the specs makes it: its own key
    material (fresh for the page unless ``sender`` is given), each ``(bundle, care
    context)`` encrypted for the HIU's key and checksummed (MD5 of the plaintext)."""
    key = sender or fidelius.generate_key_material()
    entries = []
    for bundle, reference in documents:
        data = json.dumps(bundle).encode()
        entries.append(
            {
                "content": fidelius.encrypt(
                    data,
                    sender_private_key=key.private_key,
                    sender_nonce=key.nonce,
                    receiver_public_key=hiu_key.public_key,
                    receiver_nonce=hiu_key.nonce,
                ),
                "media": "application/fhir+json",
                "checksum": hashlib.md5(data).hexdigest(),  # noqa: S324 - ABDM's checksum
                "careContextReference": reference,
            }
        )
    return {
        "pageNumber": number,
        "pageCount": count,
        "transactionId": transaction_id,
        "entries": entries,
        "keyMaterial": key.wire(hie.runtime.clock.now() + timedelta(hours=1)).to_dict(),
    }


def hold_pushes(hie: Exchange) -> None:
    """Our own HIP's pushes never get through (the transfer is left to another HIP)."""

    def drop(
        request: httpx.Request, send: Callable[[httpx.Request], httpx.Response]
    ) -> httpx.Response:
        if request.url.path.endswith("/data/push"):
            raise httpx.ConnectError("unreachable", request=request)
        return send(request)

    hie.network.intercept = drop


def outside_hips_transfer(
    hie: Exchange, *, documents: int = 2
) -> tuple[Granted, str, fidelius.WireKeyMaterial, list[tuple[dict[str, Any], str]]]:
    """A granted transfer left to an outside HIP: the transaction id and the HIU's key
    material it got in the HI request, and the documents (bundle, care context) the
    artefact covers."""
    hold_pushes(hie)
    g = grant(hie, documents=documents)
    hie.network.intercept = None
    [transfer] = hie.rows(HipDataTransfer)
    docs = {d.id: d.bundle for d in hie.rows(HealthDocument)}
    entries = [
        (docs[int(e["document"])], str(e["careContextReference"]))
        for page in hie.rows(HipTransferPage)
        for e in page.entries
    ]
    hiu_key = fidelius.WireKeyMaterial.from_dict(transfer.hiu_key_material)
    return g, transfer.transaction_id, hiu_key, entries


def push_page(
    hie: Exchange, page: dict[str, Any], *, authorization: str | None = None
) -> httpx.Response:
    """POST a page to the HIU's dataPushUrl over the network, with ``authorization``
    (``"Bearer ..."``) or none."""
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    url = hie.runtime.settings.base_url.rstrip("/") + "/api/v3/hiu/data/push"
    return hie.network.handle_request(
        httpx.Request("POST", url, headers=headers, content=json.dumps(page).encode())
    )


def patient_account(runtime: Runtime, **over: Any) -> AbhaAccount:
    """An ABHA holder with a verified mobile and the address asha.devi@sbx."""
    from datetime import date

    kwargs: dict[str, Any] = {
        "name": PATIENT_NAME,
        "gender": "F",
        "birth_date": date(1985, 3, 14),
        "mobile": PATIENT_MOBILE,
        "handle": PATIENT_HANDLE,
    }
    kwargs.update(over)
    return create_account(runtime, **kwargs)


def rng(seed: int = 11) -> random.Random:
    return random.Random(seed)


def medicines(*contents: RecordContent) -> list[str]:
    """The medicine names of the prescriptions among ``contents`` (what the doctor's
    page must show)."""
    names: list[str] = []
    for content in contents:
        for order in getattr(content, "medications", ()) or ():
            names.append(order.medicine.text)
    return names


@pytest.fixture
def hie(runtime: Runtime, app: Any, client: TestClient, make_staff: Any) -> Exchange:
    """The exchange with its bridge registered by the state admin (the module's
    ``settings`` fixture returns ``hie_settings(settings)``)."""
    exchange = Exchange(runtime, app, client, Network(app))
    exchange.register_bridge(make_staff(Role.STATE_ADMIN).headers)
    return exchange


__all__ = [
    "CLIENT_ID",
    "GATEWAY",
    "HMIS",
    "PATIENT_ADDRESS",
    "PATIENT_MOBILE",
    "SECRET",
    "Exchange",
    "Granted",
    "Network",
    "Visit",
    "cm_request_id",
    "gateway_callback",
    "doctor_asks",
    "grant",
    "linked_patient",
    "hie_settings",
    "medicines",
    "patient_account",
    "hold_pushes",
    "outside_hips_transfer",
    "push_page",
    "session_token",
    "spec_page",
    "rng",
    "samples",
    "staff_context",
]
