"""The bound on concurrent password checks: at most N at once, a short queue, and a
clear 503 with Retry-After beyond it (no sleeps: events make the order certain)."""

from __future__ import annotations

import threading

import pytest

from healthstack.accounts.passwords import PasswordChecksBusy, PasswordGate, check_password
from healthstack.accounts.passwords import hash_password as make_hash
from healthstack.settings import AuthSettings


def _hold(gate: PasswordGate, entered: threading.Event, release: threading.Event) -> None:
    with gate.slot():
        entered.set()
        release.wait(10)


def test_a_full_gate_with_no_queue_refuses_at_once():
    gate = PasswordGate(concurrency=1, max_waiting=0, wait_seconds=5)
    entered, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold, args=(gate, entered, release))
    holder.start()
    try:
        assert entered.wait(10)
        with pytest.raises(PasswordChecksBusy) as caught, gate.slot():
            pass
        assert caught.value.status_hint == 503 and caught.value.headers["Retry-After"]
    finally:
        release.set()
        holder.join()
    with gate.slot():  # free again
        pass


def test_a_waiter_gives_up_after_the_wait():
    gate = PasswordGate(concurrency=1, max_waiting=4, wait_seconds=0)
    entered, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold, args=(gate, entered, release))
    holder.start()
    try:
        assert entered.wait(10)
        with pytest.raises(PasswordChecksBusy), gate.slot():
            pass
    finally:
        release.set()
        holder.join()


def test_concurrency_defaults_to_one_less_than_the_cores(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    assert PasswordGate.from_settings(AuthSettings()).concurrency == 7
    monkeypatch.setattr("os.cpu_count", lambda: 1)
    assert PasswordGate.from_settings(AuthSettings()).concurrency == 1
    assert PasswordGate.from_settings(AuthSettings(hash_concurrency=3)).concurrency == 3


def test_hashes_use_one_lane_and_unknown_accounts_never_match():
    h = make_hash("a long password")
    assert "p=1" in h and h.startswith("$argon2id$")
    assert check_password(h, "a long password") and not check_password(h, "another")
    assert not check_password(None, "not-a-real-password")


def test_checks_run_on_their_own_lower_priority_threads():
    import os
    import threading

    gate = PasswordGate(concurrency=1, max_waiting=0, wait_seconds=1, nice=7)

    def where() -> tuple[str, int]:
        return threading.current_thread().name, os.getpriority(
            os.PRIO_PROCESS, threading.get_native_id()
        )

    name, nice = gate.run(where)
    assert name.startswith("password-check") and nice == 7
