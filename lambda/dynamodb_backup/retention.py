"""Which backups retention looks at: this instance's own, and from where the finalizer's
backward listing starts (pure, no AWS). The decision itself is `fold.py`."""

from __future__ import annotations

from datetime import datetime

from dynamodb_backup.model import USER, BackupSummary
from dynamodb_backup.naming import slot_of, to_utc
from dynamodb_backup.policy import cutoff


def is_own(backup: BackupSummary, prefix: str) -> bool:
    """This instance's: of type USER and named exactly `backup_name(prefix, its table,
    slot)` for some slot (`naming.slot_of`). A name that merely starts with `<prefix>-`
    (another instance's `<prefix>-weekly-...`) is not its own."""
    return backup.type == USER and slot_of(prefix, backup.table, backup.name) is not None


def listing_start(
    *, now: datetime, retention_days: int, run_started: datetime, full_history: bool
) -> datetime:
    """Where the finalizer's backward windows start (their first exclusive upper bound),
    after it has listed the run's own range (`run_started` on).

    With `full_history` (a tier, or `min_keep > 1`: the backups to keep may be of any age)
    every backup is needed: the run's start. Otherwise the run's own backup is the newest
    one to keep, and no backup between the cutoff and the run's start can change a
    decision: the earlier of the two. With per-table retention, pass the shortest one: its
    cutoff is the latest, so the listing covers every table's.
    """
    start = to_utc(run_started)
    if full_history:
        return start
    return min(cutoff(now, retention_days), start)
