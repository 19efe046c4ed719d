"""Simulated time: a clock that runs `factor` times faster than the real one.

The benchmark cannot spend 1,000 real seconds on 10,000 DeleteBackup calls at 10/s, so a
phase runs with a time-scale factor k: every simulated duration (API latency, token bucket
refill, the handlers' own sleeps and rate limiters, the Lambda deadline) is k times shorter
in real time, and every measured duration is reported multiplied back by k.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Simulated seconds on a monotonic scale."""
        ...

    def sleep(self, seconds: float) -> None:
        """Let `seconds` of simulated time pass."""
        ...


class ScaledClock:
    """Simulated seconds = real seconds x factor. The factor can change between phases;
    simulated time stays continuous across the change."""

    def __init__(
        self,
        factor: float = 1.0,
        real_now: Callable[[], float] = time.monotonic,
        real_sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if factor <= 0:
            raise ValueError("factor must be > 0")
        self._real_now = real_now
        self._real_sleep = real_sleep
        self._lock = threading.Lock()
        self._factor = factor
        self._real0 = real_now()
        self._sim0 = 0.0

    @property
    def factor(self) -> float:
        return self._factor

    def set_factor(self, factor: float) -> None:
        if factor <= 0:
            raise ValueError("factor must be > 0")
        with self._lock:
            real = self._real_now()
            self._sim0 += (real - self._real0) * self._factor
            self._real0 = real
            self._factor = factor

    def now(self) -> float:
        with self._lock:
            return self._sim0 + (self._real_now() - self._real0) * self._factor

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._real_sleep(seconds / self._factor)


class ManualClock:
    """A clock the test moves by hand; `sleep` advances it."""

    def __init__(self, start: float = 0.0) -> None:
        self.t = start

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += max(0.0, seconds)


def warp_process_time(factor: float) -> None:
    """Make this whole process run `factor` times faster in simulated time.

    Called first thing in a handler worker process, before boto3 or a handler is imported,
    so that modules binding `from time import sleep` get the warped functions too:
    `time.monotonic`, `time.perf_counter`, `time.time` run k times faster, `time.sleep` and
    timed waits on `threading.Condition` (hence `Event.wait`, botocore's adaptive token
    bucket) last 1/k of their argument. Limits: C-level timeouts (socket timeouts,
    `Lock.acquire(timeout=)`) stay real.
    """
    if factor == 1.0:
        return
    real_mono = time.monotonic
    real_perf = time.perf_counter
    real_time = time.time
    real_sleep = time.sleep
    m0, p0, t0 = real_mono(), real_perf(), real_time()

    def monotonic() -> float:
        return m0 + (real_mono() - m0) * factor

    def perf_counter() -> float:
        return p0 + (real_perf() - p0) * factor

    def wall() -> float:
        return t0 + (real_time() - t0) * factor

    def sleep(seconds: float) -> None:
        real_sleep(seconds / factor)

    clock: Any = time
    clock.monotonic = monotonic
    clock.perf_counter = perf_counter
    clock.time = wall
    clock.sleep = sleep

    real_wait = threading.Condition.wait

    def wait(self: threading.Condition, timeout: float | None = None) -> bool:
        return real_wait(self, None if timeout is None else timeout / factor)

    cond: Any = threading.Condition
    cond.wait = wait
