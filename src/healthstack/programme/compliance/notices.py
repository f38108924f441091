"""Generated documents: the notice to a facility head (PDF) and the district
officer's show-cause list (PDF and CSV), and the CSV form of every compliance list.

CSV cells that a spreadsheet would run as a formula (=, +, -, @) are prefixed with
an apostrophe: these files are opened in Excel by district offices.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from functools import lru_cache
from itertools import chain
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from healthstack.network.abha.card import TEMPLATES_DIR
from healthstack.settings import StateProfile
from healthstack.web.timefmt import local_date, local_time

from .escalation import RUNGS
from .service import ComplianceRow


def district_name(profile: StateProfile, lgd: int | None) -> str:
    """The district's name in the state profile (its code when it has none there)."""
    return profile.district_name(lgd) or str(lgd or "unknown")


def _safe(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """The CSV one line at a time (a download streams them)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    for row in chain([header], ([_safe(v) for v in r] for r in rows)):
        writer.writerow(row)
        yield buf.getvalue()
        buf.seek(0)
        buf.truncate()


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    return "".join(csv_lines(header, rows))


STATUS_COLUMNS = (
    "employee_id",
    "name",
    "cadre",
    "facility",
    "district_lgd",
    "hpr_id",
    "status",
    "deadline",
    "days_overdue",
    "escalation_step",
    "exemption",
)


def status_csv(rows: Sequence[ComplianceRow]) -> str:
    return "".join(status_csv_lines(rows))


def status_csv_lines(rows: Sequence[ComplianceRow]) -> Iterator[str]:
    return csv_lines(
        STATUS_COLUMNS,
        (
            (
                r.entry.employee_id,
                r.entry.name,
                r.entry.cadre,
                r.entry.hfr_id,
                r.entry.district_lgd,
                r.hpr_id or "",
                r.status,
                r.deadline.isoformat() if r.deadline else "",
                "" if r.days_overdue is None else r.days_overdue,
                RUNGS[r.step].name if r.step else "",
                r.exemption.kind if r.exemption else "",
            )
            for r in rows
        ),
    )


@lru_cache(maxsize=1)
def _templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)), autoescape=select_autoescape(["html"])
    )
    # A printed notice shows dates as the pages do (IST).
    env.filters["local_time"] = local_time
    env.filters["local_date"] = local_date
    return env


def render_pdf(template: str, **context: Any) -> bytes:
    """A Jinja template under web/templates/compliance/ laid out by WeasyPrint."""
    import weasyprint  # imported here: loading pango takes a moment

    html = _templates().get_template(f"compliance/{template}").render(**context)
    fetcher = weasyprint.urls.URLFetcher(allowed_protocols={"data"})
    pdf: bytes = weasyprint.HTML(
        string=html, base_url=str(TEMPLATES_DIR), url_fetcher=fetcher
    ).write_pdf()
    return pdf


def facility_notice_pdf(
    rows: Sequence[ComplianceRow],
    *,
    profile: StateProfile,
    hfr_id: str,
    facility_name: str | None,
    today: date,
) -> bytes:
    """The notice to the head of ``hfr_id``: the staff past the deadline who reached
    the notice rung, with their days overdue."""
    return render_pdf(
        "notice_facility.html",
        hfr_id=hfr_id,
        facility_name=facility_name or hfr_id,
        today=today,
        rows=rows,
        district=district_name(profile, rows[0].entry.district_lgd) if rows else "",
    )


def show_cause_pdf(
    rows: Sequence[ComplianceRow], *, profile: StateProfile, district_lgd: int | None, today: date
) -> bytes:
    return render_pdf(
        "show_cause.html",
        district=district_name(profile, district_lgd) if district_lgd else "All districts",
        today=today,
        rows=rows,
    )
