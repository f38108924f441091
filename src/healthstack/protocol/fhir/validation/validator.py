"""``validate_bundle``: core rules, then each resource against its IG profile.

Profile choice: a resource's ``meta.profile`` when the package defines it; a Composition
without one by its ``type`` (the record profile whose fixed type code or text matches,
REFERENCE.md §2.2); the Bundle by DocumentBundle; any other resource by the IG's profile
of its type. A core rule that repeats an IG error at the same path is dropped, so each
problem is reported once, in the IG's words.
"""

from __future__ import annotations

import re
from typing import Any

from healthstack.protocol.fhir.validation.core import check_core
from healthstack.protocol.fhir.validation.package import IgPackage
from healthstack.protocol.fhir.validation.references import BundleIndex, Entry
from healthstack.protocol.fhir.validation.report import (
    Issue,
    IssueSink,
    Severity,
    ValidationReport,
    article,
)
from healthstack.protocol.fhir.validation.snapshot import Profile
from healthstack.protocol.fhir.validation.walker import ResourceWalker, ValidationContext

_ENTRY_INDEX = re.compile(r"^Bundle\.entry\[(\d+)\]")


def validate_bundle(bundle: Any, *, ig: IgPackage | None) -> ValidationReport:
    """Validate a FHIR R4 document bundle (parsed JSON). ``ig=None``: core rules only."""
    report = ValidationReport(ig_version=ig.version if ig is not None else None)
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        report.issues.append(
            Issue(
                Severity.ERROR,
                "Bundle",
                "core:resource-type",
                "The document must be a FHIR Bundle (resourceType 'Bundle').",
            )
        )
        return report
    index = BundleIndex(bundle)
    core = IssueSink()
    check_core(bundle, index, core)
    ig_sink = IssueSink()
    if ig is not None:
        ctx = ValidationContext(ig, index)
        _validate_with_ig(bundle, index, ctx, ig_sink, report)
        report.invariants_evaluated = ctx.evaluated
        report.invariants_skipped = ctx.skipped
    report.issues = _merge(ig_sink.issues, core.issues)
    return report


def _validate_with_ig(
    bundle: dict[str, Any],
    index: BundleIndex,
    ctx: ValidationContext,
    sink: IssueSink,
    report: ValidationReport,
) -> None:
    entries = [
        e
        for e in index.entries
        if e.resource is not None and isinstance(e.resource.get("resourceType"), str)
    ]
    # Choose every entry's profiles first: a reference check then knows which targets
    # are validated against the referenced profile anyway.
    for entry in entries:
        ctx.selected[entry.index] = _entry_profiles(entry, ctx.package, sink)
    for profile in _bundle_profiles(bundle, ctx.package, sink):
        ResourceWalker(ctx, profile, bundle, None, sink).run("Bundle")
        report.profiles["Bundle"] = profile.url
    for entry in entries:
        for profile in ctx.selected[entry.index]:
            for issue in ctx.profile_issues(entry, profile):
                sink.add(issue.severity, issue.path, issue.rule, issue.message)
            report.profiles[f"{entry.path}.resource"] = profile.url


def _claimed(
    resource: dict[str, Any], package: IgPackage, path: str, sink: IssueSink
) -> list[Profile]:
    urls = (resource.get("meta") or {}).get("profile") or []
    found: list[Profile] = []
    for i, url in enumerate(urls if isinstance(urls, list) else []):
        profile = package.profile(url) if isinstance(url, str) else None
        if profile is None:
            sink.warning(
                f"{path}.meta.profile[{i}]",
                "profile",
                f"meta.profile names a profile the IG package ({package.version or 'unknown'}) "
                "does not define; the resource was checked against the IG profile chosen by "
                "its type instead.",
            )
        elif profile.type != resource.get("resourceType"):
            sink.error(
                f"{path}.meta.profile[{i}]",
                "profile",
                f"meta.profile names {profile.name}, a profile of {profile.type}, on "
                f"{article(resource.get('resourceType'))}.",
            )
        else:
            found.append(profile)
    return found


def _bundle_profiles(bundle: dict[str, Any], package: IgPackage, sink: IssueSink) -> list[Profile]:
    claimed = _claimed(bundle, package, "Bundle", sink)
    if claimed:
        return claimed
    document = next(
        (p for p in package.profiles_by_type.get("Bundle", []) if p.name == "DocumentBundle"),
        None,
    )
    chosen = document or package.default_profile("Bundle")
    return [chosen] if chosen is not None else []


def _entry_profiles(entry: Entry, package: IgPackage, sink: IssueSink) -> list[Profile]:
    resource = entry.resource or {}
    path = f"{entry.path}.resource"
    claimed = _claimed(resource, package, path, sink)
    if claimed:
        return claimed
    rtype = str(resource.get("resourceType"))
    if rtype == "Composition":
        record = record_profile(resource, package)
        if record is None:
            sink.warning(
                f"{path}.type",
                "profile",
                "Composition.type matches none of the IG's record profiles (OPConsultRecord, "
                "PrescriptionRecord, DischargeSummaryRecord, DiagnosticReportRecord, "
                "ImmunizationRecord, HealthDocumentRecord, WellnessRecord, InvoiceRecord) and "
                "meta.profile names none: the Composition was checked by the core rules only.",
            )
            return []
        if not (resource.get("meta") or {}).get("profile"):  # else already warned above
            sink.warning(
                f"{path}.meta.profile",
                "profile",
                f"Composition.meta.profile is absent; the record profile {record.name} was "
                "chosen from Composition.type. Name it in meta.profile so receivers need not "
                "guess.",
            )
        return [record]
    default = package.default_profile(rtype)
    if default is None:
        sink.info(
            path,
            "profile",
            f"The IG package has no single profile for {rtype} and meta.profile names none; "
            "the resource was checked by the core rules and by the profiles that reference it.",
        )
        return []
    return [default]


def record_profile(composition: dict[str, Any], package: IgPackage) -> Profile | None:
    """The record profile for a Composition by its type (REFERENCE.md §2.2): the fixed
    SNOMED code, or for Wellness and Invoice records the fixed ``type.text`` (older
    bundles put that text in the coding's display)."""
    raw = composition.get("type")
    ctype: dict[str, Any] = raw if isinstance(raw, dict) else {}
    codings = [c for c in ctype.get("coding") or () if isinstance(c, dict)]
    for c in codings:
        hit = package.record_by_code.get(str(c.get("code")))
        if hit is not None:
            return hit
    texts = [ctype.get("text")] + [c.get("display") for c in codings]
    for text in texts:
        if isinstance(text, str) and text in package.record_by_text:
            return package.record_by_text[text]
    return None


def _merge(ig_issues: list[Issue], core_issues: list[Issue]) -> list[Issue]:
    ig_error_paths = {i.path for i in ig_issues if i.severity is Severity.ERROR}
    merged: list[Issue] = []
    seen_notes: set[tuple[str, str]] = set()
    for issue in [*core_issues, *ig_issues]:
        if issue.rule.startswith("core:") and issue.path in ig_error_paths:
            continue
        if issue.severity is Severity.INFORMATION:
            # One note per distinct message: the same unchecked system recurs per coding.
            key = (issue.rule, issue.message)
            if key in seen_notes:
                continue
            seen_notes.add(key)
        merged.append(issue)
    order = {id(issue): n for n, issue in enumerate(merged)}
    return sorted(merged, key=lambda i: (_entry_of(i.path), order[id(i)]))


def _entry_of(path: str) -> int:
    m = _ENTRY_INDEX.match(path)
    return int(m.group(1)) if m else -1
