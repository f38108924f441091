"""The indicator registry: what the dashboard counts, which events move each figure
and how, and the query that recomputes each one from its source tables.

An indicator is data (``Indicator``): a key, a label, a unit, its rules and its
rebuild query. Every indicator has the same dimensions (the state, ``district_lgd``,
``facility_id``), so the aggregates, the pages and the API serve a new one without
code of their own: append it to ``INDICATORS`` with its rules and its source query.

Two kinds of rules:

- ``Count``: plain increments in the event's cell (ABHA accounts: +1 on
  ``abha.account.created``, -1 on ``abha.account.deleted``). Used where the events
  carry no entity id (ABHA events carry dimensions only). A rule may read its cell
  from other payload fields (``district_field``, ``facility_field``): a re-KYC that
  changed the account's district emits ``abha.account.moved`` with the old district
  in ``from_district_lgd``, and two rules take -1 there and +1 in the new one.
- ``Enter`` / ``Leave``: the indicator counts distinct registry entities (an HFR id,
  an HPR id). ``Enter`` counts the entity in the event's cell when the payload
  qualifies (a *public* facility), moves it when its cell changed (an edit moved the
  facility to another district and it was verified again), and lets it leave when it
  no longer qualifies (now private); a repeated verification changes nothing.
  ``Leave`` removes it (a rejection; a verified professional whose edit sent the
  record back to the verifier, ``professional.resubmitted``, until the next
  ``professional.verified`` counts them again).

Denominators come from ``target`` rows per district (ABHA: the target population;
facilities and professionals: the state master and the HR roster, set as targets
until those imports feed the dashboard directly). The source queries tolerate a
registry that is not installed yet: they return ``None`` and the rebuild skips them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from sqlalchemy import Date, case, cast, func, inspect, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from healthstack.kernel.clock import ist_date
from healthstack.kernel.db import is_postgres
from healthstack.kernel.events import parse_day
from healthstack.programme.monitoring.models import NO_FACILITY, UNKNOWN_DISTRICT
from healthstack.settings import StateProfile

Payload = dict[str, Any]
Cell = tuple[int, str]  # (district_lgd, facility_id)


# --------------------------------------------------------------------------- dimensions


def _district(value: Any, name: str) -> int:
    if value is None:
        return UNKNOWN_DISTRICT
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"event {name} must be a non-negative integer or null")
    return value


def district_of(payload: Payload) -> int:
    """The district cell is the payload's ``district_lgd`` (null: not recorded)."""
    return _district(payload.get("district_lgd"), "district_lgd")


def district_field(name: str) -> Callable[[Payload], int]:
    """The district cell is the payload's ``name`` field (an event that moves an
    entity carries where it was under another name)."""
    return lambda payload: _district(payload.get(name), name)


def _facility(value: Any) -> str:
    if value is None or value == "":
        return NO_FACILITY
    if not isinstance(value, str) or len(value) > 16:
        raise ValueError("event facility id must be a string of at most 16 characters")
    return value


def facility_field(name: str) -> Callable[[Payload], str]:
    """The facility cell is the payload's ``name`` field (an HFR id or null)."""
    return lambda payload: _facility(payload.get(name))


def first_facility(payload: Payload) -> str:
    """A professional is counted at their first work place (``hfr_ids[0]``), the one
    whose district the event carries, so facility cells add up to district cells."""
    ids = payload.get("hfr_ids") or []
    if not isinstance(ids, list):
        raise ValueError("event hfr_ids must be a list")
    return _facility(ids[0] if ids else None)


# --------------------------------------------------------------------------- rules


@dataclass(frozen=True)
class Count:
    """Add ``delta`` in the event's cell on the event's day. The cell is read from
    the payload by ``district`` and ``facility``."""

    event: str
    delta: int
    facility: Callable[[Payload], str] = facility_field("facility_id")
    district: Callable[[Payload], int] = district_of
    where: str = "the event's district and facility"  # the cell, in words (the API)


@dataclass(frozen=True)
class Enter:
    """The entity ``payload[key]`` is counted when ``qualifies(payload)``; else it leaves."""

    event: str
    key: str
    facility: Callable[[Payload], str]
    qualifies: Callable[[Payload], bool] = lambda payload: True


@dataclass(frozen=True)
class Leave:
    """The entity ``payload[key]`` is no longer counted."""

    event: str
    key: str


Rule = Count | Enter | Leave


# --------------------------------------------------------------------------- rebuild


@dataclass
class Figures:
    """What an indicator's source query says: the value per cell, the net change per
    (day, cell) and, for registry indicators, the entities counted."""

    totals: dict[Cell, int] = field(default_factory=lambda: defaultdict(int))
    daily: dict[tuple[date, int, str], int] = field(default_factory=lambda: defaultdict(int))
    members: list[tuple[str, int, str, date]] | None = None

    @classmethod
    def from_members(cls, members: Iterable[tuple[str, int, str, date]]) -> Figures:
        figures = cls(members=[])
        for key, district, facility, since in members:
            assert figures.members is not None
            figures.members.append((key, district, facility, since))
            figures.totals[(district, facility)] += 1
            figures.daily[(since, district, facility)] += 1
        return figures


SourceQuery = Callable[[Session], Figures | None]
# Per-district denominators of the deployment's state from a registry (the state
# master); None: use the targets.
DenominatorQuery = Callable[[Session, StateProfile], dict[int, int] | None]


def ist_day(session: Session, column: Any) -> ColumnElement[Any]:
    """The day in India (IST) of a UTC timestamp column, in SQL (the events' ``day``)."""
    if is_postgres(session):
        return cast(func.timezone("Asia/Kolkata", column), Date)
    # SQLite stores UTC timestamps as ISO text; IST is 5 h 30 min ahead all year.
    return func.date(column, "+330 minutes")


def _abha_accounts(session: Session) -> Figures:
    """One GROUP BY pass over ``abha_account`` (crores of rows at national scale): per
    (creation day, deletion day, district, facility, deleted) the count. An account
    adds +1 on its creation day and, when deleted, -1 on its deletion day."""
    from healthstack.network.abha.models import AbhaAccount as A

    district = func.coalesce(A.district_lgd, UNKNOWN_DISTRICT)
    facility = func.coalesce(A.enrolled_at_facility, NO_FACILITY)
    created = ist_day(session, A.created_at)
    deleted_day = ist_day(session, A.deleted_at)
    deleted = case((A.status == "DELETED", 1), else_=0)
    figures = Figures()
    query = select(created, deleted_day, district, facility, deleted, func.count()).group_by(
        created, deleted_day, district, facility, deleted
    )
    for made, gone, d, f, is_deleted, n in session.execute(query):
        cell = (int(d), f)
        count = int(n)
        figures.daily[(parse_day(made), *cell)] += count
        if not is_deleted:
            figures.totals[cell] += count
        elif gone is not None:
            figures.daily[(parse_day(gone), *cell)] -= count
    return figures


_FOUND_TABLES: set[tuple[str, str]] = set()


def tables_exist(session: Session, *tables: str) -> bool:
    """Whether the registry's tables exist (a registry may be installed before its
    migration ran, or not at all). Tables found are remembered per database: they do
    not go away, and the dashboard asks on every page."""
    url = str(session.get_bind().engine.url)
    missing = [t for t in tables if (url, t) not in _FOUND_TABLES]
    if missing:
        found = inspect(session.connection())
        for t in missing:
            if not found.has_table(t):
                return False
            _FOUND_TABLES.add((url, t))
    return True


def _public_facilities(session: Session) -> Figures | None:
    try:
        from healthstack.network.hfr.models import Facility as F
    except ImportError:  # the facility registry is not installed
        return None
    if not tables_exist(session, F.__tablename__):
        return None
    rows = session.execute(
        select(F.hfr_id, F.district_lgd, F.verified_at, F.updated_at).where(
            F.status == "verified", F.ownership == "public"
        )
    )
    return Figures.from_members(
        (hfr, d or UNKNOWN_DISTRICT, hfr, ist_date(verified or updated))
        for hfr, d, verified, updated in rows
    )


def _professionals(category: str) -> SourceQuery:
    """Public professionals of the category verified in HPR: compliance's count, the
    term of its "not in HPR" that the dashboard shows (``compliance.figures``)."""

    def query(session: Session) -> Figures | None:
        try:
            from healthstack.network.hpr.models import Professional as P
            from healthstack.network.hpr.models import ProfessionalWorkplace as W
            from healthstack.programme.compliance.figures import public_professionals
        except ImportError:  # the professional registry or compliance is not installed
            return None
        if not tables_exist(session, P.__tablename__, W.__tablename__):
            return None
        return Figures.from_members(
            (hpr, d or UNKNOWN_DISTRICT, _facility(hfr), since)
            for hpr, d, hfr, since in public_professionals(session, category)
        )

    return query


def _master_public_facilities(session: Session, profile: StateProfile) -> dict[int, int] | None:
    """Public facilities per district in the state's master in force (the facility
    registry's last confirmed import for the state); None before any import."""
    try:
        from healthstack.network.hfr.models import FacilityMasterEntry as E
        from healthstack.network.hfr.models import FacilityMasterImport as I
        from healthstack.network.hfr.reconcile import current_import
    except ImportError:  # the facility registry is not installed
        return None
    if not tables_exist(session, E.__tablename__, I.__tablename__):
        return None
    master = current_import(session, profile.state_lgd)
    if master is None:
        return None
    rows = session.execute(
        select(E.district_lgd, func.count())
        .where(E.import_id == master.id)
        .group_by(E.district_lgd)
    )
    return {int(d): int(n) for d, n in rows}


def _roster_posts(cadre: str) -> DenominatorQuery:
    """Posts of the cadre per district on the HR roster in force (compliance); None
    before a roster is imported (the targets then)."""

    def query(session: Session, profile: StateProfile) -> dict[int, int] | None:
        try:
            from healthstack.programme.compliance.figures import roster_posts
            from healthstack.programme.compliance.models import RosterEntry, RosterImport
        except ImportError:  # compliance is not installed
            return None
        if not tables_exist(session, RosterEntry.__tablename__, RosterImport.__tablename__):
            return None
        return roster_posts(cadre)(session)

    return query


def _overdue(session: Session) -> Figures | None:
    try:
        from healthstack.programme.compliance.figures import overdue_members
        from healthstack.programme.compliance.models import EscalationStep, RosterEntry
    except ImportError:  # compliance is not installed
        return None
    if not tables_exist(session, RosterEntry.__tablename__, EscalationStep.__tablename__):
        return None
    return Figures.from_members(
        (emp, d or UNKNOWN_DISTRICT, _facility(hfr), since)
        for emp, d, hfr, since in overdue_members(session)
    )


# --------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class Indicator:
    key: str
    label: str
    unit: str
    description: str
    rules: tuple[Rule, ...]
    # The recompute-from-source query (GROUP BY over the source tables); it returns
    # None while its registry is not installed.
    source: SourceQuery
    # What the figure is compared with; None: it has no denominator.
    denominator_label: str | None = None
    # Where the denominator comes from when not from the targets (see DenominatorQuery).
    denominator: DenominatorQuery | None = None
    higher_is_better: bool = True
    # False: defined so the pages and the API show it, not fed by any source yet.
    wired: bool = True
    dimensions: tuple[str, ...] = ("state", "district_lgd", "facility_id")

    @property
    def kind(self) -> Literal["count", "members"]:
        return "members" if any(not isinstance(r, Count) for r in self.rules) else "count"

    @property
    def events(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r.event for r in self.rules))

    def rules_for(self, event: str) -> list[Rule]:
        return [r for r in self.rules if r.event == event]


def _public_sector(payload: Payload) -> bool:
    return payload.get("sector") in ("public", "both")


def _professional_rules(category: str) -> tuple[Rule, ...]:
    def qualifies(p: Payload) -> bool:
        return p.get("category") == category and _public_sector(p)

    return (
        Enter("professional.verified", key="hpr_id", facility=first_facility, qualifies=qualifies),
        # A verified record whose work places changed: it moves with its first work
        # place, or leaves when no public post is left.
        Enter("professional.updated", key="hpr_id", facility=first_facility, qualifies=qualifies),
        Leave("professional.rejected", key="hpr_id"),
        # An edit of what the verifier confirmed sent it back to SUBMITTED: it no
        # longer counts; its next "professional.verified" counts it again.
        Leave("professional.resubmitted", key="hpr_id"),
    )


INDICATORS: tuple[Indicator, ...] = (
    Indicator(
        key="abha.accounts",
        label="ABHA accounts",
        unit="accounts",
        description="ABHA numbers created for residents of the district and not deleted "
        "(deactivated ones still count). At a facility: the ABHAs enrolled there.",
        rules=(
            Count("abha.account.created", +1),
            Count("abha.account.deleted", -1),
            # Re-KYC changed the district: out of the old cell, into the new one.
            Count(
                "abha.account.moved",
                -1,
                district=district_field("from_district_lgd"),
                where="the district the account left",
            ),
            Count("abha.account.moved", +1, where="the account's new district"),
        ),
        source=_abha_accounts,
        denominator_label="Target population",
    ),
    Indicator(
        key="hfr.public_facilities",
        label="Public facilities in HFR",
        unit="facilities",
        description="Public facilities registered and verified in the Health Facility Registry.",
        rules=(
            Enter(
                "facility.verified",
                key="hfr_id",
                facility=facility_field("hfr_id"),
                qualifies=lambda p: p.get("ownership") == "public",
            ),
            Leave("facility.rejected", key="hfr_id"),
        ),
        source=_public_facilities,
        denominator_label="Public facilities in the state master",
        # The master's count per district once one is imported; the targets until then.
        denominator=_master_public_facilities,
    ),
    Indicator(
        key="hpr.doctors",
        label="Public doctors in HPR",
        unit="doctors",
        description="Doctors with a public post, registered and verified in the Health "
        "Professional Registry, counted at their first work place.",
        rules=_professional_rules("doctor"),
        source=_professionals("doctor"),
        denominator_label="Public doctors on the HR roster",
        denominator=_roster_posts("doctor"),
    ),
    Indicator(
        key="hpr.nurses",
        label="Public nurses in HPR",
        unit="nurses",
        description="Nurses with a public post, registered and verified in the Health "
        "Professional Registry, counted at their first work place.",
        rules=_professional_rules("nurse"),
        source=_professionals("nurse"),
        denominator_label="Public nurses on the HR roster",
        denominator=_roster_posts("nurse"),
    ),
    Indicator(
        key="hpr.overdue",
        label="Professionals overdue",
        unit="professionals",
        description="Public professionals past their cadre's registration deadline, "
        "not registered and not exempt, as of the escalation job's last run.",
        rules=(),
        source=_overdue,
        higher_is_better=False,
    ),
)

_BY_KEY = {i.key: i for i in INDICATORS}


def indicator(key: str) -> Indicator | None:
    return _BY_KEY.get(key)


def indicators_for(event: str) -> list[Indicator]:
    return [i for i in INDICATORS if event in i.events]


def keys() -> Sequence[str]:
    return tuple(_BY_KEY)
