"""A hostile HIP's record: a health document whose attachments are what an attacker at
(or in front of) a facility would send. HealthStack's own HIP refuses such files when
they are recorded (``protocol.fhir.documents.model.Attachment``), so the stored document is
changed after validation, as an HIP written elsewhere would send it: the HIU sees the
bundle exactly as it came over the wire.

Each script, if it ever runs, asks the server for ``/xss-ran/<which>``; a test watches
the browser's requests (or the server's) for that path.
"""

from __future__ import annotations

import base64
import copy
import io
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from PIL import Image
from sqlalchemy import select

from healthstack.facility.records.models import HealthDocument, HiuReceivedRecord
from healthstack.kernel.uow import unit_of_work
from healthstack.network.abha.models import AbhaAccount
from healthstack.seed.clinical import SAMPLE_PDF
from healthstack.web.deps import PATIENT_COOKIE
from tests.factories_consent import user_token
from tests.factories_hie import (
    PATIENT_ADDRESS,
    PIN,
    Exchange,
    cm_request_id,
    doctor_asks,
    patient_account,
    rng,
    samples,
)

MARKER = "/xss-ran/"


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (20, 120, 80)).save(out, "PNG")
    return out.getvalue()


def _script(which: str) -> str:
    return f"fetch('{MARKER}{which}');document.title='ran {which}'"


HTML = (
    "<!doctype html><title>Lab report</title><h1>Report</h1>"
    f"<script>{_script('html')}</script>"
    f'<img src="/none" onerror="{_script("html-onerror")}">'
).encode()
SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40" '
    f'onload="{_script("svg-onload")}"><script>{_script("svg")}</script>'
    '<rect width="40" height="40" fill="red"/></svg>'
).encode()
# HTML bytes under a PNG label: a browser that sniffed would render it.
FAKE_PNG = (
    f"<html><body><script>{_script('fake-png')}</script><p>not an image</p></body></html>"
).encode()
PDF = SAMPLE_PDF
PNG = _png()
JPEG_MAGIC = b"\xff\xd8\xff"

# title -> (declared content type, bytes); appended to the document in this order.
HOSTILE: dict[str, tuple[str, bytes]] = {
    "Scanned page (html)": ("text/html", HTML),
    "Sketch (svg)": ("image/svg+xml", SVG),
    "Photo (fake png)": ("image/png", FAKE_PNG),
    "Discharge card (pdf)": ("application/pdf", PDF),
    "Prescription photo (png)": ("image/png", PNG),
}


@dataclass
class Hostile:
    account: AbhaAccount
    keys: dict[str, str]  # title -> attachment key in the record view


def _tamper(bundle: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    bundle = copy.deepcopy(bundle)
    for pos, entry in enumerate(bundle["entry"]):
        resource = entry["resource"]
        if resource["resourceType"] == "DocumentReference":
            content = resource["content"]
            keys = {}
            for title, (content_type, data) in HOSTILE.items():
                keys[title] = f"{pos}:content.{len(content)}"
                content.append(
                    {
                        "attachment": {
                            "contentType": content_type,
                            "language": "en-IN",
                            "data": base64.b64encode(data).decode(),
                            "title": title,
                        }
                    }
                )
            return bundle, keys
    raise AssertionError("the sample health document has no DocumentReference")


def hostile_patient(hie: Exchange) -> Hostile:
    """A patient linked at HIP A whose one visit holds a health document carrying the
    ``HOSTILE`` attachments (besides the sample's own PDF and PNG)."""
    now = hie.runtime.clock.now()
    account = patient_account(hie.runtime)
    mrn = hie.register_patient(
        hie.hip_a, abha_number=account.abha_number, abha_address=PATIENT_ADDRESS, mobile=None
    )
    at = now - timedelta(days=40)
    hie.record_visit(hie.hip_a, mrn, start=at, contents=[samples.health_documents(rng(), at)])
    with unit_of_work(hie.runtime.session_factory) as s:
        doc = s.scalars(select(HealthDocument)).one()
        doc.bundle, keys = _tamper(doc.bundle)
    hie.settle()
    return Hostile(account, keys)


def doctor_receives(hie: Exchange, hostile: Hostile) -> str:
    """The doctor at HIU C asks, the patient approves in the PHR, the HIP pushes;
    returns the received record's public id."""
    request = doctor_asks(hie, ["HealthDocumentRecord"])
    phr = hie.patient_login(hostile.account)
    cm_request = cm_request_id(hie, request)
    hie.set_pin(phr)
    hie.phr_post(
        f"/consents/{cm_request}/approve",
        phr,
        {"consents": [{"hip": {"id": hie.hip_a}}], "pin": PIN},
    )
    hie.settle()
    return received(hie, hie.hiu_c)


def received(hie: Exchange, hiu_id: str) -> str:
    """The public id of the one health document ``hiu_id`` received, checked intact."""
    with unit_of_work(hie.runtime.session_factory) as s:
        rows = s.scalars(
            select(HiuReceivedRecord).where(HiuReceivedRecord.hi_type == "HealthDocumentRecord")
        ).all()
        mine = [r for r in rows if r.data_request.artefact.request.hiu_id == hiu_id]
        assert len(mine) == 1, [(r.status, r.error_code) for r in rows]
        assert mine[0].status == "OK", (mine[0].status, mine[0].error_code)
        return str(mine[0].public_id)


def patient_fetches(hie: Exchange, hostile: Hostile) -> str:
    """The patient asks for her own health documents on the PHR's page (the test
    client carries her cookie); returns the PHR's received record's public id."""
    hie.client.cookies.set(PATIENT_COOKIE, user_token(hie.runtime, hostile.account))
    r = hie.client.post(
        "/phr/records",
        data={"hi_types": ["HealthDocumentRecord"], "hip": hie.hip_a},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    hie.settle()
    return received(hie, hie.phr_hiu)
