"""The demo's wiring between the facility side and this deployment's own gateway.

``ensure_bridge`` registers the state HMIS as a bridge of the gateway (client id and
secret from ``HEALTHSTACK_ABDM_CLIENT_ID`` / ``_SECRET``, callback URL ``base_url``) with
every HMIS facility as both HIP and HIU, and the PHR's own HIU (the patient reading
their records), as the state's IT cell would do once at NHA's developer portal. It is
an administrator's step on the network side, done here for the demo only; the records
code itself reaches the gateway over HTTP alone.
``queue_pending_links`` sends the seeded care contexts that know their ABHA through
HIP-initiated linking (link token, then link), which the worker carries out.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from healthstack.kernel.context import Actor, ActorKind, Purpose, RequestContext
from healthstack.kernel.db import unit_of_work
from healthstack.runtime import Runtime

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


def ensure_bridge(runtime: Runtime, *, also: tuple[str, ...] = ()) -> BridgeSetup:
    """Register (or update) the HMIS bridge and its HIP / HIU services; idempotent.
    ``also``: HFR ids to serve besides the HMIS facilities (a demo login's facility)."""
    from healthstack.facilities.models import Facility
    from healthstack.gateway.enums import ServiceType
    from healthstack.gateway.service import (
        add_service,
        find_bridge,
        find_service,
        register_bridge,
        update_bridge,
    )

    cfg = runtime.settings.abdm
    url = runtime.settings.base_url.rstrip("/")
    ctx = RequestContext(actor=DEMO_ACTOR, purpose=Purpose.ADMINISTRATION)
    added = 0
    with unit_of_work(runtime.session_factory) as session:
        bridge = find_bridge(session, cfg.client_id)
        created = bridge is None
        if bridge is None:
            register_bridge(
                session,
                ctx,
                runtime,
                client_id=cfg.client_id,
                name=BRIDGE_NAME,
                url=url,
                secret=cfg.client_secret.get_secret_value(),
            )
        elif bridge.url != url or not bridge.is_active:
            update_bridge(session, ctx, runtime, client_id=cfg.client_id, url=url, is_active=True)
        rows = session.execute(
            select(Facility.hfr_id, Facility.name).where(
                (Facility.hmis.is_not(None)) | (Facility.hfr_id.in_(also)),
                Facility.status != "rejected",
            )
        ).all()
        services = [(h, kind, n) for h, n in rows for kind in (ServiceType.HIP, ServiceType.HIU)]
        # The PHR reads the patient's own records as an HIU of its own (records.phr).
        services.append((runtime.settings.consent.phr_hiu_id, ServiceType.HIU, PHR_NAME))
        for service_id, kind, name in services:
            if find_service(session, service_id, kind) is None:
                add_service(
                    session,
                    ctx,
                    runtime,
                    client_id=cfg.client_id,
                    service_id=service_id,
                    service_type=kind,
                    name=name[:128],
                )
                added += 1
    return BridgeSetup(cfg.client_id, url, created, added, len(rows))


def queue_pending_links(runtime: Runtime, *, hip_id: str | None = None) -> int:
    """Queue HIP-initiated linking for every pending care context; returns patients."""
    from healthstack.records.care_contexts import link_pending

    with unit_of_work(runtime.session_factory) as session:
        return link_pending(session, runtime, hip_id=hip_id, limit=100_000)


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

    from healthstack.records.models import CareContext, FacilityPatient

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
