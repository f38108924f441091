"""What validation found: issues, and the report that gathers them.

An issue names where (a FHIRPath-like path into the bundle as sent), which rule
(``cardinality``, ``fixed``, ``binding``, ``slice``, ``reference``, ``invariant:<key>``,
``core:<id>`` ...) and a message that names the element and the IG profile or rule it
breaks. Messages never repeat free-text or identifier values from the document (they may
hold personal health information); they quote only codes, systems and the IG's own values.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum


def article(word: object) -> str:
    """``a Condition`` / ``an Observation``, for messages that name a resource type."""
    text = str(word)
    return f"{'an' if text[:1] in 'AEIOUaeiou' else 'a'} {text}"


class Severity(StrEnum):
    ERROR = "error"  # the document breaks the IG or a core rule: invalid
    WARNING = "warning"  # allowed, but likely wrong or unusable downstream
    INFORMATION = "information"  # what the validator could not or did not check


@dataclass(frozen=True, slots=True)
class Issue:
    severity: Severity
    path: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.severity}: {self.path} [{self.rule}] {self.message}"


@dataclass
class ValidationReport:
    issues: list[Issue] = field(default_factory=list)
    # Where each resource was checked against which profile (path -> canonical URL).
    profiles: dict[str, str] = field(default_factory=dict)
    ig_version: str | None = None
    invariants_evaluated: int = 0
    # Invariants fhirpathpy could not evaluate, by key (counted, never guessed).
    invariants_skipped: Counter[str] = field(default_factory=Counter)

    @property
    def valid(self) -> bool:
        return not any(i.severity is Severity.ERROR for i in self.issues)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity is Severity.WARNING]

    def by_rule(self, rule: str) -> list[Issue]:
        return [i for i in self.issues if i.rule == rule]


class IssueSink:
    """Collects issues; repeats of the same (severity, path, rule, message) are kept once."""

    __slots__ = ("issues", "_seen")

    def __init__(self) -> None:
        self.issues: list[Issue] = []
        self._seen: set[Issue] = set()

    def add(self, severity: Severity, path: str, rule: str, message: str) -> None:
        issue = Issue(severity, path, rule, message)
        if issue not in self._seen:
            self._seen.add(issue)
            self.issues.append(issue)

    def error(self, path: str, rule: str, message: str) -> None:
        self.add(Severity.ERROR, path, rule, message)

    def warning(self, path: str, rule: str, message: str) -> None:
        self.add(Severity.WARNING, path, rule, message)

    def info(self, path: str, rule: str, message: str) -> None:
        self.add(Severity.INFORMATION, path, rule, message)

    def has_errors(self) -> bool:
        return any(i.severity is Severity.ERROR for i in self.issues)
