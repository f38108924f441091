"""The server-rendered pages as a tester reads them, for every surface's page tests: the
text of a fragment, the ``role=alert`` box, a hidden field, inputs without a label; staff
logged in through the real login form; and ``PAGE_ROUTES``, every form post the pages
accept with the permission it enforces (tests/api/test_permission_matrix.py checks that
each one is classified; each surface's page tests walk their rows by role)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from html.parser import HTMLParser
from typing import Any

from healthstack.kernel.context import Role


def text_of(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def alert(page: str, *, api_words: Iterable[str] = ()) -> str:
    """The text of the page's ``role=alert`` box (there must be one); none of
    ``api_words`` in it: it is written for the person at the screen, not an API client."""
    found = re.search(r'<(div|p)[^>]*role="alert"[^>]*>(.*?)</\1>', page, re.S)
    assert found, "the page shows no alert"
    text = text_of(found.group(2))
    for api_word in api_words:
        assert api_word not in text, f"the alert speaks API: {text}"
    return text


def hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, f"no field {name}"
    return html.unescape(found.group(1))


class LabelCheck(HTMLParser):
    """Inputs, selects and text areas that sit in no <label> and have no aria-label."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.missing: list[str] = []

    @classmethod
    def run(cls, page: str) -> list[str]:
        parser = cls()
        parser.feed(page)
        return parser.missing

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "label":
            self.depth += 1
        elif tag in ("input", "select", "textarea"):
            if a.get("type") in ("hidden", "submit"):
                return
            if not self.depth and "aria-label" not in a:
                self.missing.append(a.get("name", tag))

    def handle_endtag(self, tag):
        if tag == "label":
            self.depth -= 1


def log_in(client: Any, make_staff: Any, role: Role, **kwargs: Any) -> Any:
    """A new staff member of ``role`` (``make_staff``'s keywords), logged in through the
    login form; the client keeps the session cookie (any earlier one is dropped)."""
    client.cookies.clear()
    staff = make_staff(role, **kwargs)
    r = client.post(
        "/login",
        data={"username": staff.username, "password": staff.password},
        follow_redirects=False,
    )
    assert r.status_code == 303
    return staff


# Form posts of the server-rendered pages: they use the same permission checks as the
# API; their own tests (tests/api/test_abha_pages.py) walk them by role.
# Values: the PERMISSIONS key a staff page enforces, "patient" (the hs_patient cookie),
# or "public" (self-enrolment and login: the OTP is the credential).
ENROL_STEPS = ("otp", "resend", "verify", "mobile/resend", "mobile/verify", "mobile/later")
PAGE_ROUTES: dict[tuple[str, str], str] = {
    **{("POST", f"/desk/enrol/{s}"): "abha.enrol" for s in (*ENROL_STEPS, "address")},
    **{("POST", f"/patient/enrol/{s}"): "public" for s in (*ENROL_STEPS, "address")},
    ("POST", "/desk/demographic"): "abha.enrol_demographic",
    ("POST", "/desk/demographic/address"): "abha.enrol_demographic",
    ("POST", "/desk/search"): "abha.search",
    ("POST", "/desk/scan"): "abha.verify",
    ("POST", "/patient/login/otp"): "public",
    ("POST", "/patient/login/resend"): "public",
    ("POST", "/patient/login/verify"): "public",
    ("POST", "/patient/login/pick"): "public",
    ("POST", "/patient/logout"): "public",
    ("POST", "/patient/change/otp"): "patient",
    ("POST", "/patient/change/resend"): "patient",
    ("POST", "/patient/change/verify"): "patient",
    # Switching among a mobile's ABHAs (tests/api/test_patient_household.py: 404 otherwise)
    ("POST", "/patient/switch"): "patient",
    # Coverage dashboard targets form (tests/api/test_monitoring_pages.py)
    ("POST", "/dashboard/targets"): "monitoring.targets",
    # Facility registry pages (tests/api/test_facilities_pages.py)
    ("POST", "/registry/facilities"): "facility.register",
    ("POST", "/registry/facilities/{hfr_id}/edit"): "facility.edit",
    ("POST", "/registry/facilities/{hfr_id}/verify"): "facility.verify",
    ("POST", "/registry/facilities/{hfr_id}/reject"): "facility.verify",
    ("POST", "/registry/master/upload"): "facility.master_import",
    ("POST", "/registry/master/imports/{import_id}/confirm"): "facility.master_import",
    ("POST", "/registry/master/reconcile"): "facility.reconcile",
    ("POST", "/registry/master/review/{entry_id}/settle"): "facility.reconcile",
    # Professional registry pages (tests/api/test_professionals_pages.py)
    **{
        ("POST", f"/hpr/register/{s}"): "public"
        for s in ("otp", "resend", "verify", "mobile/resend", "mobile/verify", "mobile/later")
        + ("details", "address")
    },
    ("POST", "/registry/professionals/{hpr_id}/verify"): "professional.verify",
    ("POST", "/registry/professionals/{hpr_id}/reject"): "professional.verify",
    # Compliance pages (tests/api/test_compliance_pages.py)
    ("POST", "/compliance/roster/review/{entry_id}/settle"): "compliance.review",
    # Roster, deadline and exemption pages (tests/api/test_compliance_roster_pages.py)
    ("POST", "/compliance/roster/upload"): "compliance.roster_import",
    ("POST", "/compliance/roster/imports/{import_id}/confirm"): "compliance.roster_import",
    ("POST", "/compliance/campaigns"): "compliance.campaign",
    ("POST", "/compliance/exemptions"): "compliance.exempt",
    ("POST", "/compliance/exemptions/{exemption_id}/revoke"): "compliance.exempt",
    # The doctor's record requests (tests/api/test_records_pages.py)
    ("POST", "/records/requests"): "records.request",
    ("POST", "/records/requests/{public_id}/refresh"): "records.request",
    # The PHR pages (tests/api/test_phr_pages.py: another patient's consent or link is 404)
    ("POST", "/phr/link"): "patient",
    ("POST", "/phr/link/{transaction_id}/link"): "patient",
    ("POST", "/phr/link/{transaction_id}/confirm"): "patient",
    ("POST", "/phr/consents/{consent_request_id}/approve"): "patient",
    ("POST", "/phr/consents/{consent_request_id}/deny"): "patient",
    ("POST", "/phr/consents/{consent_request_id}/revoke"): "patient",
    ("POST", "/phr/records"): "patient",
    # Consent PIN and deleting the ABHA (tests/api/test_phr_pin_pages.py, _delete_pages.py)
    ("POST", "/phr/pin"): "patient",
    ("POST", "/phr/pin/reset"): "patient",
    ("POST", "/phr/pin/reset/resend"): "patient",
    ("POST", "/phr/pin/reset/confirm"): "patient",
    ("POST", "/phr/account/delete"): "patient",
    ("POST", "/phr/account/delete/resend"): "patient",
    ("POST", "/phr/account/delete/confirm"): "patient",
    # The caller's own account page (tests/api/test_staff_sessions.py)
    ("POST", "/account/tokens"): "account.self",
    ("POST", "/account/tokens/{token_id}/revoke"): "account.self",
    ("POST", "/account/sessions/{session_id}/revoke"): "account.self",
    # Staff administration pages (STAFF_ADMIN_SCOPE below)
    ("POST", "/admin/staff/new"): "staff.create",
    **{
        ("POST", f"/admin/staff/{{staff_id}}/{a}"): "staff.manage"
        for a in (
            "edit",
            "deactivate",
            "reactivate",
            "password",
            "revoke-all",
            "sessions/{session_id}/revoke",
            "tokens/{token_id}/revoke",
        )
    },
}
