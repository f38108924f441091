"""``healthstack demo``: demo logins and sample residents, then serve (development only).

Creates, when missing, one staff account per role a tester needs (registration desk,
facility admin, doctor and nurse at a J&K facility, a district officer for Srinagar,
the state admin and a registry verifier), prints their logins and a few sandbox
residents (three without an ABHA, to create one, and two with one, to verify or log
in), then serves the app like ``healthstack serve``. The passwords are public, which
is why the command refuses to run outside development.
"""

from __future__ import annotations

from dataclasses import dataclass

import typer
from rich.table import Table
from sqlalchemy import select

from healthstack.accounts.models import StaffUser
from healthstack.accounts.service import create_staff
from healthstack.cli.common import cli_runtime, console, require_development
from healthstack.cli.kyc import residents_table, sample_residents, table_console
from healthstack.cli.serve import HOST_HELP, PORT_HELP, listen_url, run_server, server_settings
from healthstack.kernel.context import Role
from healthstack.kernel.uow import unit_of_work
from healthstack.runtime import Runtime
from healthstack.seed.jk import STATE_LGD

# HFR ids: "IN" + the state LGD code in digits 3-4 (J&K is 01) + "10" + 6 digits
# (REFERENCE.md §4.3); the same facility the tests use as FACILITY_A.
DEMO_FACILITY = f"IN{STATE_LGD:02d}10000001"
DEMO_FACILITY_2 = f"IN{STATE_LGD:02d}10000002"
SRINAGAR_LGD = 13


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: Role
    full_name: str
    facility_id: str | None = None
    district_lgd: int | None = None


DEMO_LOGINS: tuple[DemoLogin, ...] = (
    DemoLogin(
        "desk", "desk-demo-2026", Role.REGISTRATION_DESK, "Registration Desk (demo)", DEMO_FACILITY
    ),
    DemoLogin(
        "facadmin",
        "facadmin-demo-2026",
        Role.FACILITY_ADMIN,
        "Facility Admin (demo)",
        DEMO_FACILITY,
    ),
    DemoLogin("doctor", "doctor-demo-2026", Role.DOCTOR, "Dr. Demo Doctor", DEMO_FACILITY),
    DemoLogin("nurse", "nurse-demo-2026", Role.NURSE, "Demo Nurse", DEMO_FACILITY),
    DemoLogin(
        "desk2",
        "desk2-demo-2026",
        Role.REGISTRATION_DESK,
        "Registration Desk, second facility (demo)",
        DEMO_FACILITY_2,
    ),
    DemoLogin(
        "district",
        "district-demo-2026",
        Role.DISTRICT_OFFICER,
        "District Officer Srinagar (demo)",
        district_lgd=SRINAGAR_LGD,
    ),
    DemoLogin("stateadmin", "stateadmin-demo-2026", Role.STATE_ADMIN, "State Admin (demo)"),
    DemoLogin("verifier", "verifier-demo-2026", Role.REGISTRY_VERIFIER, "Registry Verifier (demo)"),
)


def ensure_demo_logins(runtime: Runtime) -> list[tuple[DemoLogin, bool]]:
    """Create the demo staff accounts that are missing; returns (login, created)."""
    out: list[tuple[DemoLogin, bool]] = []
    with unit_of_work(runtime.session_factory) as session:
        for login in DEMO_LOGINS:
            exists = session.scalar(
                select(StaffUser.id).where(StaffUser.username == login.username)
            )
            if exists is None:
                create_staff(
                    session,
                    username=login.username,
                    full_name=login.full_name,
                    role=login.role,
                    password=login.password,
                    clock=runtime.clock,
                    facility_id=login.facility_id,
                    district_lgd=login.district_lgd,
                )
            out.append((login, exists is None))
    return out


def logins_table(rows: list[tuple[DemoLogin, bool]], base_url: str) -> Table:
    table = Table(title=f"Demo logins ({base_url}/login)", title_justify="left")
    for col in ("Username", "Password", "Role", "Scope", ""):
        table.add_column(col)
    for login, created in rows:
        scope = login.facility_id or (
            f"district {login.district_lgd}" if login.district_lgd else "state"
        )
        table.add_row(
            login.username,
            login.password,
            login.role.value,
            scope,
            "created" if created else "existing (password as set at creation)",
        )
    return table


def demo(
    host: str | None = typer.Option(None, help=HOST_HELP, show_default=False),
    port: int | None = typer.Option(None, min=1, max=65535, help=PORT_HELP, show_default=False),
    no_serve: bool = typer.Option(False, "--no-serve", help="Print the logins and exit."),
) -> None:
    """Create demo logins, print them and some sandbox residents, then serve."""
    # The bridge registered below calls back at base_url, which follows --port.
    settings = server_settings(host, port)
    require_development(settings, "healthstack demo")
    out = table_console()
    with cli_runtime(settings) as rt:
        rows = ensure_demo_logins(rt)
        # The state HMIS as a bridge of this gateway; the seeded records' links queued.
        from healthstack.demo import demo_patients, ensure_bridge, queue_pending_links

        bridge = ensure_bridge(rt, also=(DEMO_FACILITY, DEMO_FACILITY_2))
        linking = queue_pending_links(rt)
        patients = demo_patients(rt)
        with unit_of_work(rt.session_factory) as session:
            # Adults with an Aadhaar mobile: the enrolment OTP goes to that mobile.
            without = sample_residents(
                session, rt, count=3, with_abha=False, with_mobile=True, adults_only=True
            )
            with_abha = sample_residents(
                session, rt, count=2, with_abha=True, with_mobile=True, adults_only=True
            )
    base_url = settings.base_url.rstrip("/")
    out.print(logins_table(rows, base_url))
    out.print(
        f"ABDM bridge {bridge.client_id} → {bridge.url}: {bridge.facilities} HMIS facilities "
        f"as HIP and HIU; HIP-initiated linking queued for {linking} seeded patient(s). "
        f"Its secret: {bridge.secret_source}."
    )
    if patients:
        table = Table(title="Patients with records at HMIS facilities (ask for them as doctor)")
        for column in ("ABHA address", "Name", "Mobile (patient login)", "Facilities", "Visits"):
            table.add_column(column)
        for p in patients:
            table.add_row(p.abha_address, p.name, p.mobile or "-", str(p.facilities), str(p.visits))
        out.print(table)
    if without or with_abha:
        out.print(residents_table(without, "Sandbox residents without an ABHA (create one)"))
        out.print(residents_table(with_abha, "Sandbox residents with an ABHA (verify, log in)"))
        out.print(
            "OTPs go to the SMS outbox in the demo: read them at "
            f"{base_url}/dev/sms. More residents: healthstack kyc sample --count 10"
        )
    else:
        console.print(
            "[yellow]The KYC sandbox is empty.[/yellow] Seed it first: "
            "healthstack seed --profile jk --scale 0.002"
        )
    if no_serve:
        return
    listening = listen_url(settings)
    also = "" if listening == base_url else f"; others reach it at {base_url}"
    console.print(f"[green]Serving on {listening}{also} (Ctrl-C stops).[/green]")
    run_server(settings, workers=1)
