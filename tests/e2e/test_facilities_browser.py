"""The facility registry in real Chromium: a facility admin registers a facility and a
registry verifier verifies it; a state admin settles an ambiguous master entry on the
review screen."""

from __future__ import annotations

import re

import pytest

from healthstack.kernel.context import Role, system_context
from healthstack.kernel.uow import unit_of_work
from healthstack.network.hfr import master
from healthstack.network.hfr.bulk import bulk_load_facilities
from tests.factories_browser import log_in
from tests.factories_facilities import details

pytestmark = pytest.mark.browser


def test_admin_registers_and_verifier_verifies(page, live_server, make_staff):
    admin = make_staff(Role.FACILITY_ADMIN)
    verifier = make_staff(Role.REGISTRY_VERIFIER)

    log_in(page, live_server, admin, "/registry/facilities")
    form = page.locator("form[method=post][action^='/registry/facilities']")
    page.get_by_label("Facility name").fill("PHC Khag & Sons")
    form.locator("select[name=facility_type]").select_option("phc")
    form.locator("select[name=ownership]").select_option("public")
    page.get_by_label("Department").fill("Health and Medical Education")
    form.locator("select[name=district_lgd]").select_option(label="Budgam")
    page.get_by_label("PIN code").fill("193411")
    page.get_by_label("Latitude").fill("34.02")
    page.get_by_label("Longitude").fill("74.58")
    page.get_by_label("OPD").check()
    page.get_by_label("IPD (in-patient beds)").check()
    page.get_by_label("Beds", exact=True).fill("6")
    page.get_by_role("button", name="Register facility").click()
    # The name rule that failed is named, and what was typed is kept.
    assert "'&'" in page.get_by_role("alert").inner_text()
    assert page.get_by_label("PIN code").input_value() == "193411"
    page.get_by_label("Facility name").fill("PHC Khag")
    page.get_by_role("button", name="Register facility").click()

    page.wait_for_url(re.compile(r"/registry/facilities/IN01\d{8}\?done=registered"))
    hfr = page.inner_text("#hfr-id")
    assert re.fullmatch(r"IN0110\d{6}", hfr)
    assert "submitted" in page.inner_text("#facility-status")
    page.get_by_role("button", name="Log out").click()

    log_in(page, live_server, verifier, f"/registry/facilities/{hfr}")
    page.get_by_role("button", name="Reject facility").click()
    assert "reason for rejecting" in page.get_by_role("alert").inner_text()
    page.get_by_label("Note").fill("Site visited")
    page.get_by_role("button", name="Verify facility").click()
    page.wait_for_url(re.compile(r"\?done=verified"))
    assert "verified" in page.inner_text("#facility-status")
    assert "Site visited" in page.inner_text("table")
    page.screenshot(path="/tmp/facility-verified.png", full_page=True)


def test_state_admin_settles_an_ambiguous_entry(page, live_server, make_staff, runtime):
    state = make_staff(Role.STATE_ADMIN)
    ctx = system_context()
    sc = {"facility_type": "sub_centre", "services": ["opd"], "beds": 0}
    with unit_of_work(runtime.session_factory) as s:
        bulk_load_facilities(
            s,
            [details(name="SC Kralpura", **sc), details(name="SC Karalpora", **sc)],
            clock=runtime.clock,
            profile=runtime.settings.profile,
        )
    with unit_of_work(runtime.session_factory) as s:
        csv = b"state_code,name,type,district\nM-2,SC Kralpora,SC,Budgam\n"
        p = master.create_preview(
            s,
            ctx,
            clock=runtime.clock,
            profile=runtime.settings.profile,
            state_lgd=1,
            filename="m.csv",
            data=csv,
        )
        master.confirm_import(s, ctx, clock=runtime.clock, import_id=p.public_id)

    log_in(page, live_server, state, "/registry/master")
    assert "0 of 1" in page.inner_text("#coverage")
    page.get_by_role("link", name="Review matches").click()
    entry = page.locator(".review-entry")
    assert entry.count() == 1
    assert "SC Kralpora" in entry.inner_text() and "M-2" in entry.inner_text()
    entry.get_by_role("radio", name=re.compile("SC Kralpura")).check()
    page.screenshot(path="/tmp/facility-review.png", full_page=True)
    entry.get_by_role("button", name="Settle").click()
    page.wait_for_url(re.compile(r"/registry/master/review\?done=matched"))
    assert "Matched." in page.get_by_role("status").inner_text()
    assert "Nothing to review." in page.inner_text("main")
    page.get_by_role("link", name="State master list").click()
    # Matched, but its facility is verified (bulk load), so it counts as registered.
    assert "1 of 1" in page.inner_text("#coverage")
