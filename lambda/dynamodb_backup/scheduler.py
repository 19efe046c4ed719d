"""The scheduler Lambda: start one backup per selected table and hand them to the monitor."""

from __future__ import annotations

import json
import logging
import os
import random
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from dynamodb_backup import alerts, clock, coverage, logs, metrics, queue
from dynamodb_backup.aws import (
    Clients,
    call_with_retries,
    error_code,
    error_message,
    list_backups,
    list_tables,
)
from dynamodb_backup.budget import Budget
from dynamodb_backup.config import SchedulerConfig
from dynamodb_backup.logs import log_event
from dynamodb_backup.messages import StartedBackup, outgoing, run_messages
from dynamodb_backup.model import AVAILABLE, CREATING, Failure
from dynamodb_backup.naming import backup_name, iso, parse_slot, table_from_arn, to_utc
from dynamodb_backup.ratelimit import RateLimiter

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_resourcegroupstaggingapi import ResourceGroupsTaggingAPIClient

LOG = logging.getLogger(__name__)
CREATE_RATE = 48.0
WORKERS = 8
EXISTING_LOOKBACK = timedelta(hours=1)
# Stop starting backups when less than this share of the invocation's time is left, so the
# started ones still reach the queue and the rest are alerted instead of lost to a timeout.
BUDGET_RESERVE = 0.1
# EventBridge invokes at or after the slot; a slot further ahead than this (a hand-made or
# corrupted event) is refused and alerted: its backups would carry a name no real run of
# that slot could recognise as present, and retention would treat them as newest.
FUTURE_SLOT_TOLERANCE = timedelta(minutes=15)


TAG_FAILURE = "could not select tables by tag"


@dataclass(frozen=True)
class StartResult:
    table: str
    backup: StartedBackup | None
    created_now: bool
    failure: Failure | None


def tagged_tables(
    tagging: ResourceGroupsTaggingAPIClient,
    tags: Sequence[tuple[str, str]],
    *,
    sleep: Callable[[float], None],
    rand: Callable[[], float],
) -> set[str]:
    """Tables carrying all of `tags` (GetResources, paginated). No tags: no tables."""
    if not tags:
        return set()
    names: set[str] = set()
    token = ""
    while True:
        page = call_with_retries(
            partial(
                tagging.get_resources,
                ResourceTypeFilters=["dynamodb:table"],
                TagFilters=[{"Key": key, "Values": [value]} for key, value in tags],
                ResourcesPerPage=100,
                PaginationToken=token,
            ),
            sleep=sleep,
            rand=rand,
        )
        for item in page.get("ResourceTagMappingList", []):
            name = table_from_arn(item.get("ResourceARN", ""))
            if name is None:
                continue
            carried = {t.get("Key"): t.get("Value") for t in item.get("Tags", [])}
            if all(carried.get(key) == value for key, value in tags):
                names.add(name)
        token = page.get("PaginationToken", "")
        if not token:
            return names


def existing_backups(
    dynamodb: DynamoDBClient,
    prefix: str,
    slot: datetime,
    now: datetime,
    *,
    sleep: Callable[[float], None],
    rand: Callable[[], float],
) -> dict[tuple[str, str], StartedBackup]:
    """This slot's backups that already exist (CREATING or AVAILABLE), by (table, name)."""
    lower = min(slot, now) - EXISTING_LOOKBACK
    found: dict[tuple[str, str], StartedBackup] = {}
    for summary in list_backups(dynamodb, lower=lower, sleep=sleep, rand=rand):
        if summary.status not in (AVAILABLE, CREATING):
            continue
        if summary.name != backup_name(prefix, summary.table, slot):
            continue
        key = (summary.table, summary.name)
        previous = found.get(key)
        if previous is None or (summary.created, summary.arn) < (previous.created, previous.arn):
            found[key] = StartedBackup(summary.table, summary.arn, summary.created)
    return found


def start_backup(
    dynamodb: DynamoDBClient,
    table: str,
    name: str,
    limiter: RateLimiter,
    *,
    sleep: Callable[[float], None],
    rand: Callable[[], float],
    budget: Budget | None = None,
) -> StartResult:
    """CreateBackup for one table, throttled and retried; failures are returned, not raised."""
    if budget is not None and budget.low():
        reason = (
            "could not start backup: TimeBudgetExhausted: the scheduler ran out of time "
            "before this table (raise the scheduler's timeout or split the tables)"
        )
        log_event(LOG, logging.ERROR, "backup not started", table=table, reason=reason)
        return StartResult(table, None, created_now=False, failure=Failure(table, None, reason))

    def create() -> Any:
        limiter.acquire()
        return dynamodb.create_backup(TableName=table, BackupName=name)

    try:
        response = call_with_retries(create, sleep=sleep, rand=rand)
        details = response["BackupDetails"]
        backup = StartedBackup(
            table=table,
            arn=details["BackupArn"],
            created=to_utc(details["BackupCreationDateTime"]),
        )
    except Exception as exc:
        reason = f"could not start backup: {error_code(exc)}: {error_message(exc)}"
        log_event(LOG, logging.ERROR, "backup not started", table=table, reason=reason)
        return StartResult(table, None, created_now=False, failure=Failure(table, None, reason))
    log_event(LOG, logging.INFO, "backup started", table=table, arn=backup.arn, name=name)
    return StartResult(table, backup, created_now=True, failure=None)


def select(
    config: SchedulerConfig,
    clients: Clients,
    *,
    sleep: Callable[[float], None],
    rand: Callable[[], float],
) -> tuple[list[str], set[str], list[Failure]]:
    """The selected tables (sorted), those selected by tag, and the selection's failures:
    a failing tag lookup, or a selection that matches no table at all (behaviour 12)."""
    tables = set(config.table_names)
    tagged: set[str] = set()
    failures: list[Failure] = []
    try:
        tagged = tagged_tables(clients.tagging, config.table_tags, sleep=sleep, rand=rand)
        tables |= tagged
    except Exception as exc:  # the listed tables are still backed up
        reason = f"{TAG_FAILURE}: {error_code(exc)}: {error_message(exc)}"
        log_event(LOG, logging.ERROR, "tag selection failed", reason=reason)
        failures.append(Failure("-", None, reason))
    if not tables and not failures:
        reason = nothing_selected(config)
        log_event(LOG, logging.ERROR, "nothing selected", reason=reason)
        failures.append(Failure("-", None, reason))
    return sorted(tables), tagged, failures


def check_coverage(
    config: SchedulerConfig,
    clients: Clients,
    selected: Sequence[str],
    selection_failures: Sequence[Failure],
    *,
    sleep: Callable[[float], None],
    rand: Callable[[], float],
) -> tuple[list[str] | None, str | None]:
    """Behaviour 11: (the unprotected tables, None); (None, why) when ListTables failed;
    (None, None) when the tag lookup failed (every tagged table would look unprotected;
    that failure is alerted already). Never raises: coverage must not stop the backups."""
    if any(f.reason.startswith(TAG_FAILURE) for f in selection_failures):
        log_event(LOG, logging.WARNING, "coverage not checked: the tag selection failed")
        return None, None
    try:
        tables = list_tables(clients.dynamodb, sleep=sleep, rand=rand)
    except Exception as exc:
        reason = f"{error_code(exc)}: {error_message(exc)}"
        log_event(LOG, logging.ERROR, "could not list the tables for coverage", reason=reason)
        return None, reason
    found = coverage.unprotected(
        tables, set(selected), config.unprotected_exclude, prefix=config.common.prefix
    )
    log_event(
        LOG,
        logging.WARNING if found else logging.INFO,
        "coverage checked",
        tables=len(tables),
        unprotected=len(found),
        names=found[:100],
    )
    return found, None


def start_all(
    config: SchedulerConfig,
    clients: Clients,
    selected: Sequence[str],
    slot: datetime,
    started_at: datetime,
    *,
    sleep: Callable[[float], None],
    rand: Callable[[], float],
    monotonic: Callable[[], float],
    workers: int,
    create_rate: float,
    budget: Budget | None,
) -> list[StartResult]:
    """The slot's backup of every selected table: found present, started, or failed."""
    results: list[StartResult] = []
    if not selected:
        return results
    dynamodb = clients.dynamodb
    present = existing_backups(
        dynamodb, config.common.prefix, slot, started_at, sleep=sleep, rand=rand
    )
    to_create: list[tuple[str, str]] = []
    for table in selected:
        name = backup_name(config.common.prefix, table, slot)
        if (table, name) in present:
            results.append(StartResult(table, present[(table, name)], False, None))
            log_event(LOG, logging.INFO, "backup already present", table=table, name=name)
        else:
            to_create.append((table, name))
    limiter = RateLimiter(create_rate, burst=1, clock=monotonic, sleep=sleep)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results.extend(
            pool.map(
                lambda item: start_backup(
                    dynamodb, item[0], item[1], limiter, sleep=sleep, rand=rand, budget=budget
                ),
                to_create,
            )
        )
    return results


def run(
    event: Mapping[str, Any],
    *,
    config: SchedulerConfig,
    clients: Clients,
    now: Callable[[], datetime] = clock.utc_now,
    sleep: Callable[[float], None] = time.sleep,
    rand: Callable[[], float] = random.random,
    monotonic: Callable[[], float] = time.monotonic,
    workers: int = WORKERS,
    create_rate: float = CREATE_RATE,
    budget: Budget | None = None,
) -> dict[str, Any]:
    """One scheduled run; returns a JSON-serialisable summary."""
    common = config.common
    started_at = now()
    raw_time = event.get("time") if isinstance(event, Mapping) else None
    slot = parse_slot(raw_time, started_at)
    if raw_time is None:
        log_event(
            LOG, logging.WARNING, "event has no time; using the invocation time", slot=iso(slot)
        )

    if slot - to_utc(started_at) > FUTURE_SLOT_TOLERANCE:
        return _refuse_future_slot(config, clients, slot, started_at, sleep=sleep, rand=rand)

    selected, tagged, selection_failures = select(config, clients, sleep=sleep, rand=rand)
    log_event(LOG, logging.INFO, "tables selected", slot=iso(slot), count=len(selected))

    results = start_all(
        config,
        clients,
        selected,
        slot,
        started_at,
        sleep=sleep,
        rand=rand,
        monotonic=monotonic,
        workers=workers,
        create_rate=create_rate,
        budget=budget,
    )

    started = [r.backup for r in results if r.backup is not None]
    tag_only = tagged - set(config.table_names)
    failures = selection_failures + sorted(
        (explain_access_denied(r.failure, tag_only) for r in results if r.failure is not None),
        key=lambda f: f.table,
    )
    created = sum(1 for r in results if r.created_now)

    outgoing_messages = [outgoing(m) for m in run_messages(common.prefix, slot, started)]
    send_error: Exception | None = None
    unqueued: list[Failure] = []
    if outgoing_messages:
        try:
            queue.send(clients.sqs, common.queue_url, outgoing_messages, sleep=sleep, rand=rand)
        except Exception as exc:  # alert first (the start failures too), then fail
            send_error = exc
            unqueued = not_queued(started, exc)
            log_event(LOG, logging.ERROR, "could not queue the run", reason=unqueued[0].reason)
    if failures or unqueued:
        alerts.publish(
            clients.sns,
            common.topic_arn,
            iso(slot),
            common.prefix,
            failures + unqueued,
            sleep=sleep,
            rand=rand,
        )
    unprotected, listing_error = check_coverage(
        config, clients, selected, selection_failures, sleep=sleep, rand=rand
    )
    if config.alert_unprotected and (unprotected or listing_error):
        alerts.publish_unprotected(
            clients.sns,
            common.topic_arn,
            iso(slot),
            common.prefix,
            unprotected or [],
            listing_error=listing_error,
            sleep=sleep,
            rand=rand,
        )
    counts = {
        "TablesSelected": len(selected),
        "BackupsStarted": created,
        "BackupsFailed": len(failures),
    }
    if unprotected is not None:  # not emitted when the tables could not be listed
        counts["TablesUnprotected"] = len(unprotected)
    metrics.emit(metrics.emf_line(common.metrics_namespace, common.prefix, counts, started_at))
    summary = {
        "slot": iso(slot),
        "selected": len(selected),
        "started": created,
        "already_present": len(started) - created,
        "failed": len(failures),
        "messages": len(outgoing_messages),
        "unprotected": None if unprotected is None else len(unprotected),
    }
    log_event(LOG, logging.INFO, "run finished", **summary)
    if send_error is not None:
        raise send_error  # Lambda retries the event; a retry finds these backups and queues them
    return summary


def nothing_selected(config: SchedulerConfig) -> str:
    """Why a run that selects no table at all is a failure (contract behaviour 12)."""
    if config.table_tags:
        tags = json.dumps(dict(config.table_tags), sort_keys=True)
        names = "TABLE_NAMES is empty and " if not config.table_names else ""
        return (
            f"the selection matches no table: {names}no table in this account and region "
            f"carries all of the tags {tags} (TABLE_TAGS), so nothing was backed up; check "
            "the tag keys and values (they are case-sensitive) against the tables' tags, "
            "or list the tables in table_names"
        )
    return (
        "the selection matches no table: TABLE_NAMES and TABLE_TAGS are both empty, so "
        "nothing was backed up; set table_names or table_tags on the module"
    )


ACCESS_DENIED = "could not start backup: AccessDenied"
ABAC_HINT = (
    " (this table was selected by its tags, and the scheduler may create backups only of "
    "tables carrying them: the likely cause is that attribute-based access control (ABAC) "
    "for DynamoDB is off, so the tag condition never matches; enable attribute-based access "
    "control for DynamoDB in this account and region, or set dynamodb_abac_enabled = false "
    "on the module)"
)


def explain_access_denied(failure: Failure, tag_only: set[str]) -> Failure:
    """An AccessDenied on CreateBackup of a table selected by tag only gets the likely cause
    (DynamoDB ABAC off in the account and region) and the fix."""
    if failure.table in tag_only and failure.reason.startswith(ACCESS_DENIED):
        return Failure(failure.table, failure.arn, failure.reason + ABAC_HINT)
    return failure


def not_queued(started: Sequence[StartedBackup], exc: Exception) -> list[Failure]:
    """The run's started backups, when the queue refused them: nothing watches them yet."""
    reason = (
        f"backup started but could not be queued for monitoring: {error_code(exc)}: "
        f"{error_message(exc)}; nothing watches it or applies retention until a retry of "
        "this scheduled event (Lambda retries it) queues it; fix the monitoring queue "
        "(its KMS key, its policy) and check the scheduler's dead-letter queue"
    )
    return [Failure(b.table, b.arn, reason) for b in sorted(started, key=lambda b: b.table)]


def _refuse_future_slot(
    config: SchedulerConfig,
    clients: Clients,
    slot: datetime,
    started_at: datetime,
    *,
    sleep: Callable[[float], None],
    rand: Callable[[], float],
) -> dict[str, Any]:
    """A slot more than FUTURE_SLOT_TOLERANCE ahead: no backup, one alert, a failed run."""
    common = config.common
    ahead = slot - to_utc(started_at)
    reason = (
        f"schedule time {iso(slot)} is {int(ahead.total_seconds() // 60)} minutes after the "
        f"invocation ({iso(started_at.replace(microsecond=0))}); refused: no backup started "
        f"(a slot may be at most {int(FUTURE_SLOT_TOLERANCE.total_seconds() // 60)} minutes ahead)"
    )
    log_event(LOG, logging.ERROR, "slot in the future; run refused", slot=iso(slot))
    alerts.publish(
        clients.sns,
        common.topic_arn,
        iso(slot),
        common.prefix,
        [Failure("-", None, reason)],
        sleep=sleep,
        rand=rand,
    )
    metrics.emit(
        metrics.emf_line(
            common.metrics_namespace,
            common.prefix,
            {"TablesSelected": 0, "BackupsStarted": 0, "BackupsFailed": 1},
            started_at,
        )
    )
    return {
        "slot": iso(slot),
        "selected": 0,
        "started": 0,
        "already_present": 0,
        "failed": 1,
        "messages": 0,
    }


def handler(event: Mapping[str, Any], context: object) -> dict[str, Any]:
    """Lambda entry point (EventBridge scheduled event)."""
    config = SchedulerConfig.from_env(os.environ)
    logs.setup(config.common.log_level)
    return run(
        event,
        config=config,
        clients=Clients(),
        budget=Budget.from_context(context, BUDGET_RESERVE),
    )
