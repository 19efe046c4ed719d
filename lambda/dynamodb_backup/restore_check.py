"""Monitor, restore messages: a restore drill's table from restore to deletion.

Phases (carried in the message, so that each survives a crash or a re-enqueue):
- wait: DescribeTable until ACTIVE (re-enqueued while CREATING, like CREATING backups);
  `DRILL_MAX_WAIT_MINUTES` after the restore started it has timed out. At ACTIVE,
  `RestoreDrillSeconds` (restore start to ACTIVE) and the key schema and index names are
  checked against what DescribeBackup recorded.
- scan: `Scan` with `Select=COUNT`, page by page at `SCAN_PAGES_PER_SECOND` (a bounded
  read rate), resumable: when the time budget runs low the count so far and the position
  (LastEvaluatedKey) are re-enqueued. The count must be consistent with the backup's
  `ItemCount` (see `count_problem`).
- delete: DeleteTable, always (after success, a failed verification or a timeout),
  retried, re-enqueued while the table is still being restored, and alerted as "clean-up
  failed" after `DELETE_ATTEMPTS` failed invocations (the next drill's sweep deletes it).

The outcome (`RestoreDrillSucceeded` or `RestoreDrillFailed`, with an alert naming table,
backup and reason) is reported once, when it is known, before the table is deleted.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from functools import partial
from typing import Any

from botocore.exceptions import ClientError

from dynamodb_backup.aws import call_with_retries, error_code, error_message
from dynamodb_backup.context import Context
from dynamodb_backup.logs import log_event
from dynamodb_backup.messages import RestoreCheckMessage, outgoing
from dynamodb_backup.model import Failure
from dynamodb_backup.naming import iso, to_utc

LOG = logging.getLogger("dynamodb_backup.monitor")

# One Scan page reads up to 1 MB: at most 128 read request units (eventually consistent,
# half a unit per 4 KB). Four pages a second bound the drill's read rate at ~4 MB/s and
# ~512 RRU/s, far below what a new on-demand table serves: a 10 GB table takes about 11
# minutes of scanning, spread over a few monitor invocations. The rate changes how fast
# the count is done, not what it costs (every byte is read once).
SCAN_PAGES_PER_SECOND = 4.0
# ItemCount in backup details is approximate: DynamoDB refreshes it about every six hours.
# The restored count is consistent when within max(COUNT_TOLERANCE_ITEMS, 10%) of it.
COUNT_TOLERANCE_ITEMS = 100
COUNT_TOLERANCE_SHARE = 0.10
DELETE_ATTEMPTS = 3

TIMED_OUT = "timed out"
VERIFICATION_FAILED = "verification failed"
RESTORE_FAILED = "restore failed"
CLEANUP_FAILED = "clean-up failed"


def tolerance(expected: int) -> int:
    """How far the counted items may be from the backup's ItemCount: max(100, 10%)."""
    return max(COUNT_TOLERANCE_ITEMS, int(expected * COUNT_TOLERANCE_SHARE))


def count_problem(expected: int, counted: int) -> str | None:
    """Why `counted` items are inconsistent with the backup's `expected`, else None."""
    if expected > 0 and counted == 0:
        return f"the restored table is empty, but the backup recorded {expected} items"
    allowed = tolerance(expected)
    if abs(counted - expected) > allowed:
        return (
            f"item count {counted} is not within {allowed} of the {expected} items the backup "
            "recorded (ItemCount is refreshed about every six hours; tolerance max(100, 10%))"
        )
    return None


def schema_problem(message: RestoreCheckMessage, table: dict[str, Any]) -> str | None:
    """Why the restored table's key schema or indexes differ from the backup's, else None."""
    schema = tuple((str(k["AttributeName"]), str(k["KeyType"])) for k in table.get("KeySchema", []))
    if schema != message.key_schema:
        return f"key schema {list(schema)} differs from the backup's {list(message.key_schema)}"
    names = sorted(
        str(index["IndexName"])
        for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes")
        for index in table.get(key, []) or []
    )
    if tuple(names) != message.indexes:
        return f"indexes {names} differ from the backup's {list(message.indexes)}"
    return None


def _describe(ctx: Context, name: str) -> dict[str, Any] | None:
    try:
        response = call_with_retries(
            partial(ctx.clients.dynamodb.describe_table, TableName=name),
            sleep=ctx.sleep,
            rand=ctx.rand,
        )
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return None
        raise
    table: dict[str, Any] = dict(response.get("Table", {}))
    return table


def _report(ctx: Context, message: RestoreCheckMessage) -> RestoreCheckMessage:
    """Count and alert the drill's outcome once."""
    if message.reported:
        return message
    if message.verdict is None:
        ctx.counters.drill_succeeded += 1
        log_event(
            LOG,
            logging.INFO,
            "restore drill succeeded",
            table=message.table,
            arn=message.backup_arn,
            items=message.counted,
        )
    else:
        ctx.counters.drill_failed += 1
        log_event(
            LOG,
            logging.ERROR,
            "restore drill failed",
            table=message.table,
            arn=message.backup_arn,
            reason=message.verdict,
        )
        ctx.alert(
            iso(message.slot),
            [Failure(message.table, message.backup_arn, f"restore drill: {message.verdict}")],
        )
    return replace(message, reported=True)


def _again(ctx: Context, message: RestoreCheckMessage, **changes: Any) -> None:
    again = replace(message, attempt=message.attempt + 1, **changes)
    ctx.send([outgoing(again)])
    log_event(
        LOG,
        logging.INFO,
        "restore drill re-enqueued",
        target=message.target,
        phase=again.phase,
        attempt=again.attempt,
    )


def _wait(ctx: Context, message: RestoreCheckMessage) -> RestoreCheckMessage | None:
    """The wait phase: the next phase's message, or None when re-enqueued or finished."""
    table = _describe(ctx, message.target)
    now = to_utc(ctx.now())
    waited = (now - to_utc(message.started)).total_seconds()
    if table is None:
        _report(
            ctx,
            replace(
                message,
                verdict=f"{RESTORE_FAILED}: the drill table {message.target} does not exist",
            ),
        )
        return None
    status = table.get("TableStatus")
    in_progress = bool(table.get("RestoreSummary", {}).get("RestoreInProgress", False))
    if status == "ACTIVE" and not in_progress:
        ctx.counters.drill_seconds.append(max(0, int(waited)))
        problem = schema_problem(message, table)
        if problem is not None:
            return replace(message, phase="delete", verdict=f"{VERIFICATION_FAILED}: {problem}")
        return replace(message, phase="scan")
    if status == "CREATING" or (status == "ACTIVE" and in_progress):
        limit = ctx.config.drill_max_wait_minutes
        if waited >= limit * 60:
            return replace(
                message,
                phase="delete",
                verdict=(
                    f"{TIMED_OUT}: the restore was not ACTIVE {int(waited // 60)} minutes after it"
                    f" started (DRILL_MAX_WAIT_MINUTES={limit})"
                ),
            )
        _again(ctx, message)
        return None
    return replace(
        message, phase="delete", verdict=f"{RESTORE_FAILED}: drill table status {status}"
    )


def _scan(ctx: Context, message: RestoreCheckMessage) -> RestoreCheckMessage | None:
    """The scan phase: count the items, resumable; the delete phase's message, or None."""
    limiter = ctx.scan_limiter
    counted = message.counted
    position = message.position
    dynamodb = ctx.clients.dynamodb
    waited = (to_utc(ctx.now()) - to_utc(message.started)).total_seconds()
    limit = ctx.config.drill_max_wait_minutes
    if waited >= limit * 60:  # ACTIVE, but not verified in time
        return replace(
            message,
            phase="delete",
            verdict=(
                f"{TIMED_OUT}: the count was not done {int(waited // 60)} minutes after the "
                f"restore started ({counted} items so far; DRILL_MAX_WAIT_MINUTES={limit})"
            ),
        )
    while True:
        if ctx.budget.low():
            _again(ctx, message, counted=counted, position=position)
            return None
        params: dict[str, Any] = {"TableName": message.target, "Select": "COUNT"}
        if position is not None:
            params["ExclusiveStartKey"] = position

        def page(request: dict[str, Any] = params) -> Any:
            limiter.acquire()
            return dynamodb.scan(**request)

        try:
            response = call_with_retries(page, sleep=ctx.sleep, rand=ctx.rand)
        except ClientError as exc:
            return replace(
                message,
                phase="delete",
                counted=counted,
                verdict=f"{VERIFICATION_FAILED}: Scan: {error_code(exc)}: {error_message(exc)}",
            )
        counted += int(response.get("Count", 0))
        position = response.get("LastEvaluatedKey")
        if not position:
            break
    problem = count_problem(message.item_count, counted)
    return replace(
        message,
        phase="delete",
        counted=counted,
        position=None,
        verdict=None if problem is None else f"{VERIFICATION_FAILED}: {problem}",
    )


def _delete(ctx: Context, message: RestoreCheckMessage) -> None:
    try:
        call_with_retries(
            partial(ctx.clients.dynamodb.delete_table, TableName=message.target),
            sleep=ctx.sleep,
            rand=ctx.rand,
        )
    except ClientError as exc:
        code = error_code(exc)
        if code == "ResourceNotFoundException":
            log_event(LOG, logging.INFO, "drill table already gone", target=message.target)
            return
        if code == "ResourceInUseException":
            status = _describe_status(ctx, message)
            if status in (None, "DELETING"):  # a deletion (ours, redelivered) is under way
                log_event(LOG, logging.INFO, "drill table being deleted", target=message.target)
                return
            if status == "CREATING":
                _again(ctx, message)  # a restore still running cannot be deleted yet
                return
        failures = message.delete_failures + 1
        log_event(LOG, logging.ERROR, "drill table not deleted", target=message.target, reason=code)
        if failures < DELETE_ATTEMPTS:
            _again(ctx, message, delete_failures=failures)
            return
        ctx.alert(
            iso(message.slot),
            [
                Failure(
                    message.table,
                    message.backup_arn,
                    f"restore drill: {CLEANUP_FAILED}: drill table {message.target} could not "
                    f"be deleted after {failures} attempts: {code}: {error_message(exc)}; the "
                    "next drill deletes it, or delete it by hand (it is billed while it exists)",
                )
            ],
        )
        return
    log_event(LOG, logging.INFO, "drill table deleted", target=message.target)


def _describe_status(ctx: Context, message: RestoreCheckMessage) -> str | None:
    table = _describe(ctx, message.target)
    return None if table is None else str(table.get("TableStatus"))


def handle_restore(ctx: Context, message: RestoreCheckMessage) -> None:
    current: RestoreCheckMessage | None = message
    if current is not None and current.phase == "wait":
        current = _wait(ctx, current)
    if current is not None and current.phase == "scan":
        current = _scan(ctx, current)
    if current is not None and current.phase == "delete":
        # report first (a failing alert returns the record whole, nothing deleted or
        # re-enqueued yet), then delete with the reported copy: re-enqueued deletions
        # report nothing again
        _delete(ctx, _report(ctx, current))
