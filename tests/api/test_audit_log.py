"""The audit log as an auditor uses it: who by name and role, filters, paging past 200
rows, CSV export from the browser's session, and every bad input a clear 400."""

from __future__ import annotations

import base64
import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from healthstack.kernel.audit import AuditEvent, Outcome
from healthstack.kernel.context import SYSTEM_ACTOR, ActorKind, Role
from healthstack.kernel.uow import unit_of_work
from tests.conftest import FACILITY_A, FACILITY_B
from tests.factories_abha import create_account
from tests.factories_audit import BRIDGE, GATEWAY, PASSWORD, Row, named_staff, patient, write
from tests.factories_records import make_patient

API = "/api/v1/audit"
PAGE = "/admin/audit"
EXPORT = "/admin/audit.csv"


def _login(client, username: str) -> None:
    r = client.post("/login", data={"username": username, "password": PASSWORD})
    assert r.status_code in (200, 303), r.text


@pytest.fixture
def admin(runtime):
    return named_staff(runtime, username="auditor", full_name="Meera Kaul", role=Role.STATE_ADMIN)


@pytest.fixture
def admin_headers(make_staff):
    return make_staff(Role.STATE_ADMIN).headers


def _items(client, headers, **params):
    r = client.get(API, params=params, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def _actions(client, headers, **params) -> list[str]:
    return [i["action"] for i in _items(client, headers, **params)]


# --------------------------------------------------------------------------- who


def test_actors_are_shown_by_name_username_and_role(client, runtime, admin_headers):
    doctor = named_staff(
        runtime,
        username="asha.v",
        full_name="Asha Verma",
        role=Role.DOCTOR,
        facility_id=FACILITY_A,
    )
    hmis = named_staff(
        runtime,
        username="hmis.bot",
        full_name="GMC HMIS",
        role=Role.REGISTRATION_DESK,
        facility_id=FACILITY_A,
        kind=ActorKind.CLIENT,
    )
    write(
        runtime,
        Row(doctor, "records.read"),
        Row(hmis, "abha.search"),
        Row(patient("91628545755116"), "phr.links.read"),
        Row(SYSTEM_ACTOR, "consent.expire"),
        Row(GATEWAY, "abdm.callback"),
        Row(BRIDGE, "gateway.accept"),
    )
    by_action = {i["action"]: i for i in _items(client, admin_headers)}
    doc = by_action["records.read"]
    assert (doc["actor_name"], doc["actor_username"], doc["actor_role"]) == (
        "Asha Verma",
        "asha.v",
        "doctor",
    )
    assert doc["actor_display"] == "Asha Verma (asha.v)"
    assert by_action["abha.search"]["actor_display"] == "GMC HMIS (hmis.bot), API token"
    pat = by_action["phr.links.read"]
    assert pat["actor_display"] == "patient XX-XXXX-XXXX-5116"
    assert pat["actor_id"] == "XX-XXXX-XXXX-5116"
    assert by_action["consent.expire"]["actor_display"] == "system"
    assert by_action["abdm.callback"]["actor_display"] == "ABDM gateway"
    assert by_action["gateway.accept"]["actor_display"] == "API client jk-hmis"
    r = client.get(API, headers=admin_headers)
    assert "91628545755116" not in r.text  # a patient's number never leaves in clear


def test_the_page_names_staff_not_their_ids(client, runtime, admin):
    doctor = named_staff(
        runtime, username="asha.v", full_name="Asha Verma", role=Role.DOCTOR, facility_id=FACILITY_A
    )
    write(runtime, Row(doctor, "records.read"), Row(patient("91628545755116"), "phr.links.read"))
    _login(client, "auditor")
    html = client.get(PAGE).text
    assert "Asha Verma" in html and "asha.v" in html and "doctor" in html
    assert doctor.id[:8] not in html
    assert "XX-XXXX-XXXX-5116" in html and "91628545755116" not in html


# --------------------------------------------------------------------------- filters


def test_filters_by_actor_action_facility_and_outcome(client, runtime, admin_headers):
    asha = named_staff(
        runtime, username="asha.v", full_name="Asha Verma", role=Role.DOCTOR, facility_id=FACILITY_A
    )
    ravi = named_staff(
        runtime,
        username="rkumar",
        full_name="Ravi Kumar",
        role=Role.REGISTRATION_DESK,
        facility_id=FACILITY_B,
    )
    write(
        runtime,
        Row(asha, "staff.login"),
        Row(asha, "abha.enrol.by_aadhaar", outcome=Outcome.DENIED),
        Row(ravi, "abha.search"),
        Row(ravi, "staff.login_failed", outcome=Outcome.FAILED),
        Row(SYSTEM_ACTOR, "consent.abha.relink"),
    )
    # actor: part of the full name or the username, any case; or an exact actor id
    assert sorted(_actions(client, admin_headers, actor="verma")) == [
        "abha.enrol.by_aadhaar",
        "staff.login",
    ]
    assert sorted(_actions(client, admin_headers, actor="RKUM")) == [
        "abha.search",
        "staff.login_failed",
    ]
    assert _actions(client, admin_headers, actor="system") == ["consent.abha.relink"]
    assert len(_actions(client, admin_headers, actor=asha.id)) == 2
    # action: "abha." is a prefix, "login" is contained
    assert sorted(_actions(client, admin_headers, action="abha.")) == [
        "abha.enrol.by_aadhaar",
        "abha.search",
    ]
    assert sorted(_actions(client, admin_headers, action="login")) == [
        "staff.login",
        "staff.login_failed",
    ]
    # an underscore is a character, not a LIKE wildcard
    assert _actions(client, admin_headers, action="login_") == ["staff.login_failed"]
    assert sorted(_actions(client, admin_headers, facility=FACILITY_B)) == [
        "abha.search",
        "staff.login_failed",
    ]
    assert _actions(client, admin_headers, outcome="denied") == ["abha.enrol.by_aadhaar"]
    assert _actions(client, admin_headers, actor="ravi", outcome="failed") == ["staff.login_failed"]


def test_date_range_is_utc_in_the_api_and_ist_days_on_the_page(client, runtime, clock, admin):
    clock.set(datetime(2026, 12, 5, 9, 0, tzinfo=UTC))  # today: after every row below
    # 01 Dec 20:00 UTC is already 02 Dec (01:30) in India; 01 Dec 10:00 UTC is 01 Dec.
    write(
        runtime,
        Row(action="late.evening", at=datetime(2026, 12, 1, 20, 0, tzinfo=UTC)),
        Row(action="morning", at=datetime(2026, 12, 1, 10, 0, tzinfo=UTC)),
        Row(action="last.week", at=datetime(2026, 11, 24, 10, 0, tzinfo=UTC)),
    )
    headers = {"Authorization": f"Bearer {_token(client, 'auditor')}"}
    assert _actions(
        client, headers, since="2026-12-01T00:00:00Z", until="2026-12-02T00:00:00Z"
    ) == ["late.evening", "morning"]
    assert _actions(
        client, headers, since="2026-12-01T15:00:00+00:00", until="2026-12-02T00:00:00Z"
    ) == ["late.evening"]
    assert _actions(
        client, headers, since="2026-11-01T00:00:00Z", until="2026-12-01T10:00:00Z"
    ) == ["last.week"]
    _login(client, "auditor")
    html = client.get(PAGE, params={"from": "2026-12-02", "to": "2026-12-02"}).text
    assert "late.evening" in html and "morning" not in html
    html = client.get(PAGE, params={"from": "2026-12-01", "to": "2026-12-01"}).text
    assert "morning" in html and "late.evening" not in html and "last.week" not in html
    assert "02 Dec 2026, 01:30:00 IST" in client.get(PAGE).text


def _token(client, username: str) -> str:
    r = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 201, r.text
    return str(r.json()["token"])


def test_patient_filter_takes_an_abha_number_address_or_resource_id(client, runtime, admin_headers):
    account = create_account(runtime, handle="ravi.sharma90")
    other = create_account(runtime, mobile="9876500002")
    number = account.abha_number
    formatted = f"{number[:2]}-{number[2:6]}-{number[6:10]}-{number[10:]}"
    facility_patient = make_patient(
        runtime, mrn="MRN-77", abha_number=formatted, abha_address="ravi.sharma90@sbx"
    )
    write(
        runtime,
        Row(
            action="abha.profile.read",
            resource_type="abha_account",
            resource_id=str(account.public_id),
        ),
        Row(patient(number), "phr.links.read", "abha_account"),
        Row(
            action="records.discover",
            resource_type="facility_patient",
            resource_id=facility_patient,
        ),
        Row(
            action="abha.profile.read",
            resource_type="abha_account",
            resource_id=str(other.public_id),
        ),
        Row(patient(other.abha_number), "phr.links.read", "abha_account"),
    )
    mine = ["abha.profile.read", "phr.links.read", "records.discover", "records.patient.ensure"]
    for typed in (
        number,
        formatted,
        "ravi.sharma90@sbx",
        "RAVI.SHARMA90",
        f"{number}@sbx",
        str(account.public_id),
    ):
        assert sorted(_actions(client, admin_headers, patient=typed)) == mine, typed
    # a facility patient's own id: that patient's rows, and the account they are linked to
    assert sorted(_actions(client, admin_headers, patient=facility_patient)) == mine
    assert _actions(client, admin_headers, patient="nobody.here@sbx") == []


# --------------------------------------------------------------------------- paging


def test_paging_goes_past_200_rows_on_the_page_and_in_the_api(client, runtime, admin):
    start = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    write(
        runtime, *(Row(action=f"bulk.{n:03d}", at=start + timedelta(minutes=n)) for n in range(450))
    )
    _login(client, "auditor")
    seen: list[str] = []
    url = PAGE + "?action=bulk."
    pages = 0
    while url:
        html = client.get(url).text
        pages += 1
        rows = [line for line in html.splitlines() if 'class="audit-row"' in line]
        seen += [line.split("bulk.")[1][:3] for line in rows]
        url = _older_link(html)
    assert pages == 3 and len(seen) == 450 and len(set(seen)) == 450
    assert seen[0] == "449" and seen[-1] == "000"  # newest first

    headers = {"Authorization": f"Bearer {_token(client, 'auditor')}"}
    got, cursor = [], None
    while True:
        params = {"action": "bulk.", "limit": 200} | ({"cursor": cursor} if cursor else {})
        body = client.get(API, params=params, headers=headers).json()
        got += [i["action"] for i in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert len(got) == 450 and len(set(got)) == 450


def _older_link(html: str) -> str | None:
    marker = 'id="older" href="'
    if marker not in html:
        return None
    return html.split(marker, 1)[1].split('"', 1)[0].replace("&amp;", "&")


def test_rows_at_the_same_instant_are_paged_without_loss(client, runtime, admin_headers):
    write(runtime, *(Row(action=f"same.{n:03d}") for n in range(7)))  # the frozen clock
    got, cursor = [], None
    for _ in range(10):
        params = {"limit": 3, "action": "same."} | ({"cursor": cursor} if cursor else {})
        body = client.get(API, params=params, headers=admin_headers).json()
        got += [i["action"] for i in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert got == [f"same.{n:03d}" for n in reversed(range(7))]


# --------------------------------------------------------------------------- CSV


def test_csv_export_works_from_the_browser_session(client, runtime, admin):
    doctor = named_staff(
        runtime, username="asha.v", full_name="Asha Verma", role=Role.DOCTOR, facility_id=FACILITY_A
    )
    write(runtime, *(Row(doctor, "abha.search", ip="10.1.2.3") for _ in range(1200)))
    write(runtime, Row(doctor, "records.read"), Row(patient("91628545755116"), "phr.links.read"))
    _login(client, "auditor")
    page = client.get(PAGE, params={"action": "abha."}).text
    assert 'href="/admin/audit.csv?action=abha.' in page  # the Download link keeps the filter
    r = client.get(EXPORT, params={"action": "abha."})
    assert r.status_code == 200, r.text[:300]
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    assert "content-length" not in r.headers  # streamed, not built whole
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 1200
    assert rows[0]["actor"] == "Asha Verma (asha.v)" and rows[0]["actor_role"] == "doctor"
    assert rows[0]["client_address"] == "10.1.2.3"
    assert rows[0]["occurred_at_utc"] == "2026-11-26T09:00:00+00:00"
    assert rows[0]["occurred_at_ist"] == "26 Nov 2026, 14:30:00 IST"
    everything = client.get(EXPORT).text
    assert "91628545755116" not in everything and "XX-XXXX-XXXX-5116" in everything
    # the export itself is on the record, with who asked
    with unit_of_work(runtime.session_factory) as s:
        exports = s.scalars(select(AuditEvent).where(AuditEvent.action == "audit.export")).all()
        assert [e.actor_id for e in exports] == [admin.id, admin.id]


def test_csv_cells_cannot_become_spreadsheet_formulas(client, runtime, admin):
    sly = named_staff(
        runtime,
        username="sly",
        full_name='=HYPERLINK("x")',
        role=Role.DOCTOR,
        facility_id=FACILITY_A,
    )
    write(runtime, Row(sly, "records.read"))
    _login(client, "auditor")
    export = client.get(EXPORT, params={"action": "records.read"}).text
    rows = list(csv.DictReader(io.StringIO(export)))
    assert rows[0]["actor"].startswith("'=")


def test_the_api_exports_csv_with_a_token(client, runtime, admin_headers):
    write(runtime, Row(action="abha.search"), Row(action="records.read"))
    r = client.get(API, params={"format": "csv", "action": "records"}, headers=admin_headers)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert [row["action"] for row in csv.DictReader(io.StringIO(r.text))] == ["records.read"]


# --------------------------------------------------------------------------- who may


def test_only_the_state_admin_reads_the_audit_log(client, runtime, make_staff):
    desk = make_staff(Role.REGISTRATION_DESK)
    officer = make_staff(Role.DISTRICT_OFFICER)
    for staff in (desk, officer):
        for url in (API, API + "?format=csv"):
            assert client.get(url, headers=staff.headers).status_code == 403
        _login(client, staff.username)
        assert client.get(PAGE).status_code == 403
        assert client.get(EXPORT).status_code == 403
        client.post("/logout")
        client.cookies.clear()
    assert client.get(API).status_code == 401
    for url in (PAGE + "?action=abha.", EXPORT):
        r = client.get(url, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")


# --------------------------------------------------------------------------- bad input


def _cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


BAD_API_INPUT = [
    ({"since": "yesterday"}, "since"),
    ({"until": "2026-13-45T00:00:00Z"}, "until"),
    ({"since": "0001-01-01T00:00:00+05:30"}, "since"),
    ({"since": "2026-12-02T00:00:00Z", "until": "2026-12-01T00:00:00Z"}, "before"),
    ({"limit": str(2**64)}, "limit"),
    ({"limit": "0"}, "limit"),
    ({"cursor": "not-a-cursor!"}, "cursor"),
    ({"cursor": _cursor("2026-12-01T00:00:00+00:00~abc")}, "cursor"),
    ({"cursor": _cursor(f"2026-12-01T00:00:00+00:00~{2**70}")}, "cursor"),
    ({"cursor": _cursor("9999999-12-01~5")}, "cursor"),
    ({"outcome": "bogus"}, "outcome"),
    ({"action": "x" * 65}, "action"),
    ({"patient": "drop table;"}, "patient"),
    ({"patient": "12345"}, "patient"),
    ({"facility": "IN01'--"}, "facility"),
    ({"format": "xml"}, "format"),
    ({"actor": "a\x00b"}, "actor"),
    ({"action": "abha\x00"}, "action"),
    ({"patient": "ravi\x00sharma"}, "patient"),
    ({"resource_id": "r\x00"}, "resource_id"),
]


def test_bad_api_input_is_a_400_that_names_the_problem(client, admin_headers):
    # One caller for every case: a staff login costs a password hash.
    for params, says in BAD_API_INPUT:
        r = client.get(API, params=params, headers=admin_headers)
        assert r.status_code == 400, (params, r.text)
        body = r.json()
        assert says in (body["detail"] + (body.get("field") or "")).lower(), (params, body)


BAD_PAGE_INPUT = [
    ({"from": "2026-13-40"}, "From"),
    ({"to": "31/12/2026"}, "To"),
    ({"from": "2026-12-05", "to": "2026-12-01"}, "From"),
    ({"from": "0001-01-01"}, "From"),
    ({"cursor": "garbage"}, "first page"),
    ({"outcome": "maybe"}, "outcome"),
    ({"patient": "12345"}, "ABHA"),
]


def test_bad_page_input_is_a_400_page_that_keeps_the_form(client, admin):
    _login(client, "auditor")
    for params, says in BAD_PAGE_INPUT:
        r = client.get(PAGE, params={"actor": "kept-value", **params})
        assert r.status_code == 400, (params, r.text[:300])
        assert says in r.text and 'role="alert"' in r.text, params
        assert 'value="kept-value"' in r.text, params
        if "cursor" not in params:  # the download takes every row: it has no cursor
            r = client.get(EXPORT, params=params)
            assert r.status_code == 400 and says in r.text, params
