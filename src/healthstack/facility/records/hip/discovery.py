"""Discovery (``discover``): match the patient on verified identifiers (ABHA number,
ABHA address, mobile), then name (fuzzy), gender and birth year (±1); answer
``on-discover`` with the unlinked care contexts, one entry per HI type, or ABDM-1010."""

from __future__ import annotations

import re
import unicodedata
import uuid

from rapidfuzz import fuzz
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from healthstack.facility.records import exceptions as x
from healthstack.facility.records.care_contexts import patient_entries
from healthstack.facility.records.config import DEFAULT_CONFIG, RecordsConfig
from healthstack.facility.records.hip.common import (
    answer,
    error_of,
    gateway_context,
    parse_body,
    reference_to,
)
from healthstack.facility.records.models import (
    CareContext,
    FacilityPatient,
    HipDiscovery,
    LinkStatus,
)
from healthstack.integrations.abdm import AbdmOutbox, CallbackContext
from healthstack.kernel.audit import audited, keep_failures
from healthstack.kernel.clock import Clock
from healthstack.kernel.errors import ValidationFailed
from healthstack.kernel.ids import normalise_mobile
from healthstack.protocol.abdm import messages as m

ABHA_NUMBER_TYPES = {"ABHA_NUMBER", "NDHM_HEALTH_NUMBER", "HEALTH_NUMBER"}
ABHA_ADDRESS_TYPES = {"ABHA_ADDRESS", "HEALTH_ID"}


def _name_key(name: str) -> str:
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return " ".join(re.sub(r"[^a-z]+", " ", folded).split())


def _identifiers(patient: m.DiscoverPatient) -> dict[str, str]:
    found: dict[str, str] = {"ABHA_ADDRESS": patient.id.strip().lower()}
    for ident in patient.verified_identifiers:
        kind, value = ident.type.strip().upper(), (ident.value or "").strip()
        if kind in ABHA_NUMBER_TYPES:
            digits = value.replace("-", "").replace(" ", "")
            if digits.isdigit() and len(digits) == 14:
                found["ABHA_NUMBER"] = digits
        elif kind in ABHA_ADDRESS_TYPES and "@" in value:
            found["ABHA_ADDRESS"] = value.lower()
        elif kind == "MOBILE":
            try:
                found["MOBILE"] = normalise_mobile(value)
            except ValidationFailed:
                continue
    return found


def _demographics_match(
    candidate: FacilityPatient, asked: m.DiscoverPatient, *, config: RecordsConfig
) -> bool:
    cfg = config
    gender = (asked.gender or "U").strip().upper()[:1]
    if gender not in ("U", "") and candidate.gender not in ("U", gender):
        return False
    if (
        asked.year_of_birth
        and candidate.year_of_birth
        and abs(asked.year_of_birth - candidate.year_of_birth) > cfg.discovery_year_slack
    ):
        return False
    a, b = _name_key(asked.name or ""), _name_key(candidate.name)
    return bool(a and b) and fuzz.token_sort_ratio(a, b) >= cfg.discovery_name_score


def match_patient(
    session: Session,
    *,
    hip_id: str,
    asked: m.DiscoverPatient,
    config: RecordsConfig = DEFAULT_CONFIG,
) -> tuple[FacilityPatient, list[str]]:
    """The one patient of this HIP the discovery names (see the module docstring)."""
    ids = _identifiers(asked)
    conditions = []
    if "ABHA_NUMBER" in ids:
        conditions.append(FacilityPatient.abha_number == ids["ABHA_NUMBER"])
    if "ABHA_ADDRESS" in ids:
        conditions.append(FacilityPatient.abha_address == ids["ABHA_ADDRESS"])
    if "MOBILE" in ids:
        conditions.append(FacilityPatient.mobile == ids["MOBILE"])
    candidates = list(
        session.scalars(
            select(FacilityPatient)
            .where(FacilityPatient.hip_id == hip_id, or_(*conditions))
            .order_by(FacilityPatient.id)
            .limit(100)
        )
    )
    mrn = next(
        (i.value.strip() for i in asked.unverified_identifiers if i.type.upper() == "MR"), None
    )
    scored: list[tuple[FacilityPatient, list[str]]] = []
    for c in candidates:
        if mrn is not None and c.mrn != mrn:
            continue
        if not _demographics_match(c, asked, config=config):
            continue
        matched = [
            kind
            for kind, attr in (
                ("ABHA_NUMBER", "abha_number"),
                ("ABHA_ADDRESS", "abha_address"),
                ("MOBILE", "mobile"),
            )
            if kind in ids and getattr(c, attr) == ids[kind]
        ]
        scored.append((c, [*matched, *(["MR"] if mrn else [])]))
    if len(scored) > 1:
        strong = [s for s in scored if {"ABHA_NUMBER", "ABHA_ADDRESS"} & set(s[1])]
        scored = strong if len(strong) == 1 else scored
    if not scored:
        raise x.PatientNotFound(
            "No patient at this facility matches these details. Check the name, gender "
            "and year of birth on the ABHA, or ask the facility to add the ABHA."
        )
    if len(scored) > 1:
        raise x.PatientNotFound(
            "More than one patient at this facility matches these details; ask the "
            "facility's registration desk to link the records."
        )
    return scored[0]


def discover(
    session: Session,
    *,
    cb: CallbackContext,
    clock: Clock,
    outbox: AbdmOutbox,
    config: RecordsConfig = DEFAULT_CONFIG,
) -> None:
    body: m.DiscoverRequest = parse_body(m.DiscoverRequest, cb.body)
    hip = str(cb.hip_id)
    ctx = gateway_context(cb)
    try:
        with audited(
            session,
            ctx,
            action="records.discover",
            resource_type="facility_patient",
            clock=clock,
        ) as target:
            patient, matched_by = match_patient(
                session, hip_id=hip, asked=body.patient, config=config
            )
            target.resource_id = str(patient.public_id)
    except x.PatientNotFound as exc:
        keep_failures(session, exc)
        answer(
            session,
            outbox=outbox,
            cb=cb,
            path=m.ON_DISCOVER,
            body=m.OnDiscover(
                transaction_id=body.transaction_id, error=error_of(exc), response=reference_to(cb)
            ),
        )
        return
    found = session.scalar(
        select(HipDiscovery).where(
            HipDiscovery.hip_id == hip, HipDiscovery.transaction_id == body.transaction_id
        )
    )
    if found is None:
        session.add(
            HipDiscovery(
                public_id=uuid.uuid4(),
                hip_id=hip,
                transaction_id=body.transaction_id[:64],
                patient_id=patient.id,
                abha_address=body.patient.id.strip().lower()[:64],
                matched_by=matched_by,
                created_at=clock.now(),
            )
        )
    contexts = session.scalars(
        select(CareContext)
        .where(
            CareContext.patient_id == patient.id,
            CareContext.link_status != LinkStatus.LINKED.value,
        )
        .order_by(CareContext.id)
    )
    answer(
        session,
        outbox=outbox,
        cb=cb,
        path=m.ON_DISCOVER,
        body=m.OnDiscover(
            transaction_id=body.transaction_id,
            patient=patient_entries(patient, contexts),
            matched_by=matched_by,
            response=reference_to(cb),
        ),
    )
