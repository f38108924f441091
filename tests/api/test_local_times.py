"""Times as a person reads them: Asia/Kolkata on every page, PDF and SMS (APIs stay UTC).
The clock stands at 20:00 UTC, 01:30 IST the next day, where a UTC display shows the
wrong day. The templates carry no hand-made formatting: ``local_time`` / ``local_date``."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from healthstack.kernel.context import Role
from healthstack.web.timefmt import local_date, local_time
from tests.factories_abha import create_account
from tests.factories_facilities import register_by_form
from tests.factories_pages import log_in, text_of

TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "healthstack" / "web" / "templates"
# Rewritten by another change of issue 8; it follows the same rule there.
NOT_HERE = {"audit.html"}
LATE = datetime(2026, 11, 26, 20, 0, tzinfo=UTC)  # 27 Nov 2026, 01:30 IST
# ISO dates stay where a form field needs them (value/min/max of an <input type=date>).
_FIELD_ISO = re.compile(r'(value|min|max)="\{\{[^}]*isoformat\(\)[^}]*\}\}"')


def _templates() -> list[Path]:
    return [p for p in sorted(TEMPLATES.rglob("*.html")) if p.name not in NOT_HERE]


@pytest.mark.parametrize("path", _templates(), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_no_template_formats_a_time_by_hand(path):
    text = _FIELD_ISO.sub("", path.read_text(encoding="utf-8"))
    for pattern in (r"\bUTC\b", r"strftime\(", r"isoformat\(\)", r"\butc\("):
        found = re.search(pattern, text)
        assert found is None, (
            f"{path.name} shows a time by hand ({found.group(0)!r}): use the local_time / "
            "local_date filters (IST)"
        )


def test_the_filters_show_ist():
    assert local_time(LATE) == "27 Nov 2026, 01:30 IST"
    assert local_date(LATE) == "27 Nov 2026"


@pytest.fixture
def late(clock):
    clock.set(LATE)
    return clock


def test_a_facility_page_shows_registration_and_history_in_ist(client, make_staff, late):
    log_in(client, make_staff, Role.FACILITY_ADMIN)
    hfr = register_by_form(client)
    page = client.get(f"/registry/facilities/{hfr}").text
    assert "27 Nov 2026, 01:30 IST" in text_of(page) and "UTC" not in page
    # The as-of field is read as IST too: 01:00 IST is before the registration.
    page = client.get(f"/registry/facilities/{hfr}", params={"as_of": "2026-11-27T01:00"}).text
    assert "was not registered yet" in page
    page = client.get(f"/registry/facilities/{hfr}", params={"as_of": "2026-11-27T01:45"}).text
    assert re.search(r'id="as-of">', page)


def test_the_desk_profile_shows_the_ist_day_of_creation(client, runtime, make_staff, late):
    from tests.factories_abha_pages import log_in as desk_log_in

    account = create_account(runtime, mobile="9876500044")
    desk_log_in(client, make_staff, Role.FACILITY_ADMIN)
    page = client.get(f"/desk/accounts/{account.public_id}").text
    assert "<dt>Created</dt><dd>27 Nov 2026</dd>" in page


def test_a_target_shows_when_it_was_set_in_ist(client, make_staff, late):
    admin = make_staff(Role.STATE_ADMIN)
    form = {"indicator": "hpr.nurses", "district_lgd": "13", "value": "100"}
    r = client.post("/dashboard/targets", data=form, headers=admin.headers)
    assert r.status_code in (200, 303), r.text
    page = client.get("/dashboard/targets", headers=admin.headers).text
    assert "27 Nov 2026, 01:30 IST" in page and "UTC" not in page
    # The target holds from today: the IST day, in the API as on the page.
    assert "27 Nov 2026</td>" in page
    [item] = client.get(
        "/api/v1/monitoring/targets", params={"indicator": "hpr.nurses"}, headers=admin.headers
    ).json()["items"]
    assert item["valid_from"] == "2026-11-27"


def test_the_compliance_reminder_sms_gives_the_deadline_as_a_person_reads_it(
    client, runtime, clock, make_staff
):
    from sqlalchemy import select

    from healthstack.integrations.sms import SMS_TOPIC
    from healthstack.kernel.outbox import OutboxMessage
    from healthstack.kernel.uow import unit_of_work
    from healthstack.programme.compliance.escalation import run_escalation
    from tests.factories_compliance import API, import_roster, roster_csv, row
    from tests.factories_professionals import make_facilities

    make_facilities(runtime)
    state = make_staff(Role.STATE_ADMIN)
    import_roster(client, state, roster_csv(row("E9", "Tariq Bhat", mobile="9811100005")))
    client.post(
        f"{API}/campaigns",
        json={"cadre": "doctor", "deadline": "2026-12-31"},
        headers=state.headers,
    )
    clock.set(datetime(2026, 12, 31, 20, 0, tzinfo=UTC))  # 1 Jan 2027, 01:30 IST
    with unit_of_work(runtime.session_factory) as s:
        assert run_escalation(s, clock=clock) == 1  # overdue on the IST day after
    with unit_of_work(runtime.session_factory) as s:
        [sms] = s.scalars(select(OutboxMessage).where(OutboxMessage.topic == SMS_TOPIC)).all()
    assert "the deadline for doctors was 31 Dec 2026" in sms.payload["text"]
