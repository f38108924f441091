"""The ABHAs one mobile proved: a family's ABHAs often share one mobile, and after a
mobile-OTP login the holder switches between them without another OTP.

The login leaves, besides the picked ABHA's user token, a household token (RS256,
audience ``abha-household``): it names the mobile by a keyed hash and the ABHAs that
login listed by their public ids, and expires with the login. ``switch`` exchanges it
for another listed ABHA's user token. An ABHA the login did not list, or one no longer
ACTIVE on that verified mobile (changed, deactivated, deleted since), is "not found",
as any ABHA the mobile did not prove. Each switch is audited with the holder who
switched and the ABHA switched to.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from healthstack.kernel import tokens
from healthstack.kernel.audit import audited
from healthstack.kernel.context import RequestContext
from healthstack.kernel.crypto import KeyedHasher
from healthstack.kernel.errors import AuthenticationRequired, NotFound
from healthstack.network.abha.auth import UserTokens, issue_user_tokens
from healthstack.network.abha.models import AbhaAccount
from healthstack.network.abha.parts import AbhaParts

HOUSEHOLD_AUDIENCE = "abha-household"
# The browser keeps the household token beside the user token (``hs_patient``).
HOUSEHOLD_COOKIE = "hs_household"
_MOBILE_DOMAIN = "household-mobile"


def _mobile_key(hasher: KeyedHasher, mobile: str) -> str:
    return hasher.hash(_MOBILE_DOMAIN, mobile)


def issue_household(
    *, mobile: str, accounts: Sequence[AbhaAccount], ttl_seconds: int, parts: AbhaParts
) -> str:
    """The token of a mobile login that listed ``accounts`` (all on ``mobile``)."""
    return tokens.issue(
        parts.keyring,
        subject=_mobile_key(parts.hasher, mobile),
        audience=HOUSEHOLD_AUDIENCE,
        ttl_seconds=ttl_seconds,
        clock=parts.clock,
        claims={"typ": "Household", "members": [str(a.public_id) for a in accounts]},
    )


def members(session: Session, *, token: str | None, parts: AbhaParts) -> list[AbhaAccount]:
    """The ABHAs a household token lists that are still ACTIVE on its verified mobile,
    oldest first; none for a missing, expired or forged token."""
    if not token:
        return []
    try:
        claims = tokens.verify(parts.keyring, token, audience=HOUSEHOLD_AUDIENCE, clock=parts.clock)
    except AuthenticationRequired:
        return []
    ids: list[uuid.UUID] = []
    for raw in claims.get("members") or []:
        try:
            ids.append(uuid.UUID(str(raw)))
        except ValueError:
            continue
    if not ids:
        return []
    rows = session.scalars(
        select(AbhaAccount)
        .where(
            AbhaAccount.public_id.in_(ids),
            AbhaAccount.status == "ACTIVE",
            AbhaAccount.mobile_verified.is_(True),
        )
        .order_by(AbhaAccount.id)
    )
    return [a for a in rows if a.mobile and _mobile_key(parts.hasher, a.mobile) == claims["sub"]]


def switch(
    session: Session, ctx: RequestContext, *, token: str | None, account_id: str, parts: AbhaParts
) -> tuple[AbhaAccount, UserTokens]:
    """Another ABHA of the household: its user token, without another OTP."""
    with audited(
        session,
        ctx,
        action="abha.login.switch",
        resource_type="abha_account",
        resource_id=str(account_id)[:64],
        clock=parts.clock,
    ):
        listed = members(session, token=token, parts=parts)
        chosen = next((a for a in listed if str(a.public_id) == account_id), None)
        if chosen is None:
            raise NotFound(
                "This ABHA is not one of those your mobile login proved. Log in with its "
                "mobile or ABHA number to use it.",
                code="HS-1414",
                field="account",
            )
    return chosen, issue_user_tokens(
        chosen, keyring=parts.keyring, clock=parts.clock, abha_settings=parts.abha
    )
