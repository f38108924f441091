"""``healthstack kyc``: look into the offline KYC sandbox (development mode only).

``kyc sample`` prints residents who exist in the sandbox, so a tester can enrol
someone real to the sandbox (their Aadhaar number, and the mobile the OTP goes to).
The sandbox plays UIDAI and holds Aadhaar numbers in clear, so this command refuses
to run outside development and test, and every resident it shows is audited.
"""

from __future__ import annotations

import json
import random
import sys
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from healthstack.cli.common import cli_runtime, console, fail, require_development, settings_or_exit
from healthstack.integrations.aadhaar.models import KycResident
from healthstack.kernel.audit import record_access
from healthstack.kernel.context import Actor, ActorKind, Purpose, RequestContext
from healthstack.kernel.uow import unit_of_work
from healthstack.network.abha.models import AbhaAccount
from healthstack.runtime import Runtime

app = typer.Typer(
    help="The offline Aadhaar KYC sandbox (development mode only).", no_args_is_help=True
)

MAX_SAMPLE = 1000
# Below this many residents it is cheaper to read them all than to probe at random.
_SMALL_REGISTRY = 5000
_WINDOW = 25
CLI_ACTOR = Actor(kind=ActorKind.SYSTEM, id="cli:kyc", display="healthstack kyc")


@dataclass(frozen=True)
class SampleResident:
    aadhaar: str
    name: str
    gender: str
    birth_date: str
    district_name: str
    district_lgd: int
    pincode: str
    mobile: str | None
    has_abha: bool
    abha_number: str | None


def _filtered(
    q: Select[Any], district: int | None, born_by: date | None, mobile: bool
) -> Select[Any]:
    if district is not None:
        q = q.where(KycResident.district_lgd == district)
    if born_by is not None:
        q = q.where(KycResident.birth_date <= born_by)
    if mobile:
        q = q.where(KycResident.mobile.is_not(None))
    return q


def sample_residents(
    session: Session,
    runtime: Runtime,
    *,
    count: int,
    district: int | None = None,
    with_abha: bool | None = None,
    with_mobile: bool = False,
    adults_only: bool = False,
    rng: random.Random | None = None,
) -> list[SampleResident]:
    """Up to ``count`` distinct sandbox residents, spread over the registry.

    ``with_abha``: True only residents who have an ABHA account, False only those
    without one (so a tester can create one), None either. ``with_mobile``: only
    residents with a mobile registered with Aadhaar (the OTP goes there);
    ``adults_only``: 18 or older. Every resident returned is audited.
    """
    rng = rng or random.Random()
    today = runtime.clock.now().date()
    born_by = today.replace(year=today.year - 18, day=min(today.day, 28)) if adults_only else None

    def filtered(q: Select[Any]) -> Select[Any]:
        return _filtered(q, district, born_by, with_mobile)

    bounds = filtered(select(KycResident.id))
    low = session.scalar(bounds.order_by(KycResident.id).limit(1))
    if low is None:
        return []
    high = session.scalar(bounds.order_by(KycResident.id.desc()).limit(1)) or low
    chosen: dict[int, SampleResident] = {}
    small = high - low < _SMALL_REGISTRY
    attempts = 1 if small else count * 20
    for _ in range(attempts):
        if len(chosen) >= count:
            break
        start = low if small else rng.randint(low, high)
        # start <= the last matching id, so the window is never empty.
        limit = _SMALL_REGISTRY + 1 if small else _WINDOW
        window = list(
            session.scalars(
                filtered(select(KycResident).where(KycResident.id >= start))
                .order_by(KycResident.id)
                .limit(limit)
            )
        )
        by_hash = {runtime.hasher.hash("aadhaar", r.aadhaar): r for r in window}
        accounts = (
            {
                a.aadhaar_hash: a
                for a in session.scalars(
                    select(AbhaAccount).where(AbhaAccount.aadhaar_hash.in_(list(by_hash)))
                )
            }
            if by_hash
            else {}
        )
        eligible = [
            (digest, r)
            for digest, r in by_hash.items()
            if r.id not in chosen and (with_abha is None or (digest in accounts) == with_abha)
        ]
        if small:
            rng.shuffle(eligible)
            picks = eligible[: count - len(chosen)]
        else:
            # One or two per window: consecutive ids are one household.
            picks = eligible[:1] if len(chosen) < count else []
        for digest, r in picks:
            account = accounts.get(digest)
            chosen[r.id] = SampleResident(
                aadhaar=r.aadhaar,
                name=r.name,
                gender=r.gender,
                birth_date=r.birth_date.isoformat(),
                district_name=r.district_name,
                district_lgd=r.district_lgd,
                pincode=r.pincode,
                mobile=r.mobile,
                has_abha=account is not None,
                abha_number=account.abha_number if account else None,
            )
            ctx = RequestContext(actor=CLI_ACTOR, purpose=Purpose.ADMINISTRATION)
            record_access(
                session,
                ctx,
                action="kyc.sample",
                resource_type="kyc_resident",
                resource_id=str(r.id),
                clock=runtime.clock,
            )
            if account is not None:
                record_access(
                    session,
                    ctx,
                    action="abha.account.read",
                    resource_type="abha_account",
                    resource_id=str(account.public_id),
                    clock=runtime.clock,
                )
    return list(chosen.values())


def residents_table(rows: list[SampleResident], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("Aadhaar", no_wrap=True, min_width=12)
    table.add_column("Name", min_width=12)
    table.add_column("Gender", no_wrap=True)
    table.add_column("Born", no_wrap=True, min_width=10)
    table.add_column("District", min_width=10)
    table.add_column("Mobile", no_wrap=True, min_width=10)
    table.add_column("ABHA number", no_wrap=True, min_width=17)
    for r in rows:
        table.add_row(
            r.aadhaar,
            r.name,
            r.gender,
            r.birth_date,
            f"{r.district_name} ({r.district_lgd})",
            r.mobile or "-",
            _format_abha(r.abha_number) if r.abha_number else "-",
        )
    return table


def table_console() -> Console:
    """Stdout console; when piped it is wide enough for a table of whole numbers."""
    return Console() if sys.stdout.isatty() else Console(width=160)


def _format_abha(number: str) -> str:
    return f"{number[0:2]}-{number[2:6]}-{number[6:10]}-{number[10:14]}"


@app.command("sample")
def sample(
    count: int = typer.Option(5, min=1, max=MAX_SAMPLE, help="How many residents."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    district: int | None = typer.Option(None, help="Only this district (LGD code, e.g. 13)."),
    with_abha: bool | None = typer.Option(
        None,
        "--with-abha/--without-abha",
        help="Only residents with (or without) an ABHA account; both by default.",
    ),
    with_mobile: bool = typer.Option(
        False, "--with-mobile", help="Only residents with a mobile registered with Aadhaar."
    ),
) -> None:
    """Print sandbox residents (Aadhaar, name, gender, date of birth, district, mobile)."""
    require_development(settings_or_exit(), "healthstack kyc sample")
    with cli_runtime() as rt, unit_of_work(rt.session_factory) as session:
        rows = sample_residents(
            session,
            rt,
            count=count,
            district=district,
            with_abha=with_abha,
            with_mobile=with_mobile,
        )
    if not rows:
        where = f" in district {district}" if district is not None else ""
        kind = {True: " with an ABHA", False: " without an ABHA", None: ""}[with_abha]
        fail(
            f"No sandbox residents{kind}{where}. Seed the sandbox first "
            "(healthstack seed --profile jk --scale 0.002), or check the district LGD code.",
            1,
        )
    if len(rows) < count:
        console.print(f"[yellow]Only {len(rows)} matching residents were found.[/yellow]")
    if as_json:
        typer.echo(json.dumps([asdict(r) for r in rows], indent=2, ensure_ascii=False))
    else:
        table_console().print(residents_table(rows, "Sandbox residents"))


__all__ = ["SampleResident", "app", "residents_table", "sample_residents", "table_console"]
