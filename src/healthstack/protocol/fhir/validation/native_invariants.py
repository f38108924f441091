"""Native Python versions of the invariants that recur in every ABDM bundle.

Each entry pairs the exact FHIRPath expression the IG's snapshots carry with a function
that gives the same answer on FHIR JSON. ``invariants.InvariantEngine`` uses a native
rule only when a profile's expression is that exact text; anything else goes to
fhirpathpy. Why native: ele-1 uses ``hasValue()``, which fhirpathpy does not implement,
and the interpreter costs 20-300 us per evaluation, which would dominate validation
(tests/unit/records/test_fhir_validation_invariants.py checks each against fhirpathpy).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from healthstack.protocol.fhir.validation.references import iter_references
from healthstack.protocol.fhir.validation.snapshot import Constraint

Native = Callable[[Any, dict[str, Any]], bool]


def _has_value(node: Any) -> bool:
    if isinstance(node, dict):
        return any(k != "id" for k in node)
    return node not in (None, "", [])


def _ext_1(node: Any, _resource: dict[str, Any]) -> bool:
    if not isinstance(node, dict):
        return True
    has_value = any(k.startswith("value") for k in node)
    return bool(node.get("extension")) != has_value


def _contained(resource: Any) -> list[dict[str, Any]]:
    items = resource.get("contained") if isinstance(resource, dict) else None
    return [c for c in items or () if isinstance(c, dict)]


def _dom_2(node: Any, _r: dict[str, Any]) -> bool:
    return not any(c.get("contained") for c in _contained(node))


def _dom_3(node: Any, _r: dict[str, Any]) -> bool:
    contained = _contained(node)
    if not contained:
        return True
    refs = {ref for _, ref in iter_references(node, "")}
    if "#" in refs:
        return True
    return all(f"#{c.get('id')}" in refs for c in contained)


def _dom_4(node: Any, _r: dict[str, Any]) -> bool:
    for c in _contained(node):
        meta = c.get("meta") or {}
        if meta.get("versionId") is not None or meta.get("lastUpdated") is not None:
            return False
    return True


def _dom_5(node: Any, _r: dict[str, Any]) -> bool:
    return not any((c.get("meta") or {}).get("security") for c in _contained(node))


def _dom_6(node: Any, _r: dict[str, Any]) -> bool:
    text = node.get("text") if isinstance(node, dict) else None
    return isinstance(text, dict) and bool(text.get("div"))


def _entries(bundle: Any) -> list[dict[str, Any]]:
    items = bundle.get("entry") if isinstance(bundle, dict) else None
    return [e for e in items or () if isinstance(e, dict)]


def _bdl_3(node: Any, _r: dict[str, Any]) -> bool:
    wants = node.get("type") in ("batch", "transaction", "history")
    return all(("request" in e) == wants for e in _entries(node))


def _bdl_4(node: Any, _r: dict[str, Any]) -> bool:
    wants = node.get("type") in ("batch-response", "transaction-response", "history")
    return all(("response" in e) == wants for e in _entries(node))


def _bdl_7(node: Any, _r: dict[str, Any]) -> bool:
    if node.get("type") == "history":
        return True
    seen: set[tuple[str, Any]] = set()
    for e in _entries(node):
        if "fullUrl" not in e:
            continue
        res = e.get("resource")
        version = (res.get("meta") or {}).get("versionId") if isinstance(res, dict) else None
        key = (e["fullUrl"], version)
        if key in seen:
            return False
        seen.add(key)
    return True


def _has(node: Any, key: str) -> bool:
    return isinstance(node, dict) and node.get(key) not in (None, "", [], {})


def _has_choice(node: Any, prefix: str) -> bool:
    return isinstance(node, dict) and any(
        k.startswith(prefix) and k[len(prefix) : len(prefix) + 1].isupper() for k in node
    )


def _first_is(node: Any, resource_type: str) -> bool:
    entries = _entries(node)
    first = entries[0].get("resource") if entries else None
    return isinstance(first, dict) and first.get("resourceType") == resource_type


def _document_identifier(node: Any, _r: dict[str, Any]) -> bool:
    ident = node.get("identifier") if isinstance(node, dict) else None
    return node.get("type") != "document" or (_has(ident, "system") and _has(ident, "value"))


# key -> (the exact expression the native rule implements, the rule)
NATIVE: dict[str, tuple[str, Native]] = {
    "bdl-1": (
        "total.empty() or (type = 'searchset') or (type = 'history')",
        lambda n, _r: "total" not in n or n.get("type") in ("searchset", "history"),
    ),
    "bdl-2": (
        "entry.search.empty() or (type = 'searchset')",
        lambda n, _r: n.get("type") == "searchset" or not any("search" in e for e in _entries(n)),
    ),
    "bdl-5": (
        "resource.exists() or request.exists() or response.exists()",
        lambda n, _r: any(_has(n, k) for k in ("resource", "request", "response")),
    ),
    "bdl-8": (
        "fullUrl.contains('/_history/').not()",
        lambda n, _r: "/_history/" not in str(n.get("fullUrl", "")),
    ),
    "bdl-9": (
        "type = 'document' implies (identifier.system.exists() and identifier.value.exists())",
        _document_identifier,
    ),
    "bdl-10": (
        "type = 'document' implies (timestamp.hasValue())",
        lambda n, _r: n.get("type") != "document" or _has(n, "timestamp"),
    ),
    "bdl-11": (
        "type = 'document' implies entry.first().resource.is(Composition)",
        lambda n, _r: n.get("type") != "document" or _first_is(n, "Composition"),
    ),
    "bdl-12": (
        "type = 'message' implies entry.first().resource.is(MessageHeader)",
        lambda n, _r: n.get("type") != "message" or _first_is(n, "MessageHeader"),
    ),
    "cmp-1": (
        "text.exists() or entry.exists() or section.exists()",
        lambda n, _r: any(_has(n, k) for k in ("text", "entry", "section")),
    ),
    "cmp-2": (
        "emptyReason.empty() or entry.empty()",
        lambda n, _r: not (_has(n, "emptyReason") and _has(n, "entry")),
    ),
    "obs-6": (
        "dataAbsentReason.empty() or value.empty()",
        lambda n, _r: not (_has(n, "dataAbsentReason") and _has_choice(n, "value")),
    ),
    "ele-1": ("hasValue() or (children().count() > id.count())", lambda n, _r: _has_value(n)),
    "ext-1": ("extension.exists() != value.exists()", _ext_1),
    "dom-2": ("contained.contained.empty()", _dom_2),
    "dom-3": ("", _dom_3),  # its long expression is matched by prefix below
    "dom-4": ("contained.meta.versionId.empty() and contained.meta.lastUpdated.empty()", _dom_4),
    "dom-5": ("contained.meta.security.empty()", _dom_5),
    "dom-6": ("text.`div`.exists()", _dom_6),
    "bdl-3": (
        "entry.all(request.exists() = (%resource.type = 'batch' or %resource.type = "
        "'transaction' or %resource.type = 'history'))",
        _bdl_3,
    ),
    "bdl-4": (
        "entry.all(response.exists() = (%resource.type = 'batch-response' or %resource.type = "
        "'transaction-response' or %resource.type = 'history'))",
        _bdl_4,
    ),
    "bdl-7": (
        "(type = 'history') or entry.where(fullUrl.exists()).select(fullUrl&resource.meta."
        "versionId).isDistinct()",
        _bdl_7,
    ),
}


def _coded(cc: Any, system: str, codes: tuple[str, ...]) -> bool:
    """``cc.coding.where(system = S and code in codes).exists()``"""
    if not isinstance(cc, dict):
        return False
    return any(
        isinstance(c, dict) and c.get("system") == system and c.get("code") in codes
        for c in cc.get("coding") or ()
    )


def _any(*keys: str) -> Native:
    return lambda n, _r: isinstance(n, dict) and any(_has(n, k) for k in keys)


_AIT_VER = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
_CON_VER = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
_CON_CLIN = "http://terminology.hl7.org/CodeSystem/condition-clinical"


def _ait_refuted(n: Any) -> bool:
    return _coded(n.get("verificationStatus"), _AIT_VER, ("entered-in-error",))


def _con_refuted(n: Any) -> bool:
    return _coded(n.get("verificationStatus"), _CON_VER, ("entered-in-error",))


def _con_3(n: Any, _r: dict[str, Any]) -> bool:
    # category.select($this='problem-list-item') compares CodeableConcepts with a string:
    # it yields false per category, never empty, so only an absent category passes there.
    return _has(n, "clinicalStatus") or _con_refuted(n) or not _has(n, "category")


def _obs_7(n: Any, resource: dict[str, Any]) -> bool:
    if not _has_choice(n, "value"):
        return True
    own = [c for c in (resource.get("code") or {}).get("coding") or () if isinstance(c, dict)]
    for comp in n.get("component") or ():
        codes = (comp.get("code") or {}).get("coding") or () if isinstance(comp, dict) else ()
        if any(c in own for c in codes):
            return False
    return True


def _app_3(n: Any, _r: dict[str, Any]) -> bool:
    both = _has(n, "start") and _has(n, "end")
    return both or n.get("status") in ("proposed", "cancelled", "waitlist")


def _app_4(n: Any, _r: dict[str, Any]) -> bool:
    return not _has(n, "cancelationReason") or n.get("status") in ("no-show", "cancelled")


NATIVE.update(
    {
        "ait-1": (
            f"verificationStatus.coding.where(system = '{_AIT_VER}' and code = "
            "'entered-in-error').exists() or clinicalStatus.exists()",
            lambda n, _r: _ait_refuted(n) or _has(n, "clinicalStatus"),
        ),
        "ait-2": (
            f"verificationStatus.coding.where(system = '{_AIT_VER}' and code = "
            "'entered-in-error').empty() or clinicalStatus.empty()",
            lambda n, _r: not _ait_refuted(n) or not _has(n, "clinicalStatus"),
        ),
        "app-1": ("type.exists() or actor.exists()", _any("type", "actor")),
        "app-2": (
            "start.exists() = end.exists()",
            lambda n, _r: _has(n, "start") == _has(n, "end"),
        ),
        "app-3": (
            "(start.exists() and end.exists()) or (status in ('proposed' | 'cancelled' | "
            "'waitlist'))",
            _app_3,
        ),
        "app-4": (
            "Appointment.cancelationReason.exists() implies (Appointment.status='no-show' or "
            "Appointment.status='cancelled')",
            _app_4,
        ),
        "con-1": ("summary.exists() or assessment.exists()", _any("summary", "assessment")),
        "con-2": ("code.exists() or detail.exists()", _any("code", "detail")),
        "con-3": (
            f"clinicalStatus.exists() or verificationStatus.coding.where(system='{_CON_VER}' "
            "and code = 'entered-in-error').exists() or category.select($this='problem-list-"
            "item').empty()",
            _con_3,
        ),
        "con-4": (
            f"abatement.empty() or clinicalStatus.coding.where(system='{_CON_CLIN}' and "
            "(code='resolved' or code='remission' or code='inactive')).exists()",
            lambda n, _r: (
                not _has_choice(n, "abatement")
                or _coded(n.get("clinicalStatus"), _CON_CLIN, ("resolved", "remission", "inactive"))
            ),
        ),
        "con-5": (
            f"verificationStatus.coding.where(system='{_CON_VER}' and code='entered-in-error')"
            ".empty() or clinicalStatus.empty()",
            lambda n, _r: not _con_refuted(n) or not _has(n, "clinicalStatus"),
        ),
        "cpl-3": (
            "detail.empty() or reference.empty()",
            lambda n, _r: not (_has(n, "detail") and _has(n, "reference")),
        ),
        "fhs-1": (
            "age.empty() or born.empty()",
            lambda n, _r: not (_has_choice(n, "age") and _has_choice(n, "born")),
        ),
        "fhs-2": (
            "age.exists() or estimatedAge.empty()",
            lambda n, _r: _has_choice(n, "age") or not _has(n, "estimatedAge"),
        ),
        "imm-1": ("documentType.exists() or reference.exists()", _any("documentType", "reference")),
        "imr-1": (
            "vaccineCode.exists() or targetDisease.exists()",
            _any("vaccineCode", "targetDisease"),
        ),
        "obs-3": ("low.exists() or high.exists() or text.exists()", _any("low", "high", "text")),
        "obs-7": (
            "value.empty() or component.code.where(coding.intersect(%resource.code.coding)"
            ".exists()).empty()",
            _obs_7,
        ),
        "org-1": (
            "(identifier.count() + name.count()) > 0",
            _any("identifier", "name"),
        ),
        "org-2": ("where(use = 'home').empty()", lambda n, _r: n.get("use") != "home"),
        "org-3": ("where(use = 'home').empty()", lambda n, _r: n.get("use") != "home"),
        "pat-1": (
            "name.exists() or telecom.exists() or address.exists() or organization.exists()",
            _any("name", "telecom", "address", "organization"),
        ),
        "prr-1": (
            "orderDetail.empty() or code.exists()",
            lambda n, _r: not _has(n, "orderDetail") or _has(n, "code"),
        ),
    }
)


_DOM_3_PREFIX = "contained.where((('#'+id in (%resource.descendants().reference"


def native_for(c: Constraint) -> Native | None:
    entry = NATIVE.get(c.key)
    if entry is None or c.expression is None:
        return None
    expected, fn = entry
    if c.key == "dom-3":
        return fn if c.expression.startswith(_DOM_3_PREFIX) else None
    return fn if c.expression == expected else None
