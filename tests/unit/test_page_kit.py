"""The page kit (``web.pages``): how a page words a refusal, the OTP countdown, the
browser-bound flow cookie, the staff gate and the way back after a login."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from starlette.requests import Request

from healthstack.kernel.clock import FrozenClock
from healthstack.kernel.context import Actor, ActorKind, Purpose, Role
from healthstack.kernel.errors import NotFound, OtpError, ValidationFailed
from healthstack.network.abha.display import abha_message
from healthstack.web.pages import (
    Page,
    Reword,
    browser_flow,
    here,
    login_redirect,
    otp_flow_message,
    plain,
    resent_notice,
    reworded,
)


def _request(path: str = "/x", query: str = "", cookies: str = "") -> Request:
    headers = [(b"cookie", cookies.encode())] if cookies else []
    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "query_string": query.encode(),
        "headers": headers,
    }
    return Request(scope)


def _page(request: Request | None = None) -> Page:
    settings = SimpleNamespace(otp=SimpleNamespace(resend_after_seconds=60, max_resends=2))
    clock = FrozenClock(datetime(2025, 1, 1, tzinfo=UTC))
    runtime: Any = SimpleNamespace(settings=settings, clock=clock)
    return Page(request or _request(), session=None, runtime=runtime)  # type: ignore[arg-type]


def test_a_plain_page_tells_the_service_message() -> None:
    exc = ValidationFailed("Check the txnId.", field="txnId")
    assert plain(exc) == "Check the txnId."


def test_an_otp_flow_page_rewords_the_txnid_it_carries_in_hidden_fields() -> None:
    wait = OtpError("An OTP was sent; wait 42 more seconds and ask again with the same txnId.")
    assert "wait 42 more seconds and send the OTP again" in otp_flow_message(wait)
    lost = ValidationFailed("Unknown txnId.", field="txnId")
    assert otp_flow_message(lost) == (
        "This form is out of date or was opened out of order. Start again."
    )
    assert otp_flow_message(NotFound("No such account.")) == "No such account."


def test_a_reword_matches_its_code_and_marker() -> None:
    table = (Reword("HS-1", "by marker", marker="alpha"), Reword("HS-1", "by code"))
    assert reworded(NotFound("alpha here", code="HS-1"), table) == "by marker"
    assert reworded(NotFound("beta here", code="HS-1"), table) == "by code"
    assert reworded(NotFound("alpha here", code="HS-2"), table) is None


def test_the_abha_pages_word_their_refusals_and_else_the_otp_flow() -> None:
    login = NotFound("No ABHA is linked to this mobile.", code="HS-1411")
    assert abha_message(login).startswith("No active ABHA is linked to this mobile number.")
    assert abha_message(ValidationFailed("Bad txnId.")).startswith("This form is out of date")


@dataclass
class _Step:
    resend_at: int = 0
    resends: int = 0


def test_the_countdown_and_a_resend() -> None:
    pg = _page()
    now = pg.now
    step = _Step(resend_at=now + 30, resends=1)
    assert pg.countdown(step) == {"wait": 30, "resends_left": 1}
    assert pg.resent(step, "Sent to ******1234") == "A new OTP was sent. Sent to ******1234."
    assert (step.resends, step.resend_at) == (2, now + 60)
    assert pg.countdown(step) == {"wait": 60, "resends_left": 0}
    assert resent_notice("x") == "A new OTP was sent. x."


def test_a_browser_flow_keeps_its_cookie_or_sets_a_new_one() -> None:
    kept = _page(_request(cookies="hs_flow=" + "a" * 32))
    assert browser_flow(kept, "hs_flow", "/flow") == ("a" * 32, False)
    assert kept.cookies == []
    fresh = _page()
    nonce, lost = browser_flow(fresh, "hs_flow", "/flow", lambda: "b" * 32)
    assert (nonce, lost) == ("b" * 32, True)
    assert [(c.name, c.value, c.path) for c in fresh.cookies] == [("hs_flow", "b" * 32, "/flow")]


def test_the_login_brings_the_browser_back_here() -> None:
    request = _request("/dashboard/district/1", "days=30")
    assert here(request) == "/dashboard/district/1?days=30"
    assert login_redirect(here(request)).headers["location"] == (
        "/login?next=/dashboard/district/1%3Fdays%3D30"
    )


def test_a_staff_page_admits_who_may_and_shows_what_they_may_do() -> None:
    doctor = Actor(kind=ActorKind.STAFF, id="d-1", role=Role.DOCTOR)
    pg = _page(_request("/records"))
    can = {"request": "records.request", "roster": "compliance.roster_import"}
    assert (
        pg.admit(doctor, "records.read", what="open the records", back="/records", can=can) is None
    )
    assert pg.who is doctor
    assert pg.base == {"staff": doctor, "can": {"request": True, "roster": False}}
    assert (pg.staff_ctx.actor, pg.staff_ctx.purpose) == (doctor, Purpose.ADMINISTRATION)


def test_a_staff_page_sends_a_stranger_to_the_login() -> None:
    pg = _page(_request("/records"))
    refused = pg.admit(None, "records.read", what="open the records", back="/records")
    assert refused is not None and refused.headers["location"] == "/login?next=/records"
    assert pg.staff is None and pg.base == {}
