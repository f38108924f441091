"""What a HIP written from the ABDM specs (not ours) does on the HIU's dataPushUrl, with
the real consent manager and the real facility side over HTTP
(``tests/factories_hie.py``): fresh key material on every page, identifiers in forms
the IG does not constrain, records the HIU must refuse, and what the doctor then sees.

Our own HIP's pushes are held up (``hold_pushes``) so that the transfer is the outside
HIP's to make; it pushes with the HIP bridge's gateway session token, as the spec asks.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import pytest

from healthstack.facility.records.models import (
    HiuDataRequest,
    HiuReceivedRecord,
)
from healthstack.network.consent.models import TransferNotice
from tests.factories_hie import (
    CLIENT_ID,
    PATIENT_NAME,
    Exchange,
    grant,
    hie_settings,
    outside_hips_transfer,
    push_page,
    session_token,
    spec_page,
)

Send = Callable[[httpx.Request], httpx.Response]


@pytest.fixture
def settings(settings):
    return hie_settings(settings)


def bearer(hie: Exchange) -> str:
    return f"Bearer {session_token(hie)}"


def hiu_notice(hie: Exchange) -> TransferNotice:
    [notice] = [n for n in hie.rows(TransferNotice) if n.notifier_type == "HIU"]
    return notice


def resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [
        e["resource"] for e in bundle["entry"] if e.get("resource", {}).get("resourceType") == kind
    ]


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# --------------------------------------------------------------------------- ours


def test_our_hip_pushes_with_its_gateway_session_token(hie: Exchange) -> None:
    """Our HIP sends the bridge's session token on every page; a 401 (the HIU thinks the
    token stale) is tried again once with a fresh session."""
    refused: list[str] = []

    def first_push_401(request: httpx.Request, send: Send) -> httpx.Response:
        if request.url.path.endswith("/data/push") and not refused:
            refused.append(request.headers.get("Authorization", ""))
            return httpx.Response(401, json={"error": {"code": "ABDM-1102"}}, request=request)
        return send(request)

    hie.network.intercept = first_push_401
    grant(hie)
    sent = [r for r in hie.network.to_hmis if r.url.path.endswith("/data/push")]
    assert len(sent) == 2  # two documents: two pages, each with the session token
    authorization = sent[0].headers["Authorization"]
    assert {r.headers["Authorization"] for r in sent} == {authorization}
    assert refused and refused[0].startswith("Bearer ")
    assert authorization.startswith("Bearer ")
    claims = jwt.decode(authorization[7:], options={"verify_signature": False})
    assert (claims["aud"], claims["sub"], claims["typ"]) == ("hiecm-gateway", CLIENT_ID, "access")
    [dr] = hie.rows(HiuDataRequest)
    assert dr.status == "COMPLETED"
    assert {r.status for r in hie.rows(HiuReceivedRecord)} == {"OK"}


# --------------------------------------------------------------------------- ABDM-1314


def test_a_paged_transfer_with_fresh_key_material_on_every_page_is_taken(hie: Exchange) -> None:
    """Every page carries key material, and a HIP that makes it fresh for each page
    (never reusing a key and nonce) has each page decrypted with its own."""
    _, txn, hiu_key, docs = outside_hips_transfer(hie, documents=3)
    assert len(docs) == 3
    first = spec_page(hie, txn, hiu_key, docs[:2], number=1, count=2)
    second = spec_page(hie, txn, hiu_key, docs[2:], number=2, count=2)
    assert first["keyMaterial"] != second["keyMaterial"]
    r = push_page(hie, first, authorization=bearer(hie))
    assert r.status_code == 202, r.text
    r = push_page(hie, second, authorization=bearer(hie))
    assert r.status_code == 202, r.text
    received = hie.rows(HiuReceivedRecord)
    assert [(r.page_number, r.status) for r in received] == [(1, "OK"), (1, "OK"), (2, "OK")]
    [dr] = hie.rows(HiuDataRequest)
    assert dr.status == "COMPLETED" and dr.pages_received == [1, 2]
    hie.settle()
    notice = hiu_notice(hie)
    assert notice.session_status == "TRANSFERRED"
    assert {s["hiStatus"] for s in notice.status_responses} == {"OK"}


# --------------------------------------------------------------------------- ABDM-1311


def test_identifiers_in_forms_the_ig_does_not_constrain_are_kept_with_a_warning(
    hie: Exchange, make_staff
) -> None:
    """The IG fixes no form for an HPR or HFR identifier's value: such a record is kept,
    and the doctor sees it with the warning."""
    g, txn, hiu_key, docs = outside_hips_transfer(hie)
    odd = copy.deepcopy(docs[0][0])
    resources(odd, "Practitioner")[0]["identifier"][0]["value"] = "HPR/71-4321"
    resources(odd, "Organization")[0]["identifier"][0]["value"] = "JK-PHC-0042"
    page = spec_page(hie, txn, hiu_key, [(odd, docs[0][1]), docs[1]])
    r = push_page(hie, page, authorization=bearer(hie))
    assert r.status_code == 202, r.text
    first, second = hie.rows(HiuReceivedRecord)
    assert (first.status, first.error_code) == ("OK", None) and first.bundle == odd
    rules = {w["rule"] for w in first.warnings}
    assert {"core:hpr-id", "core:hfr-id"} <= rules
    assert second.status == "OK" and not second.warnings
    hie.settle()
    assert {s["hiStatus"] for s in hiu_notice(hie).status_responses} == {"OK"}

    doctor = hie.doctor_client(make_staff)
    page_text = text_of(doctor.get(f"/records/requests/{g.request}").text)
    assert "Practitioner.identifier.value under the HPR system" in page_text
    assert "Could not be received" not in page_text


def test_a_refused_record_says_which_rule_to_the_consent_manager_and_the_doctor(
    hie: Exchange, make_staff
) -> None:
    g, txn, hiu_key, docs = outside_hips_transfer(hie)
    broken = copy.deepcopy(docs[0][0])
    del resources(broken, "Composition")[0]["title"]
    page = spec_page(hie, txn, hiu_key, [(broken, docs[0][1]), docs[1]])
    r = push_page(hie, page, authorization=bearer(hie))
    assert r.status_code == 202, r.text
    refused, kept = hie.rows(HiuReceivedRecord)
    assert (refused.status, refused.error_code, refused.bundle) == ("ERRORED", "ABDM-1311", None)
    assert "Composition.title" in refused.error_detail
    assert kept.status == "OK"
    hie.settle()
    [response] = hiu_notice(hie).status_responses
    assert response["hiStatus"] == "ERRORED"
    assert "ABDM-1311" in response["description"]
    assert "Composition.title is required" in response["description"]
    assert PATIENT_NAME not in response["description"]

    doctor = hie.doctor_client(make_staff)
    page_text = text_of(doctor.get(f"/records/requests/{g.request}").text)
    assert "Could not be received" in page_text
    assert "Composition.title is required" in page_text


# --------------------------------------------------------------------------- the list


def test_the_doctors_list_names_patient_facility_date_and_type(hie: Exchange, make_staff) -> None:
    g = grant(hie)
    doctor = hie.doctor_client(make_staff)
    html = doctor.get(f"/records/requests/{g.request}").text
    rows = re.findall(r'<tr class="received-record[^"]*">(.*?)</tr>', html, re.S)
    assert len(rows) == 2
    for row in rows:
        cells = text_of(row)
        assert PATIENT_NAME in cells
        assert "PHC Khag" in cells and hie.hip_a in cells
        assert re.search(r"\d{1,2} [A-Z][a-z]{2} \d{4}", cells), cells
    listed = " ".join(text_of(r) for r in rows)
    assert "Diagnostic report" in listed and "Prescription" in listed
