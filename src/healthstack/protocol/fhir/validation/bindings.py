"""Required and extensible bindings: is a coded value in the bound value set?

``required``: a code outside the value set is an error. ``extensible``: a warning (the
IG allows other codes only where the value set has no suitable one). Codes whose system
the package cannot enumerate (SNOMED CT, LOINC, v2 tables) are checked for their system
only, and the report says so in a note; so is a value set the validator does not have.
"""

from __future__ import annotations

from typing import Any

from healthstack.protocol.fhir.validation.package import canonical
from healthstack.protocol.fhir.validation.report import IssueSink
from healthstack.protocol.fhir.validation.snapshot import ElementDef
from healthstack.protocol.fhir.validation.terminology import Terminology, Verdict


def check_binding(
    term: Terminology,
    sink: IssueSink,
    el: ElementDef,
    value: Any,
    path: str,
    t: str | None,
    pname: str,
) -> None:
    """Check ``value`` (of type ``t``) against ``el``'s required or extensible binding."""
    url = el.binding_valueset or ""
    strength = el.binding_strength
    codings: list[tuple[str | None, str | None]]
    if t == "code" and isinstance(value, str):
        verdict = term.check_code(url, value)
        _verdict(term, sink, el, path, verdict, [(None, value)], strength, url, pname)
        return
    if t == "Coding" and isinstance(value, dict):
        codings = [(value.get("system"), value.get("code"))]
    elif t == "CodeableConcept" and isinstance(value, dict):
        codings = [
            (c.get("system"), c.get("code"))
            for c in value.get("coding") or ()
            if isinstance(c, dict)
        ]
        if not codings:
            if strength == "required":
                sink.error(
                    path,
                    "binding",
                    f"{el.id} has no coding, but {pname} requires a code from "
                    f"{_vs_name(term, url)} (required binding).",
                )
            return
    elif t == "Quantity" and isinstance(value, dict) and "code" in value:
        codings = [(value.get("system"), value.get("code"))]
    else:
        return
    verdicts = [term.check_coding(url, s, c) for s, c in codings]
    if Verdict.IN in verdicts:
        return
    if Verdict.SYSTEM_ONLY in verdicts:
        verdict = Verdict.SYSTEM_ONLY
    elif Verdict.UNKNOWN in verdicts:
        verdict = Verdict.UNKNOWN
    else:
        verdict = verdicts[0]
    _verdict(term, sink, el, path, verdict, codings, strength, url, pname)


def _verdict(
    term: Terminology,
    sink: IssueSink,
    el: ElementDef,
    path: str,
    verdict: Verdict,
    codings: list[tuple[str | None, str | None]],
    strength: str | None,
    url: str,
    pname: str,
) -> None:
    name = _vs_name(term, url)
    shown = ", ".join(f"{s}|{c}" if s else f"'{c}'" for s, c in codings)
    if verdict is Verdict.IN:
        return
    if verdict is Verdict.SYSTEM_ONLY:
        systems = sorted({s for s, _ in codings if s})
        sink.info(
            path,
            "binding",
            f"{el.id}: codes from {', '.join(systems) or 'an external system'} were "
            f"checked only for their system against {name}; the IG package does not ship "
            "that code system's content.",
        )
        return
    if verdict is Verdict.UNKNOWN:
        sink.info(
            path,
            "binding",
            f"{el.id}: value set {canonical(url)} is not in the IG package or the "
            f"built-in FHIR R4 sets; its {strength} binding was not checked.",
        )
        return
    reason = (
        "none of its codings is from a system that value set draws on"
        if verdict is Verdict.WRONG_SYSTEM
        else "the code is not in it"
    )
    message = f"{el.id} ({shown}) must come from {name} ({strength} binding in {pname}); {reason}."
    if strength == "required":
        sink.error(path, "binding", message)
    else:
        sink.warning(path, "binding", message)


def _vs_name(term: Terminology, url: str) -> str:
    vs = term.valueset(url)
    return f"value set {vs.name}" if vs is not None else f"value set {canonical(url)}"
