"""Staff administration factories: facilities in HFR at a chosen district, browser
logins through the real login form."""

from __future__ import annotations

from dataclasses import dataclass

from healthstack.kernel.context import system_context
from healthstack.kernel.uow import unit_of_work
from healthstack.network.hfr.service import register_facility
from tests.factories_facilities import details

SRINAGAR = 13
JAMMU = 5


def hfr_facility(runtime, *, district_lgd: int = SRINAGAR) -> str:  # type: ignore[no-untyped-def]
    """Register a facility in HFR (as the system) in the district; its HFR id."""
    with unit_of_work(runtime.session_factory) as s:
        outcome = register_facility(
            s,
            system_context(),
            clock=runtime.clock,
            profile=runtime.settings.profile,
            details=details(district_lgd=district_lgd),
        )
        return outcome.facility.hfr_id


def page_login(client, login) -> None:  # type: ignore[no-untyped-def]
    """Log ``login`` (a StaffLogin) in through the form; the client keeps the cookie."""
    r = client.post(
        "/login",
        data={"username": login.username, "password": login.password, "next": "/"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text


_HASHES: dict[str, str] = {}
PASSWORD = "correct horse battery"  # noqa: S105 - test password


def quick_staff(  # type: ignore[no-untyped-def]
    runtime,
    role,
    *,
    facility_id: str | None = None,
    district_lgd: int | None = None,
    username: str | None = None,
):
    """A staff account with a live browser session and API token, made without hashing
    a password per account (one hash per test session): (user public id, cookie
    secret, bearer token). The password is ``PASSWORD``."""
    import uuid

    from healthstack.accounts import credentials
    from healthstack.accounts.models import StaffUser
    from healthstack.accounts.passwords import hash_password

    if PASSWORD not in _HASHES:
        _HASHES[PASSWORD] = hash_password(PASSWORD)
    with unit_of_work(runtime.session_factory) as s:
        user = StaffUser(
            username=username or f"{role.value.replace('_', '')}{uuid.uuid4().hex[:8]}",
            full_name=f"Test {role.value}",
            role=role.value,
            facility_id=facility_id,
            district_lgd=district_lgd,
            password_hash=_HASHES[PASSWORD],
            is_active=True,
            created_at=runtime.clock.now(),
        )
        s.add(user)
        s.flush()
        now = runtime.clock.now()
        row, cookie = credentials.start_session(
            s, user=user, now=now, ttl_seconds=3600, client_address=None, user_agent="tests"
        )
        issued = credentials.issue_token(s, user=user, name="tests", now=now)
        return QuickStaff(
            public_id=str(user.public_id),
            username=user.username,
            cookie=cookie,
            token=issued.secret,
            session_id=str(row.public_id),
            token_id=str(issued.row.public_id),
        )


@dataclass(frozen=True)
class QuickStaff:
    public_id: str
    username: str
    cookie: str
    token: str
    session_id: str
    token_id: str

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def browser(self) -> dict[str, str]:
        return {"Cookie": f"hs_staff={self.cookie}"}
