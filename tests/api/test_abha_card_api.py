"""The card over HTTP: staff downloads, the desk's scan (image or QR text), and the
holder's own card on ABDM's profile routes."""

from __future__ import annotations

import io
import json

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import select

from healthstack.kernel.audit import AuditEvent
from healthstack.kernel.context import Role
from healthstack.kernel.uow import unit_of_work
from healthstack.network.abha import card
from healthstack.network.abha.auth import issue_user_tokens
from tests.conftest import FACILITY_B
from tests.factories_card import make_account

SUFFIX = "sbx"


@pytest.fixture
def people(runtime):
    with unit_of_work(runtime.session_factory) as s:
        ravi = make_account(s, runtime, name="Ravi Kumar", handles=("ravi.k",))
        gone = make_account(s, runtime, name="Old Record", status="DELETED")
        off = make_account(s, runtime, name="Resting Person", status="DEACTIVATED")
        return {
            "ravi": (
                str(ravi.public_id),
                card.card_payload(ravi, SUFFIX),
                card.render_png(ravi, SUFFIX),
            ),
            "gone": (str(gone.public_id), card.card_payload(gone, SUFFIX)),
            "off": (str(off.public_id), card.card_payload(off, SUFFIX)),
            "tokens": {
                "ravi": issue_user_tokens(
                    ravi,
                    keyring=runtime.keyring,
                    clock=runtime.clock,
                    abha_settings=runtime.settings.abha,
                ).token,
                "off": issue_user_tokens(
                    off,
                    keyring=runtime.keyring,
                    clock=runtime.clock,
                    abha_settings=runtime.settings.abha,
                ).token,
                "gone": issue_user_tokens(
                    gone,
                    keyring=runtime.keyring,
                    clock=runtime.clock,
                    abha_settings=runtime.settings.abha,
                ).token,
            },
        }


def _audit(runtime, action):
    with unit_of_work(runtime.session_factory) as s:
        return s.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        ).all()


def _qr_payloads(png: bytes) -> list[dict]:
    return [json.loads(b.text) for b in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


# --------------------------------------------------------------------------- downloads


def test_desk_downloads_png_and_pdf_card(client, runtime, people, make_staff):
    desk = make_staff(Role.REGISTRATION_DESK)
    account_id, payload, _ = people["ravi"]
    r = client.get(f"/api/v1/abha/accounts/{account_id}/card.png", headers=desk.headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png"
    assert r.headers["content-disposition"] == (
        f'attachment; filename="abha-card-{payload["hidn"][-4:]}.png"'
    )
    assert r.headers["cache-control"] == "no-store"
    assert Image.open(io.BytesIO(r.content)).size == (1011, 638)
    assert _qr_payloads(r.content) == [payload]

    r = client.get(f"/api/v1/abha/accounts/{account_id}/card.pdf", headers=desk.headers)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF-")
    events = _audit(runtime, "abha.card.download")
    assert [(e.resource_id, e.outcome, e.actor_id) for e in events] == [
        (account_id, "success", desk.public_id)
    ] * 2


def test_card_download_permissions_and_missing_accounts(client, runtime, people, make_staff):
    account_id = people["ravi"][0]
    url = f"/api/v1/abha/accounts/{account_id}/card.png"
    assert client.get(url).status_code == 401
    verifier = make_staff(Role.REGISTRY_VERIFIER)
    r = client.get(url, headers=verifier.headers)
    assert r.status_code == 403 and r.json()["code"] == "HS-1003"
    nurse_elsewhere = make_staff(Role.NURSE, facility_id=FACILITY_B)
    assert client.get(url, headers=nurse_elsewhere.headers).status_code == 200
    for missing in (people["gone"][0], "7d1f1c1e-0000-4000-8000-000000000000"):
        r = client.get(f"/api/v1/abha/accounts/{missing}/card.pdf", headers=nurse_elsewhere.headers)
        assert r.status_code == 404 and "Search for the person again" in r.json()["detail"]
    r = client.get("/api/v1/abha/accounts/not-a-uuid/card.png", headers=nurse_elsewhere.headers)
    assert r.status_code == 400
    outcomes = [(e.outcome, e.facility_id) for e in _audit(runtime, "abha.card.download")]
    assert outcomes == [
        ("denied", None),
        ("success", FACILITY_B),
        ("not_found", FACILITY_B),
        ("not_found", FACILITY_B),
    ]


# --------------------------------------------------------------------------- scan


def test_scan_uploaded_card_photo(client, runtime, people, make_staff):
    desk = make_staff(Role.REGISTRATION_DESK)
    account_id, payload, png = people["ravi"]
    r = client.post(
        "/api/v1/abha/scan", headers=desk.headers, files={"image": ("card.png", png, "image/png")}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["source"] == "image" and body["matched_by"] == "number"
    assert body["differs"] == []
    assert body["account"]["id"] == account_id
    assert body["account"]["abha_number"] == "XX-XXXX-XXXX-" + payload["hidn"][-4:]
    assert body["account"]["name"] == "R*** K****"
    assert payload["hidn"] not in r.text and "Ravi Kumar" not in r.text
    [event] = _audit(runtime, "abha.scan")
    assert (event.resource_id, event.outcome, event.purpose) == (
        account_id,
        "success",
        "IDENTITY_VERIFICATION",
    )


def test_scan_pasted_qr_text_card_and_app_forms(client, people, make_staff):
    desk = make_staff(Role.DOCTOR)
    account_id, payload, _ = people["ravi"]
    r = client.post(
        "/api/v1/abha/scan", headers=desk.headers, json={"qr_text": json.dumps(payload)}
    )
    assert r.status_code == 200, r.text
    assert (r.json()["source"], r.json()["account"]["id"]) == ("text", account_id)
    # The same from a plain HTML form (a scanner typing into a text box).
    r = client.post(
        "/api/v1/abha/scan", headers=desk.headers, data={"qr_text": json.dumps(payload)}
    )
    assert (r.status_code, r.json()["account"]["id"]) == (200, account_id)
    app_qr = {"phr": payload["hid"], "name": "Ravi Kumar", "gender": "M", "dob": "xx-3-19xx"}
    r = client.post("/api/v1/abha/scan", headers=desk.headers, json={"qr_text": json.dumps(app_qr)})
    assert r.status_code == 200, r.text
    assert (r.json()["matched_by"], r.json()["account"]["id"]) == ("address", account_id)
    # A QR whose details are not this record's is flagged (field names, never values).
    other = payload | {"name": "Somebody Else", "gender": "F"}
    r = client.post("/api/v1/abha/scan", headers=desk.headers, json={"qr_text": json.dumps(other)})
    assert r.json()["differs"] == ["name", "gender"]
    assert "Somebody" not in r.text


def test_scan_deactivated_account_is_flagged_and_deleted_is_not_found(client, people, make_staff):
    desk = make_staff(Role.REGISTRATION_DESK)
    r = client.post(
        "/api/v1/abha/scan", headers=desk.headers, json={"qr_text": json.dumps(people["off"][1])}
    )
    assert r.status_code == 200
    assert r.json()["account"]["deactivated"] is True
    assert r.json()["account"]["status"] == "DEACTIVATED"
    r = client.post(
        "/api/v1/abha/scan", headers=desk.headers, json={"qr_text": json.dumps(people["gone"][1])}
    )
    assert r.status_code == 404 and "No ABHA here matches" in r.json()["detail"]


def _jpeg_without_qr() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (640, 480), (200, 180, 160)).save(buf, format="JPEG")
    return buf.getvalue()


@pytest.mark.parametrize(
    ("kwargs", "status", "fragment"),
    [
        (
            {"files": {"image": ("card.jpg", b"GIF89a-not-really", "image/jpeg")}},
            400,
            "not an image we can read",
        ),
        (
            {"files": {"image": ("card.jpg", _jpeg_without_qr(), "image/jpeg")}},
            400,
            "No QR code was found in this image. Photograph the card's QR code flat and in focus, "
            "or paste the QR text.",
        ),
        ({"files": {"photo": ("card.jpg", b"x", "image/jpeg")}}, 400, "'image' field"),
        ({"data": {"image": "just text"}}, 400, "as a file in the 'image' field"),
        (
            {"data": {"qr_text": "{}"}, "files": {"image": ("c.png", b"x", "image/png")}},
            400,
            "not both",
        ),
        ({"json": {"qr_text": "upi://pay?pa=shop@bank"}}, 400, "not the text of an ABHA QR"),
        ({"json": {"qr_text": '{"hidn": "1234"}'}}, 400, "not 14 digits"),
        ({"json": {"qr_text": ""}}, 400, "qr_text"),
        ({"json": {"qr_text": "{}", "extra": 1}}, 400, "extra is not a known field"),
        ({"json": {}}, 400, "qr_text is required"),
        (
            {"content": b"{not json", "headers": {"Content-Type": "application/json"}},
            400,
            "not valid JSON",
        ),
        ({"content": b"qr", "headers": {"Content-Type": "text/plain"}}, 415, "multipart/form-data"),
    ],
)
def test_scan_bad_input(client, runtime, people, make_staff, kwargs, status, fragment):
    desk = make_staff(Role.REGISTRATION_DESK)
    headers = desk.headers | kwargs.pop("headers", {})
    r = client.post("/api/v1/abha/scan", headers=headers, **kwargs)
    assert r.status_code == status, r.text
    assert fragment in r.json()["detail"]


def test_scan_failures_are_audited(client, runtime, people, make_staff):
    desk = make_staff(Role.REGISTRATION_DESK)
    client.post(
        "/api/v1/abha/scan",
        headers=desk.headers,
        files={"image": ("card.jpg", _jpeg_without_qr(), "image/jpeg")},
    )
    [event] = _audit(runtime, "abha.scan")
    assert (event.outcome, event.reason_code, event.resource_id) == ("failed", "HS-1321", None)


def test_scan_oversized_upload_is_413(client, people, make_staff):
    desk = make_staff(Role.REGISTRATION_DESK)
    big = b"\xff\xd8" + b"\0" * (client.app.state.settings.max_body_bytes + 10)
    r = client.post(
        "/api/v1/abha/scan", headers=desk.headers, files={"image": ("card.jpg", big, "image/jpeg")}
    )
    assert r.status_code == 413
    assert "smaller file" in r.json()["detail"]


def test_scan_permissions(client, people, make_staff):
    body = {"qr_text": json.dumps(people["ravi"][1])}
    assert client.post("/api/v1/abha/scan", json=body).status_code == 401
    verifier = make_staff(Role.REGISTRY_VERIFIER)
    assert client.post("/api/v1/abha/scan", json=body, headers=verifier.headers).status_code == 403
    elsewhere = make_staff(Role.REGISTRATION_DESK, facility_id=FACILITY_B)
    assert client.post("/api/v1/abha/scan", json=body, headers=elsewhere.headers).status_code == 200


# --------------------------------------------------------------------------- holder's own card


def test_holder_gets_own_card_and_qr_with_x_token(client, runtime, people):
    account_id, payload, _ = people["ravi"]
    headers = {"X-token": f"Bearer {people['tokens']['ravi']}"}
    r = client.get("/abha/api/v3/profile/account/abha-card", headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(r.content)).size == (1011, 638)
    assert _qr_payloads(r.content) == [payload]
    r = client.get("/abha/api/v3/profile/account/qrCode", headers=headers)
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert _qr_payloads(r.content) == [payload]
    events = _audit(runtime, "abha.card.download") + _audit(runtime, "abha.card.qr")
    assert [(e.actor_kind, e.purpose, e.resource_id) for e in events] == [
        ("patient", "PATRQT", account_id)
    ] * 2


def test_holder_card_needs_a_valid_token(client, people):
    for headers in (
        {},
        {"X-token": "Bearer "},
        {"X-token": "Bearer not.a.jwt"},
        {"X-token": f"Bearer {people['tokens']['gone']}"},
    ):
        r = client.get("/abha/api/v3/profile/account/abha-card", headers=headers)
        assert r.status_code == 401, headers
        assert set(r.json()["error"]) == {"code", "message"}  # ABDM's error body
    r = client.get(
        "/abha/api/v3/profile/account/qrCode",
        headers={"X-token": f"Bearer {people['tokens']['off']}"},
    )
    assert r.status_code == 403
    assert "deactivated" in r.json()["error"]["message"]
