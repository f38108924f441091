"""The permission matrix, walked over every mutating endpoint (DESIGN §4.8).

Each POST/PUT/PATCH/DELETE route must be classified below (the pages' form posts in
``PAGE_ROUTES``, tests/factories_pages.py), or ``test_every_mutating_route_is_classified``
fails: a new endpoint cannot ship without its row. For staff routes each row is checked
four ways: anonymous (401), a role the matrix forbids (403), a role it permits (neither
401 nor 403), and a caller of another facility where the resource is facility-scoped.
ABHA accounts are a national registry, not a facility's records, so any permitted desk
may act on them; the audit row records the caller's facility.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

from healthstack.accounts.models import StaffUser
from healthstack.accounts.permissions import PERMISSIONS
from healthstack.facility.records.router import DATA_PUSH_PATH
from healthstack.facility.records.router import router as RECORDS_BRIDGE
from healthstack.kernel.context import Role
from healthstack.kernel.uow import unit_of_work
from healthstack.network.consent.handlers import ROUTES as CONSENT_MANAGER_ROUTES
from tests.conftest import FACILITY_A, FACILITY_B
from tests.factories_accounts import JAMMU, SRINAGAR, hfr_facility, quick_staff
from tests.factories_pages import PAGE_ROUTES

V3_HEADERS = {
    "REQUEST-ID": "5f0e2a52-52c1-4f0b-a1d7-0b0c2d9a6f10",
    "TIMESTAMP": "2026-11-26T09:00:00.000Z",
}


@dataclass(frozen=True)
class StaffRoute:
    action: str  # the PERMISSIONS key the route enforces
    body: dict = field(default_factory=dict)
    headers: dict = field(default_factory=dict)


# Routes where a staff role is the gate.
STAFF_ROUTES: dict[tuple[str, str], StaffRoute] = {
    ("POST", "/api/v1/auth/tokens"): StaffRoute("token.create", {"name": "matrix"}),
    ("POST", "/api/v1/monitoring/targets"): StaffRoute(
        "monitoring.targets", {"indicator": "abha.accounts", "district_lgd": 13, "value": 1000}
    ),
    ("POST", "/api/v1/staff"): StaffRoute(
        "staff.create",
        {
            "username": "matrixuser",
            "full_name": "Matrix",
            "role": "nurse",
            "password": "long enough password",
            "facility_id": "IN0110000001",
        },
    ),
    ("POST", "/abha/api/v3/enrollment/request/otp"): StaffRoute("abha.enrol", {}, V3_HEADERS),
    ("POST", "/abha/api/v3/enrollment/enrol/byAadhaar"): StaffRoute("abha.enrol", {}, V3_HEADERS),
    ("POST", "/abha/api/v3/enrollment/auth/byAbdm"): StaffRoute("abha.enrol", {}, V3_HEADERS),
    ("POST", "/abha/api/v3/enrollment/enrol/abha-address"): StaffRoute(
        "abha.enrol", {}, V3_HEADERS
    ),
    ("POST", "/api/v1/abha/enrol/demographic"): StaffRoute("abha.enrol_demographic", {}),
    ("POST", "/api/v1/abha/scan"): StaffRoute("abha.verify", {"qr_text": "{}"}),
    ("POST", "/api/v1/abha/search"): StaffRoute("abha.search", {"number": "91-0000-0000-0000"}),
    # Facility registry (tests/api/test_facilities_*.py: scope, 404 for other facilities)
    ("POST", "/api/v1/facilities"): StaffRoute("facility.register"),
    ("PATCH", "/api/v1/facilities/{hfr_id}"): StaffRoute("facility.edit"),
    ("POST", "/api/v1/facilities/{hfr_id}/verify"): StaffRoute("facility.verify"),
    ("POST", "/api/v1/facilities/{hfr_id}/reject"): StaffRoute("facility.verify"),
    ("POST", "/api/v1/facilities/master/imports"): StaffRoute("facility.master_import"),
    ("POST", "/api/v1/facilities/master/imports/{import_id}/confirm"): StaffRoute(
        "facility.master_import"
    ),
    ("POST", "/api/v1/facilities/master/reconcile"): StaffRoute("facility.reconcile"),
    ("POST", "/api/v1/facilities/master/reconciliation/{entry_id}/settle"): StaffRoute(
        "facility.reconcile"
    ),
    # Professional registry (tests/api/test_professionals_records.py: scope, 404 elsewhere)
    ("PATCH", "/api/v1/professionals/{hpr_id}"): StaffRoute(
        "professional.edit", {"registration_year": 2012}
    ),
    ("POST", "/api/v1/professionals/{hpr_id}/verify"): StaffRoute("professional.verify"),
    ("POST", "/api/v1/professionals/{hpr_id}/reject"): StaffRoute(
        "professional.verify", {"reason": "not in the council register"}
    ),
    # Compliance (tests/api/test_compliance_api.py: scope, 404 outside it)
    ("POST", "/api/v1/compliance/roster/imports"): StaffRoute("compliance.roster_import"),
    ("POST", "/api/v1/compliance/roster/imports/{import_id}/confirm"): StaffRoute(
        "compliance.roster_import"
    ),
    ("POST", "/api/v1/compliance/roster/review/{entry_id}/settle"): StaffRoute("compliance.review"),
    ("POST", "/api/v1/compliance/campaigns"): StaffRoute("compliance.campaign"),
    ("POST", "/api/v1/compliance/exemptions"): StaffRoute("compliance.exempt"),
    ("POST", "/api/v1/compliance/exemptions/{exemption_id}/revoke"): StaffRoute(
        "compliance.exempt"
    ),
    # ABDM gateway administration (tests/api/test_gateway_admin.py)
    ("POST", "/api/v1/gateway/bridges"): StaffRoute(
        "gateway.admin",
        {"client_id": "matrix-hmis", "name": "Matrix", "url": "https://hmis.example.org"},
    ),
    ("PATCH", "/api/v1/gateway/bridges/{client_id}"): StaffRoute(
        "gateway.admin", {"url": "https://hmis.example.org"}
    ),
    ("POST", "/api/v1/gateway/bridges/{client_id}/services"): StaffRoute(
        "gateway.admin", {"service_id": "IN0110000001", "type": "HIP", "name": "PHC"}
    ),
    # Staff administration (the scope rows: STAFF_ADMIN_SCOPE below)
    ("PATCH", "/api/v1/staff/{staff_id}"): StaffRoute("staff.manage", {"role": "nurse"}),
    ("POST", "/api/v1/staff/{staff_id}/deactivate"): StaffRoute("staff.manage"),
    ("POST", "/api/v1/staff/{staff_id}/reactivate"): StaffRoute("staff.manage"),
    ("POST", "/api/v1/staff/{staff_id}/password"): StaffRoute(
        "staff.manage", {"password": "another long password"}
    ),
    ("POST", "/api/v1/staff/{staff_id}/revoke-all"): StaffRoute("staff.manage"),
    ("POST", "/api/v1/staff/{staff_id}/sessions/{session_id}/revoke"): StaffRoute("staff.manage"),
    ("POST", "/api/v1/staff/{staff_id}/tokens/{token_id}/revoke"): StaffRoute("staff.manage"),
    # One's own sessions and tokens (tests/api/test_staff_sessions.py: another's is 404)
    ("POST", "/api/v1/auth/logout"): StaffRoute("account.self"),
    ("POST", "/api/v1/auth/tokens/{token_id}/revoke"): StaffRoute("account.self"),
    ("POST", "/api/v1/auth/sessions/{session_id}/revoke"): StaffRoute("account.self"),
}

# Routes where the ABHA holder proves who they are (OTP, then the user token in X-token).
PATIENT_TOKEN_ROUTES = {
    ("POST", "/abha/api/v3/profile/account/request/otp"),
    ("POST", "/abha/api/v3/profile/account/resend-otp"),
    ("POST", "/abha/api/v3/profile/account/verify"),
    # The PHR API (tests/api/test_phr_api.py: another patient's consent or link is 404).
    *(
        ("POST", f"/api/v1/phr/{p}")
        for p in (
            "discover",
            "discover/{transaction_id}/link",
            "discover/{transaction_id}/confirm",
            "consents/{consent_request_id}/approve",
            "consents/{consent_request_id}/deny",
            "consents/{consent_request_id}/revoke",
            "records",  # test_phr_own_records_api.py: another patient's fetch is 404
            # The consent PIN (test_phr_pin_api.py: another patient's reset is 404)
            "pin",
            "pin/reset/otp",
            "pin/reset/resend",
            "pin/reset",
        )
    ),
}

# Routes open to anyone, and why.
PUBLIC_ROUTES = {
    ("POST", "/login"): "how staff log in (throttled, same-origin)",
    ("POST", "/logout"): "ends the caller's own session (same-origin)",
    ("POST", "/api/v1/auth/login"): "exchanges a password for a token",
    ("POST", "/abha/api/v3/profile/login/request/otp"): "ABHA login starts with an OTP",
    ("POST", "/abha/api/v3/profile/login/resend-otp"): "same login transaction",
    ("POST", "/abha/api/v3/profile/login/verify"): "the OTP is the credential",
    ("POST", "/abha/api/v3/profile/login/verify/user"): "gated by the T-token of the verify step",
    # HPR self-registration (or a staff token allowed professional.register, 403 otherwise):
    # the Aadhaar OTP is the credential, the X-Flow-Token binds the transaction.
    **{
        ("POST", f"/api/v1/professionals/registration/{step}"): "HPR self-registration"
        for step in ("otp", "verify", "mobile/otp", "mobile/verify", "complete")
    },
    # ABDM gateway protocol (tests/api/test_gateway_protocol.py): the client credentials,
    # then the gateway session token of a registered bridge, are the credential.
    ("POST", "/api/hiecm/gateway/v3/sessions"): "client credentials are the credential",
    ("POST", "/api/hiecm/gateway/v3/diagnostics/echo"): "a bridge's gateway session token",
    # The consent manager's protocol paths (tests/integration/test_consent_*.py), likewise.
    **{
        ("POST", "/api/hiecm" + r.path): "a bridge's gateway session token"
        for r in CONSENT_MANAGER_ROUTES
    },
    # The facility's bridge endpoints (tests/integration/test_records_*.py): the gateway's
    # signed callback token (verify_callback) is the credential.
    **{
        ("POST", r.path): "a gateway-signed callback"
        for r in RECORDS_BRIDGE.routes
        if getattr(r, "path", None) != DATA_PUSH_PATH
    },
    ("POST", DATA_PUSH_PATH): "the HIP bridge's gateway session token (hiu.receive_push)",
}


def _mutating_routes(app) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()

    def walk(routes, prefix: str = "") -> None:
        for r in routes:
            if hasattr(r, "original_router"):
                walk(r.original_router.routes, prefix + r.include_context.prefix)
            elif getattr(r, "methods", None):
                for method in set(r.methods) - {"GET", "HEAD", "OPTIONS"}:
                    found.add((method, prefix + r.path))

    walk(app.router.routes)
    return found


def test_every_mutating_route_is_classified(app):
    classified = set(STAFF_ROUTES) | PATIENT_TOKEN_ROUTES | set(PUBLIC_ROUTES) | set(PAGE_ROUTES)
    missing = _mutating_routes(app) - classified
    assert not missing, f"add these routes to the permission matrix: {sorted(missing)}"
    stale = classified - _mutating_routes(app)
    assert not stale, f"the matrix names routes that no longer exist: {sorted(stale)}"


def _roles(action: str) -> tuple[Role, Role | None]:
    allowed = PERMISSIONS[action]
    permitted = next(r for r in Role if r in allowed)
    forbidden = next((r for r in Role if r not in allowed), None)
    return permitted, forbidden


@pytest.mark.parametrize(("method", "path"), sorted(STAFF_ROUTES))
def test_staff_route_matrix(client, make_staff, method, path):
    route = STAFF_ROUTES[(method, path)]
    r = client.request(method, path, json=route.body, headers=route.headers)
    assert r.status_code == 401, f"anonymous got {r.status_code}"
    permitted, forbidden = _roles(route.action)
    if forbidden is not None:
        caller = make_staff(forbidden)
        r = client.request(
            method, path, json=route.body, headers={**route.headers, **caller.headers}
        )
        assert r.status_code == 403, f"{forbidden} got {r.status_code}"
    caller = make_staff(permitted)
    r = client.request(method, path, json=route.body, headers={**route.headers, **caller.headers})
    assert r.status_code not in (401, 403), f"{permitted} refused: {r.status_code} {r.text}"
    # A permitted role at another facility: ABHA is national, so not refused for that.
    other = make_staff(permitted, facility_id=FACILITY_B)
    r = client.request(method, path, json=route.body, headers={**route.headers, **other.headers})
    assert r.status_code not in (401, 403)


@pytest.mark.parametrize(("method", "path"), sorted(PATIENT_TOKEN_ROUTES))
def test_patient_routes_need_the_user_token(client, make_staff, method, path):
    assert client.request(method, path, json={}).status_code == 401
    staff = make_staff(Role.STATE_ADMIN)
    r = client.request(method, path, json={}, headers={"X-token": f"Bearer {staff.token}"})
    assert r.status_code == 401


def test_cross_facility_staff_creation_is_refused(client, make_staff, runtime):
    assert (hfr_facility(runtime), hfr_facility(runtime)) == (FACILITY_A, FACILITY_B)
    fadmin = make_staff(Role.FACILITY_ADMIN)
    body = dict(STAFF_ROUTES[("POST", "/api/v1/staff")].body, facility_id=FACILITY_B)
    # Outside the admin's scope: 404, as for a facility that does not exist.
    assert client.post("/api/v1/staff", json=body, headers=fadmin.headers).status_code == 404


# --------------------------------------------------------------------------- staff scope
# Every staff-administration route, API and page, walked with real accounts: a nurse at
# facility A (Srinagar, in HFR) with a live session and token is the target. Its facility
# admin may (the permitted actor); a doctor there may not (403); the facility admin of
# facility B (Jammu) and Jammu's district officer are outside the scope (404, so
# existence is not revealed); anonymous gets 401 (API) or the login page (pages).


@dataclass(frozen=True)
class ScopeCase:
    api: bool = True
    body: dict | None = None  # JSON (API) or form fields (page); "{facility}" is facility A
    ok: int = 200


_NEW_NURSE = {
    "username": "scopenurse",
    "full_name": "Scope Nurse",
    "role": "nurse",
    "password": "long enough password",
    "facility_id": "{facility}",
}
STAFF_ADMIN_SCOPE: dict[tuple[str, str], ScopeCase] = {
    ("POST", "/api/v1/staff"): ScopeCase(body=_NEW_NURSE, ok=201),
    ("GET", "/api/v1/staff/{staff_id}"): ScopeCase(),
    ("GET", "/api/v1/staff/{staff_id}/credentials"): ScopeCase(),
    ("PATCH", "/api/v1/staff/{staff_id}"): ScopeCase(body={"role": "doctor"}),
    ("POST", "/api/v1/staff/{staff_id}/deactivate"): ScopeCase(),
    ("POST", "/api/v1/staff/{staff_id}/reactivate"): ScopeCase(),
    ("POST", "/api/v1/staff/{staff_id}/password"): ScopeCase(
        body={"password": "another long password"}
    ),
    ("POST", "/api/v1/staff/{staff_id}/revoke-all"): ScopeCase(),
    ("POST", "/api/v1/staff/{staff_id}/sessions/{session_id}/revoke"): ScopeCase(),
    ("POST", "/api/v1/staff/{staff_id}/tokens/{token_id}/revoke"): ScopeCase(),
    ("POST", "/admin/staff/new"): ScopeCase(api=False, body=_NEW_NURSE, ok=303),
    ("GET", "/admin/staff/{staff_id}"): ScopeCase(api=False),
    ("POST", "/admin/staff/{staff_id}/edit"): ScopeCase(
        api=False,
        body={"full_name": "Renamed", "role": "doctor", "facility_id": "{facility}"},
        ok=303,
    ),
    **{
        ("POST", f"/admin/staff/{{staff_id}}/{a}"): ScopeCase(api=False, body=b, ok=303)
        for a, b in (
            ("deactivate", None),
            ("reactivate", None),
            ("password", {"password": "another long password"}),
            ("revoke-all", None),
            ("sessions/{session_id}/revoke", None),
            ("tokens/{token_id}/revoke", None),
        )
    },
}


def test_every_staff_admin_route_has_a_scope_row(app):
    admin = {
        (m, p) for m, p in _mutating_routes(app) if p.startswith(("/api/v1/staff", "/admin/staff"))
    }
    assert admin <= set(STAFF_ADMIN_SCOPE), sorted(admin - set(STAFF_ADMIN_SCOPE))


@pytest.mark.parametrize(("method", "path"), sorted(STAFF_ADMIN_SCOPE))
def test_staff_admin_scope_matrix(client, runtime, method, path):
    case = STAFF_ADMIN_SCOPE[(method, path)]
    facility_a = hfr_facility(runtime, district_lgd=SRINAGAR)
    facility_b = hfr_facility(runtime, district_lgd=JAMMU)
    target = quick_staff(runtime, Role.NURSE, facility_id=facility_a)
    url = path.format(
        staff_id=target.public_id, session_id=target.session_id, token_id=target.token_id
    )
    body = {k: (facility_a if v == "{facility}" else v) for k, v in (case.body or {}).items()}

    def send(actor):
        headers = {} if actor is None else (actor.bearer if case.api else actor.browser)
        kwargs = {"json": body} if case.api and method != "GET" else {"data": body}
        return client.request(
            method, url, headers=headers, follow_redirects=False, **(kwargs if body else {})
        )

    r = send(None)
    if case.api:
        assert r.status_code == 401, f"anonymous got {r.status_code}"
    else:
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
    doctor = quick_staff(runtime, Role.DOCTOR, facility_id=facility_a)
    assert send(doctor).status_code == 403, "a role that does not administer staff"
    for outsider in (
        quick_staff(runtime, Role.FACILITY_ADMIN, facility_id=facility_b),
        quick_staff(runtime, Role.DISTRICT_OFFICER, district_lgd=JAMMU),
    ):
        r = send(outsider)
        assert r.status_code == 404, f"outside the scope got {r.status_code}: {r.text[:300]}"
    with unit_of_work(runtime.session_factory) as s:
        assert s.scalar(select(StaffUser).where(StaffUser.username == "scopenurse")) is None
        nurse = s.scalar(select(StaffUser).where(StaffUser.username == target.username))
        assert nurse.role == "nurse" and nurse.is_active and nurse.full_name == "Test nurse"
    admin = quick_staff(runtime, Role.FACILITY_ADMIN, facility_id=facility_a)
    r = send(admin)
    assert r.status_code == case.ok, f"the facility's admin got {r.status_code}: {r.text[:300]}"


def test_staff_list_shows_only_the_scope(client, runtime):
    facility_a = hfr_facility(runtime, district_lgd=SRINAGAR)
    facility_b = hfr_facility(runtime, district_lgd=JAMMU)
    target = quick_staff(runtime, Role.NURSE, facility_id=facility_a)
    assert client.get("/api/v1/staff").status_code == 401
    doctor = quick_staff(runtime, Role.DOCTOR, facility_id=facility_a)
    assert client.get("/api/v1/staff", headers=doctor.bearer).status_code == 403

    def usernames(actor) -> set[str]:
        r = client.get("/api/v1/staff", headers=actor.bearer)
        assert r.status_code == 200
        return {i["username"] for i in r.json()["items"]}

    for outsider in (
        quick_staff(runtime, Role.FACILITY_ADMIN, facility_id=facility_b),
        quick_staff(runtime, Role.DISTRICT_OFFICER, district_lgd=JAMMU),
    ):
        assert target.username not in usernames(outsider)
    for insider in (
        quick_staff(runtime, Role.FACILITY_ADMIN, facility_id=facility_a),
        quick_staff(runtime, Role.DISTRICT_OFFICER, district_lgd=SRINAGAR),
        quick_staff(runtime, Role.STATE_ADMIN),
    ):
        assert target.username in usernames(insider)
    page = client.get("/admin/staff", headers=doctor.browser)
    assert page.status_code == 403
