"""Over-long input in real Chromium: a facility admin whose pasted facility name is far
beyond the limit gets the registration form back with everything as typed, the name
box marked and the limit said next to it (the input's maxlength does not stop a value
put in by a paste tool, an autofill or an old copy of the page)."""

from __future__ import annotations

import pytest

from healthstack.kernel.context import Role
from tests.factories_browser import log_in

pytestmark = pytest.mark.browser


def test_an_over_long_facility_name_keeps_the_form_and_marks_the_field(
    page, live_server, make_staff
):
    admin = make_staff(Role.FACILITY_ADMIN)
    log_in(page, live_server, admin, "/registry/facilities")
    form = page.locator("form[method=post][action^='/registry/facilities']")
    long_name = "Primary Health Centre Khag " * 12  # 324 characters
    name = form.locator("input[name=name]")
    # As a paste tool does: the value is set, the input's maxlength does not apply.
    name.evaluate("(el, value) => { el.value = value; }", long_name)
    form.locator("select[name=facility_type]").select_option("phc")
    form.locator("select[name=ownership]").select_option("public")
    page.get_by_label("Department").fill("Health and Medical Education")
    form.locator("select[name=district_lgd]").select_option(label="Budgam")
    page.get_by_label("PIN code").fill("193411")
    page.get_by_label("Beds", exact=True).fill("6")
    page.get_by_role("button", name="Register facility").click()

    page.wait_for_selector("#field-error")
    assert "at most 300 characters" in page.get_by_role("alert").inner_text()
    name = page.locator("form[method=post] input[name=name]")
    assert name.input_value() == long_name
    assert name.get_attribute("aria-invalid") == "true"
    assert "at most 300 characters" in page.inner_text("#field-error")
    assert page.locator("#field-error").is_visible()
    assert page.get_by_label("PIN code").input_value() == "193411"
    assert page.get_by_label("Department").input_value() == "Health and Medical Education"
