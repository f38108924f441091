"""The facility side's port to the health facility registry (HFR): what a facility,
named by its HFR id, is called (on an SMS to the patient, in a FHIR document, on the
doctor's pages).

``FacilityNames`` is the port. In one deployment its adapter reads the registry this
HMIS shares with the network side (``app.HfrFacilityNames``, wired by the composition
root); against NHA's HFR it would call the registry's API. ``FixedFacilityNames`` is
the fake: names from a mapping (tests, and a HMIS that keeps its facilities' names
itself).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.orm import Session


class FacilityNames(Protocol):
    def name_of(self, session: Session, hfr_id: str) -> str | None:
        """The registry's name of the facility with this HFR id; None when it has none."""
        ...


@dataclass(frozen=True)
class FixedFacilityNames:
    """Names from a mapping of HFR id to name."""

    names: Mapping[str, str] = field(default_factory=dict)

    def name_of(self, session: Session, hfr_id: str) -> str | None:
        return self.names.get(hfr_id)
