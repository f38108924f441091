"""``healthstack seed``: build the synthetic demo state (KYC sandbox, ABHA registry, and
the facility and professional registries with the dashboard's targets)."""

from __future__ import annotations

from contextlib import nullcontext

import typer

from healthstack.cli.common import cli_runtime, console, fail
from healthstack.settings import StateProfile


def seed(
    profile: str = typer.Option("jk", help="Seeding profile; 'jk' is Jammu & Kashmir."),
    scale: float = typer.Option(
        ...,
        help="Share of the full population, more than 0 and at most 1 "
        "(1 = 1.356 crore residents, 94.49 lakh ABHA accounts; the demo uses 0.002).",
    ),
    if_empty: bool = typer.Option(
        False, "--if-empty", help="Do nothing when the KYC sandbox already holds residents."
    ),
    batch: int = typer.Option(20_000, min=1, max=1_000_000, help="Rows per batch written."),
    registries: bool = typer.Option(
        True,
        "--registries/--no-registries",
        help="Also seed the facilities, the state facility master and the professionals "
        "(the same at every scale, a few seconds).",
    ),
) -> None:
    """Seed the synthetic residents of a state and their ABHA accounts, and the state's
    facilities, facility master and professionals (in full at every scale)."""
    # Imported here so `healthstack --help` does not build the generator's tables.
    from healthstack.kernel.errors import ValidationFailed
    from healthstack.seed.generator import make_plan
    from healthstack.seed.loader import has_residents, rich_progress, seed_state

    try:
        plan = make_plan(profile, scale)
    except ValidationFailed as exc:
        fail(exc.message, 2)
        return
    with cli_runtime() as rt:
        _same_state(rt.settings.profile, plan.profile)
        with rt.session_factory() as session:
            seeded = has_residents(session)
        if seeded and if_empty:
            console.print(
                "[yellow]Skipped:[/yellow] the KYC sandbox already holds residents (--if-empty)."
            )
            return
        console.print(
            f"Seeding profile [bold]{plan.profile}[/bold] at scale {plan.scale:g}: "
            f"{plan.residents:,} residents, {plan.accounts:,} ABHA accounts."
        )
        # Already seeded: seed_state refuses with the reason; no progress bar first.
        bar = nullcontext(None) if seeded else rich_progress(plan.residents)
        with bar as progress:
            result = seed_state(
                rt,
                profile=plan.profile,
                scale=plan.scale,
                batch_size=batch,
                if_empty=if_empty,
                progress=progress,
                registries=registries,
            )
        if not result.skipped:
            from healthstack.seed.dashboard import after_seed

            # The dashboard: district targets at this scale, figures rebuilt from the load.
            after_seed(rt.session_factory, clock=rt.clock, profile=plan.profile, scale=plan.scale)
    if result.skipped:
        console.print(
            f"[yellow]Skipped:[/yellow] the KYC sandbox already holds "
            f"{result.existing_residents:,} residents (--if-empty)."
        )
        return
    console.print(
        f"[green]Seeded[/green] {result.residents:,} residents, {result.accounts:,} ABHA "
        f"accounts and {result.addresses:,} ABHA addresses in "
        f"{result.resident_seconds:.1f} s ({result.rows_per_second:,.0f} rows/s)."
    )
    reg = result.registries
    if reg is not None:
        console.print(
            f"[green]Registries:[/green] {reg.public_facilities:,} public facilities "
            f"({reg.master_matched:,} of {reg.master_entries:,} master entries matched) and "
            f"{reg.private_facilities:,} private; {reg.doctors:,} of {reg.doctor_posts:,} public "
            f"doctors and {reg.nurses:,} public nurses verified in HPR, "
            f"{reg.private_professionals:,} private professionals; HR roster of "
            f"{sum(reg.roster.values()):,} posts: {reg.roster.get('matched', 0):,} matched to "
            f"HPR, {reg.roster.get('uncertain', 0):,} for review, "
            f"{reg.roster.get('none', 0):,} not registered "
            f"({result.phases.get('registries', 0.0):.1f} s)."
        )


def _same_state(deployed: StateProfile, profile: str) -> None:
    """The seed makes the people and places of its own state: refuse a deployment that
    serves another (its registries would refuse them, its dashboard not show them)."""
    from healthstack.seed.generator import PROFILES

    seeded = PROFILES[profile].PROFILE
    if deployed.state_lgd != seeded.state_lgd or deployed.district_codes != seeded.district_codes:
        fail(
            f"The {profile} seed makes the residents and facilities of {seeded.state_name}, "
            f"but this deployment serves {deployed.state_name} (HEALTHSTACK_STATE_PROFILE). "
            f"Seed a deployment of {seeded.state_name}, or leave HEALTHSTACK_STATE_PROFILE unset.",
            2,
        )
