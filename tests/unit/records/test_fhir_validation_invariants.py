"""The native invariants give fhirpathpy's answers, and cover every invariant in IG 6.0.0."""

from __future__ import annotations

from typing import Any

import pytest

from healthstack.protocol.fhir.validation import IgPackage
from healthstack.protocol.fhir.validation.invariants import InvariantEngine
from healthstack.protocol.fhir.validation.native_invariants import NATIVE, native_for
from healthstack.protocol.fhir.validation.snapshot import Constraint

CLIN = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VER = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
AIT_VER = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
LOINC_BP = {"system": "http://loinc.org", "code": "85354-9"}


def _doc(*entries: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "document", "entry": list(entries), **extra}


def _cond(**extra: Any) -> dict[str, Any]:
    return {"resourceType": "Condition", "code": {"text": "x"}, **extra}


def _coded(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


COMP = {"resource": {"resourceType": "Composition", "id": "c"}, "fullUrl": "urn:uuid:a"}
PAT = {"resource": {"resourceType": "Patient", "id": "p"}, "fullUrl": "urn:uuid:b"}

# (key, element path, node, expected); the node is also %resource unless it is a child.
CASES: list[tuple[str, str, dict[str, Any], bool]] = [
    ("bdl-1", "Bundle", _doc(COMP, total=1), False),
    ("bdl-1", "Bundle", {"resourceType": "Bundle", "type": "searchset", "total": 1}, True),
    ("bdl-2", "Bundle", _doc({**COMP, "search": {"mode": "match"}}), False),
    ("bdl-2", "Bundle", _doc(COMP), True),
    ("bdl-3", "Bundle", _doc({**COMP, "request": {"method": "GET", "url": "x"}}), False),
    ("bdl-3", "Bundle", _doc(COMP), True),
    ("bdl-4", "Bundle", _doc({**COMP, "response": {"status": "200"}}), False),
    ("bdl-4", "Bundle", _doc(COMP), True),
    ("bdl-5", "Bundle.entry", {"fullUrl": "urn:uuid:a"}, False),
    ("bdl-5", "Bundle.entry", COMP, True),
    ("bdl-7", "Bundle", _doc(COMP, {**PAT, "fullUrl": "urn:uuid:a"}), False),
    ("bdl-7", "Bundle", _doc(COMP, PAT), True),
    ("bdl-8", "Bundle.entry", {**PAT, "fullUrl": "https://x.org/Patient/p/_history/2"}, False),
    ("bdl-8", "Bundle.entry", PAT, True),
    ("bdl-9", "Bundle", _doc(COMP, identifier={"system": "s"}), False),
    ("bdl-9", "Bundle", _doc(COMP, identifier={"system": "s", "value": "v"}), True),
    ("bdl-11", "Bundle", _doc(PAT, COMP), False),
    ("bdl-11", "Bundle", _doc(COMP, PAT), True),
    ("bdl-12", "Bundle", {**_doc(COMP), "type": "message"}, False),
    ("bdl-12", "Bundle", _doc(COMP), True),
    ("cmp-1", "Composition.section", {"title": "t"}, False),
    ("cmp-1", "Composition.section", {"title": "t", "entry": [{"reference": "a"}]}, True),
    (
        "cmp-2",
        "Composition.section",
        {"emptyReason": {"text": "n"}, "entry": [{"reference": "a"}]},
        False,
    ),
    ("cmp-2", "Composition.section", {"entry": [{"reference": "a"}]}, True),
    ("con-1", "Condition.stage", {"type": {"text": "t"}}, False),
    ("con-1", "Condition.stage", {"summary": {"text": "s"}}, True),
    ("con-2", "Condition.evidence", {"id": "e"}, False),
    ("con-2", "Condition.evidence", {"code": [{"text": "c"}]}, True),
    ("con-3", "Condition", _cond(category=[{"text": "p"}]), False),
    ("con-3", "Condition", _cond(), True),
    (
        "con-3",
        "Condition",
        _cond(category=[{"text": "p"}], clinicalStatus=_coded(CLIN, "active")),
        True,
    ),
    (
        "con-4",
        "Condition",
        _cond(abatementString="x", clinicalStatus=_coded(CLIN, "active")),
        False,
    ),
    (
        "con-4",
        "Condition",
        _cond(abatementString="x", clinicalStatus=_coded(CLIN, "resolved")),
        True,
    ),
    ("con-4", "Condition", _cond(), True),
    (
        "con-5",
        "Condition",
        _cond(
            verificationStatus=_coded(VER, "entered-in-error"),
            clinicalStatus=_coded(CLIN, "active"),
        ),
        False,
    ),
    ("con-5", "Condition", _cond(clinicalStatus=_coded(CLIN, "active")), True),
    (
        "cpl-3",
        "CarePlan.activity",
        {"detail": {"status": "completed"}, "reference": {"reference": "x"}},
        False,
    ),
    ("cpl-3", "CarePlan.activity", {"detail": {"status": "completed"}}, True),
    (
        "dom-2",
        "Patient",
        {
            "resourceType": "Patient",
            "contained": [{"resourceType": "Patient", "contained": [{"resourceType": "Patient"}]}],
        },
        False,
    ),
    (
        "dom-2",
        "Patient",
        {"resourceType": "Patient", "contained": [{"resourceType": "Patient"}]},
        True,
    ),
    (
        "dom-3",
        "Patient",
        {"resourceType": "Patient", "contained": [{"resourceType": "Organization", "id": "o"}]},
        False,
    ),
    (
        "dom-3",
        "Patient",
        {
            "resourceType": "Patient",
            "contained": [{"resourceType": "Organization", "id": "o"}],
            "managingOrganization": {"reference": "#o"},
        },
        True,
    ),
    (
        "dom-4",
        "Patient",
        {
            "resourceType": "Patient",
            "contained": [{"resourceType": "Patient", "meta": {"versionId": "1"}}],
        },
        False,
    ),
    ("dom-4", "Patient", {"resourceType": "Patient"}, True),
    (
        "dom-5",
        "Patient",
        {
            "resourceType": "Patient",
            "contained": [{"resourceType": "Patient", "meta": {"security": [{"code": "R"}]}}],
        },
        False,
    ),
    ("dom-5", "Patient", {"resourceType": "Patient"}, True),
    ("dom-6", "Patient", {"resourceType": "Patient"}, False),
    (
        "dom-6",
        "Patient",
        {"resourceType": "Patient", "text": {"status": "generated", "div": "<div>x</div>"}},
        True,
    ),
    ("ext-1", "Extension", {"url": "u"}, False),
    ("ext-1", "Extension", {"url": "u", "valueString": "v"}, True),
    (
        "ext-1",
        "Extension",
        {"url": "u", "extension": [{"url": "v", "valueString": "w"}], "valueString": "v"},
        False,
    ),
    (
        "fhs-1",
        "FamilyMemberHistory",
        {"resourceType": "FamilyMemberHistory", "ageString": "5", "bornDate": "2000"},
        False,
    ),
    (
        "fhs-1",
        "FamilyMemberHistory",
        {"resourceType": "FamilyMemberHistory", "bornDate": "2000"},
        True,
    ),
    (
        "fhs-2",
        "FamilyMemberHistory",
        {"resourceType": "FamilyMemberHistory", "estimatedAge": True},
        False,
    ),
    (
        "fhs-2",
        "FamilyMemberHistory",
        {"resourceType": "FamilyMemberHistory", "ageString": "5", "estimatedAge": True},
        True,
    ),
    ("imm-1", "Immunization.education", {"presentationDate": "2020-01-01"}, False),
    ("imm-1", "Immunization.education", {"reference": "https://x.org/leaflet"}, True),
    (
        "imr-1",
        "ImmunizationRecommendation.recommendation",
        {"forecastStatus": {"text": "due"}},
        False,
    ),
    (
        "imr-1",
        "ImmunizationRecommendation.recommendation",
        {"vaccineCode": [{"text": "BCG"}]},
        True,
    ),
    ("obs-3", "Observation.referenceRange", {"type": {"text": "normal"}}, False),
    ("obs-3", "Observation.referenceRange", {"low": {"value": 1}}, True),
    (
        "obs-6",
        "Observation",
        {"resourceType": "Observation", "dataAbsentReason": {"text": "x"}, "valueString": "v"},
        False,
    ),
    ("obs-6", "Observation", {"resourceType": "Observation", "valueString": "v"}, True),
    (
        "obs-7",
        "Observation",
        {
            "resourceType": "Observation",
            "code": {"coding": [LOINC_BP]},
            "valueString": "v",
            "component": [{"code": {"coding": [LOINC_BP]}}],
        },
        False,
    ),
    (
        "obs-7",
        "Observation",
        {
            "resourceType": "Observation",
            "code": {"coding": [LOINC_BP]},
            "valueString": "v",
            "component": [{"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]}}],
        },
        True,
    ),
    ("org-1", "Organization", {"resourceType": "Organization", "active": True}, False),
    ("org-1", "Organization", {"resourceType": "Organization", "name": "n"}, True),
    ("org-2", "Organization.address", {"use": "home", "city": "x"}, False),
    ("org-2", "Organization.address", {"use": "work", "city": "x"}, True),
    ("org-3", "Organization.telecom", {"use": "home", "value": "1"}, False),
    ("org-3", "Organization.telecom", {"value": "1"}, True),
    ("pat-1", "Patient.contact", {"gender": "male"}, False),
    ("pat-1", "Patient.contact", {"name": {"text": "x"}}, True),
    (
        "prr-1",
        "ServiceRequest",
        {"resourceType": "ServiceRequest", "orderDetail": [{"text": "x"}]},
        False,
    ),
    (
        "prr-1",
        "ServiceRequest",
        {"resourceType": "ServiceRequest", "orderDetail": [{"text": "x"}], "code": {"text": "c"}},
        True,
    ),
    ("app-1", "Appointment.participant", {"status": "accepted"}, False),
    ("app-1", "Appointment.participant", {"status": "accepted", "actor": {"reference": "x"}}, True),
    (
        "app-2",
        "Appointment",
        {"resourceType": "Appointment", "status": "booked", "start": "2020-01-01T00:00:00Z"},
        False,
    ),
    ("app-2", "Appointment", {"resourceType": "Appointment", "status": "proposed"}, True),
    ("app-3", "Appointment", {"resourceType": "Appointment", "status": "booked"}, False),
    ("app-3", "Appointment", {"resourceType": "Appointment", "status": "proposed"}, True),
    (
        "app-4",
        "Appointment",
        {"resourceType": "Appointment", "status": "booked", "cancelationReason": {"text": "x"}},
        False,
    ),
    (
        "app-4",
        "Appointment",
        {"resourceType": "Appointment", "status": "cancelled", "cancelationReason": {"text": "x"}},
        True,
    ),
    ("ait-1", "AllergyIntolerance", {"resourceType": "AllergyIntolerance"}, False),
    (
        "ait-1",
        "AllergyIntolerance",
        {"resourceType": "AllergyIntolerance", "clinicalStatus": {"text": "a"}},
        True,
    ),
    (
        "ait-2",
        "AllergyIntolerance",
        {
            "resourceType": "AllergyIntolerance",
            "verificationStatus": _coded(AIT_VER, "entered-in-error"),
            "clinicalStatus": {"text": "a"},
        },
        False,
    ),
    (
        "ait-2",
        "AllergyIntolerance",
        {"resourceType": "AllergyIntolerance", "clinicalStatus": {"text": "a"}},
        True,
    ),
]


def _constraint(key: str) -> Constraint:
    expression = NATIVE[key][0]
    if key == "dom-3":
        expression = (
            "contained.where((('#'+id in (%resource.descendants().reference | %resource."
            "descendants().as(canonical) | %resource.descendants().as(uri) | %resource."
            "descendants().as(url))) or descendants().where(reference = '#').exists() or "
            "descendants().where(as(canonical) = '#').exists() or descendants().where(as("
            "canonical) = '#').exists()).not()).trace('unmatched', id).empty()"
        )
    return Constraint(key, "error", "", expression)


@pytest.mark.parametrize(("key", "path", "node", "expected"), CASES)
def test_native_and_fhirpathpy_agree(
    key: str, path: str, node: dict[str, Any], expected: bool
) -> None:
    c = _constraint(key)
    native = native_for(c)
    assert native is not None
    resource = node if "resourceType" in node else {"resourceType": path.split(".")[0]}
    assert native(node, resource) is expected
    # The same expression under an unknown key has no native twin: fhirpathpy runs it.
    interpreted = InvariantEngine({}).evaluate(
        Constraint("x-" + key, "error", "", c.expression), node, path, resource
    )
    # dom-3 applies as() to a collection, which fhirpathpy rejects: it is native-only.
    assert interpreted is (None if key == "dom-3" else expected)


@pytest.mark.parametrize(
    ("node", "expected"),
    [({"a": 1}, True), ({"id": "x"}, False), ({}, False), ("", False), ("x", True), ([], False)],
)
def test_ele_1_natively(node: Any, expected: bool) -> None:
    # fhirpathpy lacks hasValue(), which ele-1 and bdl-10 use.
    native = native_for(_constraint("ele-1"))
    assert native is not None
    assert native(node, {}) is expected


def test_bdl_10_natively() -> None:
    native = native_for(_constraint("bdl-10"))
    assert native is not None
    assert native(_doc(COMP), {}) is False
    assert native(_doc(COMP, timestamp="2024-01-01T00:00:00Z"), {}) is True


def test_every_invariant_of_the_ig_runs_natively(ig: IgPackage) -> None:
    """IG 6.0.0's invariants all have native twins; a new IG version that changes an
    expression shows up here (it would then run through fhirpathpy)."""
    keys = set()
    for profile in ig.profiles.values():
        for el in profile.by_id.values():
            for c in el.constraints:
                keys.add(c.key)
                assert native_for(c) is not None, (profile.name, el.id, c.key)
    assert len(keys) == 44


def test_a_changed_expression_is_not_taken_for_the_native_one() -> None:
    c = Constraint("cmp-1", "error", "", "text.exists()")
    assert native_for(c) is None
    engine = InvariantEngine({})
    assert engine.evaluate(c, {"title": "t"}, "Composition.section", {}) is False


def test_an_expression_fhirpathpy_cannot_run_is_skipped() -> None:
    engine = InvariantEngine({})
    assert engine.evaluate(Constraint("t-1", "error", "", "hasValue()"), {"a": 1}, "X", {}) is None
    assert engine.evaluate(Constraint("t-2", "error", "", "((("), {"a": 1}, "X", {}) is None
