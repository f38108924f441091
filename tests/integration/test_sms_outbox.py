"""The SMS outbox keeps what delivery needs until the message is delivered: then only a
masked number (and a keyed digest to find a person's messages), and an OTP's text is
removed a day after it was sent, by the worker's scheduled job. The developer page shows
an OTP while it is fresh and finds messages by mobile before and after masking."""

from __future__ import annotations

import json

from sqlalchemy import select

from healthstack.integrations.sms import PURGED_TEXT, SMS_TOPIC, is_otp, send_sms
from healthstack.jobs.worker import Worker
from healthstack.kernel.outbox import OutboxMessage
from healthstack.kernel.uow import unit_of_work

MOBILE = "9876500011"
OTP_TEXT = "483920 is your OTP to create your ABHA. It is valid for 10 minutes."


def _send(runtime, *, text=OTP_TEXT, template="otp.abha-enrol", to=MOBILE) -> None:
    with unit_of_work(runtime.session_factory) as s:
        send_sms(s, mobile=to, text=text, template=template, clock=runtime.clock)


def _rows(runtime) -> list[OutboxMessage]:
    with unit_of_work(runtime.session_factory) as s:
        query = select(OutboxMessage).where(OutboxMessage.topic == SMS_TOPIC)
        return list(s.scalars(query.order_by(OutboxMessage.id)))


def _purge(runtime, worker: Worker, at: float) -> int:
    return worker.run_due_jobs(now=at)["sms.purge"]


def test_which_templates_hold_a_code():
    for template in ("otp.abha-enrol", "otp.login.email", "records.link-otp", "otp.hpr-mobile"):
        assert is_otp(template), template
    for template in ("consent.request", "notice.abha.deleted", "compliance.reminder", "hotpot"):
        assert not is_otp(template), template


def test_until_delivered_the_row_holds_what_delivery_needs(runtime):
    _send(runtime)
    [row] = _rows(runtime)
    assert row.payload["mobile"] == MOBILE and row.payload["text"] == OTP_TEXT


def test_a_delivered_sms_keeps_only_a_masked_number(runtime, relay):
    _send(runtime)
    _send(runtime, text="GMC Srinagar asks to see your health records.", template="consent.request")
    assert relay() == 2
    for row in _rows(runtime):
        assert row.status == "sent"
        assert row.payload["mobile"] == "XXXXXX0011"
        assert MOBILE not in json.dumps(row.payload)
    # Fresh: the OTP's text is still there (the developer page shows it).
    assert _rows(runtime)[0].payload["text"] == OTP_TEXT


def test_an_otp_text_is_removed_a_day_after_it_was_sent(runtime, relay, clock):
    _send(runtime)
    _send(runtime, text="Your ABHA was deleted.", template="notice.abha.deleted")
    relay()
    worker = Worker(runtime)
    clock.advance(hours=23, minutes=59)
    assert _purge(runtime, worker, 1000.0) == 0
    assert _rows(runtime)[0].payload["text"] == OTP_TEXT

    clock.advance(minutes=2)
    assert _purge(runtime, worker, 5000.0) == 1
    otp, notice = _rows(runtime)
    assert otp.payload["text"] == PURGED_TEXT and "483920" not in json.dumps(otp.payload)
    assert otp.payload["mobile"] == "XXXXXX0011" and otp.purge_at is None
    assert notice.payload["text"] == "Your ABHA was deleted."  # no code in it: kept
    # Done once: the next pass finds nothing to do.
    clock.advance(days=1)
    assert _purge(runtime, worker, 9000.0) == 0


def test_an_otp_never_delivered_is_given_up_after_a_day(runtime, relay, clock):
    def failing(_payload):  # the SMS gateway down all day
        raise ConnectionError("gateway down")

    _send(runtime)
    worker = Worker(runtime)
    worker.handlers[SMS_TOPIC] = failing
    worker.run_once()
    [row] = _rows(runtime)
    assert row.status == "pending" and row.payload["mobile"] == MOBILE

    clock.advance(days=1, minutes=1)
    assert _purge(runtime, worker, 1000.0) == 1
    [row] = _rows(runtime)
    assert row.status == "dead" and "a day" in row.last_error
    assert MOBILE not in json.dumps(row.payload) and "483920" not in json.dumps(row.payload)
    # The gateway is back: a day-old OTP is not sent now.
    assert relay() == 0


def test_an_email_otp_is_masked_too(runtime, relay):
    _send(runtime, to="asha.devi@example.org", template="otp.abha-email.email")
    relay()
    [row] = _rows(runtime)
    assert row.payload["mobile"] == "a***@example.org"


def test_the_developer_page_shows_fresh_otps_and_finds_them_by_mobile(
    runtime, relay, client, clock
):
    _send(runtime)
    _send(runtime, to="9123400077", text="111111 is your OTP to log in.", template="otp.login")
    relay()
    got = client.get("/dev/sms.json", params={"mobile": MOBILE}).json()["messages"]
    assert [(m["mobile"], m["text"]) for m in got] == [("XXXXXX0011", OTP_TEXT)]
    page = client.get("/dev/sms", params={"mobile": MOBILE}).text
    assert (
        OTP_TEXT in page
        and "XXXXXX0011" in page
        and MOBILE not in page.replace(f'value="{MOBILE}"', "")
    )
    # Times as a person reads them: IST (the frozen clock says 09:00 UTC).
    assert "26 Nov 2026, 14:30 IST" in page and "UTC" not in page

    clock.advance(days=1, hours=1)
    Worker(runtime).run_due_jobs(now=1000.0)
    [gone] = client.get("/dev/sms.json", params={"mobile": MOBILE}).json()["messages"]
    assert gone["text"] == PURGED_TEXT
    assert client.get("/dev/sms.json", params={"mobile": "9000000000"}).json()["messages"] == []


def test_the_purge_is_on_the_schedule():
    from healthstack.jobs.worker import SCHEDULE

    assert "sms.purge" in {job.name for job in SCHEDULE}
