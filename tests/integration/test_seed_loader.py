"""Bulk seeding into the real test database (SQLite, or PostgreSQL with COPY)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from stdnum import luhn

from healthstack.identity.aadhaar import aadhaar_hash
from healthstack.integrations.aadhaar.models import KycResident
from healthstack.kernel.audit import AuditEvent
from healthstack.kernel.db import is_postgres
from healthstack.kernel.errors import Conflict
from healthstack.kernel.uow import unit_of_work
from healthstack.network.abha.address import parse_address
from healthstack.network.abha.enrolment import find_account_by_aadhaar_hash
from healthstack.network.abha.models import AbhaAccount, AbhaAddress
from healthstack.network.abha.names import name_key, split_name
from healthstack.network.abha.numbers import NumberPermutation, allocate, allocated_count
from healthstack.seed.generator import iter_residents, make_plan
from healthstack.seed.loader import seed_state

SCALE = 0.0002  # 2,712 residents, 1,890 ABHA accounts


def _counts(runtime) -> tuple[int, int, int]:
    with unit_of_work(runtime.session_factory) as s:
        return (
            s.scalar(select(func.count()).select_from(KycResident)),
            s.scalar(select(func.count()).select_from(AbhaAccount)),
            s.scalar(select(func.count()).select_from(AbhaAddress)),
        )


def test_seed_writes_the_plan_and_enrolment_finds_the_accounts(runtime):
    plan = make_plan("jk", SCALE)
    progress: list[int] = []
    result = seed_state(
        runtime, profile="jk", scale=SCALE, batch_size=500, progress=progress.append
    )
    assert (result.residents, result.accounts) == (plan.residents, plan.accounts)
    assert _counts(runtime) == (plan.residents, plan.accounts, result.addresses)
    assert result.addresses > 0 and not result.skipped
    assert progress[-1] == plan.residents and progress == sorted(progress)

    expected = list(iter_residents(plan, as_of=runtime.clock.now()))
    with unit_of_work(runtime.session_factory) as s:
        stored = s.scalars(select(KycResident).order_by(KycResident.id)).all()
        # The same residents the generator makes, in order, whatever the batch size.
        assert [r.aadhaar for r in stored] == [r.aadhaar for r in expected]
        by_hash = {runtime.hasher.hash("aadhaar", r.aadhaar): r for r in stored}
        accounts = s.scalars(select(AbhaAccount)).all()
        for account in accounts:
            resident = by_hash[account.aadhaar_hash]  # every account is a sandbox resident's
            assert account.aadhaar_last4 == resident.aadhaar[-4:]
            assert account.name == resident.name and account.name_key == name_key(resident.name)
            assert (account.first_name, account.middle_name, account.last_name) == split_name(
                resident.name
            )
            assert account.birth_date == resident.birth_date
            assert account.year_of_birth == resident.birth_date.year
            assert account.mobile == resident.mobile
            assert account.mobile_verified is (resident.mobile is not None)
            assert account.district_lgd == resident.district_lgd and account.state_lgd == 1
            assert account.kyc_method == "aadhaar_otp" and account.kyc_verified is True
            assert account.status == "ACTIVE"
        assert len({a.aadhaar_hash for a in accounts}) == plan.accounts
        # Enrolment computes the same hash, so a seeded resident finds their account.
        with_abha = next(r for r in expected if r.has_abha)
        without = next(r for r in expected if not r.has_abha)
        found = find_account_by_aadhaar_hash(
            s, digest=aadhaar_hash(runtime.hasher, with_abha.aadhaar)
        )
        assert found is not None and found.name == with_abha.name
        assert (
            find_account_by_aadhaar_hash(s, digest=aadhaar_hash(runtime.hasher, without.aadhaar))
            is None
        )
        audit = s.scalars(select(AuditEvent).where(AuditEvent.action == "seed.load")).all()
        assert len(audit) == 1 and audit[0].purpose == "SEEDING"


def test_seeded_rows_read_back_with_their_types(runtime):
    seed_state(runtime, profile="jk", scale=SCALE)
    with unit_of_work(runtime.session_factory) as s:
        account = s.scalars(select(AbhaAccount).order_by(AbhaAccount.id)).first()
        assert isinstance(account.public_id, uuid.UUID) and account.public_id.version == 4
        assert isinstance(account.birth_date, date)
        assert isinstance(account.created_at, datetime) and account.created_at.tzinfo is not None
        assert account.created_at == account.updated_at <= runtime.clock.now()
        assert account.email_verified is False and account.email is None
        address = s.scalars(select(AbhaAddress).order_by(AbhaAddress.id)).first()
        assert address.is_preferred is True
        assert parse_address(address.handle, runtime.settings.abha_suffix) == address.handle
        assert address.account.addresses == [address]
        assert address.created_at == address.account.created_at
        public_ids = s.scalars(select(AbhaAccount.public_id)).all()
        assert len(set(public_ids)) == len(public_ids)


def test_numbers_come_from_one_reserved_block_and_new_enrolments_follow(runtime):
    with unit_of_work(runtime.session_factory) as s:
        before = allocated_count(s)
    plan = make_plan("jk", SCALE)
    seed_state(runtime, profile="jk", scale=SCALE)
    perm = NumberPermutation(runtime.settings.secret_key.get_secret_value())
    with unit_of_work(runtime.session_factory) as s:
        assert allocated_count(s) == before + plan.accounts
        numbers = s.scalars(select(AbhaAccount.abha_number).order_by(AbhaAccount.id)).all()
        assert numbers == [perm.number_for(before + i) for i in range(plan.accounts)]
        assert all(luhn.is_valid(n) and n.startswith("91") for n in numbers)
        seeded_max = s.scalar(select(func.max(AbhaAccount.id)))
        # A later enrolment gets the next number and an id past the seeded ones.
        fresh = AbhaAccount(
            abha_number=allocate(s, perm),
            first_name="Test",
            name="Test",
            name_key="test",
            gender="M",
            year_of_birth=1990,
            kyc_method="demographic",
            created_at=runtime.clock.now(),
            updated_at=runtime.clock.now(),
        )
        s.add(fresh)
        s.flush()
        assert fresh.id > seeded_max
        assert fresh.abha_number == perm.number_for(before + plan.accounts)
        assert fresh.abha_number not in set(numbers)


def test_a_seeded_database_is_refused_or_skipped_with_if_empty(runtime):
    seed_state(runtime, profile="jk", scale=SCALE)
    counts = _counts(runtime)
    skipped = seed_state(runtime, profile="jk", scale=SCALE, if_empty=True)
    assert skipped.skipped and skipped.existing_residents == counts[0]
    assert skipped.residents == 0
    with pytest.raises(Conflict, match="already holds"):
        seed_state(runtime, profile="jk", scale=SCALE)
    assert _counts(runtime) == counts


@pytest.mark.parametrize("rebuild", [False, True])
def test_a_clash_rolls_everything_back(runtime, rebuild):
    if rebuild and not is_postgres(runtime.engine):
        pytest.skip("index rebuilding is PostgreSQL-only")
    plan = make_plan("jk", SCALE)
    clash = next(
        r.abha_handle for r in iter_residents(plan, as_of=runtime.clock.now()) if r.abha_handle
    )
    now = runtime.clock.now()
    with unit_of_work(runtime.session_factory) as s:
        owner = AbhaAccount(
            abha_number="91000000000008",
            first_name="Other",
            name="Other",
            name_key="other",
            gender="F",
            year_of_birth=1980,
            kyc_method="demographic",
            created_at=now,
            updated_at=now,
        )
        owner.addresses.append(AbhaAddress(handle=clash, is_preferred=True, created_at=now))
        s.add(owner)
    with pytest.raises(Conflict) as err:
        seed_state(runtime, profile="jk", scale=SCALE, rebuild_indexes=rebuild)
    assert clash not in err.value.message  # no data in the error
    assert _counts(runtime) == (0, 1, 1)
    if rebuild:
        _assert_constraints_hold(runtime)


def _index_names(runtime) -> set[str]:
    with runtime.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT indexname FROM pg_indexes WHERE tablename IN "
                "('kyc_resident', 'abha_account', 'abha_address')"
            )
        )
        fks = conn.execute(
            text(
                "SELECT conname FROM pg_constraint WHERE contype = 'f' AND conrelid = "
                "ANY(CAST(ARRAY['abha_address', 'abha_account', 'kyc_resident'] AS regclass[]))"
            )
        )
        return {r[0] for r in rows} | {f"fk:{r[0]}" for r in fks}


def _assert_constraints_hold(runtime) -> None:
    now = runtime.clock.now()
    with pytest.raises(IntegrityError), unit_of_work(runtime.session_factory) as s:
        number = s.scalars(select(AbhaAccount.abha_number)).first()
        s.add(
            AbhaAccount(
                abha_number=number,
                first_name="Dup",
                name="Dup",
                name_key="dup",
                gender="M",
                year_of_birth=1990,
                kyc_method="demographic",
                created_at=now,
                updated_at=now,
            )
        )


def test_postgres_rebuilds_the_same_indexes_and_constraints(runtime):
    if not is_postgres(runtime.engine):
        pytest.skip("index rebuilding is PostgreSQL-only")
    before = _index_names(runtime)
    assert any(name.startswith("fk:") for name in before)
    result = seed_state(runtime, profile="jk", scale=SCALE, rebuild_indexes=True)
    assert result.rebuilt_indexes
    assert _index_names(runtime) == before
    _assert_constraints_hold(runtime)
    with pytest.raises(IntegrityError), unit_of_work(runtime.session_factory) as s:
        resident = s.scalars(select(KycResident)).first()
        columns = (
            "aadhaar",
            "name",
            "gender",
            "birth_date",
            "address_line",
            "locality",
            "district_name",
            "district_lgd",
            "state_name",
            "state_lgd",
            "pincode",
        )
        s.add(KycResident(**{c: getattr(resident, c) for c in columns}))
