"""``create_app(settings)``: the one ASGI application, routers mounted per domain."""

from __future__ import annotations

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
from healthstack.runtime import Runtime, build_runtime
from healthstack.settings import Settings
from healthstack.web.errors import UnexpectedErrors, install_error_handlers
from healthstack.web.middleware import BodySizeLimit, InputLimits, SecurityHeaders
from healthstack.web.openapi import install_openapi
from healthstack.web.timefmt import local_date, local_time

WEB_DIR = Path(__file__).parent


class HfrFacilityDirectory:
    """Staff administration's view of the facility registry (``accounts.staff_admin.
    FacilityDirectory``), wired here so that accounts never imports the registries."""

    def district_of(self, session: Session, hfr_id: str) -> int | None:
        from healthstack.facilities.service import find_facility

        facility = find_facility(session, hfr_id)
        return facility.district_lgd if facility is not None else None

    def facilities_in(self, session: Session, district_lgd: int) -> Collection[str]:
        from healthstack.facilities.models import Facility

        return set(
            session.scalars(select(Facility.hfr_id).where(Facility.district_lgd == district_lgd))
        )

    def districts(self) -> Sequence[tuple[int, str]]:
        from healthstack.seed.jk import DISTRICTS

        return sorted(((d.lgd, d.name) for d in DISTRICTS), key=lambda d: d[1])


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
    app.state.facility_directory = HfrFacilityDirectory()
    # One per process: the bound on concurrent password checks (accounts.passwords).
    app.state.password_gate = PasswordGate.from_settings(settings.auth)
    templates = Jinja2Templates(directory=str(WEB_DIR / "templates"))
    templates.env.globals["settings"] = settings
    templates.env.filters["local_time"] = local_time
    templates.env.filters["local_date"] = local_date
    templates.env.globals["describe_ua"] = describe_user_agent
    app.state.templates = templates
    install_error_handlers(app)
    from healthstack.monitoring.pages import router as monitoring_pages
    from healthstack.monitoring.router import router as monitoring_router
    from healthstack.web.vendor import router as vendor_router

    # The vendor route (/static/vendor/...) goes before the /static mount that would hide it.
    app.include_router(vendor_router)
    from healthstack.web.apidocs import router as apidocs_router

    app.include_router(apidocs_router)
    app.include_router(monitoring_router)
    app.include_router(monitoring_pages)
    app.mount("/static", StaticFiles(directory=str(WEB_DIR / "static")), name="static")

    from healthstack.abha.pages import router as abha_pages
    from healthstack.abha.router import router as abha_router
    from healthstack.abha.router_card import router as abha_card_router
    from healthstack.abha.router_profile import router as abha_profile_router
    from healthstack.accounts.audit_router import pages as audit_pages
    from healthstack.accounts.audit_router import router as audit_router
    from healthstack.accounts.auth_router import router as auth_router
    from healthstack.accounts.staff_router import router as staff_router
    from healthstack.facilities.pages import router as facilities_pages
    from healthstack.facilities.router import router as facilities_router
    from healthstack.web.system import router as system_router

    app.include_router(system_router)
    app.include_router(auth_router)
    app.include_router(staff_router)
    app.include_router(audit_router)
    app.include_router(audit_pages)
    app.include_router(abha_router)
    app.include_router(abha_profile_router)
    app.include_router(abha_card_router)
    app.include_router(abha_pages)
    app.include_router(facilities_router)
    app.include_router(facilities_pages)
    from healthstack.professionals import pages as hpr_pages
    from healthstack.professionals import router as hpr_api

    app.include_router(hpr_api.router)
    app.include_router(hpr_pages.router)
    from healthstack.compliance import pages as compliance_pages
    from healthstack.compliance import router as compliance_api

    app.include_router(compliance_api.router)
    app.include_router(compliance_pages.router)
    from healthstack.gateway.router import router as gateway_router
    from healthstack.integrations.abdm.callbacks import install as install_abdm_callbacks

    app.include_router(gateway_router)
    from healthstack.consent.router import router as consent_router

    app.include_router(consent_router)  # the CM's protocol routes and the PHR API
    from healthstack.consent.pages import router as phr_pages

    app.include_router(phr_pages)  # the patient's PHR pages (/phr)
    install_abdm_callbacks(app)  # duplicate callbacks on the bridge routes: 202, no-op
    from healthstack.records import pages as records_pages
    from healthstack.records import router as records_bridge

    app.include_router(records_bridge.router)  # the facility's ABDM bridge (/api/v3/...)
    app.include_router(records_pages.router)  # the doctor's record requests (/records)
    if settings.is_development:
        from healthstack.web.dev import router as dev_router

        app.include_router(dev_router)

    install_openapi(app)
    app.add_middleware(InputLimits)  # innermost: reads what BodySizeLimit allows
    app.add_middleware(SecurityHeaders, https=settings.base_url.lower().startswith("https://"))
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(UnexpectedErrors)  # outermost: whatever the others raise
    logging.getLogger("healthstack").setLevel(settings.log_level)
    return app
