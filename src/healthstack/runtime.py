"""The wired-up parts one process uses: settings, database, clock, keys and ports.

``create_app`` and ``create_worker`` each build one ``Runtime``; tests build one with
a frozen clock. Building it connects to nothing: the engine connects on first use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from healthstack.integrations.aadhaar.sandbox import SandboxKyc
from healthstack.kernel.clock import Clock, OffsetClock, SystemClock
from healthstack.kernel.crypto import KeyedHasher, KeyRing
from healthstack.kernel.db import make_engine, make_session_factory
from healthstack.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    clock: Clock
    hasher: KeyedHasher
    keyring: KeyRing
    extras: dict[str, object] = field(default_factory=dict)

    @property
    def kyc(self) -> SandboxKyc:
        if self.settings.kyc_provider == "sandbox":
            return SandboxKyc()
        raise ValueError(
            f"unknown KYC provider {self.settings.kyc_provider!r}; "
            "set HEALTHSTACK_KYC_PROVIDER to 'sandbox'"
        )

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
