"""The roster, deadline and person pages through form posts (TestClient): upload →
preview (every broken row by its line) → confirm; the file errors; the campaign form;
a person's history with the exemption forms; who may do what."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from healthstack.accounts.permissions import PERMISSIONS
from healthstack.jobs.worker import Worker
from healthstack.kernel.context import Role
from healthstack.kernel.uow import unit_of_work
from healthstack.programme.compliance.models import ComplianceCampaign, RosterEntry
from healthstack.web.timefmt import local_date
from tests.conftest import FACILITY_A, FACILITY_B
from tests.factories_compliance import ROSTER, import_roster, roster_csv, row, statuses
from tests.factories_pages import PAGE_ROUTES, alert, log_in, text_of


def shown(iso_day: str) -> str:
    """A day as the pages show it (web.timefmt.local_date)."""
    return local_date(date.fromisoformat(iso_day))


SRINAGAR, BUDGAM = 13, 2
MY_FORMS = sorted(
    path
    for (_, path), gate in PAGE_ROUTES.items()
    if gate.startswith("compliance.") and path != "/compliance/roster/review/{entry_id}/settle"
)


def _upload(client, data: bytes, filename: str = "roster.csv"):
    return client.post("/compliance/roster/upload", files={"file": (filename, data, "text/csv")})


def _table(page: str, table_id: str) -> str:
    found = re.search(rf'id="{table_id}">(.*?)</table>', page, re.S)
    assert found, f"no table {table_id} on the page"
    return text_of(found.group(1))


def _confirm_form(page: str) -> tuple[str, str]:
    action = re.search(r'action="(/compliance/roster/imports/[^"]+/confirm)"', page)
    sha = re.search(r'name="sha256" value="([0-9a-f]{64})"', page)
    assert action and sha, "the preview has no Confirm form"
    return action.group(1), sha.group(1)


def _entries(runtime) -> int:
    with unit_of_work(runtime.session_factory) as s:
        return s.scalar(select(func.count()).select_from(RosterEntry)) or 0


# --------------------------------------------------------------------------- who may


@pytest.mark.parametrize("path", MY_FORMS)
def test_roster_form_permission_matrix(client, make_staff, path):
    action = PAGE_ROUTES[("POST", path)]
    r = client.post(path, data={}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=/compliance")
    forbidden = next(role for role in Role if role not in PERMISSIONS[action])
    log_in(client, make_staff, forbidden)
    r = client.post(path, data={})
    assert r.status_code == 403 and "may not" in alert(r.text)
    permitted = next(role for role in Role if role in PERMISSIONS[action])
    log_in(client, make_staff, permitted, district_lgd=SRINAGAR)
    r = client.post(path, data={}, follow_redirects=False)
    assert r.status_code not in (303, 401, 403), f"{permitted}: {r.status_code}"
    foreign = client.post(path, data={}, headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403


def test_pages_need_a_login_and_the_right_role(client, make_staff):
    for path in ("/compliance/roster", "/compliance/people/E1"):
        r = client.get(path, follow_redirects=False)
        assert (r.status_code, r.headers["location"]) == (303, f"/login?next={path}")
    r = client.get("/compliance/roster/imports/6f1c0000-0000-4000-8000-000000000000")
    assert r.url.path == "/login"
    log_in(client, make_staff, Role.DISTRICT_OFFICER, district_lgd=SRINAGAR)
    assert client.get("/compliance/roster").status_code == 403
    log_in(client, make_staff, Role.NURSE)
    assert client.get("/compliance/roster").status_code == 403
    assert client.get("/compliance/people/E1").status_code == 403
    home = client.get("/").text
    assert "/compliance/roster" not in home  # a nurse has no compliance links
    log_in(client, make_staff, Role.STATE_ADMIN)
    home = client.get("/").text
    for link in ("/compliance/roster", "/compliance/roster/review", "/compliance/status"):
        assert f'href="{link}"' in home
    missing = client.get("/compliance/roster/imports/6f1c0000-0000-4000-8000-000000000000")
    assert missing.status_code == 404 and "Upload the file again" in alert(missing.text)


# --------------------------------------------------------------------------- upload → confirm


def test_upload_preview_confirm_replaces_the_roster(client, runtime, make_staff, hpr):
    log_in(client, make_staff, Role.STATE_ADMIN)
    page = client.get("/compliance/roster")
    assert page.status_code == 200 and "No roster has been imported yet" in page.text
    help_text = text_of(re.search(r'id="columns-help">(.*?)</details>', page.text, re.S).group(1))
    assert "employee_id, name, cadre, facility, district" in help_text
    assert "subcategory, mobile, council, registration_number, birth_year" in help_text

    broken = row("E9", "Someone", cadre="pharmacist", facility="IN0210000001")
    data = ROSTER.replace(b"\n", b"\n" + broken.encode() + b"\n", 1)  # the file's line 2
    r = _upload(client, data, "hr-roster-2026.csv")
    assert r.status_code == 200, alert(r.text)
    assert r.url.path.startswith("/compliance/roster/imports/")
    assert "Preview of hr-roster-2026.csv" in r.text and "Nothing has been imported yet" in r.text
    summary = text_of(re.search(r'id="preview-summary">(.*?)</dl>', r.text, re.S).group(1))
    assert "Posts in the file 7 Good rows 6 Broken rows 1 Encoding utf-8" in summary
    rows = _table(r.text, "broken-rows")
    assert "2 cadre 'pharmacist' is not doctor or nurse" in rows
    assert "facility is not an HFR id of this state" in rows
    good = _table(r.text, "good-rows")
    assert "3 E1 Dr Aamir Hussain Wani doctor" in good and "Shabnam Akhter nurse (gnm)" in good
    # Nothing changed until the confirm.
    assert _entries(runtime) == 0
    assert "No roster has been imported yet" in client.get("/compliance/roster").text

    action, sha = _confirm_form(r.text)
    done = client.post(action, data={"sha256": sha}, follow_redirects=False)
    assert (done.status_code, done.headers["location"]) == (303, "/compliance/roster?done=imported")
    page = client.get(done.headers["location"])
    assert "reconciled with HPR: 3 matched, 1 to review, 2 not found in HPR" in page.text
    assert "hr-roster-2026.csv" in text_of(page.text)
    assert _table(page.text, "reconciliation") == (
        "Matched to an HPR record Uncertain (to review) Not found in HPR 3 1 2"
    )
    assert 'href="/compliance/roster/review"' in page.text
    assert _entries(runtime) == 6

    # A second roster replaces the first.
    r = _upload(client, roster_csv(row("E7", "Tariq Bhat", facility=FACILITY_B, district="2")))
    action, sha = _confirm_form(r.text)
    page = client.post(action, data={"sha256": sha})
    assert "reconciled with HPR: 0 matched, 0 to review, 1 not found in HPR" in page.text
    state = make_staff(Role.STATE_ADMIN)
    assert set(statuses(client, state)) == {"E7"}
    # The confirmed preview says so and offers no second confirm.
    again = client.get(action.removesuffix("/confirm"))
    assert "it is the roster in force" in again.text and "/confirm" not in again.text


def test_every_reason_of_a_broken_row_by_its_line(client, make_staff):
    log_in(client, make_staff, Role.STATE_ADMIN)
    data = roster_csv(
        row("E1", "Aamir Wani"),
        row("", "", cadre="clerk", facility="X1", district="Atlantis", mobile="12345"),
        "E3,Too,few",
        row("E4", "Nazia Jan", council="JKMC", birth_year="1890"),
    )
    r = _upload(client, data)
    rows = _table(r.text, "broken-rows")
    line3 = rows[rows.index("3 ") : rows.index("4 has")]
    for reason in (
        "employee_id is empty",
        "name is empty",
        "cadre 'clerk' is not doctor or nurse",
        "facility is not an HFR id",
        "mobile is not a 10-digit Indian mobile number",
    ):
        assert reason in line3
    assert "4 has 3 values but the first line names 10 columns" in rows
    assert "5 council is given without a registration_number" in rows
    assert "birth_year is not a year between 1930 and 2010" in rows
    assert "Broken rows 3" in text_of(r.text)


def test_duplicates_inside_the_file(client, runtime, make_staff):
    log_in(client, make_staff, Role.STATE_ADMIN)
    data = roster_csv(
        row("E1", "Aamir Wani", council="JKMC", number="JKMC/2012/1"),
        row("e1", "Another Person"),
        row("E2", "Third Person", council="JKMC", number="jkmc 2012 1"),
        row("E3", "Fourth Person"),
    )
    r = _upload(client, data)
    rows = _table(r.text, "broken-rows")
    assert "3 employee_id repeats line 2" in rows
    assert "4 council registration number repeats line 2" in rows
    action, sha = _confirm_form(r.text)
    client.post(action, data={"sha256": sha})
    assert _entries(runtime) == 2


def test_windows_1252_file(client, make_staff):
    log_in(client, make_staff, Role.STATE_ADMIN)
    data = roster_csv(row("E1", "Zoë D'Souza"), row("E2", "Renée Kaul")).decode().encode("cp1252")
    r = _upload(client, data)
    assert r.status_code == 200
    assert "Encoding windows-1252" in text_of(r.text)
    assert "Zoë D'Souza" in _table(r.text, "good-rows")


@pytest.mark.parametrize(
    ("data", "status", "says"),
    [
        (b"employee_id,name,cadre\nE1,A,doctor\n", 400, "lacks the column(s) facility, district"),
        (b"employee_id;name;cadre;facility;district\n", 400, "separated by semicolons"),
        (roster_csv(row("E1", "Zoë")).decode().encode("utf-16"), 400, "UTF-16"),
        (b"PK\x03\x04\x14\x00", 400, "Excel workbook"),
        (b"", 400, "The file is empty"),
        (roster_csv(), 400, "no posts under them"),
        (b"x" * 3_000_001, 400, "larger than 3 MB"),
    ],
    ids=["columns", "semicolons", "utf16", "excel", "empty", "no-rows", "too-large"],
)
def test_bad_files_reshow_the_roster_page(client, runtime, make_staff, data, status, says):
    log_in(client, make_staff, Role.STATE_ADMIN)
    r = _upload(client, data)
    assert r.status_code == status
    assert says in alert(r.text)
    assert 'action="/compliance/roster/upload"' in r.text  # the form, to try again
    assert _entries(runtime) == 0


def test_a_stale_preview_is_refused(client, runtime, clock, make_staff):
    log_in(client, make_staff, Role.STATE_ADMIN)
    first = _upload(client, roster_csv(row("E1", "Aamir Wani")))
    action, sha = _confirm_form(first.text)
    r = client.post(action, data={"sha256": "f" * 64})
    assert r.status_code == 409 and "file changed since its preview" in alert(r.text)
    assert _entries(runtime) == 0

    # Another roster confirmed after this preview was made: this one is out of date.
    clock.advance(minutes=5)
    second = _upload(client, roster_csv(row("E2", "Nazia Jan")))
    second_action, second_sha = _confirm_form(second.text)
    assert client.post(second_action, data={"sha256": second_sha}).status_code == 200
    r = client.post(action, data={"sha256": sha})
    assert r.status_code == 409
    assert "Another roster was imported after this preview" in alert(r.text)
    # Confirming twice, and a preview more than a day old.
    again = client.post(second_action, data={"sha256": second_sha})
    assert again.status_code == 409 and "already imported" in alert(again.text)
    old = _upload(client, roster_csv(row("E3", "Imran Lone")))
    clock.advance(hours=25)
    log_in(client, make_staff, Role.STATE_ADMIN)  # the session cookie expired too
    old_action, old_sha = _confirm_form(old.text)
    r = client.post(old_action, data={"sha256": old_sha})
    assert r.status_code == 409 and "more than a day old" in alert(r.text)
    assert "/confirm" not in r.text and "more than a day old" in client.get(old.url).text
    with unit_of_work(runtime.session_factory) as s:
        assert set(s.scalars(select(RosterEntry.employee_id))) == {"E2"}


def test_all_broken_offers_no_confirm(client, make_staff):
    log_in(client, make_staff, Role.STATE_ADMIN)
    r = _upload(client, roster_csv(row("E1", "", cadre="")))
    assert "Good rows 0" in text_of(r.text) and "/confirm" not in r.text
    preview = r.url.path
    r = client.post(f"{preview}/confirm", data={})
    assert r.status_code == 400 and "nothing to import" in alert(r.text)


# --------------------------------------------------------------------------- campaigns


def test_campaign_form(client, runtime, clock, make_staff):
    log_in(client, make_staff, Role.STATE_ADMIN)
    today = clock.now().date()
    for form, says in (
        ({"cadre": "doctor", "deadline": "31/03/2027"}, "Enter the deadline as a date"),
        ({"cadre": "doctor", "deadline": ""}, "Enter the deadline as a date"),
        ({"cadre": "pharmacist", "deadline": "2027-03-31"}, "Choose the cadre"),
        ({"cadre": "doctor", "deadline": "2019-12-31"}, "between 2020 and five years from now"),
    ):
        r = client.post("/compliance/campaigns", data=form)
        assert r.status_code == 400 and says in alert(r.text), form
        assert f'value="{form["deadline"]}"' in r.text  # what was typed is kept
    with unit_of_work(runtime.session_factory) as s:
        assert s.scalar(select(func.count()).select_from(ComplianceCampaign)) == 0

    first = (today + timedelta(days=30)).isoformat()
    r = client.post(
        "/compliance/campaigns", data={"cadre": "doctor", "deadline": first}, follow_redirects=False
    )
    assert (r.status_code, r.headers["location"]) == (303, "/compliance/roster?done=campaign")
    page = client.get(r.headers["location"]).text
    assert "The deadline is set" in page
    assert f"doctor {shown(first)}" in _table(page, "open-campaigns")
    assert "nurse no deadline set" in _table(page, "open-campaigns")
    later = (today + timedelta(days=60)).isoformat()
    page = client.post("/compliance/campaigns", data={"cadre": "doctor", "deadline": later}).text
    assert f"doctor {shown(later)}" in _table(page, "open-campaigns")
    history = _table(page, "campaign-history")
    assert f"doctor {shown(later)}" in history and "in force" in history
    assert shown(first) in history


# --------------------------------------------------------------------------- people


def test_person_page_history_and_exemptions(client, runtime, clock, make_staff, hpr):
    state = make_staff(Role.STATE_ADMIN)
    import_roster(client, state, ROSTER)
    log_in(client, make_staff, Role.STATE_ADMIN)
    yesterday = (clock.now().date() - timedelta(days=1)).isoformat()
    client.post("/compliance/campaigns", data={"cadre": "doctor", "deadline": yesterday})
    Worker(runtime).run_due_jobs(now=10_000)  # the ladder: E5 gets its first SMS
    status = client.get("/compliance/status").text
    assert 'href="/compliance/people/E5"' in status

    log_in(client, make_staff, Role.DISTRICT_OFFICER, district_lgd=BUDGAM)
    page = client.get("/compliance/people/E5")
    assert page.status_code == 200
    assert "Tariq Bhat" in page.text and "overdue" in text_of(page.text)
    assert "SMS reminder sms" in _table(page.text, "steps")
    assert "No exemptions." in page.text

    base = {"employee_id": "E5", "kind": "deputation", "reason": "Deputed to SKIMS, order 12"}
    past = (clock.now().date() - timedelta(days=3)).isoformat()
    for form, says in (
        ({**base, "kind": "holiday"}, "Choose the kind of exemption"),
        ({**base, "reason": "x"}, "Give the reason"),
        ({**base, "until": "next month"}, "Enter the last day"),
        ({**base, "until": past}, "until is in the past"),
    ):
        r = client.post("/compliance/exemptions", data=form)
        assert r.status_code == 400 and says in alert(r.text), form
        assert f'value="{form["reason"]}"' in r.text
    until = (clock.now().date() + timedelta(days=90)).isoformat()
    r = client.post("/compliance/exemptions", data={**base, "until": until}, follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/compliance/people/E5?done=granted")
    page = client.get(r.headers["location"]).text
    assert "Exemption granted" in page
    exemptions = _table(page, "exemptions")
    assert f"deputation Deputed to SKIMS, order 12 {shown(until)}" in exemptions
    assert "in force" in exemptions and "(district officer)" in exemptions
    assert statuses(client, state)["E5"]["status"] == "exempt"

    # Another district's officer neither sees nor touches the person.
    revoke = re.search(r'action="(/compliance/exemptions/[^"]+/revoke)"', page).group(1)
    log_in(client, make_staff, Role.DISTRICT_OFFICER, district_lgd=SRINAGAR)
    assert client.get("/compliance/people/E5").status_code == 404
    assert client.post("/compliance/exemptions", data=base).status_code == 404
    assert client.post(revoke, data={"employee_id": "E5"}).status_code == 404
    # A facility admin reads their own post holders, without the forms.
    log_in(client, make_staff, Role.FACILITY_ADMIN, facility_id=FACILITY_B)
    page = client.get("/compliance/people/E5").text
    assert "Grant an exemption" not in page and "/revoke" not in page
    log_in(client, make_staff, Role.FACILITY_ADMIN, facility_id=FACILITY_A)
    assert client.get("/compliance/people/E5").status_code == 404

    log_in(client, make_staff, Role.STATE_ADMIN)
    r = client.post(revoke, data={"employee_id": "E5"}, follow_redirects=False)
    assert r.headers["location"] == "/compliance/people/E5?done=revoked"
    page = client.get(r.headers["location"]).text
    assert "Exemption revoked" in page and "revoked" in _table(page, "exemptions")
    r = client.post(revoke, data={"employee_id": "E5"})
    assert r.status_code == 404 and "No exemption in force" in alert(r.text)
    assert statuses(client, state)["E5"]["status"] == "overdue"
    assert client.get("/compliance/people/NOBODY").status_code == 404
