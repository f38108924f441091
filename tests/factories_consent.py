"""Test wiring for the consent manager: a fake facility bridge that speaks the HIE-CM
v3 protocol over HTTP (its own small app, not the records module), the network
between it and the gateway (``AsgiLoopback``), and helpers to drive the worker.

The bridge serves two HIPs and two HIUs (one state HMIS serves many facilities; the
X-HIP-ID / X-HIU-ID headers tell them apart). It verifies every callback the way a
facility must (``facility.records.dependencies.VerifiedCallback``) and answers like a HIP or HIU
would, but only when ``flush()`` sends what it queued, so a test decides when (or
whether) an answer arrives.

The ``bridge`` fixture (a pytest plugin of tests/conftest.py) wires it for a test whose
module runs on ``network_settings``.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Response
from sqlalchemy import select

from healthstack.facility.records.dependencies import VerifiedCallback
from healthstack.facility.records.dependencies import install as install_callbacks
from healthstack.integrations.abdm.callbacks import CallbackContext
from healthstack.integrations.abdm.transport import AsgiLoopback
from healthstack.jobs.worker import handlers_for
from healthstack.kernel.audit import AuditEvent
from healthstack.kernel.context import system_context
from healthstack.kernel.relay import drain
from healthstack.kernel.uow import unit_of_work
from healthstack.network.abha.auth import issue_user_tokens
from healthstack.network.abha.models import AbhaAccount
from healthstack.network.gateway import jobs as gateway_jobs
from healthstack.network.gateway.service import add_service, register_bridge
from healthstack.protocol.abdm import messages as m
from healthstack.protocol.abdm.fidelius import generate_key_material
from healthstack.runtime import Runtime
from healthstack.settings import AbdmSettings, Settings
from healthstack.web.errors import install_error_handlers
from tests.factories_abha import create_account

GATEWAY = "gateway.test"
BRIDGE = "hmis.test"
CLIENT_ID = "jk-hmis"
SECRET = "a-bridge-secret-for-tests-only"  # noqa: S105
HIP_A = "IN0110000001"  # PHC Khag: the patient's records are here
HIP_C = "IN0110000003"  # SDH Bijbehara: a second HIP
HIU_B = "IN0110000002"  # GMC Srinagar: asks for records
HIU_D = "IN0110000004"  # another HIU
OTP = "123456"
BASE = f"http://{GATEWAY}/api/hiecm"


def network_settings(settings: Settings) -> Settings:
    """The facility side's client points at the test gateway, as this bridge."""
    return settings.model_copy(
        update={"abdm": AbdmSettings(gateway_url=BASE, client_id=CLIENT_ID, client_secret=SECRET)}
    )


@dataclass
class HipRecords:
    """What a fake HIP holds for one patient: its entries per HI type."""

    abha_number: str
    patient_reference: str = "PT-1001"
    display: str = "Ravi Kumar Sharma"
    care_contexts: list[tuple[str, str, str]] = field(
        default_factory=lambda: [
            ("OPD-2026-11", "OPD visit, 1 Nov 2026", "OPConsultation"),
            ("OPD-2026-12", "OPD visit, 12 Nov 2026", "Prescription"),
        ]
    )

    def entries(self, refs: set[str] | None = None) -> list[dict[str, Any]]:
        by_type: dict[str, list[dict[str, str]]] = {}
        for ref, display, hi_type in self.care_contexts:
            if refs is None or ref in refs:
                by_type.setdefault(hi_type, []).append({"referenceNumber": ref, "display": display})
        return [
            {
                "referenceNumber": self.patient_reference,
                "display": self.display,
                "careContexts": ccs,
                "hiType": hi_type,
                "count": len(ccs),
            }
            for hi_type, ccs in by_type.items()
        ]


class FakeBridge:
    """A facility's ABDM bridge: answers the gateway like a HIP or HIU would."""

    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self.received: list[CallbackContext] = []
        self.queued: list[tuple[str, dict[str, Any], dict[str, str]]] = []
        self.records: dict[str, list[HipRecords]] = {HIP_A: [], HIP_C: []}
        self.answer = {"discover": True, "init": True, "confirm": True, "notify": True, "hi": True}
        self.artefacts: dict[str, dict[str, Any]] = {}  # consentId → the HIP's notification
        self._links: dict[str, dict[str, Any]] = {}  # linkRefNumber → init body
        self._seq = itertools.count(1)
        self._token: str | None = None
        self.http = httpx.Client(transport=AsgiLoopback({}), base_url=BASE)
        app = FastAPI()
        app.state.runtime = runtime
        install_error_handlers(app)
        install_callbacks(app)

        @app.post("/{rest:path}", status_code=202)
        def callback(ctx: VerifiedCallback) -> Response:
            self.received.append(ctx)
            self._react(ctx)
            return Response(status_code=202)

        self.app = app

    # ------------------------------------------------------------------ calling the gateway

    def session_token(self) -> str:
        if self._token is None:
            r = self.http.post(
                "/gateway/v3/sessions",
                json={
                    "clientId": CLIENT_ID,
                    "clientSecret": SECRET,
                    "grantType": "client_credentials",
                },
            )
            assert r.status_code == 200, r.text
            self._token = r.json()["accessToken"]
        return self._token

    def call(
        self,
        path: str,
        body: dict[str, Any],
        *,
        hip: str | None = None,
        hiu: str | None = None,
        link_token: str | None = None,
        request_id: str | None = None,
    ) -> httpx.Response:
        headers = {
            "Authorization": f"Bearer {self.session_token()}",
            "REQUEST-ID": request_id or str(uuid.uuid4()),
            "TIMESTAMP": gateway_jobs.stamp(self.runtime.clock.now()),
            "X-CM-ID": "sbx",
        }
        if hip:
            headers["X-HIP-ID"] = hip
        if hiu:
            headers["X-HIU-ID"] = hiu
        if link_token is not None:
            headers["X-LINK-TOKEN"] = link_token
        r = self.http.post(path, json=body, headers=headers)
        if r.status_code == 401 and r.json()["error"]["code"] == "ABDM-1102":
            self._token = None  # the session expired (the test moved the clock): a new one
            headers["Authorization"] = f"Bearer {self.session_token()}"
            r = self.http.post(path, json=body, headers=headers)
        return r

    def flush(self) -> int:
        """Send what the bridge queued in answer to callbacks; returns how many."""
        sent = 0
        while self.queued:
            path, body, headers = self.queued.pop(0)
            r = self.call(path, body, **headers)  # type: ignore[arg-type]
            assert r.status_code == 202, (path, r.status_code, r.text)
            sent += 1
        return sent

    def last(self, path: str) -> CallbackContext:
        found = [c for c in self.received if c.path == path]
        assert found, f"nothing received at {path}: {[c.path for c in self.received]}"
        return found[-1]

    def at(self, path: str) -> list[CallbackContext]:
        return [c for c in self.received if c.path == path]

    # ------------------------------------------------------------------ behaving like a HIP / HIU

    def _queue(self, path: str, body: dict[str, Any], ctx: CallbackContext) -> None:
        body = {**body, "response": {"requestId": ctx.request_id}}
        who = {"hip": ctx.hip_id} if ctx.hip_id else {"hiu": ctx.hiu_id}
        self.queued.append((path, body, who))  # type: ignore[arg-type]

    def _react(self, ctx: CallbackContext) -> None:
        body = ctx.body
        if ctx.path == m.DISCOVER and self.answer["discover"]:
            patient = body["patient"]
            number = next(
                (i["value"] for i in patient["verifiedIdentifiers"] if i["type"] == "ABHA_NUMBER"),
                None,
            )
            found = [r for r in self.records.get(ctx.hip_id or "", []) if r.abha_number == number]
            if found:
                answer = {
                    "transactionId": body["transactionId"],
                    "patient": found[0].entries(),
                    "matchedBy": ["ABHA_NUMBER"],
                }
            else:
                answer = {
                    "transactionId": body["transactionId"],
                    "error": {"code": "ABDM-1010", "message": "Patient not found"},
                }
            self._queue(m.ON_DISCOVER, answer, ctx)
        elif ctx.path == m.LINK_INIT and self.answer["init"]:
            ref = f"LNK-{next(self._seq)}"
            self._links[ref] = body
            expiry = self.runtime.clock.now() + timedelta(minutes=10)
            self._queue(
                m.ON_LINK_INIT,
                {
                    "transactionId": body["transactionId"],
                    "link": {
                        "referenceNumber": ref,
                        "authenticationType": "DIRECT",
                        "meta": {
                            "communicationMedium": "MOBILE",
                            "communicationHint": "OTP sent to the mobile on record",
                            "communicationExpiry": m.abdm_timestamp(expiry),
                        },
                    },
                },
                ctx,
            )
        elif ctx.path == m.LINK_CONFIRM and self.answer["confirm"]:
            confirmation = body["confirmation"]
            init = self._links.get(confirmation["linkRefNumber"])
            if init is None or confirmation["token"] != OTP:
                self._queue(
                    m.ON_LINK_CONFIRM,
                    {"error": {"code": "ABDM-1035", "message": "Incorrect OTP"}},
                    ctx,
                )
                return
            records = self.records[ctx.hip_id or ""][0]
            refs = {c["referenceNumber"] for p in init["patient"] for c in p["careContexts"]}
            self._queue(m.ON_LINK_CONFIRM, {"patient": records.entries(refs)}, ctx)
        elif ctx.path == m.HIP_CONSENT_NOTIFY:
            note = body["notification"]
            self.artefacts[note["consentId"]] = note
            if self.answer["notify"]:
                self._queue(
                    m.HIP_ON_CONSENT_NOTIFY,
                    {"acknowledgement": {"status": "OK", "consentId": note["consentId"]}},
                    ctx,
                )
        elif ctx.path == m.HIU_CONSENT_NOTIFY and self.answer["notify"]:
            note = body["notification"]
            acks = [
                {"consentId": a["id"], "status": "OK"} for a in note.get("consentArtefacts") or []
            ]
            self._queue(
                m.HIU_ON_CONSENT_NOTIFY,
                {
                    "acknowledgement": acks
                    or [{"consentId": note["consentRequestId"], "status": "OK"}]
                },
                ctx,
            )
        elif ctx.path == m.HIP_HI_REQUEST and self.answer["hi"]:
            self._queue(
                m.HIP_ON_HI_REQUEST,
                {
                    "hiRequest": {
                        "transactionId": body["transactionId"],
                        "sessionStatus": "ACKNOWLEDGED",
                    }
                },
                ctx,
            )


def wire(runtime: Runtime, app: Any) -> FakeBridge:
    """Register the bridge and its services with the gateway and connect them."""
    bridge = FakeBridge(runtime)
    loop = AsgiLoopback({GATEWAY: app, BRIDGE: bridge.app})
    bridge.http = httpx.Client(transport=loop, base_url=BASE)
    runtime.ports.gateway_transport = loop
    runtime.ports.abdm_transport = loop
    with unit_of_work(runtime.session_factory) as s:
        register_bridge(
            s,
            system_context(),
            client_id=CLIENT_ID,
            name="J&K HMIS",
            url=f"http://{BRIDGE}",
            secret=SECRET,
            clock=runtime.clock,
            settings=runtime.settings.gateway,
            development=runtime.settings.is_development,
        )
        for sid, kind, name in (
            (HIP_A, "HIP", "PHC Khag"),
            (HIP_C, "HIP", "SDH Bijbehara"),
            (HIU_B, "HIU", "GMC Srinagar"),
            (HIU_D, "HIU", "DH Anantnag"),
        ):
            add_service(
                s,
                system_context(),
                client_id=CLIENT_ID,
                service_id=sid,
                service_type=kind,
                name=name,
                clock=runtime.clock,
            )
    return bridge


def unwire(runtime: Runtime) -> None:
    runtime.ports.abdm_client = None
    runtime.ports.gateway_keys = None
    runtime.ports.gateway_http = None


def run_worker(runtime: Runtime) -> int:
    return drain(runtime.session_factory, handlers_for(runtime), clock=runtime.clock)


def pump(runtime: Runtime, bridge: FakeBridge, *, rounds: int = 10) -> None:
    """Worker and bridge in turn until neither has anything left to do."""
    for _ in range(rounds):
        worked = run_worker(runtime)
        sent = bridge.flush()
        if not worked and not sent:
            return
    raise AssertionError("the exchange did not settle")


# --------------------------------------------------------------------------- patients


def patient(runtime: Runtime, **kwargs: Any) -> AbhaAccount:
    kwargs.setdefault("with_resident", False)
    return create_account(runtime, **kwargs)


def user_token(runtime: Runtime, account: AbhaAccount) -> str:
    return issue_user_tokens(
        account, keyring=runtime.keyring, clock=runtime.clock, abha_settings=runtime.settings.abha
    ).token


def phr_headers(runtime: Runtime, account: AbhaAccount) -> dict[str, str]:
    return {"X-token": f"Bearer {user_token(runtime, account)}"}


# A consent PIN the tests' patients set (approving a consent needs one).
PIN = "2580"


def set_pin(runtime: Runtime, account: AbhaAccount, pin: str = PIN) -> None:
    """The patient's consent PIN, as if set in the PHR."""
    from healthstack.network.abha.auth import patient_context
    from healthstack.network.consent import pin as pins

    with unit_of_work(runtime.session_factory) as s:
        owner = s.get(AbhaAccount, account.id)
        assert owner is not None
        pins.set_pin(
            s,
            patient_context(owner, request_id="test"),
            account=owner,
            pin=pin,
            clock=runtime.clock,
            hasher=runtime.hasher,
        )


def address_of(account: AbhaAccount) -> str:
    return f"{account.abha_number}@sbx"


# --------------------------------------------------------------------------- bodies


def dt(year: int, month: int = 1, day: int = 1) -> str:
    return m.abdm_timestamp(datetime(year, month, day, tzinfo=UTC))


def consent_body(
    account: AbhaAccount,
    *,
    hiu: str = HIU_B,
    purpose: str = "CAREMGT",
    hi_types: list[str] | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
    erase_at: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    consent: dict[str, Any] = {
        "purpose": {"text": "Care Management", "code": purpose, "refUri": m.PURPOSE_REF_URI},
        "patient": {"id": address_of(account)},
        "hiu": {"id": hiu},
        "requester": {
            "name": "Dr. Manju Sharma",
            "identifier": {"type": "REGNO", "value": "JK-1001", "system": "https://nmc.org.in"},
        },
        "hiTypes": hi_types if hi_types is not None else ["OPConsultation", "Prescription"],
        "permission": {
            "accessMode": "VIEW",
            "dateRange": {"from": date_from or dt(2020), "to": date_to or dt(2026, 11, 25)},
            "dataEraseAt": erase_at or dt(2027, 6),
            "frequency": {"unit": "HOUR", "value": 1, "repeats": 0},
        },
        **extra,
    }
    return {"consent": consent}


def hi_request_body(
    consent_id: str,
    *,
    date_from: str | None = None,
    date_to: str | None = None,
    push_url: str = "https://hiu.example.org/api/v3/hiu/data/push",
    key_material: dict[str, Any] | None = None,
) -> dict[str, Any]:
    wire_key = generate_key_material().wire(datetime(2026, 11, 27, tzinfo=UTC))
    return {
        "hiRequest": {
            "consent": {"id": consent_id},
            "dateRange": {"from": date_from or dt(2021), "to": date_to or dt(2026, 11)},
            "dataPushUrl": push_url,
            "keyMaterial": key_material or wire_key.to_dict(),
        }
    }


def audit(runtime: Runtime, action: str) -> list[AuditEvent]:
    with unit_of_work(runtime.session_factory) as s:
        return list(
            s.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
        )


def rows(runtime: Runtime, model: type, where: Callable[[Any], Any] | None = None) -> list[Any]:
    with unit_of_work(runtime.session_factory) as s:
        query = select(model).order_by(model.id)  # type: ignore[attr-defined]
        if where is not None:
            query = query.where(where(model))
        return list(s.scalars(query))


def link_directly(
    runtime: Runtime, account: AbhaAccount, records: HipRecords, hip: str = HIP_A
) -> None:
    """Care contexts linked as if the HIP had linked them (test set-up only)."""
    from healthstack.network.consent.enums import LinkedVia
    from healthstack.network.consent.linking import upsert_links

    with unit_of_work(runtime.session_factory) as s:
        owner = s.get(AbhaAccount, account.id)
        assert owner is not None
        upsert_links(
            s,
            account=owner,
            hip_id=hip,
            entries=[m.HipPatient.model_validate(e) for e in records.entries()],
            via=LinkedVia.HIP,
            now=runtime.clock.now(),
        )


def init_consent(
    runtime: Runtime, bridge: FakeBridge, body: dict[str, Any], hiu: str = HIU_B
) -> dict[str, Any]:
    """An HIU's consent request; the on-init body it gets back."""
    r = bridge.call(m.CONSENT_INIT, body, hiu=hiu)
    assert r.status_code == 202, r.text
    pump(runtime, bridge)
    return bridge.last(m.ON_CONSENT_INIT).body


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def bridge(runtime: Runtime, app: Any) -> Iterator[FakeBridge]:
    """The fake bridge wired to the gateway (the module's ``settings`` fixture returns
    ``network_settings(settings)``), unwired afterwards."""
    b = wire(runtime, app)
    yield b
    unwire(runtime)
