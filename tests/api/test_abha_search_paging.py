"""Desk search past the first 50: the real count ("1–50 of 57"), pages that neither
overlap nor skip anyone, in the API and on the desk page (re-sent as a POST, so the
name or mobile never stands in a URL), and bad page numbers refused clearly."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import func, select

from healthstack.kernel.audit import AuditEvent
from healthstack.kernel.context import Role
from healthstack.kernel.uow import unit_of_work
from tests.factories_abha_pages import alert, log_in
from tests.factories_card import make_account

URL = "/api/v1/abha/search"
MOBILE = "9419055555"
MANY = 57  # more than a page (50)


@pytest.fixture
def crowd(runtime) -> set[str]:
    """57 people named Ravi Kumar born 1985 in Srinagar, all on one mobile."""
    with unit_of_work(runtime.session_factory) as s:
        ids = {
            str(
                make_account(
                    s,
                    runtime,
                    name="Ravi Kumar",
                    birth_date=date(1985, 1 + n % 12, 1),
                    mobile=MOBILE,
                ).public_id
            )
            for n in range(MANY)
        }
    return ids


@pytest.fixture
def desk(make_staff):
    return make_staff(Role.REGISTRATION_DESK)


BY_NAME = {"name": "Ravi Kumar", "year_of_birth": 1985, "district_lgd": 632}
BY_MOBILE = {"mobile": MOBILE}


@pytest.mark.parametrize("criteria", [BY_NAME, BY_MOBILE], ids=["name", "mobile"])
def test_the_api_pages_through_every_match(client, crowd, desk, criteria):
    first = client.post(URL, json=criteria, headers=desk.headers).json()
    assert (first["count"], first["total"], first["offset"]) == (50, MANY, 0)
    second = client.post(URL, json={**criteria, "offset": 50}, headers=desk.headers).json()
    assert (second["count"], second["total"], second["offset"]) == (MANY - 50, MANY, 50)
    seen = [i["id"] for i in first["items"]] + [i["id"] for i in second["items"]]
    assert len(seen) == len(set(seen)) and set(seen) == crowd
    beyond = client.post(URL, json={**criteria, "offset": 100}, headers=desk.headers).json()
    assert (beyond["count"], beyond["total"], beyond["hint"]) == (0, MANY, None)


def test_only_the_page_shown_is_audited(client, runtime, crowd, desk):
    client.post(URL, json={**BY_MOBILE, "offset": 50}, headers=desk.headers)
    with unit_of_work(runtime.session_factory) as s:
        shown = s.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "abha.search")
        )
    assert shown == MANY - 50


@pytest.mark.parametrize("offset", [-1, 2001, "x"])
def test_the_api_refuses_a_bad_offset(client, crowd, desk, offset):
    r = client.post(URL, json={**BY_MOBILE, "offset": offset}, headers=desk.headers)
    assert r.status_code in (400, 422) and "offset" in r.text


def _heading(page: str) -> str:
    found = re.search(r'<h2 id="found">(.*?)</h2>', page, re.S)
    assert found, "no result heading"
    return " ".join(found.group(1).split())


def _rows(page: str) -> list[str]:
    return re.findall(r'href="/desk/accounts/([0-9a-f-]{36})"', page)


@pytest.mark.parametrize(
    "form",
    [
        {"mode": "name", "name": "Ravi Kumar", "year_of_birth": "1985", "district_lgd": "632"},
        {"mode": "mobile", "mobile": MOBILE},
    ],
    ids=["name", "mobile"],
)
def test_the_desk_page_says_50_of_n_and_pages_on(client, crowd, make_staff, form):
    log_in(client, make_staff, Role.FACILITY_ADMIN)  # may open profiles: rows have links
    r = client.post("/desk/search", data=form)
    assert r.status_code == 200
    assert _heading(r.text) == f"1–50 of {MANY} ABHAs"
    first = _rows(r.text)
    assert len(first) == 50
    # The "Next 50" form re-sends the search with the offset, by POST.
    nxt = re.search(r'<form method="post" action="/desk/search">(.*?)</form>', r.text, re.S)
    assert nxt and "Next 50" in nxt.group(1) and "Previous" not in r.text
    resent = dict(re.findall(r'name="([a-z_]+)" value="([^"]*)"', nxt.group(1)))
    assert resent["offset"] == "50" and all(resent[k] == v for k, v in form.items())
    r = client.post("/desk/search", data=resent)
    assert _heading(r.text) == f"51–{MANY} of {MANY} ABHAs"
    second = _rows(r.text)
    assert len(second) == MANY - 50 and not set(first) & set(second)
    assert set(first) | set(second) == crowd
    assert "Previous 50" in r.text and "Next 50" not in r.text


def test_a_short_list_says_how_many_were_found(client, crowd, make_staff):
    log_in(client, make_staff)
    with unit_of_work(client.app.state.runtime.session_factory) as s:
        make_account(s, client.app.state.runtime, name="Shazia Dar", mobile="9419066666")
    r = client.post("/desk/search", data={"mode": "mobile", "mobile": "9419066666"})
    assert _heading(r.text) == "1 ABHA found" and "Next" not in r.text


def test_the_desk_page_refuses_a_tampered_offset(client, crowd, make_staff):
    log_in(client, make_staff)
    r = client.post("/desk/search", data={"mode": "mobile", "mobile": MOBILE, "offset": "-5"})
    assert r.status_code == 400 and "Search again" in alert(r.text)
    assert f'value="{MOBILE}"' in r.text  # what was typed is kept
    r = client.post("/desk/search", data={"mode": "mobile", "mobile": MOBILE, "offset": "99999"})
    assert r.status_code == 400 and "Start the search again" in alert(r.text)
