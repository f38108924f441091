"""The login throttle's counts in the database: doubling pauses, forgetting after a
quiet spell, a success clearing the account's count but not the address's, and counts
shared by every server process (two units of work, as two processes would)."""

from __future__ import annotations

from datetime import timedelta

from healthstack.accounts import throttle
from healthstack.accounts.throttle import ThrottleKind, ThrottlePolicy
from healthstack.kernel.uow import unit_of_work

POLICY = ThrottlePolicy(
    account_free_failures=3,
    address_free_failures=5,
    base_seconds=10,
    max_seconds=60,
    account_memory_seconds=3600,
    address_memory_seconds=600,
)


def _fail(runtime, clock, username="asha", address="10.0.0.7"):  # type: ignore[no-untyped-def]
    with unit_of_work(runtime.session_factory) as s:
        return throttle.record_failure(
            s, username=username, address=address, now=clock.now(), policy=POLICY
        )


def _pause(runtime, clock, username="asha", address="10.0.0.7"):  # type: ignore[no-untyped-def]
    with unit_of_work(runtime.session_factory) as s:
        return throttle.current_pause(s, username=username, address=address, now=clock.now())


def test_pauses_start_after_the_free_failures_and_double_to_the_maximum(runtime, clock):
    assert _fail(runtime, clock) == [] and _fail(runtime, clock) == []
    started = _fail(runtime, clock)
    assert [(p.kind, p.until - clock.now()) for p in started] == [
        (ThrottleKind.ACCOUNT, timedelta(seconds=10))
    ]
    lengths = []
    for _ in range(4):
        clock.advance(seconds=61)
        lengths.append(
            next(p for p in _fail(runtime, clock, address=None) if p.kind == "account").until
            - clock.now()
        )
    assert [d.seconds for d in lengths] == [20, 40, 60, 60]


def test_counts_are_forgotten_after_a_quiet_spell(runtime, clock):
    _fail(runtime, clock)
    _fail(runtime, clock)
    clock.advance(hours=1, seconds=1)
    assert _fail(runtime, clock) == []  # counted from one again
    assert _pause(runtime, clock) is None


def test_success_clears_the_account_but_not_the_address(runtime, clock):
    for i in range(4):
        _fail(runtime, clock, username=f"user{i}")
    with unit_of_work(runtime.session_factory) as s:
        throttle.clear_account(s, username="user3")
    started = _fail(runtime, clock, username="user3")
    assert [p.kind for p in started] == [ThrottleKind.ADDRESS]
    pause = _pause(runtime, clock, username="someone.else")
    assert pause is not None and pause.kind is ThrottleKind.ADDRESS
    assert _pause(runtime, clock, username="someone.else", address="10.0.0.8") is None


def test_usernames_are_keyed_as_typed_whether_or_not_they_exist(runtime, clock):
    for _ in range(3):
        _fail(runtime, clock, username="  NoSuch.User ", address=None)
    assert _pause(runtime, clock, username="nosuch.user", address="1.2.3.4") is not None
