"""The patient's app (``phr/``) in tests, against the fake bridge of
tests/factories_consent.py: Ravi and Sita, patients of its HIPs, as fixtures (a pytest
plugin of tests/conftest.py: ``ravi``, ``sita``, and ``linked``, Ravi with his records
at HIP_A linked and a consent PIN set) and as factories for a module that wants them
otherwise; and the PHR pages as a tester reads them: the ``hs_patient`` cookie the
patient login leaves, a page's text, a redirect's location (nothing but opaque ids in
it), a consent request to answer and the approve form."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest

from healthstack.network.abha.models import AbhaAccount
from healthstack.runtime import Runtime
from healthstack.web.deps import PATIENT_COOKIE
from tests.factories_consent import (
    HIP_A,
    PIN,
    FakeBridge,
    HipRecords,
    consent_body,
    init_consent,
    link_directly,
    patient,
    set_pin,
    user_token,
)

# --------------------------------------------------------------------------- patients


def make_ravi(runtime: Runtime, *, linked: bool = False, pin: bool = False) -> AbhaAccount:
    """Ravi Kumar Sharma (born 12 Apr 1990); with ``linked`` his records at HIP_A are
    linked, with ``pin`` his consent PIN is set."""
    account = patient(runtime, name="Ravi Kumar Sharma", birth_date=date(1990, 4, 12))
    if linked:
        link_directly(runtime, account, HipRecords(abha_number=account.abha_number))
    if pin:
        set_pin(runtime, account)
    return account


def make_sita(runtime: Runtime, *, linked: bool = False) -> AbhaAccount:
    """Sita Devi (born 1 Jan 1985, her own mobile); with ``linked`` her records at HIP_A
    are linked."""
    account = patient(
        runtime, name="Sita Devi", gender="F", birth_date=date(1985, 1, 1), mobile="9876500002"
    )
    if linked:
        link_directly(runtime, account, HipRecords(abha_number=account.abha_number))
    return account


@pytest.fixture
def ravi(runtime: Runtime) -> AbhaAccount:
    return make_ravi(runtime)


@pytest.fixture
def sita(runtime: Runtime) -> AbhaAccount:
    return make_sita(runtime)


@pytest.fixture
def linked(runtime: Runtime, ravi: AbhaAccount) -> AbhaAccount:
    link_directly(runtime, ravi, HipRecords(abha_number=ravi.abha_number))
    set_pin(runtime, ravi)
    return ravi


# --------------------------------------------------------------------------- the pages


def log_in(client: Any, runtime: Runtime, account: AbhaAccount) -> None:
    """What the patient login leaves behind: the user token in the hs_patient cookie."""
    client.cookies.set(PATIENT_COOKIE, user_token(runtime, account))


def text(page: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", page).split())


def location(r: Any) -> str:
    assert r.status_code == 303, (r.status_code, r.text[:400])
    where = str(r.headers["location"])
    # Nothing but opaque ids in the addresses the pages send the browser to.
    opaque = re.sub(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", "<uuid>", where)
    assert not re.search(r"\d{10}|PT-|OPD-|Ravi|Sita", opaque), where
    return where


def request_id(runtime: Runtime, bridge: FakeBridge, account: AbhaAccount, **kwargs: Any) -> str:
    """An HIU's consent request for ``account`` (``consent_body``'s keywords); its id."""
    body = consent_body(account, **kwargs)
    return str(init_consent(runtime, bridge, body)["consentRequest"]["id"])


def approve(client: Any, rid: str, **form: Any) -> Any:
    base = {
        "hips": [HIP_A],
        "hi_types": ["OPConsultation", "Prescription"],
        "date_from": "2020-01-01",
        "date_to": "2026-11-25",
        "expiry": "2027-06-01",
        "pin": PIN,
    }
    return client.post(
        f"/phr/consents/{rid}/approve", data={**base, **form}, follow_redirects=False
    )
