"""Editing an HPR record (``professional.edit``): the professional part only.

Identity (name, gender, birth date) comes from Aadhaar and the mobile from its OTP;
neither is edited here. What may change: category and sub-category, council,
registration number and year, qualifications, work places. Rules:

- the same checks as registration (``credentials.check_details``), and a council
  number that belongs to another record is refused with a pointer to it;
- a facility admin edits records with a work place at their facility, and may add,
  change or remove only their own facility's work place: another facility's lines
  are that facility's business;
- changing what the verifier confirmed (category, sub-category, council, number,
  year, qualifications) on a VERIFIED record sends it back to SUBMITTED; editing a
  REJECTED record resubmits it (the reason stays in the history); work places alone
  change without re-verification;
- every change closes the current version and writes the next (full snapshot);
  an edit that changes nothing writes nothing;
- ``professional.resubmitted`` (it left VERIFIED or REJECTED) or, for a verified
  record whose work places changed, ``professional.updated`` tells monitoring.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from healthstack.accounts.permissions import require
from healthstack.kernel.audit import audited
from healthstack.kernel.clock import Clock
from healthstack.kernel.context import RequestContext, Role
from healthstack.kernel.errors import Conflict, PermissionDenied, ValidationFailed
from healthstack.network.hpr.credentials import (
    Details,
    DetailsInput,
    QualificationInput,
    WorkplaceInput,
    check_details,
)
from healthstack.network.hpr.enums import Status
from healthstack.network.hpr.models import Professional
from healthstack.network.hpr.registration import apply_details
from healthstack.network.hpr.service import (
    RESOURCE,
    DuplicateCouncilNumber,
    council_number_owner,
    emit_event,
    load_for,
    record_version,
)

# Changing any of these on a verified record needs the verifier again.
VERIFIED_FIELDS = (
    "category",
    "subcategory",
    "council",
    "registration_number",
    "registration_year",
    "qualifications",
)


@dataclass(frozen=True)
class ProfessionalChanges:
    """The fields an edit sets; None leaves a field as it is."""

    category: str | None = None
    subcategory: str | None = None
    council: str | None = None
    registration_number: str | None = None
    registration_year: int | None = None
    qualifications: Sequence[QualificationInput] | None = None
    workplaces: Sequence[WorkplaceInput] | None = None

    def is_empty(self) -> bool:
        return all(getattr(self, f) is None for f in self.__dataclass_fields__)


@dataclass(frozen=True)
class EditOutcome:
    professional: Professional
    changed_fields: list[str]
    # The edit sent a verified record back for verification, or resubmitted a rejected one.
    resubmitted: bool


def current_details(p: Professional) -> DetailsInput:
    return DetailsInput(
        category=p.category,
        subcategory=p.subcategory,
        council=p.council,
        registration_number=p.registration_number,
        registration_year=p.registration_year,
        qualifications=tuple(
            QualificationInput(q.degree, q.university, q.year) for q in p.qualifications
        ),
        workplaces=tuple(WorkplaceInput(w.hfr_id, w.role, w.sector) for w in p.workplaces),
    )


def _merged(p: Professional, changes: ProfessionalChanges) -> DetailsInput:
    now = current_details(p)
    return DetailsInput(
        category=changes.category if changes.category is not None else now.category,
        subcategory=changes.subcategory if changes.subcategory is not None else now.subcategory,
        council=changes.council if changes.council is not None else now.council,
        registration_number=(
            changes.registration_number
            if changes.registration_number is not None
            else now.registration_number
        ),
        registration_year=(
            changes.registration_year
            if changes.registration_year is not None
            else now.registration_year
        ),
        qualifications=(
            changes.qualifications if changes.qualifications is not None else now.qualifications
        ),
        workplaces=changes.workplaces if changes.workplaces is not None else now.workplaces,
    )


def _changed(p: Professional, new: Details) -> list[str]:
    old_quals = [(q.degree, q.university, q.year) for q in p.qualifications]
    new_quals = [(q.degree, q.university, q.year) for q in new.qualifications]
    old_places = [(w.hfr_id, w.role, w.sector) for w in p.workplaces]
    pairs = {
        "category": (p.category, new.category),
        "subcategory": (p.subcategory, new.subcategory),
        "council": (p.council, new.council),
        "registration_number": (p.registration_number, new.registration_number),
        "registration_year": (p.registration_year, new.registration_year),
        "qualifications": (old_quals, new_quals),
        "workplaces": (old_places, [(w.hfr_id, w.role, w.sector) for w in new.workplaces]),
    }
    return [name for name, (before, after) in pairs.items() if before != after]


def _check_facility_admin(ctx: RequestContext, p: Professional, new: Details) -> None:
    if ctx.actor.role is not Role.FACILITY_ADMIN:
        return
    mine = ctx.actor.facility_id

    def others(lines: Sequence[tuple[str, str, str]]) -> set[tuple[str, str, str]]:
        return {line for line in lines if line[0] != mine}

    before = others([(w.hfr_id, w.role, w.sector) for w in p.workplaces])
    after = others([(w.hfr_id, w.role, w.sector) for w in new.workplaces])
    if before != after:
        raise PermissionDenied(
            "A facility admin changes their own facility's work place only. Leave the other "
            "facilities' work places as they are; those facilities update them.",
            code="HS-1750",
        )


def update_professional(
    session: Session,
    ctx: RequestContext,
    *,
    hpr_id: str,
    changes: ProfessionalChanges,
    clock: Clock,
) -> EditOutcome:
    with audited(
        session, ctx, action="professional.update", resource_type=RESOURCE, clock=clock
    ) as target:
        require(ctx.actor, "professional.edit")
        professional = load_for(session, actor=ctx.actor, raw_hpr_id=hpr_id, for_update=True)
        target.resource_id = str(professional.public_id)
        if changes.is_empty():
            raise ValidationFailed(
                "Nothing to change: send at least one of category, subcategory, council, "
                "registration_number, registration_year, qualifications, workplaces.",
                code="HS-1751",
            )
        new = check_details(
            session,
            details=_merged(professional, changes),
            year_of_birth=professional.year_of_birth,
            this_year=clock.now().year,
        )
        changed = _changed(professional, new)
        if not changed:
            return EditOutcome(professional, [], False)
        _check_facility_admin(ctx, professional, new)
        if (new.council, new.registration_key) != (
            professional.council,
            professional.registration_key,
        ):
            owner = council_number_owner(session, council=new.council, key=new.registration_key)
            if owner is not None and owner.id != professional.id:
                raise DuplicateCouncilNumber(owner.hpr_id)
        now = clock.now()
        resubmitted = professional.status == Status.REJECTED.value or (
            professional.status == Status.VERIFIED.value
            and any(f in VERIFIED_FIELDS for f in changed)
        )
        apply_details(professional, new)
        if resubmitted:
            professional.status = Status.SUBMITTED.value
            professional.rejection_reason = None
            professional.status_changed_at = now
            professional.status_changed_by = ctx.actor.id[:64]
        professional.updated_at = now
        try:
            session.flush()
        except IntegrityError as exc:
            raise Conflict(
                "Another change to the same council registration number was saved at the "
                "same moment. Send the edit again.",
                code="HS-1748",
            ) from exc
        record_version(
            session,
            ctx,
            professional=professional,
            change="resubmitted" if resubmitted else "edited",
            at=now,
            changed_fields=changed,
        )
        # Beyond the contract's three events, so the dashboard follows a record that
        # leaves "verified" (resubmitted: it stops counting until verified again) or
        # moves (updated: new work places) at once (monitoring.indicators' rules).
        if resubmitted:
            emit_event(
                session, professional=professional, name="professional.resubmitted", clock=clock
            )
        elif professional.status == Status.VERIFIED.value:
            emit_event(session, professional=professional, name="professional.updated", clock=clock)
        return EditOutcome(professional, changed, resubmitted)
