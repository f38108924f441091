"""One definition of "not in HPR" on the dashboard and the compliance pages: posts on
the HR roster minus public professionals verified in HPR, stated on both; compliance
shows the roster's named breakdown and the terms by which it differs from the count."""

from __future__ import annotations

import re

from healthstack.kernel.context import Role
from healthstack.kernel.uow import unit_of_work
from healthstack.programme.compliance.figures import definition
from healthstack.programme.monitoring.aggregates import rebuild
from tests.factories_compliance import ROSTER, import_roster
from tests.factories_pages import log_in


def _dashboard_missing(html: str, indicator: str) -> int:
    card = html[html.index(f'data-indicator="{indicator}"') :]
    found = re.search(r'class="mon-gap" data-missing="(\d+)"', card[: card.index("</article>")])
    assert found, f"no 'not in HPR' on the {indicator} card"
    return int(found.group(1))


def _compliance_missing(html: str, cadre: str) -> int:
    found = re.search(rf'data-cadre="{cadre}" data-missing="(\d+)"', html)
    assert found, f"no 'not in HPR' for {cadre}s on the compliance page"
    return int(found.group(1))


def _cells(html: str, label: str) -> list[str]:
    row = html[html.index(label) :]
    row = row[: row.index("</tr>")]
    return re.findall(r'<td class="num">([^<]*)</td>', row)


def test_dashboard_and_compliance_say_the_same_not_in_hpr(client, runtime, make_staff, hpr):
    import_roster(client, make_staff(Role.STATE_ADMIN), ROSTER)
    with unit_of_work(runtime.session_factory) as session:
        rebuild(session, clock=runtime.clock)
    log_in(client, make_staff, Role.STATE_ADMIN)

    dashboard = client.get("/dashboard").text
    compliance = client.get("/compliance/status").text
    # 5 doctor posts, 3 public doctors verified in HPR: 2 not in HPR, on both pages.
    assert _dashboard_missing(dashboard, "hpr.doctors") == 2
    assert _compliance_missing(compliance, "doctor") == 2
    assert _dashboard_missing(dashboard, "hpr.nurses") == _compliance_missing(compliance, "nurse")
    # The definition is stated, in the same words, on both.
    for cadre in ("doctor", "nurse"):
        text = definition(cadre)
        assert text.replace("−", "&minus;") in dashboard or text in dashboard
        assert text in compliance
    # The roster's named list and why it differs: E5 not found, E4 uncertain (its
    # holder is verified in HPR under another spelling), E2 registered, not verified.
    doctors = {
        label: _cells(compliance, label)[0]
        for label in (
            "Not found in HPR",
            "Uncertain: the match waits",
            "Registered, waiting",
            "Less: verified in HPR",
        )
    }
    assert doctors == {
        "Not found in HPR": "1",
        "Uncertain: the match waits": "1",
        "Registered, waiting": "1",
        "Less: verified in HPR": "−1",
    }

    # A district officer's pages agree within the district too (Budgam: E5 only).
    log_in(client, make_staff, Role.DISTRICT_OFFICER, district_lgd=2)
    district = client.get("/dashboard", follow_redirects=True).text
    assert _dashboard_missing(district, "hpr.doctors") == 1
    assert _compliance_missing(client.get("/compliance/status").text, "doctor") == 1
