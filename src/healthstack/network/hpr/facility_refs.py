"""The professional registry's one look into the facility registry
(``healthstack.network.hfr``): does an HFR id exist, in which district, under which
ownership. A work place must name a facility HFR knows and has not rejected; its
district and ownership come from there, so dashboards and district scope follow the
facility registry rather than what a registrant typed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from healthstack.network.hfr.models import Facility

# Facility statuses that may host a work place (a rejected registration may not).
_USABLE = ("submitted", "verified")


@dataclass(frozen=True)
class FacilityRef:
    hfr_id: str
    district_lgd: int | None
    ownership: str | None  # public | private
    status: str


def find_facility(session: Session, *, hfr_id: str) -> FacilityRef | None:
    """The facility with this HFR id, unless its registration was rejected."""
    row = session.execute(
        select(Facility.hfr_id, Facility.district_lgd, Facility.ownership, Facility.status)
        .where(Facility.hfr_id == hfr_id)
        .where(Facility.status.in_(_USABLE))
    ).first()
    return FacilityRef(*row) if row else None


def find_facilities(session: Session, *, hfr_ids: Iterable[str]) -> dict[str, FacilityRef]:
    """Many at once (bulk loads): HFR id -> facility, rejected ones left out."""
    wanted = sorted(set(hfr_ids))
    found: dict[str, FacilityRef] = {}
    for start in range(0, len(wanted), 500):
        rows = session.execute(
            select(Facility.hfr_id, Facility.district_lgd, Facility.ownership, Facility.status)
            .where(Facility.hfr_id.in_(wanted[start : start + 500]))
            .where(Facility.status.in_(_USABLE))
        )
        found.update({r[0]: FacilityRef(*r) for r in rows})
    return found
