"""Attachments of received records, as an attacker at an HIP would try them: the HIP
names the content type, so HTML or SVG with a script, or HTML bytes labelled PNG, must
never be served as a page of this origin. Only a PDF, PNG or JPEG whose bytes are what
its label says is shown inline; everything else is a download of no particular type,
and every attachment is sandboxed (no script, an opaque origin) and never sniffed."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from tests.factories_attachments import (
    HOSTILE,
    doctor_receives,
    hostile_patient,
    patient_fetches,
)
from tests.factories_hie import hie_settings

DOWNLOADED = ("Scanned page (html)", "Sketch (svg)", "Photo (fake png)")
SHOWN = {"Discharge card (pdf)": "application/pdf", "Prescription photo (png)": "image/png"}


@pytest.fixture
def settings(settings):
    return hie_settings(settings)


def _check(get, base: str, keys: dict[str, str]) -> None:
    for title in DOWNLOADED:
        r = get(base + quote(keys[title], safe=""))
        assert r.status_code == 200, (title, r.status_code)
        assert r.headers["content-type"] == "application/octet-stream", title
        assert r.headers["content-disposition"].startswith("attachment;"), title
        assert r.content == HOSTILE[title][1]  # the bytes, unchanged, for the record
        _sandboxed(r, title)
    for title, content_type in SHOWN.items():
        r = get(base + quote(keys[title], safe=""))
        assert r.status_code == 200, (title, r.status_code)
        assert r.headers["content-type"] == content_type, title
        assert r.headers["content-disposition"].startswith("inline;"), title
        _sandboxed(r, title)


def _sandboxed(r, title: str) -> None:
    csp = r.headers["content-security-policy"]
    assert re.search(r"(^|;)\s*sandbox\s*(;|$)", csp), (title, csp)  # no allow-scripts
    assert "default-src 'none'" in csp, (title, csp)
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["cache-control"] == "no-store"


def _page_embeds_nothing_active(html: str, keys: dict[str, str]) -> None:
    srcs = re.findall(r'<img[^>]* src="([^"]*)"', html)
    # The true PNG is shown on the page; nothing the HIP mislabelled is embedded.
    assert any(quote(keys["Prescription photo (png)"], safe="") in s for s in srcs), srcs
    for title in DOWNLOADED:
        assert not any(quote(keys[title], safe="") in s for s in srcs), (title, srcs)
    assert "data:text/html" not in html and "data:image/svg" not in html
    assert "<script>fetch" not in html and "onerror=" not in html


def test_doctor_gets_hostile_attachments_only_as_sandboxed_downloads(hie, make_staff):
    hostile = hostile_patient(hie)
    record = doctor_receives(hie, hostile)
    doctor = hie.doctor_client(make_staff)
    page = doctor.get(f"/records/received/{record}")
    assert page.status_code == 200
    _page_embeds_nothing_active(page.text, hostile.keys)
    _check(doctor.get, f"/records/received/{record}/attachments/", hostile.keys)


def test_patient_gets_hostile_attachments_only_as_sandboxed_downloads(hie):
    hostile = hostile_patient(hie)
    record = patient_fetches(hie, hostile)
    page = hie.client.get(f"/phr/health-records/{record}")
    assert page.status_code == 200
    _page_embeds_nothing_active(page.text, hostile.keys)
    _check(hie.client.get, f"/phr/health-records/{record}/attachments/", hostile.keys)
