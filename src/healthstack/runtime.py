"""The wired-up parts one process uses: settings, database, clock, keys and ports.

``create_app`` and ``create_worker`` each build one ``Runtime``; tests build one with
a frozen clock. Building it connects to nothing: the engine connects on first use, and
the HTTP clients of ``Ports`` are built on first use (``Runtime.abdm_client`` and the
others), one per process, on the transports the ports name.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from healthstack.integrations.aadhaar.port import KycProvider
from healthstack.integrations.aadhaar.sandbox import SandboxKyc
from healthstack.integrations.abdm.callbacks import JwksCache, gateway_jwks
from healthstack.integrations.abdm.client import AbdmClient, gateway_client
from healthstack.integrations.abdm.outbound import AbdmOutbox
from healthstack.kernel.clock import Clock, OffsetClock, SystemClock
from healthstack.kernel.crypto import KeyedHasher, KeyRing
from healthstack.kernel.db import make_engine, make_session_factory
from healthstack.settings import Settings

# Guards the first build of a port's client (the worker and request threads share them).
_build_lock = threading.Lock()


@dataclass
class Ports:
    """What this process reaches other systems through, one typed field each.

    A transport left None is real HTTP; tests put an ``httpx.MockTransport`` or an
    ``AsgiLoopback`` (``integrations.abdm.transport``) there. A client left None is
    built from the settings on first use (through ``Runtime``) on its transport and kept
    here; one set here is used as it is, and setting one back to None has it built
    again (after a transport or the settings changed)."""

    # The facility side's HTTP: its calls to the ABDM gateway and the gateway's JWKS,
    # and a HIP's data pushes to the HIUs.
    abdm_transport: httpx.BaseTransport | None = None
    # The network side's HTTP: the gateway's callbacks to the bridges.
    gateway_transport: httpx.BaseTransport | None = None
    # The facility side's gateway client (one session-token cache per process).
    abdm_client: AbdmClient | None = None
    # The gateway's signing keys as the facility side fetches and caches them.
    gateway_keys: JwksCache | None = None
    # The gateway's HTTP client for callbacks (connection reuse).
    gateway_http: httpx.Client | None = None
    # The HIP's HTTP client for data pushes.
    data_push_http: httpx.Client | None = None


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    clock: Clock
    hasher: KeyedHasher
    keyring: KeyRing
    ports: Ports = field(default_factory=Ports)

    @property
    def kyc(self) -> KycProvider:
        if self.settings.kyc_provider == "sandbox":
            return SandboxKyc()
        raise ValueError(
            f"unknown KYC provider {self.settings.kyc_provider!r}; "
            "set HEALTHSTACK_KYC_PROVIDER to 'sandbox'"
        )

    def abdm_client(self) -> AbdmClient:
        """The facility side's gateway client (``integrations.abdm.gateway_client``);
        raises ``ServiceUnavailable`` (HS-1900) without the bridge's secret."""
        with _build_lock:
            if self.ports.abdm_client is None:
                self.ports.abdm_client = gateway_client(
                    self.settings, clock=self.clock, transport=self.ports.abdm_transport
                )
            return self.ports.abdm_client

    def abdm_outbox(self) -> AbdmOutbox:
        """The facility side's calls to the gateway, queued in the caller's transaction."""
        return AbdmOutbox.from_settings(self.settings.abdm, clock=self.clock)

    def gateway_keys(self) -> JwksCache:
        """The gateway's signing keys, which callbacks, session tokens and consent
        artefacts are verified with."""
        with _build_lock:
            if self.ports.gateway_keys is None:
                self.ports.gateway_keys = gateway_jwks(
                    self.settings, clock=self.clock, transport=self.ports.abdm_transport
                )
            return self.ports.gateway_keys

    def gateway_http(self) -> httpx.Client:
        """The gateway's client for its callbacks to the bridges."""
        with _build_lock:
            if self.ports.gateway_http is None:
                self.ports.gateway_http = httpx.Client(
                    transport=self.ports.gateway_transport,
                    timeout=self.settings.gateway.http_timeout_seconds,
                    follow_redirects=False,
                )
            return self.ports.gateway_http

    def data_push_http(self) -> httpx.Client:
        """The HIP's client for its data pushes (a page may be large: three times the
        gateway calls' timeout)."""
        with _build_lock:
            if self.ports.data_push_http is None:
                self.ports.data_push_http = httpx.Client(
                    transport=self.ports.abdm_transport,
                    timeout=self.settings.abdm.http_timeout_seconds * 3,
                    follow_redirects=False,
                )
            return self.ports.data_push_http

    def close(self) -> None:
        self.engine.dispose()


def _clock(settings: Settings) -> Clock:
    if settings.clock_offset_days:  # development only (the settings refuse it otherwise)
        return OffsetClock(timedelta(days=settings.clock_offset_days))
    return SystemClock()


def build_runtime(
    settings: Settings, *, clock: Clock | None = None, engine: Engine | None = None
) -> Runtime:
    secret = settings.secret_key.get_secret_value()
    eng = engine or make_engine(settings.database_url)
    return Runtime(
        settings=settings,
        engine=eng,
        session_factory=make_session_factory(eng),
        clock=clock or _clock(settings),
        hasher=KeyedHasher(secret),
        keyring=KeyRing(settings.keys_dir, secret),
    )
