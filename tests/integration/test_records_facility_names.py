"""The HIP names a facility by its HFR id through the ``FacilityNames`` port: the
fake's mapping, or, in the deployment, the registry's name (``app.HfrFacilityNames``);
the HFR id itself when the port knows none."""

from __future__ import annotations

from datetime import timedelta

from healthstack.app import HfrFacilityNames
from healthstack.facility.records import care_contexts as cc
from healthstack.integrations.hfr import FixedFacilityNames
from healthstack.kernel.uow import unit_of_work
from healthstack.network.hfr.service import find_facility
from healthstack.protocol.fhir.terminology import EncounterClass
from tests.factories_accounts import hfr_facility
from tests.factories_records import HIP_A, SEED_CTX, make_patient


def _display(runtime, names, *, hip: str = HIP_A) -> str:
    with unit_of_work(runtime.session_factory) as s:
        visit = cc.open_care_context(
            s,
            SEED_CTX,
            clock=runtime.clock,
            names=names,
            patient=cc.get_patient(s, hip_id=hip, mrn="MRN-0001"),
            kind=EncounterClass.OPD,
            start=runtime.clock.now() - timedelta(days=1),
        )
        return visit.display


def test_the_care_context_names_the_facility_the_port_names(runtime):
    make_patient(runtime)
    assert _display(runtime, FixedFacilityNames({HIP_A: "PHC Khag"})).endswith("PHC Khag")
    # A facility the port does not know is named by its HFR id.
    assert _display(runtime, FixedFacilityNames()).endswith(HIP_A)


def test_in_the_deployment_the_name_is_the_registrys(runtime):
    hip = hfr_facility(runtime)
    make_patient(runtime, hip=hip)
    with unit_of_work(runtime.session_factory) as s:
        facility = find_facility(s, hip)
        assert facility is not None
        registered = facility.name
        assert HfrFacilityNames().name_of(s, hip) == registered
        assert HfrFacilityNames().name_of(s, "IN0199999999") is None
        assert cc.facility_name(s, hfr_id=hip, names=HfrFacilityNames()) == registered
    assert _display(runtime, HfrFacilityNames(), hip=hip).endswith(registered)
