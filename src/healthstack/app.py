"""``create_app(settings)``: the composition root. One table of routers (``ROUTERS``), the
ports that let one side name what the other owns (``HfrFacilityDirectory``,
``HfrFacilityNames``), and the middleware."""

from __future__ import annotations

import importlib
import logging
from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import select
from sqlalchemy.orm import Session

from healthstack.accounts.credentials import describe_user_agent
from healthstack.accounts.passwords import PasswordGate
from healthstack.facility.records.config import DEFAULT_CONFIG as RECORDS_CONFIG
from healthstack.facility.records.dependencies import install as install_abdm_callbacks
from healthstack.runtime import Runtime, build_runtime
from healthstack.settings import Settings, StateProfile
from healthstack.web.errors import UnexpectedErrors, install_error_handlers
from healthstack.web.middleware import BodySizeLimit, InputLimits, SecurityHeaders
from healthstack.web.openapi import install_openapi
from healthstack.web.timefmt import local_date, local_time

WEB_DIR = Path(__file__).parent / "web"

# Every router the application mounts, in mounting order (a route mounted earlier wins).
# Each module exposes ``router``.
ROUTERS: tuple[str, ...] = (
    "healthstack.web.vendor",
    "healthstack.web.apidocs",
    "healthstack.programme.monitoring.router",
    "healthstack.programme.monitoring.pages",
    "healthstack.web.system",
    "healthstack.web.login",
    "healthstack.admin.staff",
    "healthstack.admin.audit",
    "healthstack.network.abha.enrol.router",  # ABDM's v3 enrolment API, camp mode's
    "healthstack.network.abha.patient.router",  # ABDM's v3 login and profile API
    "healthstack.network.abha.desk.router",  # the registration desk's API
    "healthstack.network.abha.enrol.pages",  # /desk/enrol, /desk/demographic, /patient/enrol
    "healthstack.network.abha.desk.pages",  # /desk: search, scan, profiles, cards
    "healthstack.network.abha.patient.pages",  # /patient: login, profile
    "healthstack.network.hfr.router",
    "healthstack.network.hfr.pages",
    "healthstack.network.hpr.router",
    "healthstack.network.hpr.pages",
    "healthstack.programme.compliance.router",
    "healthstack.programme.compliance.pages",
    "healthstack.network.gateway.router",
    "healthstack.network.consent.router",  # the CM's protocol routes
    "healthstack.phr.router",  # the patient's PHR API (/api/v1/phr)
    "healthstack.phr.pages",  # and pages (/phr)
    "healthstack.facility.records.router",  # the facility's ABDM bridge (/api/v3/...)
    "healthstack.facility.records.pages",  # the doctor's record requests (/records)
)


class HfrFacilityDirectory:
    """Staff administration's view of the facility registry (``accounts.staff_admin.
    FacilityDirectory``), wired here so that accounts never imports the registries; its
    districts are the state profile's."""

    def __init__(self, profile: StateProfile) -> None:
        self.profile = profile

    def district_of(self, session: Session, hfr_id: str) -> int | None:
        from healthstack.network.hfr.service import find_facility

        facility = find_facility(session, hfr_id)
        return facility.district_lgd if facility is not None else None

    def facilities_in(self, session: Session, district_lgd: int) -> Collection[str]:
        from healthstack.network.hfr.models import Facility

        return set(
            session.scalars(select(Facility.hfr_id).where(Facility.district_lgd == district_lgd))
        )

    def districts(self) -> Sequence[tuple[int, str]]:
        return self.profile.district_choices()


class HfrFacilityNames:
    """The facility side's names of facilities (``integrations.hfr.FacilityNames``),
    read from the registry this deployment runs, wired here so that the facility side
    never imports the network side."""

    def name_of(self, session: Session, hfr_id: str) -> str | None:
        from healthstack.network.hfr.models import Facility

        name: str | None = session.scalar(select(Facility.name).where(Facility.hfr_id == hfr_id))
        return name


def create_app(
    settings: Settings, *, runtime: Runtime | None = None, run_worker: bool | None = None
) -> FastAPI:
    rt = runtime or build_runtime(settings)
    start_worker = settings.embedded_worker if run_worker is None else run_worker

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        worker = None
        if start_worker:
            from healthstack.jobs.worker import create_worker

            worker = create_worker(settings, rt)
            worker.start_background()
        try:
            yield
        finally:
            if worker is not None:
                worker.stop()

    app = FastAPI(
        title="HealthStack",
        version="0.1.0",
        description="ABHA health accounts and the ABDM stack as a state runs it.",
        lifespan=lifespan,
        # /docs and /redoc are ours (web/apidocs.py): served offline, under the CSP.
        docs_url=None,
        redoc_url=None,
    )
    app.state.runtime = rt
    app.state.settings = settings
    app.state.facility_directory = HfrFacilityDirectory(settings.profile)
    app.state.facility_names = HfrFacilityNames()
    # One per process: the bound on concurrent password checks (accounts.passwords).
    app.state.password_gate = PasswordGate.from_settings(settings.auth)
    templates = Jinja2Templates(directory=str(WEB_DIR / "templates"))
    templates.env.globals["settings"] = settings
    templates.env.filters["local_time"] = local_time
    templates.env.filters["local_date"] = local_date
    templates.env.globals["describe_ua"] = describe_user_agent
    app.state.templates = templates
    install_error_handlers(app)
    for module in ROUTERS:
        app.include_router(importlib.import_module(module).router)
    # After every route: the mount would hide the vendor's /static/vendor/... behind it.
    app.mount("/static", StaticFiles(directory=str(WEB_DIR / "static")), name="static")
    install_abdm_callbacks(app)  # duplicate callbacks on the bridge routes: 202, no-op
    if settings.is_development:
        from healthstack.web.dev import router as dev_router

        app.include_router(dev_router)

    # The data push is the one facility route a HIP calls with its gateway session.
    install_openapi(app, data_push_path=RECORDS_CONFIG.data_push_path)
    app.add_middleware(InputLimits)  # innermost: reads what BodySizeLimit allows
    app.add_middleware(SecurityHeaders, https=settings.base_url.lower().startswith("https://"))
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(UnexpectedErrors)  # outermost: whatever the others raise
    logging.getLogger("healthstack").setLevel(settings.log_level)
    return app
