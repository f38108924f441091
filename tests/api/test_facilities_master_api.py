"""The state master list over HTTP: multipart upload → preview (broken rows named),
confirm by id, reconciliation list and settlement, coverage."""

from __future__ import annotations

import codecs

import pytest

from healthstack.kernel.context import Role
from healthstack.network.hfr.master import MAX_FILE_BYTES
from tests.factories_facilities import api_body

API = "/api/v1/facilities"
CSV = (
    "state_code,name,type,district,sub_district\n"
    "M-1,PHC Khag,PHC,Budgam,Khag\n"
    "M-2,SC Kralpora,SC,Budgam,\n"
    "M-3,CHC Zainapora,CHC,Shopian,\n"
    "M-4,SC Somewhere,Temple,Budgam,\n"
    "M-1,PHC Khag Again,PHC,Budgam,\n"
)


@pytest.fixture
def state(make_staff):
    return make_staff(Role.STATE_ADMIN)


def upload(client, who, data: bytes | str, name: str = "master.csv"):
    raw = data.encode() if isinstance(data, str) else data
    return client.post(
        f"{API}/master/imports", files={"file": (name, raw, "text/csv")}, headers=who.headers
    )


def facility(client, who, **overrides) -> str:
    body = api_body(services=["opd"], beds=0, **overrides)
    r = client.post(API, json=body, headers=who.headers)
    assert r.status_code == 201, r.text
    return r.json()["hfr_id"]


def test_upload_preview_confirm_and_review(client, state, make_staff):
    verifier = make_staff(Role.REGISTRY_VERIFIER)
    khag = facility(client, state, name="Primary Health Centre Khag")
    a = facility(client, state, name="SC Kralpura", facility_type="sub_centre")
    b = facility(client, state, name="SC Karalpora", facility_type="sub_centre")
    client.post(f"{API}/{khag}/verify", json={}, headers=verifier.headers)

    r = upload(client, state, CSV)
    assert r.status_code == 201, r.text
    preview = r.json()
    assert (preview["status"], preview["data_rows"], preview["valid_rows"]) == ("previewed", 5, 3)
    assert preview["broken"] == [
        {"line": 5, "reason": preview["broken"][0]["reason"]},
        {"line": 6, "reason": "state_code M-1 repeats line 2"},
    ]
    assert "type 'Temple'" in preview["broken"][0]["reason"]
    # Nothing is imported before the confirm.
    cov = client.get(f"{API}/master/coverage", headers=state.headers).json()
    assert (cov["registered"], cov["total"]) == (0, 0)
    r = client.get(f"{API}/master/reconciliation", headers=state.headers)
    assert r.json()["total"] == 0
    assert (
        client.get(f"{API}/master/imports/{preview['id']}", headers=state.headers).json()["status"]
        == "previewed"
    )

    r = client.post(
        f"{API}/master/imports/{preview['id']}/confirm",
        json={"sha256": preview["sha256"]},
        headers=state.headers,
    )
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["status"] == "confirmed"
    assert done["reconciliation"] | {"import_id": None} == {
        "import_id": None,
        "state_lgd": 1,
        "matched": 1,
        "master_only": 1,
        "hfr_only": 0,
        "ambiguous": 1,
        "registered": 1,
        "total": 3,
    }
    again = client.post(f"{API}/master/imports/{preview['id']}/confirm", headers=state.headers)
    assert (again.status_code, again.json()["code"]) == (409, "HS-1366")

    listing = client.get(
        f"{API}/master/reconciliation", params={"status": "ambiguous"}, headers=verifier.headers
    ).json()
    assert listing["total"] == 1
    entry = listing["items"][0]
    assert entry["master"]["state_code"] == "M-2" and entry["master"]["district_name"] == "Budgam"
    assert [c["hfr_id"] for c in entry["candidates"]] == [b, a]
    assert entry["candidates"][0]["score"] > entry["candidates"][1]["score"]

    settle = f"{API}/master/reconciliation/{entry['id']}/settle"
    r = client.post(settle, json={}, headers=verifier.headers)
    assert r.status_code == 400 and "hfr_id is required" in r.json()["detail"]
    r = client.post(settle, json={"hfr_id": khag}, headers=verifier.headers)
    assert (r.status_code, r.json()["code"]) == (400, "HS-1363")
    r = client.post(settle, json={"hfr_id": "IN01"}, headers=verifier.headers)
    assert (r.status_code, r.json()["code"]) == (400, "HS-1220")
    r = client.post(settle, json={"hfr_id": a}, headers=verifier.headers)
    assert r.status_code == 200
    settled = r.json()
    assert (settled["status"], settled["method"], settled["facility"]["hfr_id"]) == (
        "matched",
        "manual",
        a,
    )
    assert settled["settled_by"] == verifier.username
    r = client.post(settle, json={"hfr_id": None}, headers=verifier.headers)
    assert r.status_code == 409
    missing = f"{API}/master/reconciliation/00000000-0000-0000-0000-000000000000/settle"
    assert client.post(missing, json={"hfr_id": None}, headers=verifier.headers).status_code == 404

    summary = client.post(f"{API}/master/reconcile", json={}, headers=verifier.headers).json()
    assert (summary["matched"], summary["hfr_only"], summary["ambiguous"]) == (2, 1, 0)
    hfr_only = client.get(
        f"{API}/master/reconciliation", params={"status": "hfr_only"}, headers=state.headers
    ).json()["items"]
    assert [i["facility"]["hfr_id"] for i in hfr_only] == [b] and hfr_only[0]["master"] is None
    cov = client.get(
        f"{API}/master/coverage", params={"district_lgd": 625}, headers=state.headers
    ).json()
    assert (cov["registered"], cov["total"]) == (0, 1)


@pytest.mark.parametrize(
    ("data", "code", "says"),
    [
        ("name,type\nPHC Khag,PHC\n", "HS-1356", "lacks the column(s) state_code, district"),
        ("", "HS-1350", "empty"),
        ("state_code,name,type,district\n", "HS-1357", "no facilities"),
        (CSV.encode("utf-16"), "HS-1352", "UTF-16"),
        (b"PK\x03\x04\x14\x00", "HS-1351", "Excel"),
    ],
)
def test_bad_files(client, state, data, code, says):
    r = upload(client, state, data)
    assert r.status_code == 400, r.text
    assert (r.json()["code"], r.json()["field"]) == (code, "file")
    assert says in r.json()["detail"]


def test_encodings_are_detected(client, state):
    bom = upload(client, state, codecs.BOM_UTF8 + CSV.encode()).json()
    assert bom["encoding"] == "utf-8-sig" and bom["valid_rows"] == 3
    cp = upload(client, state, CSV.replace("PHC Khag,", "PHC Khag – Old,").encode("cp1252")).json()
    assert cp["encoding"] == "windows-1252" and cp["valid_rows"] == 3


def test_oversized_file(client, state):
    data = b"state_code,name,type,district\n" + b"M-1,PHC Khag,PHC,Budgam\n" * (
        MAX_FILE_BYTES // 24 + 10
    )
    r = upload(client, state, data)
    assert (r.status_code, r.json()["code"]) == (400, "HS-1358")


def test_who_may_import_and_reconcile(client, make_staff):
    verifier = make_staff(Role.REGISTRY_VERIFIER)
    admin = make_staff(Role.FACILITY_ADMIN)
    assert upload(client, verifier, CSV).status_code == 403
    assert upload(client, admin, CSV).status_code == 403
    assert client.post(f"{API}/master/reconcile", json={}, headers=admin.headers).status_code == 403
    r = client.post(f"{API}/master/reconcile", json={}, headers=verifier.headers)
    assert (r.status_code, r.json()["code"]) == (404, "HS-1360")
    r = client.get(f"{API}/master/imports/not-a-uuid", headers=verifier.headers)
    assert r.status_code == 403


def test_unknown_import_ids(client, state):
    r = client.get(
        f"{API}/master/imports/00000000-0000-0000-0000-000000000000", headers=state.headers
    )
    assert (r.status_code, r.json()["code"]) == (404, "HS-1365")
    r = client.post(f"{API}/master/imports/not-a-uuid/confirm", headers=state.headers)
    assert r.status_code == 400
