"""The logging policy holds wherever a request or a job fails: one line with the type and
where, no traceback, no request data. The request goes through a real uvicorn server
configured as ``healthstack serve`` configures it (uvicorn's own error logger is what
printed the traceback before); the job through the outbox relay as the worker runs it."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import httpx
import pytest
from fastapi import Request

from healthstack.kernel.logs import log_config
from healthstack.kernel.outbox import OutboxMessage, OutboxStatus, enqueue
from healthstack.kernel.relay import relay_once
from healthstack.kernel.uow import unit_of_work
from tests.serving import serving

MOBILE = "9876543210"
NAME = "Asha Devi"
SECRET_TEXT = f"patient {NAME} mobile {MOBILE}"
LOGGERS = ("", "healthstack", "uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """The log configuration of ``healthstack serve``, writing to a buffer; the test
    session's own logging is put back afterwards."""
    saved = {
        name: (lg.handlers[:], lg.level, lg.propagate, lg.disabled)
        for name in LOGGERS
        for lg in [logging.getLogger(name)]
    }
    buffer = io.StringIO()
    logging.config.dictConfig(log_config("INFO", stream=buffer))
    yield buffer
    for name, (handlers, level, propagate, disabled) in saved.items():
        lg = logging.getLogger(name)
        lg.handlers[:] = handlers
        lg.setLevel(level)
        lg.propagate = propagate
        lg.disabled = disabled


def _assert_one_clean_line(text: str, *expected: str) -> None:
    assert "Traceback" not in text, text
    assert 'File "' not in text, text
    for value in (MOBILE, NAME, SECRET_TEXT):
        assert value not in text, text
    lines = [line for line in text.splitlines() if "unhandled" in line]
    assert len(lines) == 1, text
    for part in expected:
        assert part in lines[0], text


def test_a_failing_request_logs_one_line_without_traceback_or_data(app, captured):
    async def boom(request: Request) -> None:
        await request.body()
        raise ValueError(SECRET_TEXT)

    app.add_api_route("/api/v1/boom", boom, methods=["POST"])
    # As `healthstack serve` runs it, its log handler writing to the buffer.
    with serving(app, log_config=log_config("INFO", stream=captured)) as base:
        r = httpx.post(
            f"{base}/api/v1/boom?mobile={MOBILE}",
            json={"name": NAME, "mobile": MOBILE},
            headers={"X-Patient": MOBILE},
        )
    assert r.status_code == 500
    assert MOBILE not in r.text and NAME not in r.text
    assert r.json()["code"] == "HS-500"
    _assert_one_clean_line(captured.getvalue(), "ValueError", "POST /api/v1/boom")


def test_the_app_never_lets_an_exception_reach_the_server(app):
    def boom() -> None:
        raise KeyError(MOBILE)

    app.add_api_route("/boom", boom)
    # raise_app_exceptions: whatever escapes the app would be raised here.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=True)

    async def call() -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            return await c.get("/boom")

    import anyio

    r = anyio.run(call)
    assert r.status_code == 500 and MOBILE not in r.text


def test_a_record_with_exc_info_prints_its_message_only(captured):
    try:
        raise RuntimeError(SECRET_TEXT)
    except RuntimeError:
        logging.getLogger("uvicorn.error").error("Exception in ASGI application", exc_info=True)
        logging.getLogger("healthstack.web").exception("unhandled RuntimeError in a test")
    text = captured.getvalue()
    assert "Exception in ASGI application" in text
    assert "Traceback" not in text and MOBILE not in text, text


def test_a_failing_job_logs_one_line_without_traceback_or_data(runtime, captured):
    with unit_of_work(runtime.session_factory) as s:
        enqueue(
            s,
            topic="test.failing",
            payload={"mobile": MOBILE, "name": NAME},
            dedupe_key="test.failing:1",
            clock=runtime.clock,
        )

    def handler(payload: dict) -> None:
        raise RuntimeError(f"could not send to {payload['mobile']} ({payload['name']})")

    assert relay_once(runtime.session_factory, {"test.failing": handler}, clock=runtime.clock) == 1
    _assert_one_clean_line(captured.getvalue(), "RuntimeError", "job test.failing")
    with unit_of_work(runtime.session_factory) as s:
        msg = s.query(OutboxMessage).one()
        assert msg.status == OutboxStatus.PENDING.value  # it will be tried again
