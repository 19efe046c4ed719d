"""What a backup's status means for the monitor (pure)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from dynamodb_backup.model import AVAILABLE, CREATING, DELETED
from dynamodb_backup.naming import to_utc


class Outcome(enum.Enum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    PENDING = "pending"


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    reason: str | None = None


def classify(
    status: str | None, started: datetime, now: datetime, max_wait_minutes: int
) -> Verdict:
    """Verdict for a backup with `status` (None: not found) of a run that `started`.

    CREATING is pending until `max_wait_minutes` after the run started; from then on it
    has failed (timed out).
    """
    if status == AVAILABLE:
        return Verdict(Outcome.SUCCEEDED)
    if status is None:
        return Verdict(Outcome.FAILED, "backup not found")
    if status == DELETED:
        return Verdict(Outcome.FAILED, "backup status DELETED while waiting for AVAILABLE")
    if status == CREATING:
        waited = to_utc(now) - to_utc(started)
        minutes = int(waited.total_seconds() // 60)
        if waited.total_seconds() >= max_wait_minutes * 60:
            return Verdict(
                Outcome.FAILED,
                f"timed out: still CREATING {minutes} minutes after the run started "
                f"(MAX_WAIT_MINUTES={max_wait_minutes})",
            )
        return Verdict(Outcome.PENDING)
    return Verdict(Outcome.FAILED, f"unexpected backup status {status}")
