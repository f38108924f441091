"""Compliance downloads and lists from a browser session: the status CSV, the facility
notices and the district show-cause lists as pages under /compliance, each scoped by
role, while the JSON API stays closed to cookies."""

from __future__ import annotations

import csv
import io

import pytest

from healthstack.jobs.worker import Worker
from healthstack.kernel.context import Role
from tests.factories_compliance import API, FACILITY_A, FACILITY_B, ROSTER, climb, import_roster
from tests.factories_pages import log_in

SRINAGAR, BUDGAM = 13, 2


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))


def test_status_csv_downloads_with_the_session_cookie(client, make_staff, hpr):
    state = make_staff(Role.STATE_ADMIN)
    import_roster(client, state, ROSTER)
    log_in(client, make_staff, Role.STATE_ADMIN)
    page = client.get("/compliance/status", params={"cadre": "doctor"})
    assert page.status_code == 200
    # The page links its own download, not the token-only API.
    assert 'href="/compliance/status.csv?cadre=doctor"' in page.text
    assert f"{API}/status" not in page.text
    r = client.get("/compliance/status.csv", params={"cadre": "doctor"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"].startswith("attachment;")
    assert r.headers["cache-control"] == "no-store"
    assert {row["employee_id"] for row in _rows(r.text)} == {"E1", "E2", "E3", "E4", "E5"}
    # The JSON API is still for bearer tokens only: the same cookie gets 401 there.
    assert client.get(f"{API}/status", params={"format": "csv"}).status_code == 401
    # A cross-site request (a link or script on another site) is refused.
    foreign = client.get("/compliance/status.csv", headers={"Sec-Fetch-Site": "cross-site"})
    assert foreign.status_code == 403
    assert client.get("/compliance/status.csv", params={"status": "late"}).status_code == 400


def test_status_csv_is_scoped_and_needs_a_login(client, make_staff, hpr):
    state = make_staff(Role.STATE_ADMIN)
    import_roster(client, state, ROSTER)
    anonymous = client.get("/compliance/status.csv", follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login?next=")
    log_in(client, make_staff, Role.FACILITY_ADMIN, facility_id=FACILITY_B)
    assert [r["employee_id"] for r in _rows(client.get("/compliance/status.csv").text)] == ["E5"]
    log_in(client, make_staff, Role.DISTRICT_OFFICER, district_lgd=SRINAGAR)
    ids = {r["employee_id"] for r in _rows(client.get("/compliance/status.csv").text)}
    assert ids == {"E1", "E2", "E3", "E4", "N1"}
    log_in(client, make_staff, Role.REGISTRATION_DESK)
    assert client.get("/compliance/status.csv").status_code == 403


def test_facility_notices_are_a_page_with_their_pdfs(client, runtime, clock, make_staff, hpr):
    state = make_staff(Role.STATE_ADMIN)
    climb(client, runtime, clock, state, weeks=2)  # E5 reached the notice rung
    log_in(client, make_staff, Role.STATE_ADMIN)
    status = client.get("/compliance/status")
    assert 'href="/compliance/notices"' in status.text  # in the compliance navigation
    page = client.get("/compliance/notices")
    assert page.status_code == 200
    assert f'href="/compliance/notices/{FACILITY_B}.pdf"' in page.text
    assert "Tariq Bhat" in page.text
    pdf = client.get(f"/compliance/notices/{FACILITY_B}.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["cache-control"] == "no-store"

    # The facility's own admin and its district officer see it; others do not.
    log_in(client, make_staff, Role.FACILITY_ADMIN, facility_id=FACILITY_B)
    assert f"/compliance/notices/{FACILITY_B}.pdf" in client.get("/compliance/notices").text
    assert client.get(f"/compliance/notices/{FACILITY_B}.pdf").status_code == 200
    log_in(client, make_staff, Role.DISTRICT_OFFICER, district_lgd=BUDGAM)
    assert f"/compliance/notices/{FACILITY_B}.pdf" in client.get("/compliance/notices").text
    log_in(client, make_staff, Role.FACILITY_ADMIN, facility_id=FACILITY_A)
    mine = client.get("/compliance/notices")
    assert mine.status_code == 200 and FACILITY_B not in mine.text
    assert client.get(f"/compliance/notices/{FACILITY_B}.pdf").status_code == 404
    log_in(client, make_staff, Role.DISTRICT_OFFICER, district_lgd=SRINAGAR)
    assert FACILITY_B not in client.get("/compliance/notices").text
    assert client.get(f"/compliance/notices/{FACILITY_B}.pdf").status_code == 404
    assert client.get("/compliance/notices/IN0199999999.pdf").status_code == 404
    assert client.get("/compliance/notices/nonsense.pdf").status_code == 404


def test_show_cause_lists_are_a_page_per_district(client, runtime, clock, make_staff, hpr):
    state = make_staff(Role.STATE_ADMIN)
    climb(client, runtime, clock, state, weeks=2)
    log_in(client, make_staff, Role.DISTRICT_OFFICER, district_lgd=BUDGAM)
    before = client.get("/compliance/show-cause")
    assert before.status_code == 200 and "Nobody is on the show-cause list" in before.text
    clock.advance(days=7)
    Worker(runtime).run_due_jobs(now=1e9)  # E5 reaches the last rung

    log_in(client, make_staff, Role.DISTRICT_OFFICER, district_lgd=BUDGAM)  # a week later
    page = client.get("/compliance/show-cause")
    assert page.status_code == 200 and "Tariq Bhat" in page.text
    assert f'href="/compliance/show-cause.pdf?district_lgd={BUDGAM}"' in page.text
    pdf = client.get("/compliance/show-cause.pdf", params={"district_lgd": BUDGAM})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    listed = client.get("/compliance/show-cause.csv", params={"district_lgd": BUDGAM})
    assert [r["employee_id"] for r in _rows(listed.text)] == ["E5"]

    log_in(client, make_staff, Role.STATE_ADMIN)
    everyone = client.get("/compliance/show-cause")
    assert "Tariq Bhat" in everyone.text and "Budgam" in everyone.text
    log_in(client, make_staff, Role.DISTRICT_OFFICER, district_lgd=SRINAGAR)
    theirs = client.get("/compliance/show-cause", params={"district_lgd": BUDGAM})
    assert theirs.status_code == 200 and "Tariq Bhat" not in theirs.text
    other = client.get("/compliance/show-cause.csv", params={"district_lgd": BUDGAM})
    assert _rows(other.text) == []
    log_in(client, make_staff, Role.FACILITY_ADMIN, facility_id=FACILITY_B)
    assert "Tariq Bhat" in client.get("/compliance/show-cause").text
    log_in(client, make_staff, Role.FACILITY_ADMIN, facility_id=FACILITY_A)
    assert "Tariq Bhat" not in client.get("/compliance/show-cause").text
    log_in(client, make_staff, Role.NURSE)
    assert client.get("/compliance/show-cause").status_code == 403
    assert client.get("/compliance/show-cause", params={"district_lgd": "x"}).status_code in (
        400,
        403,
    )


@pytest.mark.parametrize("path", ["/compliance/notices", "/compliance/show-cause"])
def test_lists_send_the_anonymous_to_log_in(client, path):
    r = client.get(path, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/login?next={path}"
