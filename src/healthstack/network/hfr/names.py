"""Facility names: ABDM's rules for a new name, and the keys names are compared by.

Rules for a name registered in HFR (ABDM: "an alphanumeric string starting with a
letter"; REFERENCE.md has no finer rule, so HealthStack fixes these and tells the
operator which one failed):

1. it is given, 3 to 100 characters (spaces collapsed);
2. it starts with a letter;
3. it uses English letters, digits, spaces and ``. , - ( ) '`` only: anything else is a
   special character ABDM refuses (the message names the characters found);
4. no other facility holds the same ``name_key`` (service.py checks that against the
   registry: a rejected facility gives its name up).

Comparing names (the state master with HFR) needs more than case-folding: the same
sub-centre is "SC Khag", "Sub Centre Khag", "Sub-Centre, Khag" or "AB-HWC Khag".
``canonical_tokens`` folds the usual abbreviations and spellings to one token each
(``PHRASES``); ``distinctive_key`` then drops the words every facility of a type
shares, so that within one district and type "PHC Khag" and "PHC Magam" are compared
as "khag" and "magam", not as two nearly equal strings.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

from healthstack.kernel.errors import ValidationFailed
from healthstack.network.hfr.enums import FACILITY_TYPE_LABELS, FacilityType

NAME_MIN = 3
NAME_MAX = 100
_ALLOWED_PUNCTUATION = ".,-()'"
_SPACES = re.compile(r"\s+")


def clean_name(raw: str) -> str:
    return _SPACES.sub(" ", raw or "").strip()


def check_facility_name(raw: str) -> str:
    """The cleaned name, or ``ValidationFailed`` naming the rule it breaks."""
    name = clean_name(raw)
    if not name:
        raise ValidationFailed(
            "Enter the facility's name as it appears on its board.",
            field="name",
            code="HS-1301",
        )
    if not NAME_MIN <= len(name) <= NAME_MAX:
        raise ValidationFailed(
            f"A facility name has {NAME_MIN} to {NAME_MAX} characters; this one has "
            f"{len(name)}. Shorten or complete it.",
            field="name",
            code="HS-1302",
        )
    if not ("a" <= name[0].lower() <= "z"):
        raise ValidationFailed(
            "A facility name must start with a letter (ABDM's rule). Move the number or "
            "sign at the start to later in the name, or drop it.",
            field="name",
            code="HS-1303",
        )
    bad = sorted(
        {c for c in name if not (c.isascii() and (c.isalnum() or c == " "))}
        - set(_ALLOWED_PUNCTUATION)
    )
    if bad:
        shown = " ".join(f"'{c}'" for c in bad)
        raise ValidationFailed(
            f"ABDM does not accept special characters in a facility name; this one has "
            f"{shown}. Use English letters, digits, spaces and . , - ( ) ' only (write "
            "'and' for '&').",
            field="name",
            code="HS-1304",
        )
    return name


def name_key(name: str) -> str:
    """Case, spacing and punctuation folded: what "the same name" means for the
    uniqueness rule ("P.H.C. Khag" and "PHC  khag" are the same name)."""
    value = clean_name(name).lower().replace("&", " and ")
    value = re.sub(r"[.']", "", value)  # P.H.C. -> phc, Women's -> womens
    value = re.sub(r"[^a-z0-9]+", " ", value)
    return value.strip()


# Abbreviations and spellings -> one token. Keys are ``name_key`` token runs.
PHRASES: dict[str, str] = {
    # sub-centre / health and wellness centre (Ayushman Arogya Mandir)
    "sub centre": "sc",
    "sub center": "sc",
    "subcentre": "sc",
    "subcenter": "sc",
    "health sub centre": "sc",
    "health sub center": "sc",
    "hsc": "sc",
    "sc": "sc",
    "health and wellness centre": "hwc",
    "health and wellness center": "hwc",
    "health wellness centre": "hwc",
    "health wellness center": "hwc",
    "ab hwc": "hwc",
    "abhwc": "hwc",
    "hwc": "hwc",
    "ayushman arogya mandir": "hwc",
    "aam": "hwc",
    # primary and community health centres
    "primary health centre": "phc",
    "primary health center": "phc",
    "phc": "phc",
    "urban primary health centre": "uphc",
    "urban primary health center": "uphc",
    "uphc": "uphc",
    "community health centre": "chc",
    "community health center": "chc",
    "chc": "chc",
    # hospitals
    "sub district hospital": "sdh",
    "subdistrict hospital": "sdh",
    "sdh": "sdh",
    "district hospital": "dh",
    "dh": "dh",
    "government medical college": "gmc",
    "govt medical college": "gmc",
    "medical college hospital": "gmc",
    "medical college": "gmc",
    "gmc": "gmc",
    "hospital": "hospital",
    "hosp": "hospital",
    # the rest
    "government": "govt",
    "govt": "govt",
    "gov": "govt",
    "dispensary": "dispensary",
    "disp": "dispensary",
    "centre": "centre",
    "center": "centre",
    "ctr": "centre",
    "laboratory": "lab",
    "lab": "lab",
    "diagnostic laboratory": "lab",
    "imaging centre": "imaging",
    "imaging center": "imaging",
    "imaging": "imaging",
    "radiology centre": "imaging",
    "diagnostic imaging centre": "imaging",
    "pharmacy": "pharmacy",
    "chemist": "pharmacy",
    "clinic": "clinic",
    "polyclinic": "clinic",
}
_NUMBERS = re.compile(r"\d+")
_LONGEST = max(len(p.split()) for p in PHRASES)

# Words every facility of a type shares; dropped before names within one district and
# type are compared.
GENERIC = frozenset(
    {
        "sc",
        "hwc",
        "phc",
        "uphc",
        "chc",
        "sdh",
        "dh",
        "gmc",
        "govt",
        "hospital",
        "dispensary",
        "centre",
        "and",
        "of",
        "the",
        "at",
    }
)


def canonical_tokens(name: str) -> list[str]:
    tokens = name_key(name).split()
    out: list[str] = []
    i = 0
    while i < len(tokens):
        for size in range(min(_LONGEST, len(tokens) - i), 0, -1):
            phrase = " ".join(tokens[i : i + size])
            if phrase in PHRASES:
                out.append(PHRASES[phrase])
                i += size
                break
        else:
            out.append(tokens[i])
            i += 1
    return out


def distinctive_key(name: str) -> str:
    """The words that tell one facility from another of its type ("khag"); the whole
    canonical name when nothing else is left ("dh" for "District Hospital")."""
    tokens = canonical_tokens(name)
    kept = [t for t in tokens if t not in GENERIC]
    return " ".join(kept or tokens)


def numbers(key: str) -> tuple[str, ...]:
    """The numbers in a name ("SC Ward 3" -> ("3",)): names that differ in them are
    different facilities, so the reconciliation compares only names with equal ones."""
    return tuple(_NUMBERS.findall(key))


def similarity(a: str, b: str, *, floor: float = 0.0) -> float:
    """How alike two distinctive keys are, 0..1 (difflib's ratio, also over the words
    in sorted order so "khag new" meets "new khag"). Names with different numbers are
    different facilities (0). Returns 0 as soon as the cheap upper bounds show the pair
    cannot reach ``floor``: both word orders share them."""
    if a == b:
        return 1.0
    if numbers(a) != numbers(b):
        return 0.0  # "SC Ward 3" is not "SC Ward 7", however alike the letters
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    if matcher.real_quick_ratio() < floor or matcher.quick_ratio() < floor:
        return 0.0
    score = matcher.ratio()
    sa, sb = " ".join(sorted(a.split())), " ".join(sorted(b.split()))
    if (sa, sb) != (a, b):
        score = max(score, SequenceMatcher(None, sa, sb, autojunk=False).ratio())
    return score


# Canonical tokens that name a facility type (in a master list's "type" column).
TYPE_TOKENS: dict[str, FacilityType] = {
    "sc": FacilityType.SUB_CENTRE,
    "hwc": FacilityType.SUB_CENTRE,
    "phc": FacilityType.PHC,
    "uphc": FacilityType.PHC,
    "chc": FacilityType.CHC,
    "sdh": FacilityType.SUB_DISTRICT_HOSPITAL,
    "dh": FacilityType.DISTRICT_HOSPITAL,
    "gmc": FacilityType.MEDICAL_COLLEGE_HOSPITAL,
    "dispensary": FacilityType.DISPENSARY,
    "lab": FacilityType.LABORATORY,
    "imaging": FacilityType.IMAGING_CENTRE,
    "pharmacy": FacilityType.PHARMACY,
    "clinic": FacilityType.CLINIC,
}
_TYPE_BY_LABEL = {name_key(label): t for t, label in FACILITY_TYPE_LABELS.items()}


def facility_type_from_text(raw: str) -> FacilityType | None:
    """A facility type from how a state list writes it ("SC", "Sub Centre", "SC/HWC",
    "District Hospital", "sub_centre", ...); None when it names none or several."""
    value = (raw or "").strip().lower()
    if value in FacilityType._value2member_map_:
        return FacilityType(value)
    if name_key(value) in _TYPE_BY_LABEL:
        return _TYPE_BY_LABEL[name_key(value)]
    found = {TYPE_TOKENS[t] for t in canonical_tokens(value) if t in TYPE_TOKENS}
    return found.pop() if len(found) == 1 else None
