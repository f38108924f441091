"""The permission matrix: which roles may perform which action. Data, tested as a
matrix (tests/api/test_permission_matrix.py walks every mutating endpoint)."""

from __future__ import annotations

from healthstack.kernel.context import Actor, ActorKind, Role
from healthstack.kernel.errors import AuthenticationRequired, PermissionDenied

R = Role
DESK_ROLES = frozenset(
    {R.REGISTRATION_DESK, R.FACILITY_ADMIN, R.DOCTOR, R.NURSE, R.LAB_TECHNICIAN, R.RADIOLOGIST}
)

PERMISSIONS: dict[str, frozenset[Role]] = {
    # staff administration
    "staff.create": frozenset({R.STATE_ADMIN, R.FACILITY_ADMIN, R.DISTRICT_OFFICER}),
    "token.create": frozenset(Role),  # any staff member, for themselves
    # Listing and ending one's own sessions and tokens (accounts.service).
    "account.self": frozenset(Role),
    # Other staff accounts, within the administrator's scope (accounts.staff_admin).
    "staff.manage": frozenset({R.STATE_ADMIN, R.FACILITY_ADMIN, R.DISTRICT_OFFICER}),
    "audit.read": frozenset({R.STATE_ADMIN}),
    # ABHA at the registration desk
    "abha.enrol": frozenset({R.REGISTRATION_DESK, R.FACILITY_ADMIN, R.DOCTOR, R.NURSE}),
    # Demographic (camp-mode) enrolment: an authorised government operator only.
    "abha.enrol_demographic": frozenset({R.REGISTRATION_DESK, R.FACILITY_ADMIN}),
    "abha.search": DESK_ROLES | {R.DISTRICT_OFFICER, R.STATE_ADMIN},
    "abha.card": DESK_ROLES,
    "abha.verify": DESK_ROLES,
    # Coverage dashboard: counts only, scoped by role (monitoring.service.scope_for).
    "monitoring.read": frozenset(Role),
    "monitoring.targets": frozenset({R.STATE_ADMIN}),
    # HFR: reads are scoped (facilities.service.can_see); verifiers are not registrars.
    "facility.read": frozenset(Role),
    "facility.register": frozenset({R.STATE_ADMIN, R.DISTRICT_OFFICER, R.FACILITY_ADMIN}),
    "facility.edit": frozenset({R.STATE_ADMIN, R.DISTRICT_OFFICER, R.FACILITY_ADMIN}),
    "facility.verify": frozenset({R.REGISTRY_VERIFIER, R.STATE_ADMIN}),
    "facility.master_import": frozenset({R.STATE_ADMIN}),
    "facility.reconcile": frozenset({R.STATE_ADMIN, R.REGISTRY_VERIFIER}),
    # HPR: a facility admin registers their staff (professionals also self-register);
    # council / state verifiers decide; reads are scoped (service.visible_to).
    "professional.register": frozenset({R.FACILITY_ADMIN, R.STATE_ADMIN}),
    "professional.read": frozenset(
        {R.STATE_ADMIN, R.REGISTRY_VERIFIER, R.DISTRICT_OFFICER, R.FACILITY_ADMIN}
    ),
    "professional.edit": frozenset({R.STATE_ADMIN, R.REGISTRY_VERIFIER, R.FACILITY_ADMIN}),
    "professional.verify": frozenset({R.REGISTRY_VERIFIER, R.STATE_ADMIN}),
    # Compliance chasing (healthstack.programme.compliance): reads scoped by reconcile.in_scope.
    "compliance.roster_import": frozenset({R.STATE_ADMIN}),
    "compliance.campaign": frozenset({R.STATE_ADMIN}),
    "compliance.review": frozenset({R.STATE_ADMIN, R.DISTRICT_OFFICER}),
    "compliance.exempt": frozenset({R.DISTRICT_OFFICER, R.STATE_ADMIN}),
    "compliance.read": frozenset({R.STATE_ADMIN, R.DISTRICT_OFFICER, R.FACILITY_ADMIN}),
    # ABDM gateway (network side): bridges, their services, the ledger.
    "gateway.admin": frozenset({R.STATE_ADMIN}),
    # Health records from other facilities (records.hiu): a doctor asks for consent;
    # doctors and nurses read what arrived while the consent lasts.
    "records.request": frozenset({R.DOCTOR}),
    "records.read": frozenset({R.DOCTOR, R.NURSE}),
}


def allowed(actor: Actor, action: str) -> bool:
    if actor.kind not in (ActorKind.STAFF, ActorKind.CLIENT) or actor.role is None:
        return False
    return actor.role in PERMISSIONS[action]


def require(actor: Actor | None, action: str) -> Actor:
    """Staff and API clients by the matrix. The system actor (CLI, seed, jobs) may do
    anything: it runs on the server with nobody behind a browser, and no request can
    carry it."""
    if actor is not None and actor.kind is ActorKind.SYSTEM:
        return actor
    if actor is None:
        raise AuthenticationRequired(
            "Log in first: this needs a staff account (or an API token in the "
            "Authorization header)."
        )
    if not allowed(actor, action):
        raise PermissionDenied(
            "Your role may not do this. Ask your facility admin or the state admin "
            "for the right role."
        )
    return actor
