"""The worker: an explicit registry of outbox handlers and a polling loop.

``healthstack worker`` runs it as its own process; in the embedded default
``healthstack serve`` runs it on a background thread.
"""

from __future__ import annotations

import logging
import threading

from healthstack.integrations.sms import SMS_TOPIC, make_sms_gateway
from healthstack.jobs.relay import Handler, relay_once
from healthstack.runtime import Runtime, build_runtime
from healthstack.settings import Settings

log = logging.getLogger("healthstack.worker")


def handlers_for(runtime: Runtime) -> dict[str, Handler]:
    sms = make_sms_gateway(runtime.settings.sms_provider)
    return {SMS_TOPIC: sms.deliver}


class Worker:
    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self.handlers = handlers_for(runtime)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> int:
        return relay_once(self.runtime.session_factory, self.handlers, clock=self.runtime.clock)

    def run_forever(self) -> None:
        poll = self.runtime.settings.worker_poll_seconds
        while not self._stop.is_set():
            try:
                handled = self.run_once()
            except Exception as exc:  # keep the loop alive; the database may be restarting
                log.error("relay pass failed: %s", type(exc).__name__)
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
