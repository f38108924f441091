"""The worker: an explicit registry of outbox handlers and a polling loop.

``healthstack worker`` runs it as its own process; in the embedded default
``healthstack serve`` runs it on a background thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from healthstack.facility.records import jobs as records_jobs
from healthstack.identity.jobs import purge_expired_transactions
from healthstack.integrations.abdm import outbound as abdm_outbound
from healthstack.integrations.sms import SMS_TOPIC, make_sms_gateway, purge_sms, sms_handler
from healthstack.kernel.audit_chain import seal_job
from healthstack.kernel.events import EVENT_TOPICS
from healthstack.kernel.logs import log_unexpected
from healthstack.kernel.relay import Handler, relay_once
from healthstack.kernel.uow import unit_of_work
from healthstack.network.consent.consents import expire_due
from healthstack.network.gateway import jobs as gateway_jobs
from healthstack.network.gateway.config import callback_sender
from healthstack.programme.compliance.escalation import run_escalation
from healthstack.programme.monitoring.aggregates import consumer, rebuild, reconcile_if_due
from healthstack.programme.monitoring.jobs import purge_applied_events
from healthstack.runtime import Runtime, build_runtime
from healthstack.settings import Settings

log = logging.getLogger("healthstack.worker")


def handlers_for(runtime: Runtime) -> dict[str, Handler]:
    sms = make_sms_gateway(runtime.settings.sms_provider)
    return {
        SMS_TOPIC: sms_handler(sms, runtime.hasher),  # delivered: the mobile masked
        # Every domain event (a "prefix*" key): the dashboard's aggregates.
        EVENT_TOPICS: consumer(runtime.session_factory, runtime.clock),
        **gateway_jobs.handlers(runtime),  # gateway.process, gateway.deliver
        # abdm.send (the facility side's calls), on the process's gateway client
        **abdm_outbound.handlers(
            runtime.session_factory, clock=runtime.clock, client=runtime.abdm_client
        ),
        **records_jobs.handlers(runtime),  # records.push (a HIP's data push, resumable)
    }


@dataclass(frozen=True)
class Periodic:
    """A job the worker runs every ``every_seconds`` (its own unit of work), given the
    session and the worker's runtime (its clock, settings, keys and transports)."""

    name: str
    every_seconds: float
    run: Callable[[Session, Runtime], int]


# The explicit schedule. Several workers may run the same job: each is idempotent.
SCHEDULE = (
    Periodic(
        "abha.purge_expired_transactions",
        600,
        lambda session, rt: purge_expired_transactions(session, clock=rt.clock),
    ),
    # Nightly reconciliation of the dashboard's aggregates with the registries: checked
    # hourly, rebuilt when the last rebuild is a day old.
    Periodic(
        "monitoring.purge_applied_events",
        3600,
        lambda session, rt: purge_applied_events(session, clock=rt.clock),
    ),
    # Compliance: climb the escalation ladder (idempotent within a day: a rung waits
    # for the previous one), then refresh the dashboard's overdue figure from it.
    Periodic(
        "compliance.escalate",
        3600,
        lambda session, rt: run_escalation(session, clock=rt.clock),
    ),
    Periodic(
        "compliance.overdue_figures",
        3600,
        lambda session, rt: len(rebuild(session, clock=rt.clock, only=["hpr.overdue"]).rebuilt),
    ),
    Periodic(
        "monitoring.reconcile",
        3600,
        lambda session, rt: reconcile_if_due(session, clock=rt.clock),
    ),
    # HIU: received records lose their content after dataEraseAt, within the hour (the
    # service stops showing them at dataEraseAt itself).
    Periodic("records.erase_expired", 3600, records_jobs.erase_expired),
    # Consent artefacts and requests at their expiry: EXPIRED, HIPs and HIUs told (the
    # CM refuses an expired consent at once; this only records it and tells them).
    Periodic(
        "consent.expire",
        900,
        lambda session, rt: expire_due(session, clock=rt.clock, sender=callback_sender(rt)),
    ),
    # The audit chain (ADR 0012): committed rows sealed within seconds, by one sealer at
    # a time (the others find the chain's end locked and skip).
    Periodic("audit.seal", 5, seal_job),
    # SMS: an OTP's text (and any undelivered mobile) gone a day after it was sent.
    Periodic(
        "sms.purge",
        3600,
        lambda session, rt: purge_sms(session, clock=rt.clock, hasher=rt.hasher),
    ),
)


class Worker:
    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self.handlers = handlers_for(runtime)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._next_due = {job.name: 0.0 for job in SCHEDULE}

    def run_once(self) -> int:
        return relay_once(self.runtime.session_factory, self.handlers, clock=self.runtime.clock)

    def run_due_jobs(self, *, now: float | None = None) -> dict[str, int]:
        """Run the scheduled jobs that are due; returns what each one did."""
        moment = time.monotonic() if now is None else now
        done = {}
        for job in SCHEDULE:
            if moment < self._next_due[job.name]:
                continue
            self._next_due[job.name] = moment + job.every_seconds
            with unit_of_work(self.runtime.session_factory) as session:
                done[job.name] = job.run(session, self.runtime)
        return done

    def run_forever(self) -> None:
        poll = self.runtime.settings.worker_poll_seconds
        while not self._stop.is_set():
            try:
                handled = self.run_once()
                self.run_due_jobs()
            except Exception as exc:  # keep the loop alive; the database may be restarting
                log_unexpected(log, exc, "worker pass")
                handled = 0
            if handled == 0:
                self._stop.wait(poll)

    def start_background(self) -> None:
        self._thread = threading.Thread(target=self.run_forever, name="outbox-relay", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)


def create_worker(settings: Settings, runtime: Runtime | None = None) -> Worker:
    return Worker(runtime or build_runtime(settings))
