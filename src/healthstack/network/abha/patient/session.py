"""The ABHA holder on a page: the account whose user token the HttpOnly, SameSite=Lax
cookie ``hs_patient`` holds (``signed_in``; the patient login sets it), their request
context, and the other ABHAs a mobile login proved (``household_choices``, from the
``hs_household`` cookie of ``network.abha.household``). The patient's own pages and the
PHR pages use them; ``patient.dependencies`` is the same holder on a JSON API request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi.responses import RedirectResponse

from healthstack.kernel.audit import absorb
from healthstack.kernel.context import ANONYMOUS_ACTOR, Purpose, RequestContext
from healthstack.kernel.errors import DomainError
from healthstack.kernel.ids import AbhaNumber
from healthstack.network.abha import household, login, profile
from healthstack.network.abha.auth import patient_context
from healthstack.network.abha.household import HOUSEHOLD_COOKIE
from healthstack.network.abha.models import AbhaAccount
from healthstack.network.abha.parts import AbhaParts
from healthstack.web.deps import PATIENT_COOKIE, request_id
from healthstack.web.pages import Cookie, Page


@dataclass(frozen=True)
class PatientBadge:
    """What the page header shows of a logged-in holder."""

    masked: str


def signed_in(pg: Page) -> AbhaAccount | None:
    """The ABHA whose user token the ``hs_patient`` cookie holds (ACTIVE only); the
    header then shows it."""
    token = pg.request.cookies.get(PATIENT_COOKIE)
    if not token:
        return None
    ctx = pg.ctx(ANONYMOUS_ACTOR, Purpose.SELF_SERVICE)
    try:
        account = profile.authenticate(
            pg.session,
            ctx,
            x_token=f"Bearer {token}",
            keyring=pg.runtime.keyring,
            clock=pg.runtime.clock,
        )
    except DomainError as exc:
        absorb(pg.session, exc)
        return None
    pg.base = {"patient": PatientBadge(AbhaNumber(account.abha_number).masked)}
    return account


def holder_context(pg: Page, account: AbhaAccount) -> RequestContext:
    client = pg.request.client
    return patient_context(
        account, request_id=request_id(pg.request), ip=client.host if client else None
    )


def household_choices(pg: Page, account: AbhaAccount) -> list[dict[str, Any]]:
    """The other ABHAs the holder's mobile login proved, masked as the login's pick
    list shows them (``accountRef``: the public id the switch form posts)."""
    token = pg.request.cookies.get(HOUSEHOLD_COOKIE)
    suffix = pg.runtime.settings.abha_suffix
    return [
        login.masked_choice(a, suffix, str(a.public_id))
        for a in household.members(pg.session, token=token, parts=AbhaParts.of(pg.runtime))
        if a.id != account.id
    ]


def patient_cookie(token: str, expires_in: int) -> Cookie:
    """The cookie that signs the holder in (their user token)."""
    return Cookie(PATIENT_COOKIE, token, expires_in, "/")


def to_login() -> RedirectResponse:
    """To the patient login, the stale ``hs_patient`` cookie ended."""
    response = RedirectResponse("/patient/login", status_code=303)
    response.delete_cookie(PATIENT_COOKIE, path="/")
    return response
