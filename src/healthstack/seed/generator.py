"""Deterministic generator of a profile's synthetic residents.

Same profile, scale, seed and ``as_of`` give the same residents in the same order,
whatever batch size the loader uses: each district has its own RNG seeded from
(seed, profile, district) and residents stream out one by one, never held in memory.

- Aadhaar: 11 digits from an affine bijection of the resident's ordinal over
  [2*10^10, 10^11) (so distinct ordinals always give distinct numbers, no retries),
  plus the Verhoeff check digit (UIDAI's scheme).
- Households of 1-9 (mean about 5) share a surname, address and, mostly, one mobile;
  some adults have their own mobile and about one household in eight has none.
  Mobiles come from another bijection, so two households never share one by chance.
- Sex ratio 890 women per 1000 men; ages follow a J&K-like age pyramid; older
  residents' Aadhaar often carries 1 January of the birth year (only the year known).
- ABHA accounts: exactly round(residents * 94.49 / 135.6) residents have one. The
  districts do not share them evenly: each has its own coverage (``coverage_rates``),
  spread from about 45 % to 90 % and placed by the seed, so the state still totals
  69.7 % and the dashboard has districts to act on. Within a district the accounts
  are spread uniformly (selection sampling), created over the three years before
  ``as_of``; a share have a custom ABHA address handle built from the name, unique by
  construction (it ends with a number no other handle carries).
- Where each ABHA was made: given the enrolment sites (``sites``: the public
  facilities of each district with a weight by facility type, ``seed.registries``),
  an account is credited to a facility of its holder's district drawn by weight, or
  to none for the share made by self-service (the ABHA app or website). The draws
  come from a separate RNG per district, so the residents are the same with or
  without sites.
"""

from __future__ import annotations

import bisect
import hashlib
import random
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate, islice
from typing import NamedTuple

from healthstack.kernel.errors import ValidationFailed
from healthstack.seed import jk, names

DEFAULT_SEED = 20_250_901
PROFILES = {"jk": jk}
MAX_SCALE = 1.0

# ------------------------------------------------------------------ plan


@dataclass(frozen=True)
class Plan:
    """How many residents and accounts a seed run makes, per district."""

    profile: str
    scale: float
    residents: int
    accounts: int
    district_lgds: tuple[int, ...]
    district_residents: tuple[int, ...]
    district_accounts: tuple[int, ...]


# District ABHA coverage: evenly spread over this range, then shifted together (and
# held within the bounds) until the state total is the profile's.
COVERAGE_LOW, COVERAGE_HIGH = 0.43, 0.88
COVERAGE_BOUNDS = (0.40, 0.95)
# Accounts made by self-service (the ABHA app or website), credited to no facility.
SELF_SERVICE_SHARE = 0.22

# (district lgd) -> the district's enrolment sites: (HFR id, weight).
Sites = Mapping[int, Sequence[tuple[str, float]]]


def validate_profile(profile: str) -> str:
    key = (profile or "").strip().lower()
    if key not in PROFILES:
        raise ValidationFailed(
            f"Unknown seeding profile {profile!r}. Available: {', '.join(sorted(PROFILES))}.",
            field="profile",
        )
    return key


def validate_scale(scale: float) -> float:
    if not isinstance(scale, int | float) or scale != scale or not 0 < scale <= MAX_SCALE:
        raise ValidationFailed(
            f"The scale must be more than 0 and at most {MAX_SCALE:g} (1 = the full "
            "population); for example 0.002 for the demo.",
            field="scale",
        )
    return float(scale)


def coverage_rates(profile: str, seed: int = DEFAULT_SEED) -> tuple[float, ...]:
    """Each district's share of residents with an ABHA (in ``DISTRICTS`` order).

    Rates evenly spread from ``COVERAGE_LOW`` to ``COVERAGE_HIGH`` are dealt to the
    districts in an order drawn from the seed, then shifted together by the one
    amount (found by bisection, each rate held within ``COVERAGE_BOUNDS``) that makes
    the population-weighted total the profile's: at scale 1, 94.49 lakh of 1.356 crore.
    """
    mod = PROFILES[validate_profile(profile)]
    rng = random.Random(f"{seed}:{profile}:coverage")
    n = len(mod.DISTRICTS)
    levels = [COVERAGE_LOW + (COVERAGE_HIGH - COVERAGE_LOW) * i / (n - 1) for i in range(n)]
    rng.shuffle(levels)
    weights = mod.district_populations(mod.TARGET_POPULATION)
    want = mod.TARGET_ABHA_ACCOUNTS
    low, high = COVERAGE_BOUNDS

    def total(shift: float) -> float:
        return sum(min(max(x + shift, low), high) * w for x, w in zip(levels, weights, strict=True))

    below, above = -1.0, 1.0
    for _ in range(60):
        middle = (below + above) / 2
        below, above = (middle, above) if total(middle) < want else (below, middle)
    shift = (below + above) / 2
    return tuple(min(max(x + shift, low), high) for x in levels)


def make_plan(profile: str, scale: float, seed: int = DEFAULT_SEED) -> Plan:
    key = validate_profile(profile)
    s = validate_scale(scale)
    mod = PROFILES[key]
    residents = round(mod.TARGET_POPULATION * s)
    if residents < 1:
        raise ValidationFailed(
            f"Scale {scale:g} gives no residents at all; use at least "
            f"{1 / mod.TARGET_POPULATION:.1e}.",
            field="scale",
        )
    accounts = round(residents * mod.TARGET_ABHA_ACCOUNTS / mod.TARGET_POPULATION)
    per_district = mod.district_populations(residents)
    # Each district's coverage, then largest remainder so the accounts sum exactly.
    weighted = [n * rate for n, rate in zip(per_district, coverage_rates(key, seed), strict=True)]
    whole = sum(weighted) or 1.0
    exact = [min(accounts * w / whole, n) for w, n in zip(weighted, per_district, strict=True)]
    acc = [int(x) for x in exact]
    order = sorted(range(len(exact)), key=lambda i: exact[i] - acc[i], reverse=True)
    room = [i for i in order if acc[i] < per_district[i]]
    for i in room[: accounts - sum(acc)]:
        acc[i] += 1
    return Plan(
        profile=key,
        scale=s,
        residents=residents,
        accounts=accounts,
        district_lgds=tuple(d.lgd for d in mod.DISTRICTS),
        district_residents=tuple(per_district),
        district_accounts=tuple(acc),
    )


# ------------------------------------------------------------------ residents


class Resident(NamedTuple):
    ordinal: int  # position in the whole run, 0-based
    aadhaar: str
    name: str
    gender: str  # M, F, O
    birth_date: date
    address_line: str
    locality: str
    district_lgd: int
    district_name: str
    state_lgd: int
    state_name: str
    pincode: str
    mobile: str | None
    household: int  # ordinal of the household in the run
    abha_created_at: datetime | None  # None: no ABHA account
    abha_handle: str | None  # a custom ABHA address handle (lower-case, no suffix)
    # The HFR id of the facility that made the ABHA; None: self-service, or no sites.
    abha_facility: str | None = None

    @property
    def has_abha(self) -> bool:
        return self.abha_created_at is not None


# Aadhaar: first digit 2-9, so 11 digits range over [2*10^10, 10^11).
_AADHAAR_SPACE = 8 * 10**10
_AADHAAR_BASE = 2 * 10**10
# Odd and not a multiple of 5, hence coprime to 8*10^10 = 2^13 * 5^10: a bijection.
_AADHAAR_MUL = 2_654_435_761

# Mobile series seen in J&K (Jio, Airtel, BSNL, Vi); the 6 digits after them come
# from a bijection of a counter, so the 40 series hold 4 crore distinct numbers.
MOBILE_SERIES = (
    "9419",
    "9469",
    "9596",
    "9622",
    "9697",
    "9797",
    "9858",
    "9906",
    "9149",
    "9018",
    "9086",
    "9103",
    "9205",
    "9682",
    "9541",
    "9634",
    "9055",
    "9070",
    "9391",
    "9484",
    "7006",
    "7051",
    "7298",
    "7889",
    "7780",
    "7042",
    "7087",
    "7893",
    "7417",
    "8082",
    "8491",
    "8803",
    "8899",
    "8825",
    "8713",
    "6005",
    "6006",
    "6283",
    "6239",
    "6352",
)
_MOBILE_SUFFIX_SPACE = 10**6
_MOBILE_MUL = 742_719  # odd, not a multiple of 5: a bijection on [0, 10^6)

# Age pyramid (5-year bands, share in %), J&K-like for the mid-2020s.
_AGE_BANDS = (
    (0, 7.5),
    (5, 8.0),
    (10, 8.6),
    (15, 9.0),
    (20, 9.3),
    (25, 9.0),
    (30, 8.4),
    (35, 7.6),
    (40, 6.6),
    (45, 5.7),
    (50, 4.9),
    (55, 4.1),
    (60, 3.4),
    (65, 2.7),
    (70, 2.0),
    (75, 1.3),
    (80, 0.8),
    (85, 0.4),
    (90, 0.2),
)
# Household sizes (persons, share): mean about 5, as in Census 2011 for J&K (5.3).
_HOUSEHOLD_SIZES = ((1, 4), (2, 8), (3, 12), (4, 20), (5, 20), (6, 15), (7, 10), (8, 7), (9, 4))
FEMALE_PER_1000_MALE = 890
_OTHER_GENDER_SHARE = 0.0002
_HEAD_MALE_SHARE = 0.88
HOUSEHOLD_MOBILE_SHARE = 0.88
OWN_MOBILE_SHARE = 0.15  # adults (18+) other than the head with a mobile of their own
HANDLE_SHARE = 0.2  # accounts with a custom ABHA address
ABHA_WINDOW_DAYS = 3 * 365
_YEAR_ONLY_DOB_SHARE = 0.12  # residents 35+ whose DOB is 1 January (year known only)


def _band_table(min_age: int) -> tuple[list[float], list[int]]:
    bands = [(a, w) for a, w in _AGE_BANDS if a + 5 > min_age]
    return list(accumulate(w for _, w in bands)), [a for a, _ in bands]


def _others_table() -> tuple[list[float], list[int]]:
    """Ages of members other than head and spouse, so the whole population fits the pyramid.

    Heads and spouses are adults (25+, with the pyramid's shape among adults); the
    rest make up the difference to the target pyramid.
    """
    sizes = _HOUSEHOLD_SIZES
    total = sum(w for _, w in sizes)
    mean = sum(s * w for s, w in sizes) / total
    pairs = sum(min(s, 2) * w for s, w in sizes) / total  # heads+spouses per household
    adult = {a: w for a, w in _AGE_BANDS if a >= 25}
    adult_sum = sum(adult.values())
    weights = []
    for a, w in _AGE_BANDS:
        target = w / 100 * mean
        from_pairs = pairs * adult.get(a, 0) / adult_sum
        weights.append(max(target - from_pairs, 0.0))
    return list(accumulate(weights)), [a for a, _ in _AGE_BANDS]


_ALL_AGES = _band_table(0)
_HEAD_AGES = _band_table(25)
_OTHER_AGES = _others_table()
_SIZE_CUM = list(accumulate(w for _, w in _HOUSEHOLD_SIZES))
_SIZE_VALUES = [s for s, _ in _HOUSEHOLD_SIZES]


def _other_female_share() -> float:
    """P(F) for members other than head and spouse, so the total is 890 F per 1000 M."""
    total = sum(w for _, w in _HOUSEHOLD_SIZES)
    p1 = sum(w for s, w in _HOUSEHOLD_SIZES if s == 1) / total
    p2 = 1 - p1
    others = sum(max(s - 2, 0) * w for s, w in _HOUSEHOLD_SIZES) / total
    mean = sum(s * w for s, w in _HOUSEHOLD_SIZES) / total
    f_share = FEMALE_PER_1000_MALE / (1000 + FEMALE_PER_1000_MALE)
    return (f_share * mean - p1 * (1 - _HEAD_MALE_SHARE) - p2) / others


_OTHER_FEMALE = _other_female_share()


def _age_days(rng: random.Random, table: tuple[list[float], list[int]], min_age: int) -> int:
    cum, starts = table
    i = bisect.bisect(cum, rng.random() * cum[-1])
    low = max(starts[i], min_age) * 365
    high = (starts[i] + 5) * 365 + 364
    return low + int(rng.random() * (high - low))


# Verhoeff (UIDAI's check digit): dihedral-group multiplication, position permutations
# and inverses. The check digit is computed from three precomputed chunk tables (the
# low 5 digits, then 3 and 3) instead of 11 table steps per number; the unit tests
# compare it with ``kernel.ids.aadhaar_with_check_digit`` (python-stdnum).
_VERHOEFF_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
    (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
    (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_VERHOEFF_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
    (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
    (9, 4, 5, 3, 1, 2, 6, 8, 7, 0),
    (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5),
    (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)
_VERHOEFF_INV = "0432156789"


def _verhoeff_chunk(start_c: int, value: int, digits: int, first_pos: int) -> int:
    c = start_c
    for i in range(digits):
        value, digit = divmod(value, 10)
        c = _VERHOEFF_D[c][_VERHOEFF_P[(first_pos + i) % 8][digit]]
    return c


_VH_LOW = bytes(_verhoeff_chunk(0, v, 5, 1) for v in range(10**5))  # positions 1-5
_VH_MID = bytes(_verhoeff_chunk(c, v, 3, 6) for c in range(10) for v in range(1000))
_VH_HIGH = bytes(_verhoeff_chunk(c, v, 3, 9) for c in range(10) for v in range(1000))


def with_verhoeff(first11: int) -> str:
    """The 12-digit Aadhaar for an 11-digit number: the same as
    ``aadhaar_with_check_digit(str(first11))``, several times faster."""
    high, rest = divmod(first11, 10**8)
    mid, low = divmod(rest, 10**5)
    c = _VH_LOW[low]
    c = _VH_MID[c * 1000 + mid]
    c = _VH_HIGH[c * 1000 + high]
    return f"{first11}{_VERHOEFF_INV[c]}"


def aadhaar_for(ordinal: int, seed: int = DEFAULT_SEED) -> str:
    """The Aadhaar number of the resident at ``ordinal`` (a bijection, so unique)."""
    if not 0 <= ordinal < _AADHAAR_SPACE:
        raise ValueError("resident ordinal outside the Aadhaar number space")
    offset = _seed_int(seed, "aadhaar") % _AADHAAR_SPACE
    y = (_AADHAAR_MUL * ordinal + offset) % _AADHAAR_SPACE
    return with_verhoeff(_AADHAAR_BASE + y)


def mobile_for(ordinal: int, seed: int = DEFAULT_SEED) -> str:
    series = len(MOBILE_SERIES)
    if not 0 <= ordinal < series * _MOBILE_SUFFIX_SPACE:
        raise ValueError("mobile ordinal outside the synthetic mobile space")
    block, which = divmod(ordinal, series)
    offset = _seed_int(seed, "mobile") % _MOBILE_SUFFIX_SPACE
    suffix = (_MOBILE_MUL * block + offset) % _MOBILE_SUFFIX_SPACE
    return f"{MOBILE_SERIES[which]}{suffix:06d}"


def _seed_int(seed: int, label: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}:{label}".encode()).digest()[:8], "big")


_NOT_LETTERS = re.compile(r"[^a-z]")
HANDLE_MIN, HANDLE_MAX = 8, 18


def handle_for(given: str, family: str, birth_year: int, ordinal: int, style: int) -> str:
    """A custom ABHA address handle, unique because it ends with ``ordinal``.

    The handle is letters (ending in a letter or '_') followed by digits; the digits
    are ``ordinal`` (or the birth year then ``ordinal`` when the letters end in '_',
    a form used only to reach the minimum length), so two ordinals never give the
    same handle. Lower-case, 8-18 characters, starts with a letter, only letters,
    digits, '.' and '_'.
    """
    g = _NOT_LETTERS.sub("", given.lower()) or "resident"
    f = _NOT_LETTERS.sub("", family.lower()) or "user"
    digits = str(ordinal)
    sep = (".", "_", "", ".")[style % 4]
    first, second = (f, g) if style % 4 == 3 else (g, f)
    room = HANDLE_MAX - len(digits) - len(sep)
    if len(first) + len(second) > room:
        # Keep both parts, the first at least 3 letters where there is room.
        keep_first = max(min(len(first), room - max(room // 2, 1)), 1)
        first = first[:keep_first]
        second = second[: max(room - len(first), 1)]
    handle = f"{first}{sep}{second}{digits}"
    if len(handle) < HANDLE_MIN:
        # Only very short names land here (letters + digits < 8), so this stays <= 18.
        handle = f"{g}.{f}_{birth_year}{digits}"
    return handle


class _SitePicker:
    """Draws the facility that made each ABHA of one district (weights by type)."""

    def __init__(self, rng: random.Random, sites: Sequence[tuple[str, float]]):
        self._r = rng.random
        self._ids = [hfr for hfr, w in sites if w > 0]
        self._cum = list(accumulate(w for _, w in sites if w > 0))

    def pick(self) -> str | None:
        # Two draws per account always, so the sequence does not hang on the outcome.
        self_service, where = self._r(), self._r()
        if self_service < SELF_SERVICE_SHARE or not self._ids:
            return None
        return self._ids[bisect.bisect(self._cum, where * self._cum[-1])]


def iter_residents(
    plan: Plan, *, as_of: datetime, seed: int = DEFAULT_SEED, sites: Sites | None = None
) -> Iterator[Resident]:
    """Stream the plan's residents, district by district, household by household;
    with ``sites``, each ABHA credited to the facility that made it."""
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware (UTC)")
    mod = PROFILES[plan.profile]
    as_of = as_of.astimezone(UTC)
    today = as_of.date()
    today_ord = today.toordinal()
    since_midnight = as_of.hour * 3600 + as_of.minute * 60 + as_of.second
    aadhaar_offset = _seed_int(seed, "aadhaar") % _AADHAAR_SPACE
    mobile_offset = _seed_int(seed, "mobile") % _MOBILE_SUFFIX_SPACE
    series = MOBILE_SERIES
    n_series = len(series)
    window_s = ABHA_WINDOW_DAYS * 86400
    other_female = _OTHER_FEMALE
    communities = names.COMMUNITIES
    make_name = names.make_name

    ordinal = 0
    household = 0
    mobiles = 0
    handles = 0
    for d_index, district in enumerate(mod.DISTRICTS):
        n_res = plan.district_residents[d_index]
        need_acc = plan.district_accounts[d_index]
        if n_res == 0:
            continue
        rng = random.Random(f"{seed}:{plan.profile}:{district.lgd}")
        r = rng.random
        picker = _SitePicker(
            random.Random(f"{seed}:{plan.profile}:{district.lgd}:sites"),
            (sites or {}).get(district.lgd, ()),
        )
        comm_cum = list(accumulate(w for _, w in district.communities))
        comm_keys = [communities[k] for k, _ in district.communities]
        localities = district.localities
        villages = mod.VILLAGES[district.region]
        mohallas = mod.MOHALLAS[district.division]
        remaining = n_res
        while remaining > 0:
            size = min(_SIZE_VALUES[bisect.bisect(_SIZE_CUM, r() * _SIZE_CUM[-1])], remaining)
            community = comm_keys[bisect.bisect(comm_cum, r() * comm_cum[-1])]
            clan = names.pick_clan(rng, community)
            loc = localities[int(r() * len(localities))]
            if loc.urban:
                if r() < 0.5:
                    address = (
                        f"H.No. {1 + int(r() * 400)}, "
                        f"{mohallas[int(r() * len(mohallas))]}, {loc.name}"
                    )
                else:
                    address = f"House No. {1 + int(r() * 999)}, {loc.name}"
            else:
                village = villages[int(r() * len(villages))]
                address = (
                    f"Village {village}, Tehsil {loc.name}"
                    if r() < 0.6
                    else f"{village}, {loc.name}"
                )
            if r() < HOUSEHOLD_MOBILE_SHARE:
                block, which = divmod(mobiles, n_series)
                home_mobile: str | None = (
                    f"{series[which]}"
                    f"{(_MOBILE_MUL * block + mobile_offset) % _MOBILE_SUFFIX_SPACE:06d}"
                )
                mobiles += 1
            else:
                home_mobile = None
            head_age = 0
            head_gender = "M"
            for member in range(size):
                if member == 0:
                    days = _age_days(rng, _HEAD_AGES, 25)
                    gender = "M" if r() < _HEAD_MALE_SHARE else "F"
                    head_age, head_gender = days, gender
                elif member == 1:
                    gap = int((r() - 0.3) * 8 * 365)  # spouses mostly a little younger
                    days = max(head_age - gap if head_gender == "M" else head_age + gap, 18 * 365)
                    gender = "F" if head_gender == "M" else "M"
                else:
                    days = _age_days(rng, _OTHER_AGES, 0)
                    gender = "F" if r() < other_female else "M"
                    if r() < _OTHER_GENDER_SHARE:
                        gender = "O"
                age = days // 365
                born = date.fromordinal(today_ord - days)
                if age >= 35 and r() < _YEAR_ONLY_DOB_SHARE:
                    born = date(born.year, 1, 1)
                parts = make_name(rng, community, gender if gender != "O" else "M", age, clan)
                mobile = home_mobile
                if member > 0 and age >= 18 and r() < OWN_MOBILE_SHARE:
                    block, which = divmod(mobiles, n_series)
                    mobile = (
                        f"{series[which]}"
                        f"{(_MOBILE_MUL * block + mobile_offset) % _MOBILE_SUFFIX_SPACE:06d}"
                    )
                    mobiles += 1
                # Selection sampling: exactly need_acc of this district's residents.
                created: datetime | None = None
                handle: str | None = None
                made_at: str | None = None
                if r() * remaining < need_acc:
                    need_acc -= 1
                    made_at = picker.pick()
                    # Never before the day of birth (the birth date may be 1 January).
                    window = min(window_s, (today_ord - born.toordinal()) * 86400 + since_midnight)
                    created = as_of - timedelta(seconds=int(r() * window))
                    if r() < HANDLE_SHARE:
                        handles += 1
                        handle = handle_for(
                            parts.given, parts.family, born.year, handles, int(r() * 4)
                        )
                first11 = _AADHAAR_BASE + (_AADHAAR_MUL * ordinal + aadhaar_offset) % _AADHAAR_SPACE
                yield Resident(
                    ordinal,
                    with_verhoeff(first11),
                    parts.full,
                    gender,
                    born,
                    address,
                    loc.name,
                    district.lgd,
                    district.name,
                    mod.STATE_LGD,
                    mod.STATE_NAME,
                    loc.pincode,
                    mobile,
                    household,
                    created,
                    handle,
                    made_at,
                )
                ordinal += 1
                remaining -= 1
            household += 1


def iter_batches(
    plan: Plan,
    *,
    as_of: datetime,
    size: int,
    seed: int = DEFAULT_SEED,
    sites: Sites | None = None,
) -> Iterator[list[Resident]]:
    stream = iter_residents(plan, as_of=as_of, seed=seed, sites=sites)
    while batch := list(islice(stream, size)):
        yield batch
