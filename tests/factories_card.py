"""A small ABHA account factory for the card and search tests: rows inserted directly,
numbers from the real allocator."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from healthstack.network.abha.models import AbhaAccount, AbhaAddress
from healthstack.network.abha.names import name_key, split_name
from healthstack.network.abha.numbers import NumberPermutation, reserve
from healthstack.runtime import Runtime


def make_account(
    session: Session,
    runtime: Runtime,
    *,
    name: str = "Ravi Kumar",
    gender: str = "M",
    birth_date: date | None = date(1985, 3, 7),
    year_of_birth: int | None = None,
    mobile: str | None = "9876543210",
    district_lgd: int | None = 632,
    district_name: str | None = "Srinagar",
    state_lgd: int | None = 1,
    state_name: str | None = "Jammu And Kashmir",
    address_line: str | None = "House 12, Lal Chowk",
    pincode: str | None = "190001",
    handles: tuple[str, ...] = (),
    preferred: str | None = None,
    status: str = "ACTIVE",
    photo: bytes | None = None,
) -> AbhaAccount:
    perm = NumberPermutation(runtime.settings.secret_key.get_secret_value())
    now = runtime.clock.now()
    first, middle, last = split_name(name)
    account = AbhaAccount(
        abha_number=perm.number_for(reserve(session)),
        first_name=first,
        middle_name=middle,
        last_name=last,
        name=name,
        name_key=name_key(name),
        gender=gender,
        birth_date=birth_date,
        year_of_birth=year_of_birth or (birth_date.year if birth_date else 1990),
        mobile=mobile,
        mobile_verified=mobile is not None,
        address_line=address_line,
        district_name=district_name,
        district_lgd=district_lgd,
        state_name=state_name,
        state_lgd=state_lgd,
        pincode=pincode,
        photo=photo,
        kyc_method="aadhaar_otp",
        kyc_verified=True,
        status=status,
        created_at=now,
        updated_at=now,
        deleted_at=now if status == "DELETED" else None,
    )
    session.add(account)
    session.flush()
    for handle in handles:
        session.add(
            AbhaAddress(
                account_id=account.id,
                handle=handle.lower(),
                is_preferred=handle == (preferred or handles[0]),
                created_at=now,
            )
        )
    session.flush()
    session.refresh(account)
    return account
