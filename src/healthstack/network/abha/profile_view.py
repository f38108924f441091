"""How an ABHA account looks on the wire: ABDM's ``ABHAProfile`` and ``tokens`` objects.

Shared by enrolment, login and profile routes so every ABDM-shaped response
describes an account the same way. Pure functions: no queries beyond the account's
own ``addresses`` relationship, no auditing (the caller audits the read).
"""

from __future__ import annotations

import base64
from typing import Any

from healthstack.kernel.ids import format_abha_number
from healthstack.network.abha.address import default_address, full_address
from healthstack.network.abha.auth import UserTokens
from healthstack.network.abha.models import AbhaAccount

ABHA_TYPE = "STANDARD"


def preferred_address(account: AbhaAccount, suffix: str) -> str:
    """The preferred ABHA address, or the default ``<14 digits>@<suffix>`` without one."""
    for addr in account.addresses:
        if addr.is_preferred:
            return full_address(addr.handle, suffix)
    return default_address(account.abha_number, suffix)


def phr_addresses(account: AbhaAccount, suffix: str) -> list[str]:
    """Every address of the account: the preferred first, the default last."""
    chosen = sorted(account.addresses, key=lambda a: (not a.is_preferred, a.id or 0))
    return [full_address(a.handle, suffix) for a in chosen] + [
        default_address(account.abha_number, suffix)
    ]


def dob_text(account: AbhaAccount) -> str:
    """``DD-MM-YYYY`` as ABDM sends it; the year alone when only the year is known."""
    d = account.birth_date
    if d is None:
        return f"{account.year_of_birth:04d}"
    return f"{d.day:02d}-{d.month:02d}-{d.year:04d}"


def profile_dict(account: AbhaAccount, suffix: str) -> dict[str, Any]:
    """ABDM's ``ABHAProfile`` for ``account`` (the enrolment response shape).

    The mobile is shown only once verified, so an unconfirmed number is never
    presented as the ABHA's. Both spellings ABDM uses are sent where the published
    spec and the sandbox differ (``abhatype``/``abhaType``, ``addressLine1``/``address``).
    """
    return {
        "firstName": account.first_name,
        "middleName": account.middle_name or "",
        "lastName": account.last_name or "",
        "dob": dob_text(account),
        "gender": account.gender,
        "photo": base64.b64encode(account.photo).decode() if account.photo else None,
        "mobile": account.mobile if account.mobile_verified else None,
        "email": account.email if account.email_verified else None,
        "phrAddress": phr_addresses(account, suffix),
        "addressLine1": account.address_line,
        "address": account.address_line,
        "districtCode": str(account.district_lgd) if account.district_lgd is not None else None,
        "districtName": account.district_name,
        "stateCode": str(account.state_lgd) if account.state_lgd is not None else None,
        "stateName": account.state_name,
        "pinCode": account.pincode,
        "abhatype": ABHA_TYPE,
        "abhaType": ABHA_TYPE,
        "ABHANumber": format_abha_number(account.abha_number),
        "abhaStatus": account.status,
    }


def tokens_dict(tokens: UserTokens) -> dict[str, Any]:
    """ABDM's ``tokens`` object, in the sandbox's and the spec example's spellings."""
    return {
        "token": tokens.token,
        "expiresIn": tokens.expires_in,
        "refreshToken": tokens.refresh_token,
        "refreshExpiresIn": tokens.refresh_expires_in,
        "id_token": tokens.token,
        "expires_in": tokens.expires_in,
        "refresh_token": tokens.refresh_token,
    }
