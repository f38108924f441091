"""Helpers for compliance tests: roster CSV files, upload + confirm over the API; the
``hpr`` fixture (four HPR records for a roster to match, a pytest plugin of
tests/conftest.py) with ``ROSTER``, the roster that meets them; the escalation ladder
climbed week by week."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from healthstack.jobs.worker import Worker
from healthstack.runtime import Runtime
from tests.conftest import FACILITY_A, FACILITY_B
from tests.factories_professionals import make_facilities, seed_professional

API = "/api/v1/compliance"
HEADER = (
    "employee_id,name,cadre,subcategory,facility,district,mobile,council,"
    "registration_number,birth_year"
)


def row(
    employee_id: str,
    name: str,
    *,
    cadre: str = "doctor",
    subcategory: str = "",
    facility: str = FACILITY_A,
    district: str = "Srinagar",
    mobile: str = "",
    council: str = "",
    number: str = "",
    birth_year: str = "",
) -> str:
    return ",".join(
        [
            employee_id,
            name,
            cadre,
            subcategory,
            facility,
            district,
            mobile,
            council,
            number,
            birth_year,
        ]
    )


def roster_csv(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def upload(client: Any, staff: Any, data: bytes, filename: str = "roster.csv") -> Any:
    return client.post(
        f"{API}/roster/imports",
        files={"file": (filename, data, "text/csv")},
        headers=staff.headers,
    )


def import_roster(client: Any, staff: Any, data: bytes) -> dict[str, Any]:
    preview = upload(client, staff, data)
    assert preview.status_code == 201, preview.text
    r = client.post(
        f"{API}/roster/imports/{preview.json()['id']}/confirm", json={}, headers=staff.headers
    )
    assert r.status_code == 200, r.text
    return r.json()


def statuses(client: Any, staff: Any, **params: Any) -> dict[str, dict[str, Any]]:
    r = client.get(f"{API}/status", params=params, headers=staff.headers)
    assert r.status_code == 200, r.text
    return {i["employee_id"]: i for i in r.json()["items"]}


__all__ = ["API", "FACILITY_A", "FACILITY_B", "import_roster", "roster_csv", "row", "upload"]


# --------------------------------------------------------------------------- the HPR and its roster


@pytest.fixture
def hpr(runtime: Runtime) -> dict[str, str]:
    """Four HPR records: verified by council number, pending found by mobile, verified
    found by name + birth year, and one only like a roster name."""
    make_facilities(runtime)
    return {
        "council": seed_professional(
            runtime, name="Aamir Hussain Wani", number="JKMC/2012/00077", status="VERIFIED"
        ),
        "mobile": seed_professional(
            runtime, name="Nazia Jan", mobile="9811100001", birth_date=date(1988, 2, 3)
        ),
        "name": seed_professional(
            runtime, name="Imran Ahmad Lone", birth_date=date(1979, 5, 1), status="VERIFIED"
        ),
        "like": seed_professional(
            runtime, name="Mohammad Ashraf Dar", birth_date=date(1975, 1, 1), status="VERIFIED"
        ),
    }


ROSTER = roster_csv(
    row("E1", "Dr Aamir Hussain Wani", council="JKMC", number="jkmc 2012 00077"),
    row("E2", "Nazia Jan", mobile="9811100001"),
    row("E3", "Imran Ahmad Lone", birth_year="1979"),
    row("E4", "Mohd Ashraf Dar", birth_year="1976"),
    row("E5", "Tariq Bhat", facility=FACILITY_B, district="Budgam", mobile="9811100005"),
    row("N1", "Shabnam Akhter", cadre="nurse", subcategory="gnm", mobile="9811100006"),
)


def climb(client: Any, runtime: Runtime, clock: Any, state: Any, weeks: int) -> None:
    """Doctors' deadline yesterday, then the ladder run ``weeks`` + 1 times a week
    apart: E5 (Budgam, FACILITY_B) is the only one overdue."""
    import_roster(client, state, ROSTER)
    r = client.post(
        f"{API}/campaigns",
        json={"cadre": "doctor", "deadline": (clock.now().date() - timedelta(days=1)).isoformat()},
        headers=state.headers,
    )
    assert r.status_code == 201, r.text
    worker, tick = Worker(runtime), [0.0]
    for week in range(weeks + 1):
        if week:
            clock.advance(days=7)
        tick[0] += 10_000
        worker.run_due_jobs(now=tick[0])
