"""A virtual clock shared by the handlers, moto's server thread and the runtime.

`VirtualClock` never moves by itself: time passes only when the runtime moves it
(`advance`, `move_to`) or when code sleeps. Installed (`install`), it becomes the time
source of `datetime.now()`, `time.time()`, `time.monotonic()` ... in every module of the
process (through freezegun, whose factory it replaces), `time.sleep` advances it instead
of blocking, and botocore's adaptive-retry token bucket waits on it. A week of daily
cycles therefore runs in seconds, and every timestamp is deterministic.

Sleeps from concurrent threads overlap: `sleep(d)` moves the clock to at least "now when
the sleep started + d", as parallel real sleeps would.

Install the clock before importing the handler modules, so that anything binding
`time.sleep` at import time (a default argument, for example) binds the virtual one.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import freezegun.api
from botocore.retries.bucket import CapacityNotAvailableError, TokenBucket
from freezegun import freeze_time

_real_sleep: Callable[[float], None] = time.sleep


def parse_utc(value: str) -> datetime:
    """An ISO 8601 time (a trailing `Z` allowed) as an aware UTC datetime."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def iso_z(moment: datetime) -> str:
    """`2026-11-28T03:00:00Z` (whole seconds)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class VirtualClock:
    """A manually moved UTC clock; also a freezegun time factory (`__call__`)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("the clock's start must be timezone-aware")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def __call__(self) -> datetime:
        # freezegun's factory protocol: naive UTC
        return self.now().replace(tzinfo=None)

    def move_to(self, moment: datetime) -> None:
        """Set the clock (also backwards: a test may rewind it after resetting moto)."""
        if moment.tzinfo is None:
            raise ValueError("moment must be timezone-aware")
        with self._lock:
            self._now = moment.astimezone(UTC)

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            raise ValueError("the clock only advances")
        with self._lock:
            self._now += timedelta(seconds=seconds)
            return self._now

    def sleep_until(self, moment: datetime) -> None:
        with self._lock:
            self._now = max(self._now, moment)

    def sleep(self, seconds: float) -> None:
        """What `time.sleep` does under the virtual clock: advance, yield, return."""
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        # whole microseconds, rounded up: a positive sleep always moves the clock (a
        # sub-microsecond sleep that moved nothing would spin its caller forever)
        self.sleep_until(self.now() + timedelta(microseconds=math.ceil(seconds * 1e6)))
        _real_sleep(0)

    # freezegun calls these on its factories in some paths
    def tick(self, delta: float | timedelta = 1) -> datetime:
        seconds = delta.total_seconds() if isinstance(delta, timedelta) else float(delta)
        return self.advance(seconds)


def _patched_token_bucket_acquire(clock: VirtualClock) -> Callable[..., bool]:
    """botocore's adaptive-mode bucket, waiting on the virtual clock."""

    def _acquire(self: Any, amount: float, block: bool) -> bool:
        self._refill()
        if amount <= self._current_capacity:
            self._current_capacity -= amount
            return True
        if not block:
            raise CapacityNotAvailableError()
        sleep_amount: float = self._sleep_amount(amount)
        while sleep_amount > 0:
            clock.sleep(sleep_amount)
            self._refill()
            sleep_amount = self._sleep_amount(amount)
        self._current_capacity -= amount
        return True

    return _acquire


@contextmanager
def install(clock: VirtualClock) -> Iterator[VirtualClock]:
    """Make `clock` the time of the whole process until the block exits."""
    freezer = freeze_time(clock(), tick=False)
    freezer.start()
    freezegun.api.freeze_factories[-1] = clock  # type: ignore[call-overload]
    original_sleep = time.sleep
    original_acquire = getattr(TokenBucket, "_acquire")  # noqa: B009
    setattr(time, "sleep", clock.sleep)  # noqa: B010
    setattr(TokenBucket, "_acquire", _patched_token_bucket_acquire(clock))  # noqa: B010
    try:
        yield clock
    finally:
        setattr(TokenBucket, "_acquire", original_acquire)  # noqa: B010
        time.sleep = original_sleep
        freezer.stop()
