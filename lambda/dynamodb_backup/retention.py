"""The retention decision: which of one table's backups to delete (pure, no AWS)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from dynamodb_backup.model import AVAILABLE, USER, BackupSummary
from dynamodb_backup.naming import slot_of, to_utc
from dynamodb_backup.policy import Policy, cutoff, kept
from dynamodb_backup.tiers import Dated, Tiers, newest_first


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
    tiers: Tiers | None = None,
) -> list[str]:
    """ARNs to delete among one table's backups, newest first.

    Nothing when this run's backup of the table did not succeed. Otherwise every own
    AVAILABLE backup that no rule keeps (`policy.kept`): created at or after `now -
    retention_days`; among the newest `min_keep` own AVAILABLE backups (by creation time,
    then ARN); or kept by a tier (`tiers.py`).
    """
    if not run_succeeded:
        return []
    candidates = newest_first(
        Dated(b.arn, b.created) for b in backups if is_own(b, prefix) and b.status == AVAILABLE
    )
    policy = Policy(retention_days=retention_days, min_keep=min_keep, tiers=tiers or Tiers())
    keep = kept(candidates, policy, now)
    return [b.arn for b in candidates if b.arn not in keep]


def listing_bounds(
    *,
    now: datetime,
    retention_days: int,
    min_keep: int,
    run_started: datetime,
    full_history: bool = False,
) -> list[tuple[datetime | None, datetime | None]]:
    """The creation-time ranges ([lower, upper), None unbounded) whose backups give
    `decide` the same answer as all backups of the account, for tables whose backup of
    the run (created at or after `run_started`) is AVAILABLE.

    With `min_keep <= 1` the run's own backup is the newest one to keep, and no backup
    between the cutoff and the run's start can change a decision: listing what is past
    the cutoff plus the run's own range is enough, whatever the retention. Otherwise (or
    with `full_history`: a tier keeps backups of any age) the newest `min_keep` may be
    anywhere, so everything is listed. With per-table retention, pass the shortest one: its
    cutoff is the latest, so the range covers every table's.
    """
    if min_keep > 1 or full_history:
        return [(None, None)]
    start = to_utc(run_started)
    return [(None, min(cutoff(now, retention_days), start)), (start, None)]
