"""The roster review and status pages, by role, and their form errors."""

from __future__ import annotations

import re

from healthstack.kernel.context import Role
from tests.factories_compliance import API, ROSTER, import_roster, statuses
from tests.factories_pages import log_in


def _entry_id(page: str) -> str:
    found = re.search(r'data-entry="([0-9a-f-]{36})"', page)
    assert found, "no review entry on the page"
    return found.group(1)


def test_review_page_settles_an_uncertain_pair(client, make_staff, hpr):
    state = make_staff(Role.STATE_ADMIN)
    import_roster(client, state, ROSTER)
    assert client.get("/compliance/roster/review", follow_redirects=False).status_code == 303
    log_in(client, make_staff, Role.NURSE)
    assert client.get("/compliance/roster/review").status_code == 403

    log_in(client, make_staff, Role.DISTRICT_OFFICER, district_lgd=13)
    page = client.get("/compliance/roster/review")
    assert page.status_code == 200
    assert "Mohd Ashraf Dar" in page.text and "Mohammad Ashraf Dar" in page.text
    entry = _entry_id(page.text)
    url = f"/compliance/roster/review/{entry}/settle"
    empty = client.post(url, data={})
    assert empty.status_code == 400 and "Pick the HPR record" in empty.text
    wrong = client.post(url, data={"choice": "12345"})
    assert wrong.status_code == 400
    done = client.post(url, data={"choice": hpr["like"]}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].endswith("done=matched")
    after = client.get(done.headers["location"])
    assert "Linked to the HPR record." in after.text and "Nothing to review." in after.text
    assert statuses(client, state)["E4"]["status"] == "registered_verified"

    log_in(client, make_staff, Role.DISTRICT_OFFICER, district_lgd=2)
    assert client.post(url, data={"choice": "none"}).status_code == 404
    foreign = client.post(url, data={"choice": "none"}, headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403


def test_status_page_lists_and_links_the_csv(client, make_staff, hpr):
    state = make_staff(Role.STATE_ADMIN)
    import_roster(client, state, ROSTER)
    log_in(client, make_staff, Role.FACILITY_ADMIN, facility_id="IN0110000002")
    page = client.get("/compliance/status")
    assert page.status_code == 200
    assert "Tariq Bhat" in page.text and "Aamir" not in page.text
    # The page's own download (the API takes bearer tokens only).
    assert 'href="/compliance/status.csv"' in page.text and f"{API}/status" not in page.text
    assert client.get("/compliance/status", params={"status": "late"}).status_code == 400
