"""Registration-desk search for ABHA accounts, and the audited read of one profile.

Four ways to find someone, one per search:

- by ABHA number (``91-1234-5678-9012`` or the 14 digits);
- by ABHA address, with or without the ``@<suffix>``, in any case; the default
  ``<14 digits>@<suffix>`` resolves to the number;
- by mobile: every account linked to it (a family often shares one);
- by demographics: a name together with the year of birth (± a tolerance) or the
  district LGD code, optionally the gender.

Lists show masked entries only (``XX-XXXX-XXXX-1234``, ``R*** K****``,
``XXXXXX1234``) with the account's public id; the full profile is a separate read
(``get_account``), audited on its own. Deleted accounts never appear; deactivated ones
appear and say so. Every search is audited (``network.abha.search``, purpose
IDENTITY_VERIFICATION): one row per account shown, or one row when nothing matched.

Name search at crores of rows. ``abha_account`` has two indexes for it:
``ix_abha_account_demographics (district_lgd, year_of_birth, gender)`` and
``ix_abha_account_name_key (name_key)``. The candidate query always leads with one of
them:

- district *and* year given: the demographics index narrows to one district and a few
  birth years (about 26k rows at full J&K scale); inside that, each name word may match
  any word of the recorded name (so a surname alone finds people);
- otherwise (name + year, or name + district): the first name word must begin the
  recorded name, and a handful of index range probes (``name_key >= 'moh' AND
  name_key < 'moi'``, one per spelling variant) read only those names.

Spelling tolerance works in two stages, without a fuzzy-matching dependency: the SQL
stage probes the variants of each word's first syllable (``Yusuf``/``Yousuf``,
``Qadir``/``Kadir``, ``Ghulam``/``Gulam``) plus a table of abbreviations and
transliterations a phonetic key misses (``Mohd``/``Mohammad``, ``Gh.``); the Python
stage scores every candidate word by word (exact, known variant, phonetic skeleton,
typed prefix, then ``difflib`` similarity) and keeps the good ones, best first. The
SQL stage stops after ``CANDIDATE_CAP`` rows: more than that means the criteria are too
broad, and the desk is told which detail to add instead of waiting on a slow query.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session, selectinload

from healthstack.kernel.audit import audited, record_access
from healthstack.kernel.clock import Clock
from healthstack.kernel.context import RequestContext
from healthstack.kernel.errors import NotFound, ValidationFailed
from healthstack.kernel.ids import looks_like_abha_number, normalise_mobile, parse_abha_number
from healthstack.network.abha.models import AbhaAccount, AbhaAddress
from healthstack.network.abha.names import name_key

MAX_RESULTS = 50
# The SQL stage reads at most this many candidate names; beyond it the search is too broad.
CANDIDATE_CAP = 2000
DEFAULT_YEAR_TOLERANCE = 2
MAX_YEAR_TOLERANCE = 5
# Per-word and overall similarity a candidate needs to be shown.
MIN_WORD_SCORE = 0.8
MIN_SCORE = 0.85

VISIBLE_STATUSES = ("ACTIVE", "DEACTIVATED")
NO_SUCH_ACCOUNT = "No ABHA has this id (it may have been deleted). Search for the person again."
NO_MATCH_HINT = {
    "number": "No ABHA has this number. Check the digits on the card, or search by mobile.",
    "address": "No ABHA has this address. Check the spelling, or search by ABHA Number or mobile.",
    "mobile": "No ABHA is linked to this mobile. Try the ABHA Number, or create a new ABHA.",
    "demographics": "Nobody matches. Check the spelling, widen the year range, try the "
    "district, or search by mobile.",
}

# Titles people type but UIDAI names do not carry.
_HONORIFICS = frozenset(
    {"smt", "shri", "shree", "sri", "mr", "mrs", "ms", "miss", "dr", "late", "janab"}
)

# Abbreviations and transliterations a phonetic key misses. Each group is one name.
_VARIANT_GROUPS: tuple[frozenset[str], ...] = tuple(
    frozenset(g.split())
    for g in (
        "mohammad mohammed muhammad mohamad mohamed muhamad mohmad mohd md mhd mohd",
        "ghulam gulam gh",
        "abdul abd abdool",
        "syed sayed sayyed sayyid saiyed sy",
        "sheikh shaikh shiekh sheik shk sk",
        "kumar kr",
        "kumari kum km",
        "devi debi",
        "kaur kour",
        "singh sing",
        "mir meer",
        "bhat bhatt butt bat",
        "yusuf yousuf yousaf yosuf yousef",
        "farooq farook faruq farooque",
        "showkat shaukat shoukat shawkat",
        "parvez pervez parvaiz parvaz",
        "iqbal ikbal",
        "mushtaq mustaq",
        "ishfaq ishfaque",
        "qadir kadir",
        "qureshi kureshi",
        "zahoor zahur",
        "rafiq rafeeq rafik",
        "bashir basheer",
        "nazir nazeer",
        "rashid rasheed",
        "hamid hameed",
        "majid majeed",
        "shafi shafee",
        "lakshmi laxmi",
        "chaudhary choudhary chaudhry chowdhury",
        "sharma sarma",
    )
)
_VARIANTS: dict[str, frozenset[str]] = {w: g for g in _VARIANT_GROUPS for w in g}

_VOWELS = frozenset("aeiou")
# The vowel clusters a first syllable is spelt with in Indian names written in English.
_VOWEL_CLUSTERS = ("a", "e", "i", "o", "u", "aa", "ee", "oo", "ou", "au", "ai", "ei", "ie", "ua")
# Initial consonants written either way.
_ONSET_SWAPS = {
    "k": ("q",),
    "q": ("k",),
    "v": ("w",),
    "w": ("v",),
    "z": ("j",),
    "j": ("z",),
    "f": ("ph",),
    "ph": ("f",),
}
# An aspirated onset is often written without its h (Ghulam/Gulam, Bhat/Bat).
_ASPIRATES = frozenset({"gh", "kh", "bh", "dh", "th", "jh", "sh"})


# --------------------------------------------------------------------------- criteria


@dataclass(frozen=True)
class SearchCriteria:
    number: str | None = None
    address: str | None = None
    mobile: str | None = None
    name: str | None = None
    gender: str | None = None
    year_of_birth: int | None = None
    year_tolerance: int = DEFAULT_YEAR_TOLERANCE
    district_lgd: int | None = None
    limit: int = MAX_RESULTS
    # Paging: how many of the ordered matches to skip.
    offset: int = 0


@dataclass(frozen=True)
class SearchHit:
    account: AbhaAccount
    score: float | None = None


@dataclass
class SearchResult:
    mode: str  # number | address | mobile | demographics
    hits: list[SearchHit] = field(default_factory=list)
    # Every match, not only this page's: a name search scores at most CANDIDATE_CAP
    # candidates anyway, and a mobile's count reads its index.
    total: int = 0
    offset: int = 0


def _blank(value: str | None) -> bool:
    return value is None or not value.strip()


def search_mode(criteria: SearchCriteria) -> str:
    """Which search the criteria ask for; refuses none, several, or too broad."""
    given = [
        mode
        for mode, value in (
            ("number", criteria.number),
            ("address", criteria.address),
            ("mobile", criteria.mobile),
            ("demographics", criteria.name),
        )
        if not _blank(value)
    ]
    demographic_filters = (
        criteria.gender is not None
        or criteria.year_of_birth is not None
        or criteria.district_lgd is not None
    )
    if not given:
        if demographic_filters:
            raise ValidationFailed(
                "Add the name: gender, year of birth and district only narrow a name search.",
                field="name",
                code="HS-1306",
            )
        raise ValidationFailed(
            "Say whom to look for: an ABHA number, an ABHA address, a mobile number, or a "
            "name with the year of birth or the district.",
            code="HS-1301",
        )
    if len(given) > 1:
        raise ValidationFailed(
            "Search by one thing at a time: the ABHA number, the ABHA address, the mobile "
            "number, or the name.",
            code="HS-1302",
        )
    mode = given[0]
    if mode != "demographics" and demographic_filters:
        raise ValidationFailed(
            "Gender, year of birth and district go with a name search only. Remove them, "
            "or search by name instead.",
            code="HS-1302",
        )
    if mode == "demographics":
        if criteria.year_of_birth is None and criteria.district_lgd is None:
            raise ValidationFailed(
                "A name alone matches too many people. Add the year of birth or the "
                "district (or both).",
                field="name",
                code="HS-1303",
            )
        if (
            len(_query_words(criteria.name or "")) == 0
            or len(name_key(criteria.name or "").replace(" ", "")) < 2
        ):
            raise ValidationFailed(
                "Type at least two letters of the name (in English letters).",
                field="name",
                code="HS-1305",
            )
    if not 0 <= criteria.offset <= CANDIDATE_CAP:
        raise ValidationFailed(
            f"The page starts at a match from 0 to {CANDIDATE_CAP}. Start the search again.",
            field="offset",
            code="HS-1308",
        )
    if not 0 <= criteria.year_tolerance <= MAX_YEAR_TOLERANCE:
        raise ValidationFailed(
            f"The year range can be 0 to {MAX_YEAR_TOLERANCE} years either side.",
            field="year_tolerance",
            code="HS-1307",
        )
    return mode


# --------------------------------------------------------------------------- masking


def mask_name(name: str) -> str:
    """``"Ravi Kumar"`` -> ``"R*** K****"``: the initials stay, the rest is starred."""
    return " ".join(w[0] + "*" * (len(w) - 1) for w in name.split())


# --------------------------------------------------------------------------- lookups
# Unaudited building blocks: every caller below (and abha/card.py) audits around them.


def _visible() -> ColumnElement[bool]:
    return and_(AbhaAccount.status.in_(VISIBLE_STATUSES), AbhaAccount.deleted_at.is_(None))


def lookup_by_number(session: Session, digits: str) -> AbhaAccount | None:
    return session.scalar(select(AbhaAccount).where(AbhaAccount.abha_number == digits, _visible()))


def find_account(session: Session, *, public_id: uuid.UUID) -> AbhaAccount | None:
    return session.scalar(
        select(AbhaAccount)
        .options(selectinload(AbhaAccount.addresses))
        .where(AbhaAccount.public_id == public_id, _visible())
    )


def split_address(raw: str, *, suffix: str) -> str:
    """The stored handle of an ABHA address (lower case, no suffix), or the 14 digits
    of a default address. Refuses another registry's suffix and malformed input."""
    value = (raw or "").strip().lower()
    handle, at, given_suffix = value.partition("@")
    if at and given_suffix != suffix.lower():
        raise ValidationFailed(
            f"ABHA addresses in this registry end in @{suffix}. Check the address on the "
            "card or in the ABHA app, or search by ABHA number instead.",
            field="address",
            code="HS-1310",
        )
    if looks_like_abha_number(handle):
        return parse_abha_number(handle).digits
    if not re.fullmatch(r"[a-z0-9._]{1,32}", handle):
        raise ValidationFailed(
            "An ABHA address has letters, digits, '.' or '_' before the @ (for example "
            f"ravi.kumar@{suffix}). Check it and type it again.",
            field="address",
            code="HS-1311",
        )
    return handle


def lookup_by_address(session: Session, raw: str, *, suffix: str) -> AbhaAccount | None:
    handle = split_address(raw, suffix=suffix)
    if handle.isdigit() and len(handle) == 14:
        return lookup_by_number(session, handle)
    return session.scalar(
        select(AbhaAccount)
        .join(AbhaAddress, AbhaAddress.account_id == AbhaAccount.id)
        .where(AbhaAddress.handle == handle, _visible())
    )


def preferred_address(account: AbhaAccount, *, suffix: str) -> str:
    """The preferred ABHA address with its suffix, else the default ``<14 digits>@suffix``."""
    chosen = [a for a in account.addresses if a.is_preferred] or list(account.addresses)
    handle = chosen[0].handle if chosen else account.abha_number
    return f"{handle}@{suffix}"


# --------------------------------------------------------------------------- names


def _query_words(name: str) -> list[str]:
    return [w for w in name_key(name).split() if w not in _HONORIFICS]


def _split_syllable(word: str) -> tuple[str, str, str]:
    """Onset consonants, the first vowel cluster, and the rest."""
    i = 0
    while i < len(word) and word[i] not in _VOWELS:
        i += 1
    j = i
    while j < len(word) and word[j] in _VOWELS:
        j += 1
    return word[:i], word[i:j], word[j:]


def _onsets(onset: str) -> set[str]:
    found = {onset}
    for swap_from, swaps in _ONSET_SWAPS.items():
        if onset.startswith(swap_from):
            found.update(s + onset[len(swap_from) :] for s in swaps)
    for variant in list(found):
        if variant[:2] in _ASPIRATES:
            found.add(variant[0] + variant[2:])
        elif variant and variant[0] in "gkbdtjs" and (len(variant) == 1 or variant[1] != "h"):
            found.add(variant[0] + "h" + variant[1:])
    return found


def _syllable_prefixes(word: str) -> set[str]:
    """The spellings of a word's first syllable (onset, vowel, next letter): what the
    SQL stage probes. ``yusuf`` -> {``yus``, ``yous``, ``yas``, ...}."""
    onset, vowels, rest = _split_syllable(word)
    if not vowels:
        return {word}
    tail = rest[:1]
    return {o + v + tail for o in _onsets(onset) for v in _VOWEL_CLUSTERS}


def word_prefixes(word: str) -> set[str]:
    """Every prefix the SQL stage probes for one query word, variants included."""
    prefixes = _syllable_prefixes(word)
    for spelling in _VARIANTS.get(word, frozenset()) - {word}:
        if any(ch in _VOWELS for ch in spelling):
            prefixes |= _syllable_prefixes(spelling)
        else:
            # An abbreviation (Md, Gh) is a whole word: probing it as a prefix would
            # read every name that merely starts with those letters.
            prefixes.add(spelling + " ")
    return prefixes


def phonetic_key(word: str) -> str:
    """A consonant skeleton: aspirates and common swaps folded, doubles collapsed,
    every vowel run written ``a``. ``Yousuf``/``Yusuf``/``Yousaf`` share one."""
    w = word
    for a, b in (("ph", "f"), ("ck", "k"), ("q", "k"), ("w", "v"), ("z", "j"), ("x", "ks")):
        w = w.replace(a, b)
    w = re.sub(r"([gkbdtjsc])h", r"\1", w)
    w = re.sub(r"(.)\1+", r"\1", w)
    w = re.sub(r"[aeiouy]+", "a", w)
    return w


def _canonical(word: str) -> str:
    group = _VARIANTS.get(word)
    return min(group) if group else word


def word_score(query: str, candidate: str) -> float:
    if query == candidate:
        return 1.0
    if _canonical(query) == _canonical(candidate):
        return 0.95
    if phonetic_key(query) == phonetic_key(candidate):
        return 0.9
    if len(query) >= 2 and candidate.startswith(query):
        return 0.85
    return SequenceMatcher(None, query, candidate).ratio()


def name_score(query_words: list[str], candidate_key: str) -> float:
    """Mean of each query word's best match among the candidate's words; 0 when any
    query word matches nothing well enough."""
    words = [w for w in candidate_key.split() if w not in _HONORIFICS]
    if not words:
        return 0.0
    total = 0.0
    for q in query_words:
        best = max(word_score(q, c) for c in words)
        if best < MIN_WORD_SCORE:
            return 0.0
        total += best
    score = total / len(query_words)
    # A candidate with the same number of words reads as a closer match.
    if len(words) == len(query_words):
        score += 0.01
    return round(min(score, 1.0), 4)


def _next_prefix(prefix: str) -> str:
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _starts_with_any(prefixes: set[str]) -> ColumnElement[bool]:
    """The name begins with one of the prefixes: index range probes on name_key (the
    LIKE keeps the range exact under any collation)."""
    return or_(
        *(
            and_(
                AbhaAccount.name_key >= p,
                AbhaAccount.name_key < _next_prefix(p),
                AbhaAccount.name_key.like(p + "%"),
            )
            for p in sorted(prefixes)
        )
    )


def _any_word_starts_with(prefixes: set[str]) -> ColumnElement[bool]:
    return or_(
        *(
            cond
            for p in sorted(prefixes)
            for cond in (
                AbhaAccount.name_key.like(p + "%"),
                AbhaAccount.name_key.like("% " + p + "%"),
            )
        )
    )


def demographic_candidates(
    criteria: SearchCriteria, *, cap: int = CANDIDATE_CAP
) -> Select[int, str, int]:
    """The SQL stage of a name search: ids and name keys of at most ``cap + 1``
    candidates, led by an indexed condition (see the module docstring)."""
    words = _query_words(criteria.name or "")
    conditions: list[ColumnElement[bool]] = []
    if criteria.district_lgd is not None:
        conditions.append(AbhaAccount.district_lgd == criteria.district_lgd)
    if criteria.year_of_birth is not None:
        conditions.append(
            AbhaAccount.year_of_birth.between(
                criteria.year_of_birth - criteria.year_tolerance,
                criteria.year_of_birth + criteria.year_tolerance,
            )
        )
    if criteria.gender is not None:
        conditions.append(AbhaAccount.gender == criteria.gender)
    narrowed_by_demographics = (
        criteria.district_lgd is not None and criteria.year_of_birth is not None
    )
    if narrowed_by_demographics:
        rest = words
    else:
        conditions.append(_starts_with_any(word_prefixes(words[0])))
        rest = words[1:]
    conditions += [_any_word_starts_with(word_prefixes(w)) for w in rest]
    conditions.append(_visible())
    return (
        select(AbhaAccount.id, AbhaAccount.name_key, AbhaAccount.year_of_birth)
        .where(*conditions)
        .limit(cap + 1)
    )


def _search_demographics(
    session: Session, criteria: SearchCriteria, cap: int, limit: int
) -> tuple[list[SearchHit], int]:
    """One page of a name search, best first, and how many matched in all."""
    words = _query_words(criteria.name or "")
    rows = session.execute(demographic_candidates(criteria, cap=cap)).all()
    if len(rows) > cap:
        missing = [
            label
            for label, value in (
                ("the year of birth", criteria.year_of_birth),
                ("the district", criteria.district_lgd),
                ("the gender", criteria.gender),
            )
            if value is None
        ]
        add = ", ".join(missing + ["more of the name"])
        raise ValidationFailed(
            f"Too many people match. Add {add} to narrow the search, or search by ABHA "
            "number or mobile.",
            field="name",
            code="HS-1304",
        )
    scored = []
    for account_id, key, year in rows:
        score = name_score(words, key)
        if score >= MIN_SCORE:
            year_gap = abs(year - criteria.year_of_birth) if criteria.year_of_birth else 0
            scored.append((-score, year_gap, account_id, score))
    # The account id breaks ties, so that pages never overlap or skip anyone.
    scored.sort()
    top = scored[criteria.offset : criteria.offset + limit]
    if not top:
        return [], len(scored)
    accounts = {
        a.id: a
        for a in session.scalars(select(AbhaAccount).where(AbhaAccount.id.in_([t[2] for t in top])))
    }
    return [SearchHit(accounts[t[2]], t[3]) for t in top if t[2] in accounts], len(scored)


# --------------------------------------------------------------------------- services


def search_accounts(
    session: Session,
    ctx: RequestContext,
    *,
    criteria: SearchCriteria,
    suffix: str,
    clock: Clock | None = None,
    candidate_cap: int = CANDIDATE_CAP,
) -> SearchResult:
    """Run one desk search; audited per account shown (one row when none matched).
    ``candidate_cap`` bounds the SQL stage of a name search (see the module docstring)."""
    with audited(
        session, ctx, action="abha.search", resource_type="abha_account", clock=clock
    ) as target:
        mode = search_mode(criteria)
        limit = max(1, min(criteria.limit, MAX_RESULTS))
        hits: list[SearchHit]
        if mode in ("number", "address"):
            if mode == "number":
                digits = parse_abha_number(criteria.number or "").digits
                account = lookup_by_number(session, digits)
            else:
                account = lookup_by_address(session, criteria.address or "", suffix=suffix)
            total = 1 if account else 0
            hits = [SearchHit(account)] if account and criteria.offset == 0 else []
        elif mode == "mobile":
            mobile = normalise_mobile(criteria.mobile or "")
            linked = and_(AbhaAccount.mobile == mobile, _visible())
            total = session.scalar(select(func.count()).select_from(AbhaAccount).where(linked)) or 0
            hits = [
                SearchHit(a)
                for a in session.scalars(
                    select(AbhaAccount)
                    .where(linked)
                    .order_by(AbhaAccount.created_at, AbhaAccount.id)
                    .offset(criteria.offset)
                    .limit(limit)
                )
            ]
        else:
            hits, total = _search_demographics(session, criteria, candidate_cap, limit)
        if hits:
            target.resource_id = str(hits[0].account.public_id)
    for hit in hits[1:]:
        record_access(
            session,
            ctx,
            action="abha.search",
            resource_type="abha_account",
            resource_id=str(hit.account.public_id),
            clock=clock,
        )
    return SearchResult(mode=mode, hits=hits, total=total, offset=criteria.offset)


def get_account(
    session: Session, ctx: RequestContext, *, public_id: uuid.UUID, clock: Clock | None = None
) -> AbhaAccount:
    """The full profile of one account (deleted ones are gone); audited."""
    with audited(
        session,
        ctx,
        action="abha.account.read",
        resource_type="abha_account",
        resource_id=str(public_id),
        clock=clock,
    ):
        account = find_account(session, public_id=public_id)
        if account is None:
            raise NotFound(NO_SUCH_ACCOUNT, code="HS-1312")
        return account
