"""The ABHA pages (the registration desk and the patient's own area) as a tester drives
them through form posts: the desk logged in, a sandbox KYC resident to enrol, the OTP
read from ``/dev/sms.json``, the hidden state one step hands the next, the camp-mode
form, the patient's login steps, the audit rows a page wrote; and the alert box, checked
to speak to the person at the screen rather than in the API's words."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from healthstack.kernel.audit import AuditEvent
from healthstack.kernel.context import Role
from healthstack.kernel.uow import unit_of_work
from healthstack.runtime import Runtime
from tests import factories_pages as pages
from tests.factories_abha import make_resident, new_aadhaar
from tests.factories_pages import hidden

AADHAAR_MOBILE = "9876500011"
API_WORDS = ("txnId", "/abha/api", "loginHint", "otpSystem", "scope", "X-token")


def alert(page: str) -> str:
    """The alert's text, written for the person at the screen, not for an API client."""
    return pages.alert(page, api_words=API_WORDS)


def state(page: str, *names: str) -> dict[str, str]:
    names = names or ("txn_id", "consent_version", "resend_at", "resends")
    return {n: hidden(page, n) for n in names}


def last_otp(client: Any, to: str) -> str:
    r = client.get("/dev/sms.json", params={"mobile": to})
    assert r.status_code == 200
    messages = [m for m in r.json()["messages"] if re.match(r"\d{6} ", m["text"])]
    assert messages, "no OTP was sent there"
    return str(messages[0]["text"][:6])


def resident(
    runtime: Runtime, *, mobile: str = AADHAAR_MOBILE, name: str = "Ravi Kumar Sharma"
) -> str:
    aadhaar = new_aadhaar()
    with unit_of_work(runtime.session_factory) as s:
        make_resident(s, aadhaar=aadhaar, mobile=mobile, name=name)
    return aadhaar


def log_in(client: Any, make_staff: Any, role: Role = Role.REGISTRATION_DESK) -> Any:
    staff = make_staff(role)
    r = client.post(
        "/login",
        data={"username": staff.username, "password": staff.password, "next": "/desk"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return staff


def audit(runtime: Runtime, action: str, outcome: str | None = None) -> list[AuditEvent]:
    with unit_of_work(runtime.session_factory) as s:
        q = select(AuditEvent).where(AuditEvent.action == action)
        if outcome:
            q = q.where(AuditEvent.outcome == outcome)
        return list(s.scalars(q))


def demographic_data(aadhaar: str, **extra: str) -> dict[str, str]:
    return {
        "aadhaar": aadhaar,
        "name": "Ravi Kumar Sharma",
        "gender": "M",
        "birth_date": "1990-04-12",
        "mobile": "9876500033",
        "address_line": "House 12, Rajbagh",
        "district_lgd": "13",
        "pincode": "190008",
        "consent": "1.4",
        **extra,
    }


def login_otp(client: Any, method: str, value: str, **extra: str) -> Any:
    return client.post("/patient/login/otp", data={"method": method, "value": value, **extra})


def verify_login(client: Any, page: str, otp: str) -> Any:
    fields = state(page, "txn_id", "method", "reactivate", "resend_at", "resends")
    return client.post("/patient/login/verify", data={**fields, "otp": otp}, follow_redirects=False)
