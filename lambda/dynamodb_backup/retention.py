"""The retention decision: which of one table's backups to delete (pure, no AWS)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from dynamodb_backup.model import AVAILABLE, USER, BackupSummary
from dynamodb_backup.naming import slot_of, to_utc


def is_own(backup: BackupSummary, prefix: str) -> bool:
    """This instance's: of type USER and named exactly `backup_name(prefix, its table,
    slot)` for some slot (`naming.slot_of`). A name that merely starts with `<prefix>-`
    (another instance's `<prefix>-weekly-...`) is not its own."""
    return backup.type == USER and slot_of(prefix, backup.table, backup.name) is not None


def decide(
    backups: Iterable[BackupSummary],
    *,
    now: datetime,
    retention_days: int,
    min_keep: int,
    prefix: str,
    run_succeeded: bool,
) -> list[str]:
    """ARNs to delete among one table's backups.

    Nothing when this run's backup of the table did not succeed. Otherwise every own
    AVAILABLE backup created strictly before `now - retention_days`, except the newest
    `min_keep` own AVAILABLE backups (by creation time, then ARN), which are always kept.
    """
    if not run_succeeded:
        return []
    candidates = sorted(
        (b for b in backups if is_own(b, prefix) and b.status == AVAILABLE),
        key=lambda b: (to_utc(b.created), b.arn),
        reverse=True,
    )
    limit = cutoff(now, retention_days)
    return [b.arn for b in candidates[max(min_keep, 0) :] if to_utc(b.created) < limit]


def cutoff(now: datetime, retention_days: int) -> datetime:
    """Backups created strictly before this are past the retention."""
    return to_utc(now) - timedelta(days=retention_days)


def listing_bounds(
    *, now: datetime, retention_days: int, min_keep: int, run_started: datetime
) -> list[tuple[datetime | None, datetime | None]]:
    """The creation-time ranges ([lower, upper), None unbounded) whose backups give
    `decide` the same answer as all backups of the account, for tables whose backup of
    the run (created at or after `run_started`) is AVAILABLE.

    With `min_keep <= 1` the run's own backup is the newest one to keep, and no backup
    between the cutoff and the run's start can change a decision: listing what is past
    the cutoff plus the run's own range is enough, whatever the retention. Otherwise the
    newest `min_keep` may be anywhere, so everything is listed.
    """
    if min_keep > 1:
        return [(None, None)]
    start = to_utc(run_started)
    return [(None, min(cutoff(now, retention_days), start)), (start, None)]
