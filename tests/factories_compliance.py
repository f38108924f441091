"""Helpers for compliance tests: roster CSV files, upload + confirm over the API."""

from __future__ import annotations

from typing import Any

from tests.conftest import FACILITY_A, FACILITY_B

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
