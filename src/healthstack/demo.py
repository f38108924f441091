"""The demo's wiring between the facility side and this deployment's own gateway.

``ensure_bridge`` registers the state HMIS as a bridge of the gateway (client id and
secret from ``HEALTHSTACK_ABDM_CLIENT_ID`` / ``_SECRET``; with the secret left at the
development placeholder, a random one made once and kept in the data directory, 0600,
for the facility side's client to read: ``demo_secret``), callback URL ``base_url``) with
every HMIS facility as both HIP and HIU, and the PHR's own HIU (the patient reading
their records), as the state's IT cell would do once at NHA's developer portal. It is
an administrator's step on the network side, done here for the demo only; the records
code itself reaches the gateway over HTTP alone.
``queue_pending_links`` sends the seeded care contexts that know their ABHA through
HIP-initiated linking (link token, then link), which the worker carries out.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass

from sqlalchemy import select

from healthstack.integrations.abdm.client import client_secret, demo_secret_path
from healthstack.kernel.context import Actor, ActorKind, Purpose, RequestContext
from healthstack.kernel.uow import unit_of_work
from healthstack.runtime import Runtime
from healthstack.settings import DEV_SECRET_PLACEHOLDER, Settings

DEMO_ACTOR = Actor(kind=ActorKind.SYSTEM, id="demo:records", display="healthstack demo")
BRIDGE_NAME = "J&K state HMIS (demo)"
PHR_NAME = "HealthStack PHR"


@dataclass(frozen=True)
class BridgeSetup:
    client_id: str
    url: str
    created: bool
    services_added: int
    facilities: int
    secret_source: str  # where the bridge's secret is kept (never the secret)


def demo_secret(settings: Settings) -> str:
    """The demo bridge's secret: the configured one, else a random one generated on the
    first run and reused after (the placeholder is public: anyone could have acted as
    the bridge with it)."""
    path = demo_secret_path(settings)
    current = client_secret(settings)
    if current != DEV_SECRET_PLACEHOLDER:
        if settings.abdm.client_secret.get_secret_value() == DEV_SECRET_PLACEHOLDER:
            os.chmod(path, 0o600)  # ours: readable by the service's user alone
        return current
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)  # an empty file holds no secret
    value = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(value + "\n")
    return value


def ensure_bridge(runtime: Runtime, *, also: tuple[str, ...] = ()) -> BridgeSetup:
    """Register (or update) the HMIS bridge and its HIP / HIU services; idempotent.
    ``also``: HFR ids to serve besides the HMIS facilities (a demo login's facility)."""
    from healthstack.network.gateway.enums import ServiceType
    from healthstack.network.gateway.service import (
        add_service,
        find_bridge,
        find_service,
        register_bridge,
        secret_matches,
        update_bridge,
    )
    from healthstack.network.hfr.models import Facility

    cfg = runtime.settings.abdm
    secret = demo_secret(runtime.settings)
    url = runtime.settings.base_url.rstrip("/")
    ctx = RequestContext(actor=DEMO_ACTOR, purpose=Purpose.ADMINISTRATION)
    added = 0
    with unit_of_work(runtime.session_factory) as session:
        bridge = find_bridge(session, client_id=cfg.client_id)
        created = bridge is None
        if bridge is None:
            register_bridge(
                session,
                ctx,
                client_id=cfg.client_id,
                name=BRIDGE_NAME,
                url=url,
                secret=secret,
                clock=runtime.clock,
                settings=runtime.settings.gateway,
                development=runtime.settings.is_development,
            )
        elif bridge.url != url or not bridge.is_active or not secret_matches(bridge, secret):
            # An older demo registered it with the public placeholder: a new secret.
            update_bridge(
                session,
                ctx,
                client_id=cfg.client_id,
                url=url,
                is_active=True,
                secret=None if secret_matches(bridge, secret) else secret,
                clock=runtime.clock,
                development=runtime.settings.is_development,
            )
        rows = session.execute(
            select(Facility.hfr_id, Facility.name).where(
                (Facility.hmis.is_not(None)) | (Facility.hfr_id.in_(also)),
                Facility.status != "rejected",
            )
        ).all()
        services = [(h, kind, n) for h, n in rows for kind in (ServiceType.HIP, ServiceType.HIU)]
        # The PHR reads the patient's own records as an HIU of its own (phr.own_records).
        services.append((runtime.settings.consent.phr_hiu_id, ServiceType.HIU, PHR_NAME))
        for service_id, kind, name in services:
            if find_service(session, service_id=service_id, service_type=kind) is None:
                add_service(
                    session,
                    ctx,
                    client_id=cfg.client_id,
                    service_id=service_id,
                    service_type=kind,
                    name=name[:128],
                    clock=runtime.clock,
                )
                added += 1
    source = (
        str(demo_secret_path(runtime.settings))
        if cfg.client_secret.get_secret_value() == DEV_SECRET_PLACEHOLDER
        else "HEALTHSTACK_ABDM_CLIENT_SECRET"
    )
    return BridgeSetup(cfg.client_id, url, created, added, len(rows), source)


def queue_pending_links(runtime: Runtime, *, hip_id: str | None = None) -> int:
    """Queue HIP-initiated linking for every pending care context; returns patients."""
    from healthstack.facility.records.care_contexts import link_pending

    with unit_of_work(runtime.session_factory) as session:
        return link_pending(
            session,
            clock=runtime.clock,
            outbox=runtime.abdm_outbox(),
            hasher=runtime.hasher,
            hip_id=hip_id,
            limit=100_000,
        )


@dataclass(frozen=True)
class DemoPatient:
    abha_address: str
    name: str
    mobile: str | None
    facilities: int  # HIPs that hold records of this patient
    visits: int


def demo_patients(runtime: Runtime, *, limit: int = 5) -> list[DemoPatient]:
    """Patients whose records the seed put at the HMIS facilities (synthetic people),
    for the demo's table: whom a doctor can ask records of."""
    from sqlalchemy import func

    from healthstack.facility.records.models import CareContext, FacilityPatient

    P, C = FacilityPatient, CareContext
    with unit_of_work(runtime.session_factory) as session:
        rows = session.execute(
            select(
                P.abha_address,
                func.min(P.name),
                func.min(P.mobile),
                func.count(func.distinct(P.hip_id)),
                func.count(C.id),
            )
            .join(C, C.patient_id == P.id)
            .where(P.abha_address.is_not(None))
            .group_by(P.abha_address)
            .order_by(P.abha_address)
            .limit(limit)
        ).all()
    return [DemoPatient(str(a), n, m, int(f), int(v)) for a, n, m, f, v in rows]
