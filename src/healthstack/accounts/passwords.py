"""Password hashing (argon2id) and the gate that bounds how many checks run at once.

One check costs about a quarter of a second of one core, on purpose. Unbounded, a
handful of clients sending passwords keep every core busy and every other request
waits (issue 8: an unrelated search went from 8 ms to 665 ms). The hasher therefore
uses one lane (``parallelism=1``: argon2 would otherwise start four threads per check
and take both cores of a small server), and ``PasswordGate`` lets at most
``hash_concurrency`` checks run in a process, so the rest of the machine stays free.
Logins that cannot get a slot soon are refused with 503 and Retry-After rather than
piling up server threads. The checks themselves run on a few threads of their own at a
lower scheduling priority (``hash_nice``, Linux), so that even on a busy machine the
scheduler gives the other requests' threads the CPU first.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from functools import cache
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from healthstack.kernel.errors import ServiceUnavailable
from healthstack.settings import AuthSettings

# RFC 9106's second recommendation (64 MiB, 3 passes) in one lane.
_hasher = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=1)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@cache
def _dummy_hash() -> str:
    # Verified against when the username is unknown, so both paths cost the same.
    return _hasher.hash("not-a-real-password")


def check_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; an unknown account (None) costs the same."""
    try:
        _hasher.verify(password_hash or _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return False
    return password_hash is not None


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


class PasswordChecksBusy(ServiceUnavailable):
    code = "HS-1432"

    def __init__(self, retry_after: int):
        super().__init__(
            "The server is busy checking other logins. Wait a few seconds and log in "
            "again; your password was not checked."
        )
        self.headers = {"Retry-After": str(retry_after)}


T = TypeVar("T")


def _lower_priority(nice: int) -> None:
    # On Linux a thread is a task of its own: PRIO_PROCESS with its id renices only it.
    with suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)


@cache
def _checkers(workers: int, nice: int) -> ThreadPoolExecutor:
    """The threads that run password checks: one set per process and shape."""
    return ThreadPoolExecutor(
        max_workers=workers,
        thread_name_prefix="password-check",
        initializer=_lower_priority,
        initargs=(nice,),
    )


class PasswordGate:
    """At most ``concurrency`` password checks at once in this process, run at nice
    ``nice``; at most ``max_waiting`` callers queued, each for at most ``wait_seconds``."""

    def __init__(self, *, concurrency: int, max_waiting: int, wait_seconds: float, nice: int = 10):
        self.concurrency = max(1, concurrency)
        self.nice = nice
        self._slots = threading.BoundedSemaphore(self.concurrency)
        self._lock = threading.Lock()
        self._waiting = 0
        self._max_waiting = max_waiting
        self._wait_seconds = wait_seconds

    @classmethod
    def from_settings(cls, auth: AuthSettings) -> PasswordGate:
        concurrency = auth.hash_concurrency or max(1, (os.cpu_count() or 2) - 1)
        return cls(
            concurrency=concurrency,
            max_waiting=auth.hash_max_waiting,
            wait_seconds=auth.hash_wait_seconds,
            nice=auth.hash_nice,
        )

    def run(self, check: Callable[..., T], *args: object) -> T:
        """``check(*args)`` on a checker thread, once a slot is free."""
        with self.slot():
            return _checkers(self.concurrency, self.nice).submit(check, *args).result()

    @contextmanager
    def slot(self) -> Iterator[None]:
        if not self._slots.acquire(blocking=False):
            with self._lock:
                if self._waiting >= self._max_waiting:
                    raise PasswordChecksBusy(retry_after=2)
                self._waiting += 1
            try:
                got = self._slots.acquire(timeout=self._wait_seconds)
            finally:
                with self._lock:
                    self._waiting -= 1
            if not got:
                raise PasswordChecksBusy(retry_after=max(1, round(self._wait_seconds)))
        try:
            yield
        finally:
            self._slots.release()
