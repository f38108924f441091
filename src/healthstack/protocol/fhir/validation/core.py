"""The built-in rules every ABDM health-record bundle must meet, with or without the IG.

They restate what ABDM relies on before any profile is consulted (REFERENCE.md §2.1, §4):
a ``document`` bundle with identifier and timestamp, the Composition first, every entry
with a fullUrl and a resource, every reference resolvable inside the bundle, the
Composition's status/type/subject/date/author/title, the Patient, Practitioner and
Organization basics, and the shape of ABDM identifiers (ABHA number, HPR id, HFR id)
where a document carries them. Rule ids are ``core:<id>``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from stdnum import luhn

from healthstack.protocol.fhir.validation.core_valuesets import CORE_REQUIRED
from healthstack.protocol.fhir.validation.primitives import DATE, DATETIME, INSTANT, UUID
from healthstack.protocol.fhir.validation.references import (
    RESOURCE_TYPES,
    RESTFUL_ABSOLUTE,
    BundleIndex,
    Entry,
    iter_references,
)
from healthstack.protocol.fhir.validation.report import IssueSink, article

# Identifier systems for ABDM ids, as used by the IG's examples and NHA's bundles
# (REFERENCE.md §2.3); the sandbox variants appear in older HIPs' bundles.
ABHA_SYSTEMS = frozenset({"https://healthid.ndhm.gov.in", "https://healthid.abdm.gov.in"})
HPR_SYSTEMS = frozenset(
    {"https://doctor.ndhm.gov.in", "https://doctor.abdm.gov.in", "https://hpr.abdm.gov.in"}
)
HFR_SYSTEMS = frozenset(
    {
        "https://facility.ndhm.gov.in",
        "https://facility.abdm.gov.in",
        "https://facilitysbx.ndhm.gov.in",
        "https://facilitysbx.abdm.gov.in",
    }
)
_IG_ID_TYPES = "https://nrces.in/ndhm/fhir/r4/CodeSystem/ndhm-identifier-type-code"
_ABHA_NUMBER = re.compile(r"^\d{2}-\d{4}-\d{4}-\d{4}$")
_DIGITS_AND_HYPHENS = re.compile(r"^[\d\-\s]+$")
_HFR_ID = re.compile(r"^IN\d{10}$")
_ADDRESS = re.compile(r"^[^@\s]+@[A-Za-z0-9.\-]+$")

# HealthStack's own forms for ABDM identifiers. The IG constrains neither the system
# nor the value's form of an ABHA, HPR or HFR identifier, so these rules keep our own
# documents tidy, but a receiver (the HIU) takes them as warnings and keeps the record:
# refusing another HIP's record for a form the IG allows loses it for the doctor.
NOT_IG_RULES = frozenset({"core:abha-number", "core:abha-address", "core:hpr-id", "core:hfr-id"})

COMPOSITION_STATUS = CORE_REQUIRED["http://hl7.org/fhir/ValueSet/composition-status"][1]
GENDERS = CORE_REQUIRED["http://hl7.org/fhir/ValueSet/administrative-gender"][1]
AUTHOR_TYPES = frozenset(
    {"Practitioner", "PractitionerRole", "Organization", "Patient", "Device", "RelatedPerson"}
)


def check_core(bundle: dict[str, Any], index: BundleIndex, sink: IssueSink) -> None:
    _bundle(bundle, index, sink)
    for entry in index.entries:
        _entry(entry, index, sink)
    composition = next((e for e in index.entries if e.resource_type == "Composition"), None)
    if composition is not None:
        _composition(composition, index, sink)
    for entry in index.entries:
        check = _RESOURCE_RULES.get(entry.resource_type or "")
        if check is not None and entry.resource is not None:
            check(entry.resource, f"{entry.path}.resource", sink)


# --------------------------------------------------------------------------- bundle


def _bundle(bundle: dict[str, Any], index: BundleIndex, sink: IssueSink) -> None:
    if bundle.get("type") != "document":
        sink.error(
            "Bundle.type",
            "core:bundle-type",
            "Bundle.type must be 'document': an ABDM health record is a FHIR document bundle "
            "(DocumentBundle).",
        )
    ident = bundle.get("identifier")
    if not (isinstance(ident, dict) and ident.get("system") and ident.get("value")):
        sink.error(
            "Bundle.identifier",
            "core:bundle-identifier",
            "Bundle.identifier with both system and value is required for a document "
            "(bdl-9, DocumentBundle).",
        )
    ts = bundle.get("timestamp")
    if not isinstance(ts, str) or not INSTANT.fullmatch(ts):
        sink.error(
            "Bundle.timestamp",
            "core:bundle-timestamp",
            "Bundle.timestamp is required for a document and must be an instant with seconds "
            "and a time zone (bdl-10, DocumentBundle).",
        )
    if not index.entries:
        sink.error(
            "Bundle.entry",
            "core:first-entry-composition",
            "Bundle.entry is empty; a document's first entry must be its Composition.",
        )
    elif index.entries[0].resource_type != "Composition":
        sink.error(
            "Bundle.entry[0].resource",
            "core:first-entry-composition",
            "The first entry of a document bundle must be the Composition (bdl-11).",
        )
    for dup in index.duplicate_full_urls:
        sink.error(
            f"{dup.path}.fullUrl",
            "core:fullurl-unique",
            "Bundle.entry.fullUrl repeats an earlier entry's; each entry needs its own "
            "(bdl-7), or references to it are ambiguous.",
        )


def _entry(entry: Entry, index: BundleIndex, sink: IssueSink) -> None:
    if not entry.full_url:
        sink.error(
            f"{entry.path}.fullUrl",
            "core:entry-fullurl",
            "Bundle.entry.fullUrl is required in an ABDM document: references resolve by it.",
        )
    if entry.resource is None:
        sink.error(
            f"{entry.path}.resource",
            "core:entry-resource",
            "Bundle.entry.resource is required in a document bundle (bdl-5).",
        )
        return
    rtype = entry.resource_type
    if rtype not in RESOURCE_TYPES:
        sink.error(
            f"{entry.path}.resource.resourceType",
            "core:resource-type",
            "Bundle.entry.resource.resourceType must name a FHIR R4 resource type.",
        )
        return
    if entry.full_url:
        _full_url(entry, sink)
    for path, ref in iter_references(entry.resource, f"{entry.path}.resource"):
        res = index.resolve(ref, source=entry)
        if res.target is None:
            absolute = ref.startswith(("http://", "https://"))
            sink.error(
                path,
                "core:reference-resolves",
                f"{_element(rtype, path, entry)} "
                + (
                    "is an absolute URL; ABDM documents must reference entries inside the "
                    "bundle (by fullUrl)."
                    if absolute
                    else "resolves to no entry in the bundle; every reference in an ABDM "
                    "document must point to an entry's fullUrl (or a contained resource)."
                ),
            )
        elif res.how == "type-id":
            sink.warning(
                path,
                "core:reference-resolves",
                f"{_element(rtype, path, entry)} matches "
                f"{res.entry.path if res.entry else 'an entry'} "
                "only by resource type and id, not by its fullUrl; FHIR resolves references "
                "in a bundle by fullUrl.",
            )


_INDEX = re.compile(r"\[\d+\]")


def _element(resource_type: str | None, path: str, entry: Entry) -> str:
    """The element a path points at, named FHIR-style: Composition.section.entry.reference."""
    rest = path.removeprefix(f"{entry.path}.resource")
    return f"{resource_type}{_INDEX.sub('', rest)}"


def _full_url(entry: Entry, sink: IssueSink) -> None:
    url = entry.full_url or ""
    res = entry.resource or {}
    path = f"{entry.path}.fullUrl"
    if url.startswith("urn:"):
        if url.startswith("urn:uuid:") and not UUID.fullmatch(url):
            sink.error(path, "core:fullurl-form", "Bundle.entry.fullUrl is not a valid urn:uuid.")
        return
    absolute = url.startswith(("http://", "https://"))
    m = RESTFUL_ABSOLUTE.match(url)
    parts = url.split("/") if not absolute else []
    named: tuple[str, str] | None = None
    if m:
        named = (m.group(2), m.group(3))
    elif len(parts) == 2 or (len(parts) == 4 and parts[2] == "_history"):
        named = (parts[0], parts[1])
    if named is None:
        if not absolute:
            sink.warning(
                path,
                "core:fullurl-form",
                "Bundle.entry.fullUrl is neither a urn:uuid, an absolute URL, nor "
                f"{res.get('resourceType')}/<id>; receivers may not resolve references to it.",
            )
        return
    if named[0] not in RESOURCE_TYPES:
        sink.warning(
            path,
            "core:fullurl-form",
            f"Bundle.entry.fullUrl has the form Type/id, but its type is not a FHIR resource "
            f"type (the resource is {article(res.get('resourceType'))}); use "
            f"{res.get('resourceType')}/<id> or a urn:uuid.",
        )
    elif named[0] != res.get("resourceType") or named[1] != res.get("id"):
        sink.error(
            path,
            "core:fullurl-id",
            "Bundle.entry.fullUrl names a different resource type or id than the entry's "
            "resource; a RESTful fullUrl must end with the resource's type and id.",
        )


# --------------------------------------------------------------------------- Composition


def _composition(entry: Entry, index: BundleIndex, sink: IssueSink) -> None:
    comp = entry.resource or {}
    base = f"{entry.path}.resource"

    def need(name: str, ok: bool, what: str) -> None:
        if not ok:
            sink.error(f"{base}.{name}", f"core:composition-{name}", f"Composition.{name} {what}")

    need(
        "status",
        comp.get("status") in COMPOSITION_STATUS,
        "is required and must be preliminary, final, amended or entered-in-error.",
    )
    ctype = comp.get("type")
    need(
        "type",
        isinstance(ctype, dict) and bool(ctype.get("coding") or ctype.get("text")),
        "is required (the record type: a SNOMED CT code, REFERENCE.md §2.2).",
    )
    date = comp.get("date")
    need(
        "date",
        isinstance(date, str) and DATETIME.fullmatch(date) is not None,
        "is required and must be a FHIR dateTime.",
    )
    need("title", isinstance(comp.get("title"), str) and bool(comp.get("title")), "is required.")
    authors = comp.get("author")
    need("author", isinstance(authors, list) and bool(authors), "needs at least one author.")
    need(
        "section",
        isinstance(comp.get("section"), list) and bool(comp.get("section")),
        "needs at least one section: every ABDM record profile requires 1..*.",
    )
    subject = comp.get("subject")
    if not (isinstance(subject, dict) and isinstance(subject.get("reference"), str)):
        need("subject", False, "is required and must reference the Patient entry.")
    else:
        res = index.resolve(subject["reference"], source=entry)
        if res.target is not None and res.target.get("resourceType") != "Patient":
            sink.error(
                f"{base}.subject.reference",
                "core:composition-subject",
                "Composition.subject must reference a Patient; it points to "
                f"{article(res.target.get('resourceType'))}.",
            )
    for i, author in enumerate(authors if isinstance(authors, list) else ()):
        ref = author.get("reference") if isinstance(author, dict) else None
        if not isinstance(ref, str):
            continue
        res = index.resolve(ref, source=entry)
        if res.target is not None and res.target.get("resourceType") not in AUTHOR_TYPES:
            sink.error(
                f"{base}.author[{i}].reference",
                "core:composition-author",
                "Composition.author must reference a Practitioner, PractitionerRole, "
                "Organization, Patient, Device or RelatedPerson, not "
                f"{article(res.target.get('resourceType'))}.",
            )


# --------------------------------------------------------------------------- people, places


def _identifiers(res: dict[str, Any]) -> list[dict[str, Any]]:
    return [i for i in res.get("identifier") or () if isinstance(i, dict)]


def _type_codes(ident: dict[str, Any]) -> set[str]:
    coding = (ident.get("type") or {}).get("coding") or ()
    return {
        str(c.get("code"))
        for c in coding
        if isinstance(c, dict) and c.get("system") == _IG_ID_TYPES
    }


def _named(res: dict[str, Any]) -> bool:
    return any(
        isinstance(n, dict) and (n.get("text") or n.get("family") or n.get("given"))
        for n in res.get("name") or ()
    )


def _need_identifier(kind: str, res: dict[str, Any], path: str, sink: IssueSink) -> None:
    if not any(i.get("value") for i in _identifiers(res)):
        sink.error(
            f"{path}.identifier",
            f"core:{kind.lower()}-identifier",
            f"{kind}.identifier with a value is required (1..* in the IG's {kind} profile).",
        )


def _patient(res: dict[str, Any], path: str, sink: IssueSink) -> None:
    _need_identifier("Patient", res, path, sink)
    if not _named(res):
        sink.error(f"{path}.name", "core:patient-name", "Patient.name is required (name.text).")
    if "gender" in res and res["gender"] not in GENDERS:
        sink.error(
            f"{path}.gender",
            "core:patient-gender",
            "Patient.gender must be male, female, other or unknown (administrative-gender).",
        )
    if "birthDate" in res and not (
        isinstance(res["birthDate"], str) and DATE.fullmatch(res["birthDate"])
    ):
        sink.error(
            f"{path}.birthDate", "core:patient-birthdate", "Patient.birthDate must be a date."
        )
    for i, ident in enumerate(_identifiers(res)):
        types = _type_codes(ident)
        if ident.get("system") in ABHA_SYSTEMS or types & {"HIN", "ABHA"}:
            _abha(ident, types, f"{path}.identifier[{i}].value", sink)


def _abha(ident: dict[str, Any], types: set[str], path: str, sink: IssueSink) -> None:
    value = ident.get("value")
    if not isinstance(value, str):
        return
    if "@" in value:
        if not _ADDRESS.match(value):
            sink.error(
                path,
                "core:abha-address",
                "Patient.identifier.value looks like an ABHA address but is not "
                "<handle>@<suffix> (e.g. name@abdm).",
            )
        return
    if _DIGITS_AND_HYPHENS.match(value):
        digits = re.sub(r"\D", "", value)
        if len(digits) != 14:
            sink.error(
                path,
                "core:abha-number",
                "Patient.identifier.value under the ABHA system must be a 14-digit ABHA number "
                "written xx-xxxx-xxxx-xxxx.",
            )
        elif not _ABHA_NUMBER.match(value):
            sink.warning(
                path,
                "core:abha-number",
                "Patient.identifier.value: write the ABHA number as xx-xxxx-xxxx-xxxx.",
            )
        elif not luhn.is_valid(digits):
            sink.warning(
                path,
                "core:abha-number",
                "Patient.identifier.value: the ABHA number's check digit fails Luhn, which every "
                "sandbox-issued number passes (REFERENCE.md §4.1); check for a typing error.",
            )
        return
    severity = sink.error if "HIN" in types else sink.warning
    severity(
        path,
        "core:abha-number",
        "Patient.identifier.value under the ABHA system is neither an ABHA number "
        "(xx-xxxx-xxxx-xxxx) nor an ABHA address (<handle>@abdm).",
    )


def _practitioner(res: dict[str, Any], path: str, sink: IssueSink) -> None:
    _need_identifier("Practitioner", res, path, sink)
    if not _named(res):
        sink.error(f"{path}.name", "core:practitioner-name", "Practitioner.name is required.")
    for i, ident in enumerate(_identifiers(res)):
        if ident.get("system") in HPR_SYSTEMS or _type_codes(ident) & {"HPID", "HPIN"}:
            value = ident.get("value")
            if not isinstance(value, str) or "@" in value:
                continue  # an HPR id address (name@hpr.abdm)
            if not (_DIGITS_AND_HYPHENS.match(value) and len(re.sub(r"\D", "", value)) == 14):
                sink.error(
                    f"{path}.identifier[{i}].value",
                    "core:hpr-id",
                    "Practitioner.identifier.value under the HPR system must be the 14-digit "
                    "HPR id, written xx-xxxx-xxxx-xxxx (or the HPR id address name@hpr.abdm).",
                )


def _organization(res: dict[str, Any], path: str, sink: IssueSink) -> None:
    _need_identifier("Organization", res, path, sink)
    if not (isinstance(res.get("name"), str) and res["name"]):
        sink.error(f"{path}.name", "core:organization-name", "Organization.name is required.")
    for i, ident in enumerate(_identifiers(res)):
        value = ident.get("value")
        in_hfr = ident.get("system") in HFR_SYSTEMS and isinstance(value, str)
        if in_hfr and not _HFR_ID.match(str(value).strip()):
            sink.error(
                f"{path}.identifier[{i}].value",
                "core:hfr-id",
                "Organization.identifier.value under the HFR system must be the facility's "
                "HFR id: IN followed by 10 digits (e.g. IN0410000183).",
            )


_RESOURCE_RULES: dict[str, Callable[[dict[str, Any], str, IssueSink], None]] = {
    "Patient": _patient,
    "Practitioner": _practitioner,
    "Organization": _organization,
}
