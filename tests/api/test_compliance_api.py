"""Compliance over the API: roster preview/confirm, reconciliation by each key and
its review, campaigns and statuses, the escalation ladder run by the worker with an
advancing clock, exemptions, notices (PDF) and CSV exports, and scope."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from healthstack.integrations.sms import SMS_TOPIC
from healthstack.jobs.worker import Worker
from healthstack.kernel.context import Role
from healthstack.kernel.outbox import OutboxMessage
from healthstack.kernel.uow import unit_of_work
from healthstack.programme.compliance.models import RosterEntry, RosterImport
from tests.conftest import FACILITY_A, FACILITY_B
from tests.factories_compliance import API, ROSTER, import_roster, roster_csv, row, statuses, upload
from tests.factories_professionals import seed_professional

SRINAGAR, BUDGAM = 13, 2


@pytest.fixture
def state(make_staff):
    return make_staff(Role.STATE_ADMIN)


def _count(runtime, model) -> int:
    with unit_of_work(runtime.session_factory) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


# --------------------------------------------------------------------------- roster


def test_preview_names_broken_rows_and_changes_nothing_until_confirmed(client, runtime, state):
    data = roster_csv(
        row("E1", "Aamir Wani"),
        row("E2", "", cadre="pharmacist"),
        row("E1", "Again"),
        row("E4", "Ok Name", cadre="nurse"),
    )
    r = upload(client, state, data)
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["status"], body["data_rows"], body["valid_rows"]) == ("previewed", 4, 2)
    lines = {b["line"]: b["reason"] for b in body["broken"]}
    assert set(lines) == {3, 4}
    assert "name is empty" in lines[3] and "cadre 'pharmacist'" in lines[3]
    assert lines[4] == "employee_id repeats line 2"
    # The dry run wrote the preview only: no roster, no statuses.
    assert _count(runtime, RosterEntry) == 0
    assert client.get(f"{API}/status", headers=state.headers).json()["items"] == []
    again = client.get(f"{API}/roster/imports/{body['id']}", headers=state.headers).json()
    assert again["broken"] == body["broken"]

    wrong = client.post(
        f"{API}/roster/imports/{body['id']}/confirm",
        json={"sha256": "0" * 64},
        headers=state.headers,
    )
    assert wrong.status_code == 409 and wrong.json()["code"] == "HS-1858"
    assert _count(runtime, RosterEntry) == 0
    done = client.post(
        f"{API}/roster/imports/{body['id']}/confirm",
        json={"sha256": body["sha256"]},
        headers=state.headers,
    )
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "confirmed"
    assert done.json()["reconciliation"] == {"matched": 0, "uncertain": 0, "none": 2}
    assert _count(runtime, RosterEntry) == 2
    twice = client.post(
        f"{API}/roster/imports/{body['id']}/confirm", json={}, headers=state.headers
    )
    assert twice.status_code == 409 and twice.json()["code"] == "HS-1857"


def test_a_new_roster_replaces_the_old_and_all_broken_is_refused(client, runtime, state):
    import_roster(client, state, roster_csv(row("E1", "Aamir Wani"), row("E2", "Nazia Jan")))
    import_roster(client, state, roster_csv(row("E9", "Tariq Bhat")))
    assert set(statuses(client, state)) == {"E9"}
    with unit_of_work(runtime.session_factory) as session:
        kinds = sorted(session.scalars(select(RosterImport.status)))
    assert kinds == ["confirmed", "superseded"]
    bad = upload(client, state, roster_csv(row("X", "", cadre="")))
    r = client.post(
        f"{API}/roster/imports/{bad.json()['id']}/confirm", json={}, headers=state.headers
    )
    assert r.status_code == 400 and r.json()["code"] == "HS-1860"


@pytest.mark.parametrize(
    ("data", "code", "says"),
    [
        (
            b"employee_id,name,cadre\nE1,A,doctor\n",
            "HS-1852",
            "lacks the column(s) facility, district",
        ),
        (roster_csv(row("E1", "Zoë")).decode().encode("utf-16"), "HS-1352", "UTF-16"),
        (b"PK\x03\x04\x14\x00", "HS-1351", "Excel"),
        (b"", "HS-1350", "empty"),
    ],
)
def test_bad_files(client, state, data, code, says):
    r = upload(client, state, data)
    assert r.status_code == 400, r.text
    assert (r.json()["code"], r.json()["field"]) == (code, "file")
    assert says in r.json()["detail"]


def test_encodings_and_unknown_ids(client, state):
    cp = upload(client, state, roster_csv(row("E1", "Zoë D'Souza")).decode().encode("cp1252"))
    assert cp.json()["encoding"] == "windows-1252" and cp.json()["valid_rows"] == 1
    bom = upload(client, state, b"\xef\xbb\xbf" + roster_csv(row("E1", "Aamir")))
    assert bom.json()["encoding"] == "utf-8-sig"
    missing = client.post(
        f"{API}/roster/imports/6f1c0000-0000-4000-8000-000000000000/confirm",
        json={},
        headers=state.headers,
    )
    assert missing.status_code == 404
    extra = client.post(
        f"{API}/roster/imports/{cp.json()['id']}/confirm",
        json={"force": True},
        headers=state.headers,
    )
    assert extra.status_code in (400, 422)


# --------------------------------------------------------------------------- reconciliation


def test_reconciliation_by_each_key(client, state, hpr):
    result = import_roster(client, state, ROSTER)
    assert result["reconciliation"] == {"matched": 3, "uncertain": 1, "none": 2}
    got = statuses(client, state)
    assert (got["E1"]["status"], got["E1"]["hpr_id"]) == ("registered_verified", hpr["council"])
    assert (got["E2"]["status"], got["E2"]["hpr_id"]) == ("registered_pending", hpr["mobile"])
    assert (got["E3"]["status"], got["E3"]["hpr_id"]) == ("registered_verified", hpr["name"])
    assert got["E4"]["status"] == "uncertain" and got["E4"]["hpr_id"] is None
    assert got["E5"]["status"] == got["N1"]["status"] == "not_registered"


def test_a_council_number_hpr_does_not_know_weakens_a_namesake(client, state, hpr):
    """HR holds a council registration that HPR has never seen: the person is most
    likely not registered, so a namesake is put to a reviewer only when the name is
    all but identical and the birth year the same, and never linked on its own."""
    result = import_roster(
        client,
        state,
        roster_csv(
            # Without a council number, the same name and year link by name (E3 above).
            row("K1", "Imran Ahmad Lone", birth_year="1979"),
            # With an unknown one, the same name and year go to review instead,
            row("K2", "Imran Ahmad Lone", birth_year="1979", council="JKMC", number="JKMC/2015/9"),
            # and a name merely like one in HPR (E4 above) is no candidate at all.
            row("K3", "Mohd Ashraf Dar", birth_year="1976", council="JKMC", number="JKMC/2016/8"),
        ),
    )
    assert result["reconciliation"] == {"matched": 1, "uncertain": 1, "none": 1}
    got = statuses(client, state)
    assert (got["K1"]["status"], got["K1"]["hpr_id"]) == ("registered_verified", hpr["name"])
    assert got["K2"]["status"] == "uncertain" and got["K2"]["hpr_id"] is None
    assert got["K3"]["status"] == "not_registered"
    review = client.get(f"{API}/roster/review", headers=state.headers).json()
    assert [
        (i["employee_id"], [c["hpr_id"] for c in i["candidates"]]) for i in review["items"]
    ] == [("K2", [hpr["name"]])]


def test_review_settles_uncertain_pairs(client, make_staff, state, hpr):
    import_roster(client, state, ROSTER)
    officer = make_staff(Role.DISTRICT_OFFICER, district_lgd=SRINAGAR)
    review = client.get(f"{API}/roster/review", headers=officer.headers).json()
    assert review["total"] == 1
    item = review["items"][0]
    assert item["employee_id"] == "E4"
    assert [c["hpr_id"] for c in item["candidates"]] == [hpr["like"]]
    assert item["candidates"][0]["via"] == "name"

    # Another district's officer neither sees it nor can settle it.
    other = make_staff(Role.DISTRICT_OFFICER, district_lgd=BUDGAM)
    assert client.get(f"{API}/roster/review", headers=other.headers).json()["total"] == 0
    url = f"{API}/roster/review/{item['id']}/settle"
    assert client.post(url, json={"hpr_id": hpr["like"]}, headers=other.headers).status_code == 404
    nurse = make_staff(Role.NURSE)
    assert client.post(url, json={"hpr_id": hpr["like"]}, headers=nurse.headers).status_code == 403
    bad = client.post(url, json={"hpr_id": "12-3456"}, headers=officer.headers)
    assert bad.status_code == 400
    taken = client.post(url, json={"hpr_id": hpr["council"]}, headers=officer.headers)
    assert taken.status_code == 400 and "E1" in taken.json()["detail"]

    ok = client.post(url, json={"hpr_id": hpr["like"]}, headers=officer.headers)
    assert ok.status_code == 200, ok.text
    assert ok.json()["link"] == "matched"
    assert statuses(client, state)["E4"]["status"] == "registered_verified"
    assert client.get(f"{API}/roster/review", headers=state.headers).json()["total"] == 0


def test_none_of_these_is_remembered(client, runtime, state, hpr):
    import_roster(client, state, ROSTER)
    item = client.get(f"{API}/roster/review", headers=state.headers).json()["items"][0]
    r = client.post(
        f"{API}/roster/review/{item['id']}/settle", json={"hpr_id": None}, headers=state.headers
    )
    assert r.json()["link"] == "none"
    Worker(runtime).run_due_jobs(now=0)  # reconciles again: a settled entry stays settled
    assert statuses(client, state)["E4"]["status"] == "not_registered"


# --------------------------------------------------------------------------- campaigns


def test_campaign_statuses_and_days_overdue(client, runtime, make_staff, state, hpr):
    import_roster(client, state, ROSTER)
    today = runtime.clock.now().date()
    r = client.post(
        f"{API}/campaigns",
        json={"cadre": "doctor", "deadline": (today - timedelta(days=10)).isoformat()},
        headers=state.headers,
    )
    assert r.status_code == 201, r.text
    got = statuses(client, state)
    assert (got["E5"]["status"], got["E5"]["days_overdue"]) == ("overdue", 10)
    assert got["E1"]["status"] == "registered_verified" and got["E1"]["days_overdue"] is None
    assert got["E2"]["status"] == "registered_pending"
    assert got["E4"]["status"] == "uncertain"  # nobody is chased on a guess
    assert got["N1"]["status"] == "not_registered"  # no campaign for nurses
    overdue = client.get(f"{API}/status", params={"status": "overdue"}, headers=state.headers)
    assert overdue.json()["counts"]["overdue"] == 1

    # A new deadline replaces the open campaign.
    client.post(
        f"{API}/campaigns",
        json={"cadre": "doctor", "deadline": (today + timedelta(days=5)).isoformat()},
        headers=state.headers,
    )
    assert statuses(client, state)["E5"]["status"] == "not_registered"
    campaigns = client.get(f"{API}/campaigns", headers=state.headers).json()
    assert [c["closed_at"] is None for c in campaigns] == [True, False]

    for body in (
        {"cadre": "pharmacist", "deadline": "2026-12-01"},
        {"cadre": "doctor", "deadline": "01/12/2026"},
        {"cadre": "doctor", "deadline": "2026-12-01", "extra": 1},
    ):
        assert client.post(f"{API}/campaigns", json=body, headers=state.headers).status_code in (
            400,
            422,
        )
    far = {"cadre": "doctor", "deadline": "2099-01-01"}
    assert client.post(f"{API}/campaigns", json=far, headers=state.headers).status_code == 400
    officer = make_staff(Role.DISTRICT_OFFICER, district_lgd=SRINAGAR)
    assert client.post(f"{API}/campaigns", json=far, headers=officer.headers).status_code == 403
    bad = client.get(f"{API}/status", params={"status": "late"}, headers=state.headers)
    assert bad.status_code == 400


def test_status_csv_export_and_scope(client, make_staff, state, hpr, runtime):
    import_roster(client, state, ROSTER)
    today = runtime.clock.now().date()
    client.post(
        f"{API}/campaigns",
        json={"cadre": "doctor", "deadline": (today - timedelta(days=3)).isoformat()},
        headers=state.headers,
    )
    r = client.get(f"{API}/status", params={"format": "csv"}, headers=state.headers)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 6
    e5 = next(x for x in rows if x["employee_id"] == "E5")
    assert (e5["status"], e5["days_overdue"], e5["facility"]) == ("overdue", "3", FACILITY_B)

    admin_b = make_staff(Role.FACILITY_ADMIN, facility_id=FACILITY_B)
    assert set(statuses(client, admin_b)) == {"E5"}
    officer = make_staff(Role.DISTRICT_OFFICER, district_lgd=SRINAGAR)
    assert set(statuses(client, officer)) == {"E1", "E2", "E3", "E4", "N1"}
    assert client.get(f"{API}/people/E1", headers=admin_b.headers).status_code == 404
    assert client.get(f"{API}/people/E5", headers=admin_b.headers).status_code == 200
    desk = make_staff(Role.REGISTRATION_DESK)
    assert client.get(f"{API}/status", headers=desk.headers).status_code == 403
    assert client.get(f"{API}/status").status_code == 401


# --------------------------------------------------------------------------- ladder


def _run(worker: Worker, tick: list[float]) -> dict[str, int]:
    tick[0] += 10_000  # past every job's interval: all are due
    return worker.run_due_jobs(now=tick[0])


def _steps(client, staff, employee_id: str) -> list[tuple[str, str]]:
    body = client.get(f"{API}/people/{employee_id}", headers=staff.headers).json()
    return [(s["name"], s["channel"]) for s in body["steps"]]


def _overdue_figure(client, staff) -> int:
    body = client.get("/api/v1/monitoring/summary", headers=staff.headers).json()
    return next(f["value"] for f in body["figures"] if f["indicator"] == "hpr.overdue")


def test_an_overdue_doctor_climbs_the_ladder_as_the_clock_advances(
    client, runtime, clock, make_staff, state, hpr
):
    import_roster(client, state, ROSTER)
    today = clock.now().date()
    client.post(
        f"{API}/campaigns",
        json={"cadre": "doctor", "deadline": (today - timedelta(days=1)).isoformat()},
        headers=state.headers,
    )
    worker, tick = Worker(runtime), [0.0]
    assert _run(worker, tick)["compliance.escalate"] == 1  # only E5 is overdue
    assert _steps(client, state, "E5") == [("sms_reminder", "sms")]
    with unit_of_work(runtime.session_factory) as session:
        sms = session.scalars(select(OutboxMessage).where(OutboxMessage.topic == SMS_TOPIC)).all()
    assert [m.payload["mobile"] for m in sms] == ["9811100005"]
    assert "deadline for doctors was" in sms[0].payload["text"]
    assert _overdue_figure(client, state) == 1

    # The same day again: the next rung waits a week.
    assert _run(worker, tick)["compliance.escalate"] == 0
    clock.advance(days=7)
    assert _run(worker, tick)["compliance.escalate"] == 1
    clock.advance(days=7)
    _run(worker, tick)
    assert _steps(client, state, "E5")[-1] == ("facility_head_notice", "letter")
    notice = client.get(f"{API}/notices/facility/{FACILITY_B}.pdf", headers=state.headers)
    assert notice.status_code == 200 and notice.content.startswith(b"%PDF")
    assert notice.headers["content-type"] == "application/pdf"
    assert client.get(f"{API}/show-cause", headers=state.headers).json()["items"] == []

    clock.advance(days=7)
    _run(worker, tick)
    clock.advance(days=30)
    assert _run(worker, tick)["compliance.escalate"] == 0  # the top rung: the officer acts
    assert _steps(client, state, "E5") == [
        ("sms_reminder", "sms"),
        ("second_reminder", "sms"),
        ("facility_head_notice", "letter"),
        ("show_cause", "list"),
    ]
    person = client.get(f"{API}/people/E5", headers=state.headers).json()
    assert person["status"]["days_overdue"] == 1 + 7 + 7 + 7 + 30
    assert person["status"]["escalation_step"] == "show_cause"

    budgam = make_staff(Role.DISTRICT_OFFICER, district_lgd=BUDGAM)
    listed = client.get(f"{API}/show-cause", headers=budgam.headers).json()["items"]
    assert [i["employee_id"] for i in listed] == ["E5"]
    srinagar = make_staff(Role.DISTRICT_OFFICER, district_lgd=SRINAGAR)
    assert client.get(f"{API}/show-cause", headers=srinagar.headers).json()["items"] == []
    pdf = client.get(f"{API}/show-cause", params={"format": "pdf"}, headers=budgam.headers)
    assert pdf.content.startswith(b"%PDF")
    exported = client.get(f"{API}/show-cause", params={"format": "csv"}, headers=budgam.headers)
    assert [r["employee_id"] for r in csv.DictReader(io.StringIO(exported.text))] == ["E5"]
    # The notice is for the facility's own head, the district and the state only.
    admin_a = make_staff(Role.FACILITY_ADMIN, facility_id=FACILITY_A)
    url = f"{API}/notices/facility/{FACILITY_B}.pdf"
    assert client.get(url, headers=admin_a.headers).status_code == 404
    assert client.get(url, headers=srinagar.headers).status_code == 404
    assert (
        client.get(f"{API}/notices/facility/IN0199999999.pdf", headers=state.headers).status_code
        == 404
    )


def test_registering_stops_the_ladder(client, runtime, clock, state, hpr):
    import_roster(client, state, ROSTER)
    client.post(
        f"{API}/campaigns",
        json={"cadre": "doctor", "deadline": (clock.now().date() - timedelta(days=2)).isoformat()},
        headers=state.headers,
    )
    worker, tick = Worker(runtime), [0.0]
    _run(worker, tick)
    assert _overdue_figure(client, state) == 1
    seed_professional(runtime, name="Tariq Bhat", mobile="9811100005", hfr_id=FACILITY_B)
    clock.advance(days=7)
    assert _run(worker, tick)["compliance.escalate"] == 0
    assert statuses(client, state)["E5"]["status"] == "registered_pending"
    assert _steps(client, state, "E5") == [("sms_reminder", "sms")]
    assert _overdue_figure(client, state) == 0


def test_an_exemption_stops_the_ladder(client, runtime, clock, make_staff, state, hpr):
    import_roster(client, state, ROSTER)
    client.post(
        f"{API}/campaigns",
        json={"cadre": "doctor", "deadline": (clock.now().date() - timedelta(days=1)).isoformat()},
        headers=state.headers,
    )
    worker, tick = Worker(runtime), [0.0]
    _run(worker, tick)
    officer = make_staff(Role.DISTRICT_OFFICER, district_lgd=BUDGAM)
    body = {"employee_id": "E5", "kind": "deputation", "reason": "Deputed to SKIMS, order 12/2026"}
    other = make_staff(Role.DISTRICT_OFFICER, district_lgd=SRINAGAR)
    assert client.post(f"{API}/exemptions", json=body, headers=other.headers).status_code == 404
    fadmin = make_staff(Role.FACILITY_ADMIN, facility_id=FACILITY_B)
    assert client.post(f"{API}/exemptions", json=body, headers=fadmin.headers).status_code == 403
    for bad in (
        {**body, "kind": "holiday"},
        {**body, "reason": "x"},
        {**body, "until": "2020-01-01"},
    ):
        assert client.post(f"{API}/exemptions", json=bad, headers=officer.headers).status_code in (
            400,
            422,
        )
    r = client.post(f"{API}/exemptions", json=body, headers=officer.headers)
    assert r.status_code == 201, r.text
    assert (r.json()["approver_role"], r.json()["kind"]) == ("district_officer", "deputation")

    clock.advance(days=30)
    assert _run(worker, tick)["compliance.escalate"] == 0
    person = client.get(f"{API}/people/E5", headers=state.headers).json()
    assert person["status"]["status"] == "exempt"
    assert [e["reason"] for e in person["exemptions"]] == [body["reason"]]
    assert len(person["steps"]) == 1
    assert _overdue_figure(client, state) == 0

    revoked = client.post(
        f"{API}/exemptions/{r.json()['id']}/revoke", json={}, headers=officer.headers
    )
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    again = client.post(
        f"{API}/exemptions/{r.json()['id']}/revoke", json={}, headers=officer.headers
    )
    assert again.status_code == 404
    assert _run(worker, tick)["compliance.escalate"] == 1
    assert _steps(client, state, "E5")[-1] == ("second_reminder", "sms")


def test_dashboard_denominators_come_from_the_roster(client, state, hpr):
    import_roster(client, state, ROSTER)
    body = client.get("/api/v1/monitoring/summary", headers=state.headers).json()
    figures = {f["indicator"]: f for f in body["figures"]}
    assert figures["hpr.doctors"]["target"] == 5
    assert figures["hpr.nurses"]["target"] == 1
    with_district = client.get(
        "/api/v1/monitoring/summary", params={"district_lgd": BUDGAM}, headers=state.headers
    ).json()
    assert {f["indicator"]: f for f in with_district["figures"]}["hpr.doctors"]["target"] == 1
