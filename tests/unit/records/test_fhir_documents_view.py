"""The doctor's record view: each record type's partial shows the facts that matter.

Bundles from the builders are read back (``read_document``) and rendered through
``records/_record.html`` with the template environment ``create_app`` makes (the same
loader on web/templates; one test uses the app's own). Also: other HIPs' bundles (NHA's
examples, ProjectEKA's legacy ones) render without error, attachments resolve to their
bytes, text is escaped, and nothing is logged.
"""

from __future__ import annotations

import html
import json
import logging
import re
from typing import Any

import pytest
from fastapi.templating import Jinja2Templates

from healthstack.app import WEB_DIR
from healthstack.facility.records.fhir import (
    AttachmentNotFound,
    Patient,
    RecordType,
    attachment_content,
    build_document,
    read_document,
    seeded_ids,
)
from tests.conftest import shared_path
from tests.unit.records import document_samples as s

TEMPLATES = Jinja2Templates(directory=str(WEB_DIR / "templates"))


def build(name: str) -> dict[str, Any]:
    _, content, ctx = next(x for x in s.SAMPLES if x[0] == name)
    return build_document(ctx, content, now=s.NOW, ids=seeded_ids(5))


def render(bundle: dict[str, Any], templates: Jinja2Templates = TEMPLATES, **extra: Any) -> str:
    view = read_document(bundle)
    return templates.get_template("records/_record.html").render(view=view, **extra)


def text_of(markup: str) -> str:
    """What a reader sees: tags dropped, entities decoded, spaces collapsed."""
    spaced = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", markup))).strip()
    return re.sub(r" ([,.:;)])", r"\1", spaced)


HEADER = [
    "Asha Devi, female, born 12 Apr 1985",
    "91-6285-4575-5116",
    "asha.devi@sbx",
    "Dr. Imran Lone (HPR 71-4321-8765-2109)",
    "GMC Srinagar (HFR IN0110000123)",
    "Recorded 26 Nov 2026, 11:30",
]

KEY_FACTS = {
    "op_consultation": [
        "Diagnosis: Stable angina (provisional)",
        "Chest pain (active), since 24 Nov 2026",
        "Pulse: 88 beats/min",
        "Blood pressure: 150 / 95 mmHg",
        "Allergy to penicillin: Wheal high criticality",
        "Father: Myocardial infarction",
        "Paracetamol 500 mg tablet 1 tablet three times a day after food for 3 days",
        "Amlodipine 5 mg tablet 1 tablet once a day in the morning",
        "Cardiology referral to SKIMS Soura, Cardiology, for Exertional chest pain",
        "3 Dec 2026, 11:30: Review with ECG and lipid profile",
        "Pain score: 4/10",
        "Visit OPD visit, 26 Nov 2026, 10:50",
    ],
    "prescription": [
        "Paracetamol 500 mg tablet 1 tablet three times a day after food for 3 days",
        "1 tablet, 3 times a day, for 3 days",
        "Dispense 9 tablets",
        "Oral route",
        "Signed copy (PDF,",
    ],
    "lab_report": [
        "CBC panel - Blood by Automated count",
        "Haemoglobin 10.2 g/dL Low 12–15.5 g/dL",
        "250 ×10³/µL 150–410 ×10³/µL",
        "Specimen: Blood specimen, collected 26 Nov 2026, 05:30",
        "Conclusion: Mild anaemia; platelets normal.",
        "Report: CBC report (PDF,",
    ],
    "imaging_report": [
        "Chest X-ray PA and lateral",
        "Imaging study Digital Radiography",
        "Study instance UID 1.2.826.0.1.3680043.8.498.10368404844741579486264127104402",
        "Conclusion: No active lung lesion. Cardiac silhouette normal.",
        "Key image: PA view (JPEG image,",
        "Report: Chest X-ray report (PDF,",
    ],
    "discharge_summary": [
        "Visit IPD admission, 21 Nov 2026, 11:30 to 26 Nov 2026, 10:30",
        "Diagnosis: Congestive heart failure (final)",
        "Breathlessness",
        "Excision of appendix, 1 May 2010",
        "Haemoglobin 10.2 g/dL Low",
        "No active lung lesion",
        "Amlodipine 5 mg tablet 1 tablet once a day in the morning",
        "Discharge advice (26 Nov 2026 – 10 Dec 2026) Low-salt diet, walk 30 minutes daily",
        "Signed discharge summary (PDF,",
    ],
    "immunization": [
        "Rotavirus vaccine Rotavac 26 Nov 2026, 10:30 dose 2 of Rotavirus (UIP) RV-2026-0915",
        "Pentavalent (DPT-HepB-Hib) 26 Nov 2026, 10:30 dose 2 PV-7781 Intramuscular route, "
        "Left upper arm structure",
        "Next: Rotavirus vaccine, dose 3, due 24 Dec 2026",
    ],
    "health_document": [
        "Discharge card from SMHS Hospital, 2019",
        "Old discharge card 2019 (PDF,",
        "Old prescription (photo) (PNG image,",
    ],
    "wellness": [
        "Vital Signs",
        "Pulse 88 beats/min",
        "Body weight 62.5 kg",
        "Number of steps in unspecified time Pedometer 6500 steps",
        "Glucose [Mass/volume] in Blood 142 mg/dL < 140 mg/dL",
        "Finding of tobacco smoking behavior Never smoked tobacco",
    ],
    "invoice": [
        "Invoice GMC/OPD/2026/004211",
        "OPD · 26 Nov 2026, 11:30 · issued",
        "1 OPD consultation 1 ₹100.00",
        "2 Paracetamol 500 mg tablet 10 ₹1.80 ₹2.00 ₹2.00 ₹1.92 ₹17.92",
        "Total before tax ₹116.00",
        "GST ₹1.92",
        "Total ₹117.92",
    ],
}


@pytest.mark.parametrize("name", list(KEY_FACTS))
def test_partial_shows_the_key_facts(name: str) -> None:
    bundle = build(name)
    shown = text_of(render(bundle))
    for fact in HEADER + KEY_FACTS[name]:
        assert fact in shown, f"{fact!r} not in {shown!r}"


@pytest.mark.parametrize("name", list(KEY_FACTS))
def test_each_type_has_its_own_partial(name: str) -> None:
    view = read_document(build(name))
    assert view.kind is not None
    assert view.template.startswith("records/_") and view.template != "records/_generic.html"
    css = "record-" + view.template.removeprefix("records/_").removesuffix(".html").replace(
        "_", "-"
    )
    assert f'class="card record {css}"' in render(build(name))


def test_record_kind_comes_from_the_composition() -> None:
    kinds = {name: read_document(build(name)).kind for name in KEY_FACTS}
    assert kinds["lab_report"] is kinds["imaging_report"] is RecordType.DIAGNOSTIC_REPORT
    assert kinds["invoice"] is RecordType.INVOICE
    assert kinds["wellness"] is RecordType.WELLNESS


@pytest.mark.parametrize("name", list(KEY_FACTS))
def test_attachments_link_to_the_page_route_and_resolve_to_their_bytes(name: str) -> None:
    bundle = build(name)
    view = read_document(bundle)
    attachments = [
        a
        for sec in view.sections
        for e in sec.entries
        for a in [
            *getattr(e, "attachments", []),
            *getattr(e, "forms", []),
            *getattr(e, "images", []),
        ]
    ]
    markup = render(bundle, attachment_url=lambda key: f"/records/doc-1/attachments/{key}")
    assert "data:" not in markup
    originals = {s.PDF, s.JPEG, s.PNG}
    for a in attachments:
        assert f'href="/records/doc-1/attachments/{a.key}"' in markup
        content_type, data, _title = attachment_content(bundle, a.key)
        assert content_type == a.content_type
        assert data in originals
        assert a.size_bytes == len(data)
    if name in ("prescription", "lab_report", "imaging_report", "health_document"):
        assert attachments


def test_without_a_route_attachments_are_data_downloads() -> None:
    markup = render(build("lab_report"))
    assert 'href="data:application/pdf;base64,' in markup
    assert 'download="CBC-report.pdf"' in markup


def test_unknown_attachment_keys_are_refused() -> None:
    bundle = build("lab_report")
    for key in ("99:content.0", "x", "1:content.0", "0:presentedForm.5", "2:binary"):
        with pytest.raises(AttachmentNotFound):
            attachment_content(bundle, key)


def test_text_from_the_record_is_escaped() -> None:
    patient = Patient(name="<script>alert(1)</script>", gender="male", mrn="M-1")
    _, content, ctx = s.SAMPLES[1]
    bundle = build_document(
        ctx.__class__(patient, ctx.practitioner, ctx.organization, ctx.encounter),
        content,
        now=s.NOW,
        ids=seeded_ids(1),
    )
    markup = render(bundle)
    assert "<script>" not in markup
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in markup


def test_building_reading_and_rendering_log_nothing(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for name in KEY_FACTS:
        render(build(name))
    assert not [
        r for r in caplog.records if "Asha" in r.getMessage() or "91-6285" in r.getMessage()
    ]


def test_renders_in_the_apps_own_template_environment(app: Any) -> None:
    markup = render(build("prescription"), templates=app.state.templates)
    assert "Paracetamol 500 mg tablet" in text_of(markup)


# --------------------------------------------------------------------------- other HIPs


def _examples() -> list[str]:
    return [
        "nha-abdm-wrapper/OP_Consultation_fhir_bundle.json",
        "nha-abdm-wrapper/TestBundle-DischargeSummary.json",
        "nha-abdm-mock-hip/example_bundle_1-DiagnosticReportLab.json",
        "projecteka-legacy/MAXRVH1012OPConsultationDoc20190807.json",
        "projecteka-legacy/MAXRVH9999PrescriptionDoc20160805.json",
        "projecteka-legacy/MAXLIVNO99WellnessRecordDoc20190801.json",
        "projecteka-legacy/MAXRVH1012ImmunizationDoc20190806.json",
        "projecteka-legacy/MAXRVH9999DiagnosticReportDoc20160801.json",
    ]


@pytest.mark.parametrize("example", _examples())
def test_other_hips_bundles_render(example: str) -> None:
    bundle = json.loads(shared_path("fhir", "examples", *example.split("/")).read_text())
    view = read_document(bundle)
    shown = text_of(render(bundle))
    assert view.patient.name != "not stated"
    assert view.patient.name.split()[0] in shown
    assert view.sections and all(sec.entries for sec in view.sections)


def test_nha_op_consultation_reads_like_ours() -> None:
    path = shared_path("fhir", "examples", "nha-abdm-wrapper", "OP_Consultation_fhir_bundle.json")
    view = read_document(json.loads(path.read_text()))
    assert view.kind is RecordType.OP_CONSULTATION
    assert view.patient.abha_number == "22-7225-4829-5255"
    medications = view.entries("medication")
    assert len(medications) == 2 and all(m.name != "not stated" for m in medications)
    assert view.entries("observation")


@pytest.mark.parametrize("junk", [None, {}, [], {"resourceType": "Bundle", "entry": [{}, 5]}])
def test_junk_reads_as_an_empty_record(junk: Any) -> None:
    view = read_document(junk)
    assert view.kind is None and view.sections == []
    assert "not stated" in text_of(render(junk))
