"""Assembling one FHIR document bundle: ids, entries, the Composition, the header.

``DocumentAssembly`` holds the entries of one document as it is built. It adds the
Patient, Practitioner, Organization and Encounter first; builders add the clinical
resources through ``add`` (which gives each a fresh ``urn:uuid`` fullUrl and its IG
profile) and group their references into sections; ``finish`` puts the Composition
first and wraps everything in a ``document`` Bundle per the IG's DocumentBundle profile.
Ids come from an injected factory and times from an injected ``now``, so the same input
gives the same bundle.
"""

from __future__ import annotations

import base64
import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from healthstack.protocol.fhir.documents.model import (
    Attachment,
    Concept,
    DocumentInputError,
    Encounter,
    Organization,
    Patient,
    Practitioner,
    Quantity,
    RecordContext,
)
from healthstack.protocol.fhir.terminology import (
    ABHA_SYSTEM,
    CONFIDENTIALITY_VERY_RESTRICTED,
    ENCOUNTER_CLASS,
    HFR_SYSTEM,
    HPR_SYSTEM,
    ID_TYPE_ABHA,
    ID_TYPE_HFR,
    ID_TYPE_HPR,
    ID_TYPE_MRN,
    RFC3986,
    UCUM,
    Coding,
    facility_system,
    profile_url,
)

Resource = dict[str, Any]
IdFactory = Callable[[], uuid.UUID]


def seeded_ids(seed: int) -> IdFactory:
    """Deterministic version-4 UUIDs from a seed, for tests and reproducible demo data."""
    rng = random.Random(seed)
    return lambda: uuid.UUID(int=rng.getrandbits(128), version=4)


# --------------------------------------------------------------------------- primitives


def instant(value: datetime) -> str:
    if value.tzinfo is None or value.utcoffset() is None:
        raise DocumentInputError(
            "The document time has no time zone; pass an aware datetime (e.g. from the clock).",
            field="now",
        )
    return value.isoformat(timespec="seconds")


def date_time(value: datetime | date) -> str:
    """A FHIR dateTime: a date alone, or a time with its zone."""
    if isinstance(value, datetime):
        return instant(value)
    return value.isoformat()


def number(value: Decimal) -> int | float:
    """A FHIR decimal as JSON: integral values as integers, others as floats."""
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def coding(c: Coding) -> dict[str, str]:
    return c.as_fhir()


def concept(c: Concept) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if c.codings:
        out["coding"] = [coding(x) for x in c.codings]
    out["text"] = c.text
    return out


def coded(c: Coding, text: str | None = None) -> dict[str, Any]:
    return {"coding": [coding(c)], "text": text or c.display}


def quantity(q: Quantity) -> dict[str, Any]:
    out: dict[str, Any] = {"value": number(q.value), "unit": q.unit_display or q.unit}
    out["system"] = UCUM
    out["code"] = q.unit
    return out


def attachment(a: Attachment) -> dict[str, Any]:
    out: dict[str, Any] = {
        "contentType": a.content_type,
        "language": "en-IN",
        "data": base64.b64encode(a.data).decode("ascii"),
    }
    if a.title:
        out["title"] = a.title
    if a.created is not None:
        out["creation"] = instant(a.created)
    return out


def ref(url: str, display: str | None = None) -> dict[str, str]:
    out = {"reference": url}
    if display:
        out["display"] = display
    return out


def annotation(text: str | None) -> list[dict[str, str]] | None:
    return [{"text": text}] if text else None


def prune(resource: Resource) -> Resource:
    """Drop, at every depth, keys whose value is None or an empty list or object (FHIR
    forbids empty elements; optional inputs left out become absent elements)."""
    return {k: v for k, v in ((k, _pruned(v)) for k, v in resource.items()) if not _empty(v)}


def _pruned(value: Any) -> Any:
    if isinstance(value, dict):
        return prune(value)
    if isinstance(value, list):
        return [x for x in (_pruned(v) for v in value) if not _empty(x)]
    return value


def _empty(value: Any) -> bool:
    return value is None or value == [] or value == {}


# --------------------------------------------------------------------------- assembly


@dataclass(frozen=True, slots=True)
class Section:
    title: str
    entries: Sequence[str]
    code: Coding | None = None
    entry_type: str | None = None
    # Entries of different types in one section: (fullUrl, Reference.type) pairs.
    typed: Sequence[tuple[str, str]] = ()

    def __bool__(self) -> bool:
        return bool(self.entries or self.typed)


class DocumentAssembly:
    """The entries of one document under construction (see the module docstring)."""

    def __init__(self, context: RecordContext, *, ids: IdFactory, now: datetime) -> None:
        self.context = context
        self.now = now
        self._ids = ids
        self.bundle_id = str(ids())
        self.composition_id = str(ids())
        self._entries: list[dict[str, Any]] = []
        self.patient = self.add(_patient(context.patient, context.organization), "Patient")
        self.practitioner = self.add(_practitioner(context.practitioner), "Practitioner")
        self.organization = self.add(_organization(context.organization), "Organization")
        self.encounter: str | None = None
        self._encounter_resource: Resource | None = None
        if context.encounter is not None:
            self._encounter_resource = _encounter(
                context.encounter,
                context.organization,
                patient=self.patient,
                practitioner=self.practitioner,
                organization=self.organization,
            )
            self.encounter = self.add(self._encounter_resource, "Encounter")

    @property
    def patient_name(self) -> str:
        return self.context.patient.name

    def add(self, resource: Resource, profile: str | None) -> str:
        """Add a resource (its ``resourceType`` first) and return its fullUrl."""
        uid = str(self._ids())
        body = {k: v for k, v in resource.items() if k != "resourceType"}
        meta = {"profile": [profile_url(profile)]} if profile else None
        entry_resource = prune({"resourceType": resource["resourceType"], "id": uid, "meta": meta})
        entry_resource.update(prune(body))
        url = f"urn:uuid:{uid}"
        self._entries.append({"fullUrl": url, "resource": entry_resource})
        return url

    def subject(self) -> dict[str, str]:
        return ref(self.patient, self.patient_name)

    def encounter_ref(self) -> dict[str, str] | None:
        return ref(self.encounter) if self.encounter else None

    def author(self) -> dict[str, str]:
        return ref(self.practitioner, self.context.practitioner.name)

    def add_diagnosis(self, condition_url: str, use: Coding, rank: int) -> None:
        if self._encounter_resource is None:
            raise DocumentInputError(
                "Diagnoses belong to a visit: give the encounter with the record.",
                field="encounter",
            )
        entry = next(e for e in self._entries if e["fullUrl"] == self.encounter)
        entry["resource"].setdefault("diagnosis", []).append(
            {"condition": ref(condition_url), "use": coded(use), "rank": rank}
        )

    def finish(
        self,
        *,
        profile: str,
        type_: dict[str, Any],
        title: str,
        sections: Sequence[Section],
        encounter_required: bool = False,
    ) -> Resource:
        if encounter_required and self.encounter is None:
            raise DocumentInputError(
                f"A {title} belongs to a visit or admission: give the encounter (care "
                "context) with the record.",
                field="encounter",
            )
        present = [s for s in sections if s]
        if not present:
            raise DocumentInputError(
                f"The {title} has nothing in it: add at least one entry before saving.",
                field="sections",
            )
        composition = prune(
            {
                "resourceType": "Composition",
                "id": self.composition_id,
                "meta": {"profile": [profile_url(profile)]},
                "language": "en-IN",
                "status": "final",
                "type": type_,
                "subject": self.subject(),
                "encounter": self.encounter_ref(),
                "date": instant(self.now),
                "author": [self.author()],
                "title": title,
                # ABDM's packaging guidance: the facility attests the document.
                "attester": [
                    {
                        "mode": "official",
                        "party": ref(self.organization, self.context.organization.name),
                    }
                ],
                "custodian": ref(self.organization, self.context.organization.name),
                "section": [_section(s) for s in present],
            }
        )
        entries = [
            {"fullUrl": f"urn:uuid:{self.composition_id}", "resource": composition},
            *self._entries,
        ]
        stamp = instant(self.now)
        return {
            "resourceType": "Bundle",
            "id": self.bundle_id,
            "meta": {
                "versionId": "1",
                "lastUpdated": stamp,
                "profile": [profile_url("DocumentBundle")],
                "security": [coding(CONFIDENTIALITY_VERY_RESTRICTED)],
            },
            "identifier": {"system": RFC3986, "value": f"urn:uuid:{self.bundle_id}"},
            "type": "document",
            "timestamp": stamp,
            "entry": entries,
        }


def _section(s: Section) -> dict[str, Any]:
    out: dict[str, Any] = {"title": s.title}
    if s.code is not None:
        out["code"] = {"coding": [coding(s.code)], "text": s.title}
    entry: list[dict[str, str]] = []
    for url in s.entries:
        item = {"reference": url}
        if s.entry_type:
            item["type"] = s.entry_type
        entry.append(item)
    entry.extend({"reference": url, "type": type_} for url, type_ in s.typed)
    out["entry"] = entry
    return out


# --------------------------------------------------------------------------- header resources


def _identifier(type_: Coding, system: str, value: str) -> dict[str, Any]:
    return {"type": coded(type_), "system": system, "value": value}


def _patient(p: Patient, org: Organization) -> Resource:
    identifiers = []
    if p.abha_number:
        identifiers.append(_identifier(ID_TYPE_ABHA, ABHA_SYSTEM, p.abha_number))
    if p.abha_address:
        ident = _identifier(ID_TYPE_ABHA, ABHA_SYSTEM, p.abha_address)
        ident["type"]["text"] = "ABHA address"
        identifiers.append(ident)
    if p.mrn:
        identifiers.append(_identifier(ID_TYPE_MRN, facility_system(org.hfr_id, "mrn"), p.mrn))
    birth: str | None = None
    if isinstance(p.birth_date, int):
        birth = f"{p.birth_date:04d}"
    elif p.birth_date is not None:
        birth = p.birth_date.isoformat()
    return {
        "resourceType": "Patient",
        "identifier": identifiers,
        "name": [{"text": p.name}],
        "gender": p.gender,
        "birthDate": birth,
    }


def _practitioner(p: Practitioner) -> Resource:
    return {
        "resourceType": "Practitioner",
        "identifier": [_identifier(ID_TYPE_HPR, HPR_SYSTEM, p.hpr_id)],
        "name": [{"text": p.name}],
    }


def _organization(o: Organization) -> Resource:
    return {
        "resourceType": "Organization",
        "identifier": [_identifier(ID_TYPE_HFR, HFR_SYSTEM, o.hfr_id)],
        "name": o.name,
    }


def _encounter(
    e: Encounter, org: Organization, *, patient: str, practitioner: str, organization: str
) -> Resource:
    period = {"start": instant(e.start)}
    if e.end is not None:
        period["end"] = instant(e.end)
    return {
        "resourceType": "Encounter",
        "identifier": [
            {"system": facility_system(org.hfr_id, "care-context"), "value": e.care_context}
        ],
        "status": "finished" if e.end is not None else "in-progress",
        "class": coding(ENCOUNTER_CLASS[e.kind]),
        "subject": ref(patient),
        "participant": [{"individual": ref(practitioner)}],
        "period": period,
        "serviceProvider": ref(organization, org.name),
    }
