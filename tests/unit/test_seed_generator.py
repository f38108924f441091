"""The J&K profile and the deterministic resident generator (no database)."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import UTC, datetime
from itertools import chain

import pytest
from stdnum import verhoeff

from healthstack.kernel.errors import ValidationFailed
from healthstack.kernel.ids import aadhaar_with_check_digit, normalise_aadhaar, normalise_mobile
from healthstack.network.abha.address import parse_address
from healthstack.seed import jk, names
from healthstack.seed.generator import (
    FEMALE_PER_1000_MALE,
    MOBILE_SERIES,
    Plan,
    Resident,
    aadhaar_for,
    handle_for,
    iter_batches,
    iter_residents,
    make_plan,
    mobile_for,
    with_verhoeff,
)

AS_OF = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)

# LGD codes of the union territory's 20 districts (state LGD code 1).
JK_LGD = {
    "Anantnag": 1,
    "Budgam": 2,
    "Baramulla": 3,
    "Doda": 4,
    "Jammu": 5,
    "Kathua": 7,
    "Kupwara": 8,
    "Poonch": 10,
    "Pulwama": 11,
    "Rajouri": 12,
    "Srinagar": 13,
    "Udhampur": 14,
    "Kishtwar": 620,
    "Ramban": 621,
    "Kulgam": 622,
    "Bandipora": 623,
    "Samba": 624,
    "Shopian": 625,
    "Ganderbal": 626,
    "Reasi": 627,
}


@pytest.fixture(scope="module")
def demo_plan() -> Plan:
    return make_plan("jk", 0.002)


@pytest.fixture(scope="module")
def demo(demo_plan: Plan) -> list[Resident]:
    return list(iter_residents(demo_plan, as_of=AS_OF))


# ----------------------------------------------------------------------- profile


def test_profile_has_the_20_districts_at_their_lgd_codes():
    assert jk.STATE_LGD == 1
    assert {d.name: d.lgd for d in jk.DISTRICTS} == JK_LGD
    for d in jk.DISTRICTS:
        assert abs(sum(w for _, w in d.communities) - 1) < 1e-9, d.name
        assert all(k in names.COMMUNITIES for k, _ in d.communities)
        assert d.localities and all(len(loc.pincode) == 6 for loc in d.localities)
        # Kashmir PINs start 19, Jammu's 18.
        prefix = "19" if d.division == "Kashmir" else "18"
        assert all(loc.pincode.startswith(prefix) for loc in d.localities), d.name


def test_full_scale_is_1_356_crore_residents_and_94_49_lakh_accounts():
    plan = make_plan("jk", 1)
    assert plan.residents == 13_560_000
    assert plan.accounts == 9_449_000
    assert sum(plan.district_residents) == plan.residents
    assert sum(plan.district_accounts) == plan.accounts
    assert round(plan.accounts / plan.residents, 3) == 0.697


@pytest.mark.parametrize("scale", [1, 0.5, 0.1, 0.01, 0.002, 0.0002, 1e-6])
def test_district_shares_sum_exactly_and_follow_the_census(scale):
    plan = make_plan("jk", scale)
    assert sum(plan.district_residents) == plan.residents == round(13_560_000 * scale)
    assert sum(plan.district_accounts) == plan.accounts
    census = sum(d.census_2011 for d in jk.DISTRICTS)
    for d, n in zip(jk.DISTRICTS, plan.district_residents, strict=True):
        assert abs(n - plan.residents * d.census_2011 / census) < 1  # largest remainder
    if scale >= 0.01:
        jammu = plan.district_residents[[d.name for d in jk.DISTRICTS].index("Jammu")]
        assert jammu == max(plan.district_residents)  # the most populous district


@pytest.mark.parametrize(
    ("profile", "scale", "field"),
    [
        ("jk", 0, "scale"),
        ("jk", -0.1, "scale"),
        ("jk", 1.5, "scale"),
        ("jk", float("nan"), "scale"),
        ("jk", 1e-9, "scale"),
        ("up", 0.1, "profile"),
        ("", 0.1, "profile"),
    ],
)
def test_bad_profile_or_scale_is_refused_with_a_clear_message(profile, scale, field):
    with pytest.raises(ValidationFailed) as err:
        make_plan(profile, scale)
    assert err.value.field == field
    assert "jk" in err.value.message or "scale" in err.value.message.lower()


# ----------------------------------------------------------------------- determinism


def test_same_inputs_give_the_same_residents_whatever_the_batch_size(demo, demo_plan):
    again = list(iter_residents(demo_plan, as_of=AS_OF))
    assert again == demo
    batched = list(chain.from_iterable(iter_batches(demo_plan, as_of=AS_OF, size=777)))
    assert batched == demo
    assert [len(b) for b in iter_batches(demo_plan, as_of=AS_OF, size=10_000)] == [
        10_000,
        10_000,
        demo_plan.residents - 20_000,
    ]


def test_another_seed_gives_other_residents(demo_plan):
    a = list(iter_residents(make_plan("jk", 0.0002), as_of=AS_OF))
    b = list(iter_residents(make_plan("jk", 0.0002), as_of=AS_OF, seed=7))
    assert {r.aadhaar for r in a}.isdisjoint({r.aadhaar for r in b}) or len(
        {r.aadhaar for r in a} & {r.aadhaar for r in b}
    ) < 3
    assert [r.name for r in a] != [r.name for r in b]


def test_as_of_must_be_timezone_aware(demo_plan):
    with pytest.raises(ValueError, match="timezone"):
        next(iter_residents(demo_plan, as_of=datetime(2026, 1, 1)))


# ----------------------------------------------------------------------- Aadhaar


def test_aadhaar_numbers_are_valid_verhoeff_and_unique(demo):
    numbers = [r.aadhaar for r in demo]
    assert len(set(numbers)) == len(numbers)
    for n in numbers:
        assert normalise_aadhaar(n) == n  # 12 digits, first 2-9, Verhoeff check digit
    assert [r.ordinal for r in demo] == list(range(len(demo)))
    assert numbers[:50] == [aadhaar_for(i) for i in range(50)]


def test_fast_verhoeff_matches_the_kernel():
    rng = random.Random(5)
    values = [2 * 10**10, 10**11 - 1, 23456789012, 99999999999, 20000000001]
    values += [rng.randrange(2 * 10**10, 10**11) for _ in range(20_000)]
    for v in values:
        assert with_verhoeff(v) == aadhaar_with_check_digit(str(v))


def test_aadhaar_is_a_bijection_of_the_ordinal():
    numbers = {aadhaar_for(i) for i in range(0, 5_000_000, 37)}
    assert len(numbers) == len(range(0, 5_000_000, 37))
    assert all(verhoeff.is_valid(n) for n in numbers)
    with pytest.raises(ValueError):
        aadhaar_for(8 * 10**10)


# ----------------------------------------------------------------------- districts, accounts


def test_generated_residents_follow_the_plan_per_district(demo, demo_plan):
    residents = Counter(r.district_lgd for r in demo)
    accounts = Counter(r.district_lgd for r in demo if r.has_abha)
    for lgd, n, a in zip(
        demo_plan.district_lgds,
        demo_plan.district_residents,
        demo_plan.district_accounts,
        strict=True,
    ):
        assert residents[lgd] == n
        assert accounts[lgd] == a
    for r in demo[::97]:
        d = jk.district(r.district_lgd)
        assert r.district_name == d.name and r.state_lgd == 1
        assert (r.locality, r.pincode) in {(loc.name, loc.pincode) for loc in d.localities}
        assert r.locality in r.address_line


def test_abha_share_is_69_7_percent(demo, demo_plan):
    with_abha = sum(r.has_abha for r in demo)
    assert with_abha == demo_plan.accounts
    assert abs(with_abha / len(demo) - 0.697) < 0.001
    for r in demo:
        if r.has_abha:
            assert AS_OF - r.abha_created_at <= (AS_OF - AS_OF.replace(year=2023))
            assert r.abha_created_at.date() >= r.birth_date
            assert r.abha_created_at.tzinfo is not None
        else:
            assert r.abha_handle is None


# ----------------------------------------------------------------------- households


def test_households_share_one_mobile_and_some_have_none(demo):
    households: dict[int, list[Resident]] = defaultdict(list)
    for r in demo:
        households[r.household].append(r)
    sizes = [len(m) for m in households.values()]
    assert 4 <= sum(sizes) / len(sizes) <= 6
    owners: dict[str, set[int]] = defaultdict(set)
    for r in demo:
        if r.mobile:
            assert normalise_mobile(r.mobile) == r.mobile
            assert r.mobile[:4] in MOBILE_SERIES
            owners[r.mobile].add(r.household)
    # A mobile never spans two households; most are shared within one.
    assert all(len(h) == 1 for h in owners.values())
    per_mobile = Counter(r.mobile for r in demo if r.mobile)
    shared = sum(n for n in per_mobile.values() if n >= 2)
    assert shared / sum(per_mobile.values()) > 0.6
    without = sum(1 for r in demo if r.mobile is None) / len(demo)
    assert 0.05 < without < 0.2
    # A household also shares its surname's community, address and locality.
    for members in list(households.values())[:500]:
        assert len({m.address_line for m in members}) == 1
        assert len({m.district_lgd for m in members}) == 1


def test_mobiles_are_a_bijection_too():
    mobiles = [mobile_for(i) for i in range(0, 4_000_000, 11)]
    assert len(set(mobiles)) == len(mobiles)
    assert len(set(MOBILE_SERIES)) == len(MOBILE_SERIES) == 40


# ----------------------------------------------------------------------- people


def test_sex_ratio_and_age_pyramid_look_like_jk(demo):
    genders = Counter(r.gender for r in demo)
    ratio = 1000 * genders["F"] / genders["M"]
    assert abs(ratio - FEMALE_PER_1000_MALE) < 30
    ages = [(AS_OF.date() - r.birth_date).days // 365 for r in demo]
    assert min(ages) >= 0 and max(ages) <= 100
    under_15 = sum(a < 15 for a in ages) / len(ages)
    over_60 = sum(a >= 60 for a in ages) / len(ages)
    assert 0.19 < under_15 < 0.29
    assert 0.07 < over_60 < 0.15
    # Many older residents' Aadhaar carries only the birth year (1 January).
    older = [r for r in demo if (AS_OF.date() - r.birth_date).days > 40 * 365]
    jan1 = sum(r.birth_date.month == 1 and r.birth_date.day == 1 for r in older) / len(older)
    assert 0.08 < jan1 < 0.2


def test_names_are_varied_and_carry_registry_spelling_variants(demo):
    full = [r.name for r in demo]
    assert len(set(full)) > len(full) * 0.3
    words = Counter(w for n in full for w in n.split())
    for variant_set in (
        {"Mohammad", "Mohd", "Mohd.", "Mohammed", "Md.", "Muhammad"},
        {"Ghulam", "Gh.", "Gh"},
        {"Bhat", "Butt", "Bhatt"},
        {"Kour", "Kaur"},
        {"Sheikh", "Shaikh", "Sk."},
        {"Chowdhary", "Choudhary", "Chaudhary", "Ch."},
    ):
        seen = {v for v in variant_set if words[v]}
        assert len(seen) >= 2, variant_set
    for surname in (
        "Bhat",
        "Dar",
        "Lone",
        "Mir",
        "Wani",
        "Sharma",
        "Gupta",
        "Raina",
        "Kaul",
        "Jamwal",
        "Manhas",
        "Singh",
        "Poswal",
        "Khatana",
        "Khan",
        "Malik",
    ):
        assert words[surname] or words[surname.upper()], surname
    assert words["Smt"] + words["Smt."] + words["Mrs"] + words["Kum"] + words["Kum."] > 0
    assert any(n.isupper() for n in full)  # some registries hold capitals
    # Women never carry the men's forms (Kumar, Lal, Raj) as a surname.
    assert not any(
        r.gender == "F" and r.name.split()[-1].title() in ("Kumar", "Lal", "Raj") for r in demo
    )
    # Sikh men are "<given> Singh"; Srinagar is mostly Kashmiri Muslim naming.
    srinagar = [r.name for r in demo if r.district_lgd == 13]
    assert sum(" Ahmad " in f" {n} " or "Mohammad" in n for n in srinagar) > len(srinagar) * 0.1


def test_text_never_needs_copy_escaping(demo):
    for r in demo:
        for value in (r.name, r.address_line, r.locality, r.district_name, r.state_name):
            assert value.isascii() and not any(c in value for c in "\t\n\r\\")
            assert 0 < len(value) <= 128


# ----------------------------------------------------------------------- handles


def test_custom_handles_are_valid_unique_and_about_a_fifth_of_accounts(demo):
    handles = [r.abha_handle for r in demo if r.abha_handle]
    accounts = sum(r.has_abha for r in demo)
    assert len(handles) == len(set(handles))
    assert 0.15 < len(handles) / accounts < 0.25
    for h in handles:
        assert parse_address(h, "sbx") == h


@pytest.mark.parametrize("ordinal", [1, 9, 42, 12_345, 999_999, 9_449_000])
def test_handle_for_stays_valid_for_short_and_long_names(ordinal):
    rng = random.Random(ordinal)
    pool = [
        ("Om", "Dar"),
        ("Al", "Mir"),
        ("Mohammad", "Chowdhary"),
        ("Ghulam", "Naikoo"),
        ("Vijay Lakshmi", "Pandita"),
        ("Mohi-ud-Din", "Bhat"),
        ("", ""),
        ("Y", "X"),
    ]
    made = set()
    for given, family in pool:
        for style in range(4):
            h = handle_for(given, family, 1900 + rng.randrange(126), ordinal, style)
            assert parse_address(h, "sbx") == h
            made.add(h)
    # Another ordinal never gives the same handle, whatever the names.
    for given, family in pool:
        for style in range(4):
            assert handle_for(given, family, 1990, ordinal + 1, style) not in made
            assert handle_for(given, family, 1990, ordinal * 10, style) not in made


# ----------------------------------------------------------------------- ABHA numbers
