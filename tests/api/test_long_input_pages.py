"""Over-long input on a page form: the same form comes back with everything typed,
the field marked and the message saying the limit; nothing is searched, registered or
saved, and nothing is silently cut short (web.forms)."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from healthstack.kernel.context import Role
from healthstack.kernel.uow import unit_of_work
from healthstack.network.hfr.models import Facility
from tests.factories_abha_enrolment import last_otp as sms_otp
from tests.factories_abha_pages import alert
from tests.factories_abha_pages import log_in as desk_log_in
from tests.factories_facilities import FORM
from tests.factories_pages import log_in as registry_log_in
from tests.factories_professionals import REGISTER, add_resident, details_form, hidden


def _marked(page: str, name: str) -> str:
    control = re.search(r'<(?:input|select|textarea)[^>]*name="' + name + r'"[^>]*>', page)
    assert control, f"no control {name}"
    assert 'aria-invalid="true"' in control.group(0), control.group(0)
    note = re.search(r'<span class="field-error" id="field-error">([^<]*)</span>', page)
    assert note, "no message next to the field"
    return note.group(1)


def test_desk_search_keeps_an_over_long_name_and_marks_it(client, make_staff):
    desk_log_in(client, make_staff)
    long_name = "Ravi Kumar Sharma " * 12  # 216 characters, the box takes 120
    r = client.post("/desk/search", data={"mode": "name", "name": long_name})
    assert r.status_code == 400
    assert "The name can be at most 120 characters" in alert(r.text)
    assert f'value="{long_name.strip()}"' in r.text
    assert "at most 120" in _marked(r.text, "name")
    assert "found" not in r.text  # nothing was searched


def test_facility_registration_keeps_the_form_with_an_over_long_name(client, make_staff, runtime):
    registry_log_in(client, make_staff, Role.FACILITY_ADMIN)
    long_name = "Primary Health Centre Khag " * 12
    r = client.post("/registry/facilities", data={**FORM, "name": long_name})
    assert r.status_code == 400
    assert "The facility name can be at most 300 characters" in alert(r.text)
    assert f'value="{long_name}"' in r.text
    assert f'value="{FORM["address_line"]}"' in r.text  # the rest of the form too
    assert "at most 300" in _marked(r.text, "name")
    with unit_of_work(runtime.session_factory) as s:
        assert s.scalar(select(func.count()).select_from(Facility)) == 0


def test_hpr_details_keep_an_over_long_registration_number_uncut(client, runtime, facilities):
    aadhaar, mobile = add_resident(runtime, name="Aamir Hussain Wani")
    client.get(REGISTER)
    otp_page = client.post(f"{REGISTER}/otp", data={"aadhaar": aadhaar, "consent": "yes"})
    state = hidden(otp_page.text)
    details = client.post(f"{REGISTER}/verify", data={**state, "otp": sms_otp(client, mobile)})
    assert details.status_code == 200
    number = "JKMC/2012/" + "0" * 50  # 60 characters; the registry holds 40
    r = client.post(f"{REGISTER}/details", data=details_form(state, registration_number=number))
    assert r.status_code == 400, "the number was cut to 40 characters and accepted"
    assert "The registration number can be at most 40 characters" in alert(r.text)
    assert f'value="{number}"' in r.text
    assert 'value="University of Kashmir"' in r.text
    _marked(r.text, "registration_number")
