"""Token buckets of the simulated AWS: the account-level request rates of the APIs we call."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

#: AWS's published per-account request rates (calls per second) of the rate-limited APIs.
#: Operations not listed here are not rate limited by the simulation.
PUBLISHED_RATES: dict[tuple[str, str], float] = {
    ("dynamodb", "CreateBackup"): 50.0,
    ("dynamodb", "DescribeBackup"): 10.0,
    ("dynamodb", "DeleteBackup"): 10.0,
    ("dynamodb", "ListBackups"): 5.0,
}

#: ListBackups returns at most this many summaries per page.
LIST_BACKUPS_PAGE = 100


@dataclass
class TokenBucket:
    """A token bucket: `rate` tokens per second, holding at most `burst` tokens.

    Time is passed in (seconds on any monotonic scale), so the bucket is a pure state
    machine: the same sequence of `(now)` calls always gives the same answers.
    """

    rate: float
    burst: float
    tokens: float = field(default=-1.0)
    last: float | None = None

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        if self.tokens < 0:
            self.tokens = self.burst

    def try_take(self, now: float) -> bool:
        """Take one token if there is one at time `now`; False means: throttle this call."""
        if self.last is not None and now > self.last:
            self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        if self.last is None or now > self.last:
            self.last = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class RateLimits:
    """One token bucket per rate-limited operation, thread safe (the server is threaded)."""

    def __init__(self, rates: dict[tuple[str, str], float], burst_seconds: float = 1.0) -> None:
        self._buckets = {
            key: TokenBucket(rate=rate, burst=max(1.0, rate * burst_seconds))
            for key, rate in rates.items()
        }
        self._lock = threading.Lock()

    def admit(self, service: str, operation: str, now: float) -> bool:
        """True if the call may proceed; False if AWS would answer ThrottlingException."""
        bucket = self._buckets.get((service, operation))
        if bucket is None:
            return True
        with self._lock:
            return bucket.try_take(now)
