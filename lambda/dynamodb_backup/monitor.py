"""The monitor Lambda: watch backups to a final status, alert failures, apply retention."""

from __future__ import annotations

import logging
import os
import random
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from dynamodb_backup import alerts, clock, logs, metrics, queue, retention
from dynamodb_backup.alerts import AlertPublishError, Unreadable
from dynamodb_backup.aws import (
    Clients,
    call_with_retries,
    describe_backup,
    error_code,
    error_message,
    list_backups,
)
from dynamodb_backup.budget import Budget
from dynamodb_backup.config import MonitorConfig
from dynamodb_backup.logs import log_event
from dynamodb_backup.messages import (
    ChunkMessage,
    DeleteMessage,
    FinalizeMessage,
    Message,
    MessageError,
    Outgoing,
    Window,
    decode,
    dedup_id,
    delete_messages,
    outgoing,
)
from dynamodb_backup.model import AVAILABLE, CREATING, BackupRef, BackupSummary, Failure
from dynamodb_backup.naming import backup_name, iso, to_utc
from dynamodb_backup.ratelimit import RateLimiter
from dynamodb_backup.status import Outcome, classify

LOG = logging.getLogger(__name__)
DELETE_RATE = 9.0
# ListBackups allows 5 calls/s per account. One invocation paces itself just below; the
# event source mapping's maximum concurrency (default 2) can still overlap two listings,
# and those throttles are retried.
LIST_RATE = 4.5
BUDGET_RESERVE = 0.25


@dataclass
class Counters:
    succeeded: int = 0
    failed: int = 0
    pending: int = 0
    deleted: int = 0
    unreadable: int = 0
    storage_bytes: int | None = None  # own AVAILABLE backups after retention, when all listed


@dataclass
class Context:
    """Everything a record's handling needs, injected."""

    config: MonitorConfig
    clients: Clients
    now: Callable[[], datetime]
    sleep: Callable[[float], None]
    rand: Callable[[], float]
    budget: Budget
    delete_limiter: RateLimiter
    list_limiter: RateLimiter
    counters: Counters = field(default_factory=Counters)

    def send(self, messages: Sequence[Outgoing]) -> None:
        queue.send(
            self.clients.sqs,
            self.config.common.queue_url,
            messages,
            sleep=self.sleep,
            rand=self.rand,
        )

    def alert(self, slot: str, failures: Sequence[Failure]) -> None:
        if failures:
            alerts.publish(
                self.clients.sns,
                self.config.common.topic_arn,
                slot,
                self.config.common.prefix,
                failures,
                sleep=self.sleep,
                rand=self.rand,
            )

    def unreadable(self, item: Unreadable) -> None:
        """Count, log and alert a message (or event) that cannot be read."""
        if item.position is not None or item.message_id is not None:
            self.counters.unreadable += 1
        log_event(
            LOG,
            logging.ERROR,
            "unreadable message",
            message_id=item.message_id or "-",
            group=item.group or "-",
            why=item.problem,
        )
        alerts.publish_unreadable(
            self.clients.sns,
            self.config.common.topic_arn,
            self.config.common.prefix,
            item,
            sleep=self.sleep,
            rand=self.rand,
        )


def run_started(message: ChunkMessage | FinalizeMessage) -> datetime:
    """When the run started, for MAX_WAIT_MINUTES: the run's real start, never the slot.

    The run's start is one second before its earliest backup (the chunk's window start, the
    finalizer's `started`), derived from the backups' creation times. A late scheduler
    invocation (Lambda retries asynchronous invocations for up to 6 hours) or a replayed old
    event is therefore not timed out at once, and a slot in the future (a hand-made event;
    the scheduler refuses those, see `scheduler.FUTURE_SLOT_TOLERANCE`) cannot postpone
    the timeout either.
    """
    start = message.started if isinstance(message, FinalizeMessage) else message.window.start
    return to_utc(start)


def statuses(ctx: Context, message: ChunkMessage) -> dict[str, str | None]:
    """Status of each of the chunk's backups: one windowed listing, DescribeBackup for the rest."""
    wanted = {ref.arn for ref in message.backups}
    found: dict[str, str | None] = {}
    for summary in list_backups(
        ctx.clients.dynamodb,
        lower=message.window.start,
        upper=message.window.end,
        sleep=ctx.sleep,
        rand=ctx.rand,
        pace=ctx.list_limiter.acquire,
    ):
        if summary.arn in wanted:
            found[summary.arn] = summary.status
    for arn in sorted(wanted - found.keys()):
        found[arn] = describe_backup(ctx.clients.dynamodb, arn, sleep=ctx.sleep, rand=ctx.rand)
    return found


def handle_chunk(ctx: Context, message: ChunkMessage) -> None:
    found = statuses(ctx, message)
    now = ctx.now()
    started = run_started(message)
    pending: list[BackupRef] = []
    failures: list[Failure] = []
    for ref in message.backups:
        verdict = classify(found.get(ref.arn), started, now, ctx.config.max_wait_minutes)
        if verdict.outcome is Outcome.SUCCEEDED:
            ctx.counters.succeeded += 1
            log_event(LOG, logging.INFO, "backup available", table=ref.table, arn=ref.arn)
        elif verdict.outcome is Outcome.PENDING:
            ctx.counters.pending += 1
            pending.append(ref)
        else:
            ctx.counters.failed += 1
            reason = verdict.reason or "failed"
            failures.append(Failure(ref.table, ref.arn, reason))
            log_event(
                LOG, logging.ERROR, "backup failed", table=ref.table, arn=ref.arn, reason=reason
            )
    # alert first: when the alert fails the record is returned whole (its group blocked),
    # and no re-enqueued copy is left waiting behind its failing parent in the same FIFO
    # group, where it could expire unhandled (retention counts receives from the start)
    ctx.alert(iso(message.slot), failures)
    if pending:
        again = replace(message, attempt=message.attempt + 1, backups=tuple(pending))
        ctx.send([outgoing(again)])
        log_event(
            LOG,
            logging.INFO,
            "backups still creating; re-enqueued",
            slot=iso(message.slot),
            chunk=message.chunk,
            attempt=again.attempt,
            count=len(pending),
        )


@dataclass
class RunListing:
    """What the finalizer needs from one listing: own backups by table, and the run's."""

    own: dict[str, list[BackupSummary]] = field(default_factory=lambda: defaultdict(list))
    creating: list[BackupSummary] = field(default_factory=list)
    succeeded: set[str] = field(default_factory=set)
    complete: bool = False  # every USER backup of the account was listed


def _run_listing(
    ctx: Context,
    message: FinalizeMessage,
    lower: datetime | None,
    upper: datetime | None,
    *,
    keep_own: bool,
    into: RunListing | None = None,
) -> RunListing:
    result = into if into is not None else RunListing()
    for summary in list_backups(
        ctx.clients.dynamodb,
        lower=lower,
        upper=upper,
        sleep=ctx.sleep,
        rand=ctx.rand,
        pace=ctx.list_limiter.acquire,
    ):
        if not retention.is_own(summary, message.prefix):
            continue  # never deleted, so not needed in memory
        if keep_own:
            result.own[summary.table].append(summary)
        if summary.name == backup_name(message.prefix, summary.table, message.slot):
            if summary.status == CREATING:
                result.creating.append(summary)
            elif summary.status == AVAILABLE:
                result.succeeded.add(summary.table)
    return result


def _retention_listing(ctx: Context, message: FinalizeMessage, now: datetime) -> RunListing:
    """The backups retention needs (`retention.listing_bounds`): with the default
    `MIN_BACKUPS_TO_KEEP` 1, those past the cutoff and the run's own range, not every
    backup the retention keeps (35 days x 10,000 tables would be 3,500 pages)."""
    listing = RunListing()
    policies = ctx.config.policies
    bounds = retention.listing_bounds(
        now=now,
        retention_days=policies.shortest_retention_days(),
        min_keep=policies.default.min_keep,
        run_started=message.started,
        full_history=policies.needs_full_history(),
    )
    for lower, upper in bounds:
        _run_listing(ctx, message, lower, upper, keep_own=True, into=listing)
    listing.complete = bounds == [(None, None)]
    return listing


def storage_after(listing: RunListing, doomed: Sequence[BackupRef]) -> int | None:
    """`BackupStorageBytes`: the sizes of the own AVAILABLE backups that stay, when the
    listing held every backup (else a partial sum would look like a drop in storage)."""
    if not listing.complete:
        return None
    gone = {ref.arn for ref in doomed}
    return sum(
        b.size_bytes or 0
        for backups in listing.own.values()
        for b in backups
        if b.status == AVAILABLE and b.arn not in gone
    )


def handle_finalize(ctx: Context, message: FinalizeMessage) -> None:
    """Wait until no backup of the run is CREATING (or MAX_WAIT_MINUTES passed), then decide
    retention for every table whose run backup is AVAILABLE.

    Attempt 0 (normally everything is final by then: the queue delays it) lists what
    retention needs at once (the run's range and what is past the cutoff) and decides from
    that. When some are still CREATING it re-enqueues itself with `window` narrowed to
    them; later attempts list only that window (AVAILABLE or DELETED never turn CREATING
    again) and, once nothing there is CREATING, make the retention listing once.
    """
    config = ctx.config
    # read before listing (which may wait for the ListBackups pace): the retention cutoff
    # is never later than the moment this message was taken up
    now = ctx.now()
    if message.attempt == 0:
        listing = _retention_listing(ctx, message, now)
    else:
        window = message.window
        listing = _run_listing(ctx, message, window.start, window.end, keep_own=False)
    waited = now - run_started(message)
    if listing.creating and waited < timedelta(minutes=config.max_wait_minutes):
        again = replace(
            message,
            attempt=message.attempt + 1,
            window=Window.around(summary.created for summary in listing.creating),
        )
        ctx.send([outgoing(again)])
        log_event(
            LOG,
            logging.INFO,
            "run not final yet; finalizer re-enqueued",
            slot=iso(message.slot),
            creating=len(listing.creating),
            attempt=again.attempt,
        )
        return
    if message.attempt != 0:
        listing = _retention_listing(ctx, message, now)
    doomed: list[BackupRef] = []
    for table in sorted(listing.succeeded):
        policy = config.policies.for_table(table)
        for arn in retention.decide(
            listing.own[table],
            now=now,
            retention_days=policy.retention_days,
            min_keep=policy.min_keep,
            tiers=policy.tiers,
            prefix=message.prefix,
            run_succeeded=True,
        ):
            doomed.append(BackupRef(table, arn))
    ctx.counters.storage_bytes = storage_after(listing, doomed)
    deletes = delete_messages(message.prefix, message.slot, doomed)
    if deletes:
        ctx.send([outgoing(m) for m in deletes])
    log_event(
        LOG,
        logging.INFO,
        "retention decided",
        slot=iso(message.slot),
        tables=len(listing.succeeded),
        to_delete=len(doomed),
        messages=len(deletes),
        still_creating=len(listing.creating),
    )


def handle_delete(ctx: Context, message: DeleteMessage) -> None:
    failures: list[Failure] = []
    dynamodb = ctx.clients.dynamodb
    rest: DeleteMessage | None = None
    for index, ref in enumerate(message.backups):
        if ctx.budget.low():
            rest = replace(message, attempt=message.attempt + 1, backups=message.backups[index:])
            break

        def delete(arn: str = ref.arn) -> object:
            ctx.delete_limiter.acquire()
            return dynamodb.delete_backup(BackupArn=arn)

        try:
            call_with_retries(delete, sleep=ctx.sleep, rand=ctx.rand)
        except ClientError as exc:
            if error_code(exc) == "BackupNotFoundException":
                log_event(LOG, logging.INFO, "backup already gone", table=ref.table, arn=ref.arn)
                continue
            reason = f"could not delete backup: {error_code(exc)}: {error_message(exc)}"
            failures.append(Failure(ref.table, ref.arn, reason))
            ctx.counters.failed += 1
            log_event(
                LOG,
                logging.ERROR,
                "backup not deleted",
                table=ref.table,
                arn=ref.arn,
                reason=reason,
            )
            continue
        ctx.counters.deleted += 1
        log_event(LOG, logging.INFO, "backup deleted", table=ref.table, arn=ref.arn)
    # alert before re-enqueueing the rest (same group): see handle_chunk
    ctx.alert(iso(message.slot), failures)
    if rest is not None:
        ctx.send([outgoing(rest)])
        log_event(
            LOG,
            logging.WARNING,
            "time budget low; deletions re-enqueued",
            count=len(rest.backups),
        )


def handle_message(ctx: Context, message: Message) -> None:
    if message.prefix != ctx.config.common.prefix:
        raise MessageError(
            f"prefix {message.prefix!r} is not BACKUP_NAME_PREFIX {ctx.config.common.prefix!r}"
        )
    if isinstance(message, ChunkMessage):
        handle_chunk(ctx, message)
    elif isinstance(message, FinalizeMessage):
        handle_finalize(ctx, message)
    else:
        handle_delete(ctx, message)


def _records(event: object) -> tuple[list[Any], str | None]:
    """The event's records, or none and what is wrong with the event."""
    expected = 'the event source mapping sends {"Records": [...]}'
    if event is None:
        return [], f"the event is empty (a console test?); {expected}"
    if not isinstance(event, Mapping):
        return [], f"the event is a {type(event).__name__}, not an object; {expected}"
    records = event.get("Records")
    if records is None:
        keys = ", ".join(sorted(map(str, event))[:10]) or "none"
        return [], f"the event has no 'Records' (its keys: {keys}); {expected}"
    if not isinstance(records, list):
        return [], f"the event's 'Records' is a {type(records).__name__}, not a list; {expected}"
    return records, None


def _message_id(record: object) -> str | None:
    if isinstance(record, Mapping):
        value = record.get("messageId")
        if isinstance(value, str) and value:
            return value
    return None


def _body(record: Mapping[str, Any]) -> str:
    if "body" not in record:
        raise MessageError("the record has no body")
    body = record["body"]
    if not isinstance(body, str):
        raise MessageError(f"the record's body is a {type(body).__name__}, not text")
    return body


def _group(record: object) -> str:
    if not isinstance(record, Mapping):
        return ""
    attributes = record.get("attributes")
    if isinstance(attributes, Mapping):
        value = attributes.get("MessageGroupId")
        if isinstance(value, str):
            return value
    return ""


def run(
    event: object,
    *,
    config: MonitorConfig,
    clients: Clients,
    now: Callable[[], datetime] = clock.utc_now,
    sleep: Callable[[float], None] = time.sleep,
    rand: Callable[[], float] = random.random,
    monotonic: Callable[[], float] = time.monotonic,
    budget: Budget | None = None,
) -> dict[str, list[dict[str, str]]]:
    """Handle an SQS batch; returns the partial batch response."""
    ctx = Context(
        config=config,
        clients=clients,
        now=now,
        sleep=sleep,
        rand=rand,
        budget=budget or Budget(None),
        delete_limiter=RateLimiter(DELETE_RATE, burst=1, clock=monotonic, sleep=sleep),
        list_limiter=RateLimiter(LIST_RATE, burst=1, clock=monotonic, sleep=sleep),
    )
    records, event_problem = _records(event)
    if event_problem is not None:
        ctx.unreadable(Unreadable(None, None, event_problem, returned=False))
    failed_items: list[dict[str, str]] = []
    failed_groups: set[str] = set()
    for index, record in enumerate(records):
        message_id = _message_id(record)
        group = _group(record)
        if message_id is None:  # cannot be returned: alert it, stop its group
            problem = (
                "the record has no messageId"
                if isinstance(record, Mapping)
                else f"the record is a {type(record).__name__}, not an object"
            )
            ctx.unreadable(Unreadable(None, group, problem, returned=False, position=index))
            failed_groups.add(group)
            continue
        if group in failed_groups:
            failed_items.append({"itemIdentifier": message_id})
            continue
        if ctx.budget.low():
            failed_items.extend(_hand_back(ctx, records[index:], failed_groups))
            break
        try:
            message = decode(_body(record))
            handle_message(ctx, message)
        except MessageError as exc:
            failed_items.append({"itemIdentifier": message_id})
            failed_groups.add(group)
            try:
                ctx.unreadable(Unreadable(message_id, group, str(exc), returned=True))
            except AlertPublishError:  # returned anyway: redelivered, alerted again or DLQ
                LOG.exception("alert not published message_id=%s", message_id)
        except AlertPublishError:
            # only this record is returned for redelivery (its group blocked, as FIFO
            # requires); the records already handled are not replayed. Each receive tries
            # the alert again; after maxReceiveCount the record is in the alarmed DLQ.
            LOG.exception(
                "alert not published; record returned message_id=%s group=%s", message_id, group
            )
            failed_items.append({"itemIdentifier": message_id})
            failed_groups.add(group)
        except Exception:
            LOG.exception("record failed message_id=%s group=%s", message_id, group)
            failed_items.append({"itemIdentifier": message_id})
            failed_groups.add(group)
    counters = ctx.counters
    values = {
        "BackupsFailed": counters.failed,
        "BackupsPending": counters.pending,
        "BackupsDeleted": counters.deleted,
        "MessagesUnreadable": counters.unreadable,
    }
    if counters.succeeded > 0:
        values = {"BackupsSucceeded": counters.succeeded, **values}
    if counters.storage_bytes is not None:
        values["BackupStorageBytes"] = counters.storage_bytes
    metrics.emit(
        metrics.emf_line(config.common.metrics_namespace, config.common.prefix, values, now())
    )
    return {"batchItemFailures": failed_items}


def _hand_back(
    ctx: Context, records: Sequence[Any], failed_groups: set[str]
) -> list[dict[str, str]]:
    """Re-send unprocessed records unchanged (time budget low); returns those not re-sent.

    Records of a failed group, and records without a group (a FIFO queue needs one), are
    returned as failures; so are all of them when the re-send itself fails.
    """
    resend: list[Outgoing] = []
    returned: list[str] = []
    dropped = 0
    for record in records:
        message_id = _message_id(record)
        if message_id is None:  # unreadable (no messageId): cannot be re-sent or returned
            log_event(LOG, logging.ERROR, "record without messageId dropped at low budget")
            dropped += 1
            continue
        group = _group(record)
        body = record.get("body")
        if group in failed_groups or not group or not isinstance(body, str):
            returned.append(message_id)
            continue
        resend.append(Outgoing(body=body, group_id=group, dedup_id=dedup_id(body, message_id)))
    if resend:
        try:
            ctx.send(resend)
        except Exception:
            LOG.exception("could not hand records back; returning them as failures")
            returned = [m for m in map(_message_id, records) if m is not None]
    log_event(
        LOG,
        logging.WARNING,
        "time budget low; records handed back",
        resent=len(records) - len(returned) - dropped,
        returned=len(returned),
    )
    return [{"itemIdentifier": message_id} for message_id in returned]


def handler(event: object, context: object) -> dict[str, list[dict[str, str]]]:
    """Lambda entry point (SQS event source mapping, partial batch response)."""
    config = MonitorConfig.from_env(os.environ)
    logs.setup(config.common.log_level)
    return run(
        event, config=config, clients=Clients(), budget=Budget.from_context(context, BUDGET_RESERVE)
    )
