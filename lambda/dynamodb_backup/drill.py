"""The restore drill Lambda (contract behaviour 10): restore the newest own backup of the
drill table(s) into a new drill table and hand it to the monitor (`restore_check.py`),
which waits for it, verifies it and deletes it again.

One run: sweep this instance's drill tables left over by earlier runs (deleted and
alerted), pick the tables to drill (`DRILL_TABLES`, else one selected table per run in
turn), and for each take its newest own AVAILABLE backup, refuse it when larger than
`DRILL_MAX_BACKUP_BYTES`, and `RestoreTableFromBackup` it with on-demand billing.
"""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.exceptions import ClientError

from dynamodb_backup import alerts, clock, logs, metrics, queue
from dynamodb_backup.aws import (
    Clients,
    call_with_retries,
    error_code,
    error_message,
    list_backups,
    list_tables,
)
from dynamodb_backup.config import DrillConfig
from dynamodb_backup.logs import log_event
from dynamodb_backup.messages import DEFAULT_SCAN_READ_UNITS, RestoreCheckMessage, outgoing
from dynamodb_backup.model import AVAILABLE, BackupSummary, Failure
from dynamodb_backup.naming import drill_slot_of, drill_table_name, iso, parse_slot, to_utc
from dynamodb_backup.retention import is_own
from dynamodb_backup.scheduler import select

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

LOG = logging.getLogger(__name__)
DEFAULT_PERIOD_SECONDS = 7 * 24 * 3600
# A drill table is left over (its drill crashed) once its slot is older than the longest a
# drill may take (DRILL_MAX_WAIT_MINUTES) plus this margin: a drill still in progress is
# never swept, and a repeated delivery of this slot's event never sweeps its own table.
LEFTOVER_MARGIN = timedelta(hours=1)

NO_BACKUP = "no backup to drill"
TOO_LARGE = "backup too large"
RESTORE_FAILED = "restore failed"
LEFTOVER = "left over drill table deleted"
CLEANUP_FAILED = "clean-up failed"


@dataclass
class DrillRun:
    """What one run did, for its summary, metrics and alert."""

    failures: list[Failure] = field(default_factory=list)
    started: list[RestoreCheckMessage] = field(default_factory=list)
    swept: list[str] = field(default_factory=list)
    failed: int = 0  # drills that failed in this function (RestoreDrillFailed)


_N = TypeVar("_N", int, float)


def _detail(event: Mapping[str, Any], key: str) -> object:
    """`detail.<key>` of the event, None when it has none."""
    detail = event.get("detail") if isinstance(event, Mapping) else None
    return detail.get(key) if isinstance(detail, Mapping) else None


def _fallback(key: str, got: object, default: _N) -> _N:
    log_event(
        LOG,
        logging.WARNING,
        f"event has no usable detail.{key}; using the default",
        got=repr(got)[:100],
        default=default,
    )
    return default


def drill_period(event: Mapping[str, Any]) -> int:
    """`detail.drill_period_seconds` of the event (positive whole seconds), else 7 days."""
    value = _detail(event, "drill_period_seconds")
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return _fallback("drill_period_seconds", value, DEFAULT_PERIOD_SECONDS)


def scan_read_units(event: Mapping[str, Any]) -> float:
    """`detail.max_read_units_per_second` of the event (restore_drill's bound on the count's
    Scan, a positive number), else the default 512."""
    value = _detail(event, "max_read_units_per_second")
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    return _fallback("max_read_units_per_second", value, DEFAULT_SCAN_READ_UNITS)


def rotation_index(slot: datetime, period: int, count: int) -> int:
    """The selection's table (sorted) this slot drills: floor(slot / period) mod count."""
    return (int(to_utc(slot).timestamp()) // period) % count


def pick_tables(
    config: DrillConfig, selected: Sequence[str], slot: datetime, period: int
) -> list[str]:
    """`DRILL_TABLES` when set; else one table of the sorted selection, in turn."""
    if config.drill_tables:
        return list(config.drill_tables)
    ordered = sorted(set(selected))
    if not ordered:
        return []
    return [ordered[rotation_index(slot, period, len(ordered))]]


def newest_own_backup(backups: Sequence[BackupSummary], prefix: str) -> BackupSummary | None:
    """The newest (creation time, then ARN) own AVAILABLE backup, else None."""
    own = [b for b in backups if b.status == AVAILABLE and is_own(b, prefix)]
    return max(own, key=lambda b: (b.created, b.arn), default=None)


@dataclass(frozen=True)
class Recorded:
    """What DescribeBackup recorded of the source table."""

    size_bytes: int | None
    key_schema: tuple[tuple[str, str], ...]
    indexes: tuple[str, ...]
    item_count: int


def recorded(description: Mapping[str, Any]) -> Recorded:
    """Key schema, item count and size (`SourceTableDetails`, `BackupDetails`) and index
    names (`SourceTableFeatureDetails`) of a DescribeBackup response."""
    body = description.get("BackupDescription", {})
    details = body.get("BackupDetails", {})
    source = body.get("SourceTableDetails", {})
    features = body.get("SourceTableFeatureDetails", {})
    names = [
        str(index["IndexName"])
        for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes")
        for index in features.get(key, []) or []
        if index.get("IndexName")
    ]
    size = details.get("BackupSizeBytes")
    count = source.get("ItemCount")
    return Recorded(
        size_bytes=size if isinstance(size, int) and not isinstance(size, bool) else None,
        key_schema=tuple(
            (str(k["AttributeName"]), str(k["KeyType"])) for k in source.get("KeySchema", [])
        ),
        indexes=tuple(sorted(names)),
        item_count=count if isinstance(count, int) and count >= 0 else 0,
    )


def sweep(
    config: DrillConfig,
    dynamodb: DynamoDBClient,
    tables: Sequence[str],
    now: datetime,
    run: DrillRun,
    *,
    sleep: Callable[[float], None],
    rand: Callable[[], float],
) -> None:
    """Delete this instance's drill tables whose drill must be over (a crash left them)."""
    prefix = config.common.prefix
    limit = to_utc(now) - timedelta(minutes=config.max_wait_minutes) - LEFTOVER_MARGIN
    for name in sorted(tables):
        slot = drill_slot_of(prefix, name)
        if slot is None or slot >= limit:
            continue
        try:
            call_with_retries(
                partial(dynamodb.delete_table, TableName=name), sleep=sleep, rand=rand
            )
        except ClientError as exc:
            if error_code(exc) == "ResourceNotFoundException":
                continue
            reason = (
                f"{CLEANUP_FAILED}: drill table {name} of slot {iso(slot)} was left over by an "
                f"earlier drill and could not be deleted: {error_code(exc)}: {error_message(exc)};"
                " delete it by hand (it is billed while it exists)"
            )
            run.failures.append(Failure(name, None, reason))
            log_event(LOG, logging.ERROR, "leftover drill table not deleted", table=name)
            continue
        run.swept.append(name)
        run.failures.append(
            Failure(
                name,
                None,
                f"{LEFTOVER}: drill table {name} of slot {iso(slot)} was left over by an earlier"
                " drill (the monitor did not finish it) and has been deleted",
            )
        )
        log_event(LOG, logging.WARNING, "leftover drill table deleted", table=name)


def start_drill(
    config: DrillConfig,
    dynamodb: DynamoDBClient,
    table: str,
    *,
    slot: datetime,
    now: Callable[[], datetime],
    run: DrillRun,
    sleep: Callable[[float], None],
    rand: Callable[[], float],
    read_units: float = DEFAULT_SCAN_READ_UNITS,
) -> None:
    """Restore the newest own backup of `table` into its drill table of `slot`; its check
    counts the items at most `read_units` read units a second."""
    prefix = config.common.prefix

    def fail(arn: str | None, reason: str) -> None:
        run.failed += 1
        run.failures.append(Failure(table, arn, reason))
        log_event(LOG, logging.ERROR, "drill failed", table=table, arn=arn or "-", reason=reason)

    try:
        backups = list(list_backups(dynamodb, table_name=table, sleep=sleep, rand=rand))
    except ClientError as exc:
        fail(
            None,
            f"{NO_BACKUP}: could not list its backups: {error_code(exc)}: {error_message(exc)}",
        )
        return
    newest = newest_own_backup(backups, prefix)
    if newest is None:
        fail(None, f"{NO_BACKUP}: the table has no AVAILABLE backup of this instance")
        return
    try:
        described = recorded(
            call_with_retries(
                partial(dynamodb.describe_backup, BackupArn=newest.arn), sleep=sleep, rand=rand
            )
        )
    except ClientError as exc:
        fail(
            newest.arn, f"{RESTORE_FAILED}: DescribeBackup: {error_code(exc)}: {error_message(exc)}"
        )
        return
    size = described.size_bytes if described.size_bytes is not None else newest.size_bytes
    if size is not None and size > config.max_backup_bytes:
        fail(
            newest.arn,
            f"{TOO_LARGE}: {size} bytes, more than DRILL_MAX_BACKUP_BYTES="
            f"{config.max_backup_bytes}; not restored (raise the limit to drill it: a restore "
            "is billed per GB)",
        )
        return
    target = drill_table_name(prefix, table, slot)
    try:
        response = call_with_retries(
            partial(
                dynamodb.restore_table_from_backup,
                TargetTableName=target,
                BackupArn=newest.arn,
                BillingModeOverride="PAY_PER_REQUEST",
            ),
            sleep=sleep,
            rand=rand,
        )
    except ClientError as exc:
        if error_code(exc) == "TableAlreadyExistsException":  # a repeated delivery
            log_event(LOG, logging.INFO, "drill table exists; drill already started", table=target)
            return
        fail(newest.arn, f"{RESTORE_FAILED}: {error_code(exc)}: {error_message(exc)}")
        return
    description = response.get("TableDescription", {})
    created = description.get("CreationDateTime")
    started = to_utc(created) if isinstance(created, datetime) else to_utc(now())
    run.started.append(
        RestoreCheckMessage(
            prefix=prefix,
            slot=slot,
            attempt=0,
            table=table,
            backup_arn=newest.arn,
            target=target,
            started=started.replace(microsecond=0),
            key_schema=described.key_schema,
            indexes=described.indexes,
            item_count=described.item_count,
            read_units_per_second=read_units,
        )
    )
    log_event(LOG, logging.INFO, "restore started", table=table, arn=newest.arn, target=target)


def _queue_checks(
    config: DrillConfig,
    clients: Clients,
    run: DrillRun,
    *,
    sleep: Callable[[float], None],
    rand: Callable[[], float],
) -> None:
    """Hand the started restores to the monitor; when the queue refuses them, delete the
    drill tables again (nothing would watch them) and count those drills as failed."""
    if not run.started:
        return
    try:
        queue.send(
            clients.sqs,
            config.common.queue_url,
            [outgoing(m) for m in run.started],
            sleep=sleep,
            rand=rand,
        )
    except Exception as exc:
        for message in run.started:
            run.failed += 1
            reason = (
                f"{RESTORE_FAILED}: the restore started but could not be queued for checking: "
                f"{error_code(exc)}: {error_message(exc)}"
            )
            try:
                call_with_retries(
                    partial(clients.dynamodb.delete_table, TableName=message.target),
                    sleep=sleep,
                    rand=rand,
                )
            except ClientError as delete_exc:
                reason += (
                    f"; {CLEANUP_FAILED}: drill table {message.target} could not be deleted: "
                    f"{error_code(delete_exc)} (the next drill deletes it)"
                )
            run.failures.append(Failure(message.table, message.backup_arn, reason))
        run.started = []


def run(
    event: Mapping[str, Any],
    *,
    config: DrillConfig,
    clients: Clients,
    now: Callable[[], datetime] = clock.utc_now,
    sleep: Callable[[float], None] = time.sleep,
    rand: Callable[[], float] = random.random,
) -> dict[str, Any]:
    """One drill run; returns a JSON-serialisable summary."""
    common = config.common
    started_at = now()
    raw_time = event.get("time") if isinstance(event, Mapping) else None
    slot = parse_slot(raw_time, started_at)
    period = drill_period(event)
    read_units = scan_read_units(event)
    outcome = DrillRun()
    selected, _tagged, selection_failures = (
        ([], set(), [])
        if config.drill_tables
        else select(config.selection, clients, sleep=sleep, rand=rand)
    )
    outcome.failures += selection_failures
    try:
        tables = list_tables(clients.dynamodb, sleep=sleep, rand=rand)
    except ClientError as exc:
        outcome.failures.append(
            Failure(
                "-",
                None,
                f"could not list the tables to find left over drill tables: "
                f"{error_code(exc)}: {error_message(exc)}",
            )
        )
    else:
        sweep(config, clients.dynamodb, tables, started_at, outcome, sleep=sleep, rand=rand)
    chosen = pick_tables(config, selected, slot, period)
    for table in chosen:
        start_drill(
            config,
            clients.dynamodb,
            table,
            slot=slot,
            now=now,
            run=outcome,
            read_units=read_units,
            sleep=sleep,
            rand=rand,
        )
    _queue_checks(config, clients, outcome, sleep=sleep, rand=rand)
    if outcome.failures:
        alerts.publish(
            clients.sns,
            common.topic_arn,
            iso(slot),
            common.prefix,
            outcome.failures,
            sleep=sleep,
            rand=rand,
        )
    metrics.emit(
        metrics.emf_line(
            common.metrics_namespace,
            common.prefix,
            {"RestoreDrillFailed": outcome.failed},
            started_at,
        )
    )
    summary = {
        "slot": iso(slot),
        "period_seconds": period,
        "tables": chosen,
        "restores_started": [m.target for m in outcome.started],
        "failed": outcome.failed,
        "leftovers_deleted": outcome.swept,
        "alerted": len(outcome.failures),
    }
    log_event(LOG, logging.INFO, "drill run finished", **summary)
    return summary


def handler(event: Mapping[str, Any], _context: object) -> dict[str, Any]:
    """Lambda entry point (EventBridge scheduled event with `detail.drill_period_seconds`)."""
    config = DrillConfig.from_env(os.environ)
    logs.setup(config.common.log_level)
    return run(event, config=config, clients=Clients())
