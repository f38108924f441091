"""Who is acting, for which facility or district, and why.

Every service that touches personal health information takes a ``RequestContext``
and passes it to ``audit.record_access``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    STATE_ADMIN = "state_admin"
    DISTRICT_OFFICER = "district_officer"
    FACILITY_ADMIN = "facility_admin"
    REGISTRATION_DESK = "registration_desk"
    DOCTOR = "doctor"
    NURSE = "nurse"
    LAB_TECHNICIAN = "lab_technician"
    RADIOLOGIST = "radiologist"
    REGISTRY_VERIFIER = "registry_verifier"


# Roles whose scope is a facility; the others are scoped to a district or the state.
FACILITY_ROLES = frozenset(
    {
        Role.FACILITY_ADMIN,
        Role.REGISTRATION_DESK,
        Role.DOCTOR,
        Role.NURSE,
        Role.LAB_TECHNICIAN,
        Role.RADIOLOGIST,
    }
)


class ActorKind(StrEnum):
    STAFF = "staff"
    PATIENT = "patient"  # an ABHA holder acting on their own account
    ANONYMOUS = "anonymous"  # self-service before an account exists
    SYSTEM = "system"  # worker, scheduler, CLI
    CLIENT = "client"  # an HMIS integrating over the API with an API token


class Purpose(StrEnum):
    """Why PHI is touched. ABDM purpose-of-use codes where one fits."""

    ENROLMENT = "ENROLMENT"
    IDENTITY_VERIFICATION = "IDENTITY_VERIFICATION"
    SELF_SERVICE = "PATRQT"  # self-requested (ABDM PATRQT)
    CARE_MANAGEMENT = "CAREMGT"
    ADMINISTRATION = "ADMIN"
    AUDIT_REVIEW = "AUDIT"
    SEEDING = "SEEDING"


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    id: str  # staff public id, ABHA number, client id, "system" ...
    role: Role | None = None
    facility_id: str | None = None  # HFR id for facility-scoped staff
    district_lgd: int | None = None  # district-scoped staff
    display: str = ""  # username, never a patient's name

    @property
    def is_staff(self) -> bool:
        return self.kind in (ActorKind.STAFF, ActorKind.CLIENT)


SYSTEM_ACTOR = Actor(kind=ActorKind.SYSTEM, id="system", display="system")
ANONYMOUS_ACTOR = Actor(kind=ActorKind.ANONYMOUS, id="anonymous", display="anonymous")


@dataclass(frozen=True)
class RequestContext:
    actor: Actor
    purpose: Purpose
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    ip: str | None = None

    def with_purpose(self, purpose: Purpose) -> RequestContext:
        return RequestContext(
            actor=self.actor, purpose=purpose, request_id=self.request_id, ip=self.ip
        )


def system_context(purpose: Purpose = Purpose.ADMINISTRATION) -> RequestContext:
    return RequestContext(actor=SYSTEM_ACTOR, purpose=purpose)
