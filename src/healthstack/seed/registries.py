"""The ``jk`` profile's registries: facilities (HFR), the state facility master, the
public doctors and nurses (HPR) and the dashboard's professional targets.

They are few, so they are seeded in full at every scale (only residents and ABHA
accounts follow the scale). At scale 1 the dashboard then reads the review's figures:
3,607 of 3,607 public facilities, 6,713 of 7,730 public doctors, 5,149 of 5,149 nurses.

- Public network (3,607): one district hospital and one district public-health
  laboratory per district, the seven government medical colleges (Srinagar, Jammu,
  Anantnag, Baramulla, Doda, Kathua, Rajouri), and sub-district hospitals, CHCs, PHCs,
  dispensaries and sub-centres shared out over the districts by Census 2011 population
  (largest remainder). Services and beds follow the type; the 105 largest (by type,
  then beds) run the state HMIS. Names are unique after the registry's folding
  (``network.hfr.names.name_key``): a place name repeats across districts only with
  the district appended.
- Private facilities (``PRIVATE_TOTAL``): clinics, nursing homes, laboratories,
  imaging centres and pharmacies in the district towns.
- The state master lists the same 3,607 public facilities, written the way a state
  list writes them (SC / PHC / CHC ...), under the master codes the facilities carry,
  so reconciliation matches every entry by code. It goes through the real upload path
  (``master.create_preview`` then ``confirm_import``, with the system context).
- Posts: 7,730 public doctor posts and 5,149 nurse posts over the public facilities by
  type weights (a medical college has hundreds of doctors, a sub-centre none but an
  ANM). 1,017 doctor posts, drawn at random, are held by doctors not (yet) in HPR; the
  other 6,713 doctors and every nurse are VERIFIED. The district targets of
  ``hpr.doctors`` and ``hpr.nurses`` are the posts of the district, so the gap is
  spread like the posts. Private doctors and nurses are added at private facilities.
- The HR roster lists all 12,879 public posts with their holders, as payroll exports
  it (``roster_csv``): HR's post names, and the gaps HR data has (no council number for
  some, an old mobile, a name spelt as the service book spells it). It goes through the
  real upload path (preview, confirm, reconcile with HPR), so the dashboard's doctor and
  nurse denominators are the roster's, the 1,017 unregistered doctors are the ones the
  compliance pages chase, and a few uncertain pairs wait on the review screen. Both
  cadres get a registration deadline ``CAMPAIGN_DAYS`` after the seed: nobody is
  overdue until the clock passes it.
- Every professional, and every unregistered doctor on the roster, is also a sandbox
  resident (``kyc_resident``), so their Aadhaar exists for OTP (an unregistered doctor
  can register in HPR in the demo). Their Aadhaar numbers and mobiles come from the generator's
  bijections at ordinals counted down from the top of each space, which residents
  (counted up from 0) never reach.

Deterministic: one RNG seeded from (seed, profile, "registries").
"""

from __future__ import annotations

import csv
import importlib.util
import io
import random
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from healthstack.integrations.aadhaar.models import KycResident
from healthstack.kernel.context import system_context
from healthstack.network.hfr import master as facility_master
from healthstack.network.hfr.bulk import bulk_load_facilities
from healthstack.network.hfr.enums import FacilityType, Ownership, Service, SystemOfMedicine
from healthstack.network.hfr.names import name_key
from healthstack.network.hfr.reconcile import reconcile_master
from healthstack.network.hfr.service import FacilityDetails
from healthstack.network.hpr.bulk import ProfessionalSeed, bulk_load_professionals
from healthstack.network.hpr.credentials import DetailsInput, QualificationInput, WorkplaceInput
from healthstack.programme.compliance import roster as compliance_roster
from healthstack.programme.compliance.reconcile import link_counts
from healthstack.programme.compliance.service import open_campaign
from healthstack.programme.monitoring.targets import ABDM_LAUNCH, set_target
from healthstack.runtime import Runtime
from healthstack.seed import jk, names
from healthstack.seed.generator import (
    _AADHAAR_SPACE,
    DEFAULT_SEED,
    MOBILE_SERIES,
    aadhaar_for,
    mobile_for,
)

PUBLIC_FACILITIES = 3_607
HMIS_FACILITIES = 105
HMIS_NAME = "JK e-Hospital (NIC)"
DOCTOR_POSTS = 7_730
DOCTORS_IN_HPR = 6_713
NURSE_POSTS = 5_149
PRIVATE_DOCTORS = 1_150
PRIVATE_NURSES = 420
# The registration deadline the seed sets for both cadres, from the day of seeding.
CAMPAIGN_DAYS = timedelta(days=30)
# Private doctors whose registration still waits for a verifier (the demo's queue).
PRIVATE_SUBMITTED_SHARE = 0.06
DEPARTMENT = "Health and Medical Education"
MEDICAL_COLLEGES = ("Srinagar", "Jammu", "Anantnag", "Baramulla", "Doda", "Kathua", "Rajouri")

# Facilities shared out over the districts by population (per type, state totals).
_BY_POPULATION: tuple[tuple[FacilityType, int], ...] = (
    (FacilityType.SUB_DISTRICT_HOSPITAL, 58),
    (FacilityType.CHC, 92),
    (FacilityType.PHC, 640),
    (FacilityType.DISPENSARY, 64),
)
# Private facilities by type (state totals), with their name forms.
_PRIVATE: tuple[tuple[str, int], ...] = (
    ("clinic", 150),
    ("nursing_home", 40),
    ("laboratory", 70),
    ("imaging", 30),
    ("pharmacy", 130),
)
PRIVATE_TOTAL = sum(n for _, n in _PRIVATE)
# Doctor and nurse posts per facility, relative (shared to the state totals).
_DOCTOR_WEIGHT = {
    FacilityType.MEDICAL_COLLEGE_HOSPITAL: 260.0,
    FacilityType.DISTRICT_HOSPITAL: 55.0,
    FacilityType.SUB_DISTRICT_HOSPITAL: 18.0,
    FacilityType.CHC: 10.0,
    FacilityType.PHC: 2.6,
    FacilityType.DISPENSARY: 1.0,
    FacilityType.LABORATORY: 1.0,
    FacilityType.SUB_CENTRE: 0.0,
}
_NURSE_WEIGHT = {
    FacilityType.MEDICAL_COLLEGE_HOSPITAL: 150.0,
    FacilityType.DISTRICT_HOSPITAL: 45.0,
    FacilityType.SUB_DISTRICT_HOSPITAL: 14.0,
    FacilityType.CHC: 8.0,
    FacilityType.PHC: 1.6,
    FacilityType.DISPENSARY: 0.4,
    FacilityType.LABORATORY: 0.0,
    FacilityType.SUB_CENTRE: 0.75,
}
_TYPICAL_BEDS = {
    FacilityType.MEDICAL_COLLEGE_HOSPITAL: 750,
    FacilityType.DISTRICT_HOSPITAL: 225,
    FacilityType.SUB_DISTRICT_HOSPITAL: 87,
    FacilityType.CHC: 40,
}
_MASTER_PREFIX = {
    FacilityType.SUB_CENTRE: "SC",
    FacilityType.PHC: "PHC",
    FacilityType.CHC: "CHC",
    FacilityType.SUB_DISTRICT_HOSPITAL: "SDH",
    FacilityType.DISTRICT_HOSPITAL: "DH",
    FacilityType.MEDICAL_COLLEGE_HOSPITAL: "GMC",
    FacilityType.DISPENSARY: "DISP",
    FacilityType.LABORATORY: "LAB",
}
# Larger first: the HMIS goes to the top of this order, then by beds.
_RANK = {
    FacilityType.MEDICAL_COLLEGE_HOSPITAL: 0,
    FacilityType.DISTRICT_HOSPITAL: 1,
    FacilityType.SUB_DISTRICT_HOSPITAL: 2,
    FacilityType.CHC: 3,
    FacilityType.PHC: 4,
    FacilityType.LABORATORY: 5,
    FacilityType.DISPENSARY: 6,
    FacilityType.SUB_CENTRE: 7,
}

# fmt: off
# Data tables, kept compact for review.
# Syllables of village names, per region, for more places than ``jk.VILLAGES`` lists.
_PLACE_PARTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "valley": (
        ("Ali", "Bat", "Char", "Dar", "Gan", "Hanji", "Kral", "Lal", "Mir", "Nad", "Path",
         "Rah", "Sang", "Wan", "Zain", "Khan", "Mal", "Nar", "Pal", "Reshi", "Shal", "Tang",
         "Wag", "Yar", "Bugh", "Chat", "Dang", "Hawal", "Kani", "Lid"),
        ("pora", "gam", "bal", "mulla", "wari", "hama", "kote", "khah", "nag", "bugh"),
    ),
    "plains": (
        ("Ran", "Bal", "Chak", "Deo", "Gar", "Har", "Jag", "Kal", "Mang", "Nar", "Pal", "Ram",
         "Sai", "Tar", "Bish", "Dhar", "Kot", "Lal", "Man", "Sur", "Bhag", "Chan", "Gho",
         "Mir", "Rai"),
        ("pur", "wal", "garh", "kotli", "nagar", "chak", "wan", "ian", "al", "ana"),
    ),
    "hills": (
        ("Ban", "Chen", "Dhar", "Gar", "Kan", "Lad", "Mal", "Pan", "Ram", "Sar", "Tik", "Bas",
         "Dud", "Jag", "Kat", "Mand", "Rat", "Sud", "Bat", "Chak"),
        ("nagar", "kot", "garh", "al", "ani", "ori", "wal", "kund", "dhar", "gali"),
    ),
    "pir_panjal": (
        ("Dhan", "Gur", "Kal", "Lam", "Man", "Pan", "Sal", "Thal", "Bud", "Dar", "Har", "Kand",
         "Mar", "Nar", "Sur", "Bhat", "Chak", "Jhan", "Khab", "Tar"),
        ("kote", "gali", "dhara", "pur", "ian", "wal", "bagh", "ote", "ali", "gala"),
    ),
    "chenab": (
        ("Bhal", "Chin", "Dig", "Gan", "Jod", "Kah", "Mar", "Pog", "San", "Thath", "Bad",
         "Dess", "Gund", "Kas", "Log", "Nag", "Pran", "Ser", "Tat", "Un"),
        ("war", "doh", "ari", "gal", "goh", "ote", "lan", "ni", "kot", "ala"),
    ),
}
_HALVES: dict[str, tuple[str, ...]] = {
    "valley": ("Bala", "Payeen"),
    "plains": ("Khurd", "Kalan"),
    "hills": ("Upper", "Lower"),
    "pir_panjal": ("Upper", "Lower"),
    "chenab": ("Upper", "Lower"),
}
_PRIVATE_BRANDS = (
    "Life Care", "Al-Shifa", "City", "Sunrise", "Lifeline", "New Life", "Care Well",
    "Health Plus", "Valley", "Chinar", "Tawi", "Trikuta", "Noor", "Sehat", "Arogya",
    "Sanjeevani", "Dhanvantri", "Family", "Mercy", "Hope", "Green Valley", "Crescent",
    "Jeevan", "Rehmat", "Kailash", "Shivalik", "Jhelum", "Chenab", "Pir Panjal", "Unity",
)
_UNIVERSITIES = ("University of Kashmir", "University of Jammu", "SKIMS Deemed University")
_OUTSIDE_UNIVERSITIES = (
    "Baba Farid University of Health Sciences", "Rajiv Gandhi University of Health Sciences",
    "Pt. B.D. Sharma University of Health Sciences", "Maharashtra University of Health Sciences",
)
_PG_DEGREES = (
    "MD (Medicine)", "MS (General Surgery)", "MD (Paediatrics)", "MS (Obstetrics and "
    "Gynaecology)", "MS (Orthopaedics)", "MD (Anaesthesiology)", "MD (Radio-diagnosis)",
    "MD (Pathology)", "MS (Ophthalmology)", "MS (ENT)", "MD (Community Medicine)",
    "MD (Psychiatry)", "MD (Dermatology)", "MD (Pulmonary Medicine)",
)
# fmt: on
_CONSULT = (FacilityType.MEDICAL_COLLEGE_HOSPITAL, FacilityType.DISTRICT_HOSPITAL)


@dataclass
class FacilityPlan:
    """One facility to register (the details) and what the seed hangs on it."""

    details: FacilityDetails
    district: jk.District
    master_name: str | None = None  # how the state list writes it (public only)
    doctors: int = 0  # public doctor posts
    nurses: int = 0
    hfr_id: str = ""


@dataclass
class RegistriesResult:
    public_facilities: int = 0
    private_facilities: int = 0
    master_entries: int = 0
    master_matched: int = 0
    doctor_posts: int = 0
    doctors: int = 0  # public doctors in HPR (verified)
    nurses: int = 0
    private_professionals: int = 0
    residents: int = 0  # sandbox residents added for the professionals
    roster: dict[str, int] = field(default_factory=dict)  # entries per link state
    phases: dict[str, float] = field(default_factory=dict)


# --------------------------------------------------------------------------- sharing


def share(total: int, weights: list[float], rng: random.Random | None = None) -> list[int]:
    """``total`` shared in proportion to ``weights`` (largest remainder; equal
    remainders are ordered by ``rng`` when given, else by position). Sums to ``total``."""
    whole = sum(weights)
    if whole <= 0:
        raise ValueError("weights must have a positive sum")
    exact = [total * w / whole for w in weights]
    counts = [int(x) for x in exact]
    ties = [rng.random() for _ in weights] if rng else [0.0] * len(weights)
    order = sorted(range(len(weights)), key=lambda i: (counts[i] - exact[i], ties[i], i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _places(region: str, rng: random.Random) -> list[str]:
    """The region's villages, then syllable-built names, shuffled (distinct)."""
    heads, tails = _PLACE_PARTS[region]
    built = [f"{h}{t}" for h in heads for t in tails]
    base = list(jk.VILLAGES[region])
    rng.shuffle(built)
    rng.shuffle(base)
    # Two villages of one name tell themselves apart the local way ("Khurd" / "Kalan",
    # "Bala" / "Payeen"): used only where a district needs that many places.
    halves = [f"{place} {half}" for half in _HALVES[region] for place in base + built]
    seen: set[str] = set()
    out = []
    for place in base + built + halves:
        if place.lower() not in seen:
            seen.add(place.lower())
            out.append(place)
    return out


# --------------------------------------------------------------------------- facilities


def _services(kind: FacilityType, beds: int) -> list[Service]:
    s = Service
    if kind is FacilityType.SUB_CENTRE:
        return [s.OPD]
    if kind is FacilityType.DISPENSARY:
        return [s.OPD, s.PHARMACY]
    if kind is FacilityType.LABORATORY:
        return [s.LAB]
    if kind is FacilityType.PHC:
        return [s.OPD, s.LAB, s.PHARMACY] + ([s.IPD, s.EMERGENCY] if beds else [])
    return [s.OPD, s.IPD, s.LAB, s.RADIOLOGY, s.PHARMACY, s.EMERGENCY]


def _beds(kind: FacilityType, rng: random.Random) -> int:
    r = rng.random()
    return {
        FacilityType.MEDICAL_COLLEGE_HOSPITAL: 500 + int(r * 11) * 50,
        FacilityType.DISTRICT_HOSPITAL: 150 + int(r * 7) * 25,
        FacilityType.SUB_DISTRICT_HOSPITAL: 50 + int(r * 4) * 25,
        FacilityType.CHC: 30 + int(r * 3) * 10,
        # About a third of PHCs are open round the clock, with six beds.
        FacilityType.PHC: 6 if r < 0.33 else 0,
    }.get(kind, 0)


class _Names:
    """Facility names unique after the registry's folding, state-wide."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def take(self, *candidates: str) -> str | None:
        for name in candidates:
            key = name_key(name)
            if key not in self.used:
                self.used.add(key)
                return name
        return None


def _public_plan(rng: random.Random) -> list[FacilityPlan]:
    districts = jk.DISTRICTS
    census = [float(d.census_2011) for d in districts]
    per_type = {kind: share(total, census, rng) for kind, total in _BY_POPULATION}
    fixed = len(districts) * 2 + len(MEDICAL_COLLEGES)  # DH and lab per district, GMCs
    others = sum(total for _, total in _BY_POPULATION)
    per_type[FacilityType.SUB_CENTRE] = share(PUBLIC_FACILITIES - fixed - others, census, rng)
    taken = _Names()
    plans: list[FacilityPlan] = []
    serial: dict[tuple[int, str], int] = {}

    def add(
        d: jk.District,
        kind: FacilityType,
        name: str,
        master_name: str,
        loc: jk.Locality,
        place: str,
        system: SystemOfMedicine = SystemOfMedicine.MODERN_MEDICINE,
    ) -> None:
        prefix = _MASTER_PREFIX[kind]
        n = serial[(d.lgd, prefix)] = serial.get((d.lgd, prefix), 0) + 1
        beds = _beds(kind, rng)
        address = place if place == loc.name else f"{place}, Tehsil {loc.name}"
        plans.append(
            FacilityPlan(
                FacilityDetails(
                    name=name,
                    facility_type=kind,
                    ownership=Ownership.PUBLIC,
                    system_of_medicine=system,
                    state_lgd=jk.STATE_LGD,
                    district_lgd=d.lgd,
                    pincode=loc.pincode,
                    services=_services(kind, beds),
                    beds=beds,
                    department=DEPARTMENT,
                    address_line=address,
                    master_code=f"JK-{d.lgd:03d}-{prefix}-{n:04d}",
                ),
                d,
                master_name=master_name,
            )
        )

    # Medical colleges first: the first HFR id issued (IN0110000001) is GMC Srinagar,
    # the facility the demo logins work at.
    for city in MEDICAL_COLLEGES:
        d = next(x for x in districts if x.name == city)
        loc = d.localities[0]
        name = taken.take(f"GMC {city}")
        assert name is not None
        add(
            d,
            FacilityType.MEDICAL_COLLEGE_HOSPITAL,
            name,
            f"Govt Medical College {city}",
            loc,
            loc.name,
        )
    for i, d in enumerate(districts):
        town = d.localities[0]
        towns = [loc for loc in d.localities if loc is not town] or [town]
        rural = [loc for loc in d.localities if not loc.urban] or list(d.localities)
        places = _places(d.region, rng)
        name = taken.take(f"District Hospital {d.name}")
        assert name is not None
        add(d, FacilityType.DISTRICT_HOSPITAL, name, f"DH {d.name}", town, town.name)
        name = taken.take(f"District Public Health Laboratory {d.name}")
        assert name is not None
        add(d, FacilityType.LABORATORY, name, f"Public Health Lab {d.name}", town, town.name)

        def sited(
            kind: FacilityType,
            count: int,
            forms: tuple[str, ...],
            master_form: str,
            sites: list[jk.Locality],
            by_place: bool,
            *,
            d: jk.District = d,
            places: list[str] = places,
            rural: list[jk.Locality] = rural,
        ) -> None:
            """``count`` facilities of ``kind``: at the district's towns first, then
            (``by_place``) at villages, each name free state-wide."""
            pool = [(loc.name, loc) for loc in sites]
            if by_place:
                pool += [(p, rural[int(rng.random() * len(rural))]) for p in places]
            made = 0
            seen: set[str] = set()  # one facility of a type per place in the district
            for place, loc in pool:
                if made == count:
                    return
                if place.lower() in seen:
                    continue
                seen.add(place.lower())
                form = forms[int(rng.random() * len(forms))]
                name = taken.take(f"{form} {place}", f"{form} {place}, {d.name}")
                if name is None:
                    continue
                system = SystemOfMedicine.MODERN_MEDICINE
                if kind is FacilityType.DISPENSARY and name.startswith("ISM"):
                    system = (SystemOfMedicine.UNANI, SystemOfMedicine.AYURVEDA)[
                        int(rng.random() * 2)
                    ]
                add(d, kind, name, f"{master_form} {place}", loc, place, system)
                made += 1
            if made < count:
                raise RuntimeError(f"not enough place names for {kind.value} in {d.name}")

        sited(
            FacilityType.SUB_DISTRICT_HOSPITAL,
            per_type[FacilityType.SUB_DISTRICT_HOSPITAL][i],
            ("Sub District Hospital",),
            "SDH",
            towns,
            True,
        )
        sited(FacilityType.CHC, per_type[FacilityType.CHC][i], ("CHC",), "CHC", towns, True)
        sited(
            FacilityType.PHC,
            per_type[FacilityType.PHC][i],
            ("PHC",),
            "PHC",
            list(d.localities),
            True,
        )
        sited(
            FacilityType.DISPENSARY,
            per_type[FacilityType.DISPENSARY][i],
            ("Govt Dispensary", "ISM Dispensary"),
            "Disp.",
            [],
            True,
        )
        sited(
            FacilityType.SUB_CENTRE,
            per_type[FacilityType.SUB_CENTRE][i],
            ("Sub Centre", "Sub Centre", "Health and Wellness Centre"),
            "SC",
            [],
            True,
        )
    # The state HMIS runs at the largest: by type, then beds.
    for plan in sorted(plans, key=lambda p: (_RANK[p.details.facility_type], -p.details.beds))[
        :HMIS_FACILITIES
    ]:
        plan.details.hmis = HMIS_NAME
    return plans


def _private_plan(rng: random.Random, taken: _Names) -> list[FacilityPlan]:
    districts = jk.DISTRICTS
    census = [float(d.census_2011) for d in districts]
    plans: list[FacilityPlan] = []
    for kind, total in _PRIVATE:
        for d, count in zip(districts, share(total, census, rng), strict=True):
            community = names.COMMUNITIES[d.communities[0][0]]
            made = attempts = 0
            while made < count:
                attempts += 1
                if attempts > count * 50:
                    raise RuntimeError(f"not enough private {kind} names in {d.name}")
                urban = [loc for loc in d.localities if loc.urban] or list(d.localities)
                loc = urban[int(rng.random() * len(urban))]
                brand = _PRIVATE_BRANDS[int(rng.random() * len(_PRIVATE_BRANDS))]
                surname = names.pick_clan(rng, community)
                ftype, services, beds = FacilityType.CLINIC, [Service.OPD], 0
                base: tuple[str, ...]
                if kind == "clinic":
                    base = (f"Dr {surname}'s Clinic", f"{brand} Clinic", f"{brand} Polyclinic")
                elif kind == "nursing_home":
                    beds = 10 + int(rng.random() * 9) * 5
                    services = [
                        Service.OPD,
                        Service.IPD,
                        Service.LAB,
                        Service.PHARMACY,
                        Service.EMERGENCY,
                    ]
                    base = (f"{brand} Hospital", f"{brand} Nursing Home")
                elif kind == "laboratory":
                    ftype, services = FacilityType.LABORATORY, [Service.LAB]
                    base = (f"{brand} Diagnostic Laboratory", f"{brand} Pathology Lab")
                elif kind == "imaging":
                    ftype, services = FacilityType.IMAGING_CENTRE, [Service.RADIOLOGY]
                    base = (f"{brand} Imaging Centre", f"{brand} Diagnostics and Imaging")
                else:
                    ftype, services = FacilityType.PHARMACY, [Service.PHARMACY]
                    base = (f"{surname} Medicos", f"{brand} Pharmacy", f"{brand} Chemists")
                form = base[int(rng.random() * len(base))]
                name = taken.take(f"{form}, {loc.name}")
                if name is None:
                    continue
                plans.append(
                    FacilityPlan(
                        FacilityDetails(
                            name=name,
                            facility_type=ftype,
                            ownership=Ownership.PRIVATE,
                            system_of_medicine=SystemOfMedicine.MODERN_MEDICINE,
                            state_lgd=jk.STATE_LGD,
                            district_lgd=d.lgd,
                            pincode=loc.pincode,
                            services=services,
                            beds=beds,
                            address_line=f"Main Road, {loc.name}",
                        ),
                        d,
                    )
                )
                made += 1
    return plans


def facility_plans(seed: int = DEFAULT_SEED, profile: str = "jk") -> list[FacilityPlan]:
    """Every facility of the profile, public first, with its doctor and nurse posts."""
    rng = random.Random(f"{seed}:{profile}:registries")
    public = _public_plan(rng)
    taken = _Names()
    taken.used = {name_key(p.details.name) for p in public}
    private = _private_plan(rng, taken)
    # Within a type, hospitals are staffed by their size.
    size = [
        p.details.beds / _TYPICAL_BEDS[p.details.facility_type]
        if p.details.facility_type in _TYPICAL_BEDS
        else 1.0
        for p in public
    ]
    doctor_w = [
        _DOCTOR_WEIGHT[p.details.facility_type] * k for p, k in zip(public, size, strict=True)
    ]
    nurse_w = [
        _NURSE_WEIGHT[p.details.facility_type] * k for p, k in zip(public, size, strict=True)
    ]
    for plan, doctors, nurses in zip(
        public, share(DOCTOR_POSTS, doctor_w, rng), share(NURSE_POSTS, nurse_w, rng), strict=True
    ):
        plan.doctors, plan.nurses = doctors, nurses
    return public + private


def master_csv(plans: list[FacilityPlan]) -> bytes:
    """The state's master list of its public facilities, as the state would upload it."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["State Code", "Facility Name", "Type", "District", "Ownership", "Department"])
    for p in plans:
        d = p.details
        if d.ownership is not Ownership.PUBLIC:
            continue
        writer.writerow(
            [
                d.master_code,
                p.master_name or d.name,
                d.facility_type.value,
                p.district.name,
                "Government",
                DEPARTMENT,
            ]
        )
    return out.getvalue().encode("utf-8")


# --------------------------------------------------------------------------- people


@dataclass(frozen=True)
class _Post:
    plan: FacilityPlan
    category: str  # doctor | nurse
    public: bool
    status: str = "VERIFIED"


class _People:
    """Sandbox residents for the professionals, with unique council numbers."""

    def __init__(self, rng: random.Random, seed: int, now: datetime):
        self.rng = rng
        self.seed = seed
        self.now = now
        self.count = 0
        self.residents: list[dict[str, Any]] = []
        self.serials: dict[str, int] = {}

    def number(self, council: str, year: int) -> str:
        n = self.serials[council] = self.serials.get(council, 0) + 1
        return f"{council}/{year}/{n:05d}"

    def person(self, d: jk.District, gender: str, min_age: int, max_age: int) -> dict[str, Any]:
        rng = self.rng
        keys = [k for k, _ in d.communities]
        weights = [w for _, w in d.communities]
        community = names.COMMUNITIES[rng.choices(keys, weights)[0]]
        age = min_age + int(rng.random() * (max_age - min_age + 1))
        born = date.fromordinal(self.now.date().toordinal() - age * 365 - int(rng.random() * 364))
        parts = names.make_name(rng, community, gender, age, names.pick_clan(rng, community))
        # Counted down from the top of each space: residents count up from 0.
        aadhaar = aadhaar_for(_AADHAAR_SPACE - 1 - self.count, self.seed)
        mobile = mobile_for(len(MOBILE_SERIES) * 10**6 - 1 - self.count, self.seed)
        self.count += 1
        loc = d.localities[int(rng.random() * len(d.localities))]
        self.residents.append(
            {
                "aadhaar": aadhaar,
                "name": parts.full,
                "gender": gender,
                "birth_date": born,
                "address_line": f"House No. {1 + int(rng.random() * 400)}, {loc.name}",
                "locality": loc.name,
                "district_name": d.name,
                "district_lgd": d.lgd,
                "state_name": jk.STATE_NAME,
                "state_lgd": jk.STATE_LGD,
                "pincode": loc.pincode,
                "mobile": mobile,
            }
        )
        return {
            "aadhaar": aadhaar,
            "name": parts.full,
            "gender": gender,
            "born": born,
            "mobile": mobile,
            "district": d,
        }


def _doctor(people: _People, post: _Post) -> ProfessionalSeed:
    rng = people.rng
    kind = post.plan.details.facility_type
    system = post.plan.details.system_of_medicine
    p = people.person(post.plan.district, "F" if rng.random() < 0.42 else "M", 27, 59)
    born = p["born"]
    year_now = people.now.year
    grad = min(born.year + 23 + int(rng.random() * 3), year_now)
    univ = (_UNIVERSITIES + _OUTSIDE_UNIVERSITIES[:1])[int(rng.random() * 4)]
    quals = [QualificationInput("MBBS", univ, grad)]
    r = rng.random()
    if system is not SystemOfMedicine.MODERN_MEDICINE:
        sub = "ayush_unani" if system is SystemOfMedicine.UNANI else "ayush_ayurveda"
        council, role = "JKISM", "ayush_medical_officer"
        quals = [QualificationInput("BUMS" if sub == "ayush_unani" else "BAMS", univ, grad)]
    elif r < 0.07 and kind is not FacilityType.LABORATORY:
        sub, council, role = "dentist", "JKDC" if rng.random() < 0.8 else "DCI", "dental_surgeon"
        quals = [QualificationInput("BDS", univ, grad)]
    else:
        sub = "modern_medicine"
        c = rng.random()
        council = "JKMC" if c < 0.8 else "NMC" if c < 0.95 else "PBMC"
        pg = grad + 3 + int(rng.random() * 3)
        if kind is FacilityType.MEDICAL_COLLEGE_HOSPITAL:
            role = ("faculty", "senior_resident", "consultant", "junior_resident")[
                int(rng.random() * 4)
            ]
        elif kind in _CONSULT or kind is FacilityType.SUB_DISTRICT_HOSPITAL:
            role = "specialist" if rng.random() < 0.5 else "medical_officer"
        elif kind is FacilityType.LABORATORY:
            role = "specialist"
            quals.append(QualificationInput("MD (Pathology)", univ, min(pg, year_now)))
        else:
            role = "block_medical_officer" if rng.random() < 0.05 else "medical_officer"
        if role in ("specialist", "consultant", "faculty") and len(quals) == 1:
            degree = _PG_DEGREES[int(rng.random() * len(_PG_DEGREES))]
            quals.append(QualificationInput(degree, univ, min(pg, year_now)))
    reg_year = min(grad + 1, year_now)
    return _professional(people, p, post, "doctor", sub, council, reg_year, quals, role)


def _nurse(people: _People, post: _Post) -> ProfessionalSeed:
    rng = people.rng
    kind = post.plan.details.facility_type
    p = people.person(post.plan.district, "F" if rng.random() < 0.9 else "M", 21, 57)
    born = p["born"]
    year_now = people.now.year
    done = min(born.year + 20 + int(rng.random() * 3), year_now)
    if kind is FacilityType.SUB_CENTRE:
        sub, role, degree = "anm", "anm", "ANM Diploma"
        if rng.random() < 0.25:
            sub, role, degree = "bsc_nursing", "community_health_officer", "B.Sc Nursing"
    elif kind in (FacilityType.PHC, FacilityType.DISPENSARY):
        sub, role, degree = (
            ("anm", "anm", "ANM Diploma")
            if rng.random() < 0.4
            else ("gnm", "staff_nurse", "GNM Diploma")
        )
    else:
        r = rng.random()
        if r < 0.55:
            sub, role, degree = "gnm", "staff_nurse", "GNM Diploma"
        elif r < 0.9:
            sub, role, degree = "bsc_nursing", "nursing_officer", "B.Sc Nursing"
        else:
            sub, role, degree = "msc_nursing", "nursing_tutor", "M.Sc Nursing"
    board = (
        "Jammu and Kashmir Nursing Council"
        if "Diploma" in degree
        else (_UNIVERSITIES[int(rng.random() * len(_UNIVERSITIES))])
    )
    council = "JKNC" if rng.random() < 0.9 else "INC"
    quals = [QualificationInput(degree, board, done)]
    return _professional(people, p, post, "nurse", sub, council, done, quals, role)


def _professional(
    people: _People,
    p: dict[str, Any],
    post: _Post,
    category: str,
    subcategory: str,
    council: str,
    reg_year: int,
    quals: list[QualificationInput],
    role: str,
) -> ProfessionalSeed:
    rng = people.rng
    if not post.public:
        role = "private_practitioner" if category == "doctor" and rng.random() < 0.7 else role
    # Registered in HPR over the two years before the seed, verified within weeks.
    registered = people.now - timedelta(seconds=int(rng.random() * 730 * 86400))
    decided = min(registered + timedelta(hours=int(1 + rng.random() * 500)), people.now)
    return ProfessionalSeed(
        aadhaar=p["aadhaar"],
        name=p["name"],
        gender=p["gender"],
        birth_date=p["born"],
        mobile=p["mobile"],
        details=DetailsInput(
            category=category,
            subcategory=subcategory,
            council=council,
            registration_number=people.number(council, reg_year),
            registration_year=reg_year,
            qualifications=tuple(quals),
            workplaces=(
                WorkplaceInput(post.plan.hfr_id, role, "public" if post.public else "private"),
            ),
        ),
        status=post.status,
        registered_at=registered,
        decided_at=None if post.status == "SUBMITTED" else decided,
        residence_district_lgd=p["district"].lgd,
        residence_state_lgd=jk.STATE_LGD,
    )


def _posts(plans: list[FacilityPlan], rng: random.Random) -> tuple[list[_Post], list[_Post]]:
    """(posts whose holder is in HPR, public doctor posts whose holder is not)."""
    public = [p for p in plans if p.details.ownership is Ownership.PUBLIC]
    private = [p for p in plans if p.details.ownership is Ownership.PRIVATE]
    doctor_posts = [p for p in public for _ in range(p.doctors)]
    # The doctors on the roster but not (yet) in HPR: drawn at random, so the gap is
    # spread over districts and facilities like the posts themselves.
    unregistered = set(rng.sample(range(len(doctor_posts)), len(doctor_posts) - DOCTORS_IN_HPR))
    posts = [
        _Post(plan, "doctor", True) for i, plan in enumerate(doctor_posts) if i not in unregistered
    ]
    outside = [_Post(doctor_posts[i], "doctor", True) for i in sorted(unregistered)]
    posts += [_Post(p, "nurse", True) for p in public for _ in range(p.nurses)]
    staffed = [
        p
        for p in private
        if p.details.facility_type
        in (FacilityType.CLINIC, FacilityType.LABORATORY, FacilityType.IMAGING_CENTRE)
    ]
    wards = [p for p in private if Service.IPD in p.details.services]
    for _ in range(PRIVATE_DOCTORS):
        status = "SUBMITTED" if rng.random() < PRIVATE_SUBMITTED_SHARE else "VERIFIED"
        posts.append(_Post(staffed[int(rng.random() * len(staffed))], "doctor", False, status))
    for _ in range(PRIVATE_NURSES):
        posts.append(_Post(wards[int(rng.random() * len(wards))], "nurse", False))
    return posts, outside


@dataclass
class SeededPeople:
    """The professionals to load into HPR, the public doctors on the roster who are
    not in HPR (made the same way, never loaded), and the sandbox residents of both."""

    seeds: list[ProfessionalSeed]
    unregistered: list[ProfessionalSeed]
    residents: list[dict[str, Any]]


def professional_seeds(
    plans: list[FacilityPlan], *, now: datetime, seed: int = DEFAULT_SEED, profile: str = "jk"
) -> SeededPeople:
    """The people of the registries, with the facilities' HFR ids filled in."""
    rng = random.Random(f"{seed}:{profile}:professionals")
    people = _People(rng, seed, now)
    posts, outside = _posts(plans, rng)
    seeds = [(_doctor if post.category == "doctor" else _nurse)(people, post) for post in posts]
    # Made last, so adding them changed nobody else's details.
    unregistered = [_doctor(people, post) for post in outside]
    return SeededPeople(seeds, unregistered, people.residents)


# --------------------------------------------------------------------------- roster

# What HR writes in the cadre column for an HPR work-place role (roster.CADRES reads it).
_HR_CADRE = {
    "medical_officer": "Medical Officer",
    "block_medical_officer": "Medical Officer",
    "ayush_medical_officer": "Medical Officer",
    "specialist": "Specialist",
    "consultant": "Consultant",
    "faculty": "Doctor",
    "senior_resident": "Doctor",
    "junior_resident": "Doctor",
    "dental_surgeon": "Dental Surgeon",
    "anm": "ANM",
    "community_health_officer": "Staff Nurse",
    "staff_nurse": "Staff Nurse",
    "nursing_officer": "Nursing Officer",
    "nursing_tutor": "Nurse",
}
# How far the HR roster falls short of HPR's data (shares of entries).
ROSTER_NO_COUNCIL = 0.15  # HR never recorded the council registration
ROSTER_NO_MOBILE = 0.03
ROSTER_STALE_MOBILE = 0.05  # a number the person no longer uses
ROSTER_VARIANT_NAME = 0.04  # the name spelt as the service book spells it


def roster_csv(
    plans: list[FacilityPlan], people: SeededPeople, seed: int = DEFAULT_SEED, profile: str = "jk"
) -> bytes:
    """The state's HR roster of its public doctor and nurse posts, as payroll exports
    it: employee codes in joining order, HR's post names, and the gaps HR data has (no
    council number, an old mobile, a name spelt another way), so reconciliation has
    every key to try and a few pairs for the review screen."""
    rng = random.Random(f"{seed}:{profile}:roster")
    district_of = {p.hfr_id: p.district.name for p in plans}
    public = [s for s in people.seeds if s.details.workplaces[0].sector == "public"]
    holders = public + people.unregistered
    order = list(range(len(holders)))
    rng.shuffle(order)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(
        [
            "Employee Code",
            "Employee Name",
            "Designation",
            "HFR ID",
            "District",
            "Mobile",
            "Council",
            "Registration No",
            "Year of Birth",
        ]
    )
    stale = len(MOBILE_SERIES) * 10**6 - 1 - 200_000  # below every professional's ordinal
    for code, i in enumerate(order, start=1):
        s = holders[i]
        d = s.details
        place = d.workplaces[0]
        r = rng.random
        name = s.name
        if r() < ROSTER_VARIANT_NAME:
            name = names._vary_all(name, rng)
        if r() < 0.3:
            name = name.upper()
        mobile = s.mobile
        m = r()
        if m < ROSTER_NO_MOBILE:
            mobile = ""
        elif m < ROSTER_NO_MOBILE + ROSTER_STALE_MOBILE:
            mobile = mobile_for(stale - code, seed)
        has_council = r() >= ROSTER_NO_COUNCIL
        writer.writerow(
            [
                f"JKH{code:07d}",
                name,
                _HR_CADRE[place.role],
                place.hfr_id,
                district_of[place.hfr_id],
                mobile,
                d.council if has_council else "",
                d.registration_number if has_council else "",
                s.birth_date.year,
            ]
        )
    return out.getvalue().encode("utf-8")


# --------------------------------------------------------------------------- load


def posts_by_district(plans: list[FacilityPlan]) -> tuple[dict[int, int], dict[int, int]]:
    doctors: dict[int, int] = {d.lgd: 0 for d in jk.DISTRICTS}
    nurses: dict[int, int] = {d.lgd: 0 for d in jk.DISTRICTS}
    for p in plans:
        doctors[p.district.lgd] += p.doctors
        nurses[p.district.lgd] += p.nurses
    return doctors, nurses


# How many ABHAs a public facility makes, relative, by type: hospitals enrol at every
# registration counter, a PHC or a sub-centre (a Health and Wellness Centre) in its
# camps; a public health laboratory enrols nobody.
ENROLMENT_WEIGHT = {
    FacilityType.MEDICAL_COLLEGE_HOSPITAL: 150.0,
    FacilityType.DISTRICT_HOSPITAL: 80.0,
    FacilityType.SUB_DISTRICT_HOSPITAL: 20.0,
    FacilityType.CHC: 10.0,
    FacilityType.PHC: 3.0,
    FacilityType.DISPENSARY: 0.5,
    FacilityType.SUB_CENTRE: 0.8,
    FacilityType.LABORATORY: 0.0,
}


def enrolment_sites(plans: list[FacilityPlan]) -> dict[int, list[tuple[str, float]]]:
    """Per district, its public facilities that make ABHAs, with their weights (the
    generator's ``sites``). The HFR ids must be filled in (after loading)."""
    sites: dict[int, list[tuple[str, float]]] = {}
    for p in plans:
        weight = ENROLMENT_WEIGHT.get(p.details.facility_type, 0.0)
        if p.details.ownership is Ownership.PUBLIC and weight > 0 and p.hfr_id:
            sites.setdefault(p.district.lgd, []).append((p.hfr_id, weight))
    return sites


@dataclass
class SeededFacilities:
    """The facilities loaded (with their HFR ids) and the time it took."""

    plans: list[FacilityPlan]
    seconds: float


def seed_facilities(
    session: Session, runtime: Runtime, *, profile: str = "jk", seed: int = DEFAULT_SEED
) -> SeededFacilities:
    """Load the profile's facilities (the first step of ``seed_registries``; the loader
    runs it before the residents, whose ABHAs are credited to these facilities)."""
    if profile != "jk":
        raise ValueError(f"no registries for profile {profile!r}")
    t = time.perf_counter()
    plans = facility_plans(seed, profile)
    hfr = bulk_load_facilities(
        session,
        [p.details for p in plans],
        clock=runtime.clock,
        profile=jk.PROFILE,
        registered_by="seed",
    )
    for plan, hfr_id in zip(plans, hfr, strict=True):
        plan.hfr_id = hfr_id
    return SeededFacilities(plans, time.perf_counter() - t)


def seed_registries(
    session: Session,
    runtime: Runtime,
    *,
    profile: str = "jk",
    seed: int = DEFAULT_SEED,
    facilities: SeededFacilities | None = None,
) -> RegistriesResult:
    """Seed the profile's facilities (unless ``network.hfr`` were loaded already), state
    master, professionals and their targets in the caller's transaction (flush only).
    Refuses (``ValidationFailed``, nothing kept by a caller that rolls back) when a
    generated row breaks a registry rule."""
    if profile != "jk":
        raise ValueError(f"no registries for profile {profile!r}")
    clock = runtime.clock
    result = RegistriesResult()
    loaded = facilities or seed_facilities(session, runtime, profile=profile, seed=seed)
    plans = loaded.plans
    public = [p for p in plans if p.details.ownership is Ownership.PUBLIC]
    result.public_facilities = len(public)
    result.private_facilities = len(plans) - len(public)
    result.phases["facilities"] = loaded.seconds

    t = time.perf_counter()
    ctx = system_context()
    preview = facility_master.create_preview(
        session,
        ctx,
        clock=clock,
        profile=jk.PROFILE,
        state_lgd=jk.STATE_LGD,
        filename="jk-public-facilities-master.csv",
        data=master_csv(plans),
    )
    if preview.broken:  # pragma: no cover - the generator's invariant
        raise RuntimeError(f"the seeded master has broken rows: {preview.broken[:3]}")
    facility_master.confirm_import(
        session, ctx, clock=clock, import_id=preview.public_id, sha256=preview.sha256
    )
    summary = reconcile_master(session, ctx, clock=clock, state_lgd=jk.STATE_LGD)
    result.master_entries = summary.total
    result.master_matched = summary.registered
    result.phases["master"] = time.perf_counter() - t

    t = time.perf_counter()
    people = professional_seeds(plans, now=clock.now(), seed=seed, profile=profile)
    seeds, residents = people.seeds, people.residents
    connection = session.connection()
    for start in range(0, len(residents), 1000):
        # executemany (psycopg pipelines it): a multi-row VALUES statement of 12,000
        # parameters compiles far slower on PostgreSQL.
        connection.execute(insert(KycResident), residents[start : start + 1000])
    result.residents = len(residents)
    bulk_load_professionals(
        session,
        rows=seeds,
        registered_by="seed",
        clock=runtime.clock,
        hasher=runtime.hasher,
        secret_key=runtime.settings.secret_key,
    )
    for s in seeds:
        public_post = s.details.workplaces[0].sector == "public"
        if not public_post:
            result.private_professionals += 1
        elif s.details.category == "doctor":
            result.doctors += 1
        else:
            result.nurses += 1
    result.phases["professionals"] = time.perf_counter() - t

    t = time.perf_counter()
    roster = compliance_roster.create_preview(
        session,
        ctx,
        clock=clock,
        profile=jk.PROFILE,
        filename="jk-hr-roster.csv",
        data=roster_csv(plans, people),
    )
    if roster.broken:  # pragma: no cover - the generator's invariant
        raise RuntimeError(f"the seeded roster has broken rows: {roster.broken[:3]}")
    roster = compliance_roster.confirm_import(
        session, ctx, clock=clock, import_id=roster.public_id, sha256=roster.sha256
    )
    result.roster = link_counts(session, roster)
    deadline = clock.now().date() + CAMPAIGN_DAYS
    for cadre in ("doctor", "nurse"):
        open_campaign(session, ctx, clock=clock, cadre=cadre, deadline=deadline)
    result.phases["roster"] = time.perf_counter() - t

    doctors, nurses = posts_by_district(public)
    result.doctor_posts = sum(doctors.values())
    for indicator, per_district in (("hpr.doctors", doctors), ("hpr.nurses", nurses)):
        for lgd, value in per_district.items():
            set_target(
                session,
                profile=jk.PROFILE,
                indicator=indicator,
                district_lgd=lgd,
                value=value,
                valid_from=ABDM_LAUNCH,
                set_by="seed",
                clock=clock,
            )
    if importlib.util.find_spec("healthstack.facility.records") is not None:
        # The demo's records at HMIS facilities (seed.records), when the facility side is there.
        from healthstack.seed.records import seed_records

        seed_records(session, runtime, seed=seed)
    session.flush()
    return result
