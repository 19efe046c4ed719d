"""A thread-safe rate limiter with an injected clock and sleep."""

from __future__ import annotations

import threading
from collections.abc import Callable


class RateLimiter:
    """Spaces calls `1/rate` seconds apart, allowing an initial burst of `burst`.

    Each caller reserves the next free slot and sleeps until it, so a clock that does not
    move (a frozen test clock) still terminates: the sleeps just add up.
    """

    def __init__(
        self,
        rate: float,
        burst: int,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self._interval = 1.0 / rate
        self._burst = burst
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next: float | None = None

    def acquire(self) -> float:
        """Wait for a slot; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            earliest = now - (self._burst - 1) * self._interval
            slot = earliest if self._next is None else max(self._next, earliest)
            self._next = slot + self._interval
            wait = max(0.0, slot - now)
        if wait > 0:
            self._sleep(wait)
        return wait
