"""The monitor Lambda: the SQS batch loop and the dispatch of each message to its kind's
module (`chunk`, `finalize`, `delete`, `restore_check`), with FIFO partial batch responses."""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from dynamodb_backup import chunk, clock, delete, finalize, logs, metrics, restore_check
from dynamodb_backup.alerts import AlertPublishError, Unreadable
from dynamodb_backup.aws import Clients
from dynamodb_backup.budget import Budget
from dynamodb_backup.config import MonitorConfig
from dynamodb_backup.context import Context
from dynamodb_backup.logs import log_event
from dynamodb_backup.messages import (
    ChunkMessage,
    DeleteMessage,
    FinalizeMessage,
    Message,
    MessageError,
    Outgoing,
    RestoreCheckMessage,
    decode,
    dedup_id,
)
from dynamodb_backup.ratelimit import RateLimiter

LOG = logging.getLogger(__name__)
DELETE_RATE = 9.0
# ListBackups allows 5 calls/s per account. One invocation paces itself just below; the
# event source mapping's maximum concurrency (default 2) can still overlap two listings,
# and those throttles are retried.
LIST_RATE = 4.5
BUDGET_RESERVE = 0.25

# one module per message kind: what happens to a kind of message is in its module
HANDLERS: dict[type[Message], Callable[[Context, Any], None]] = {
    ChunkMessage: chunk.handle_chunk,
    FinalizeMessage: finalize.handle_finalize,
    DeleteMessage: delete.handle_delete,
    RestoreCheckMessage: restore_check.handle_restore,
}


def handle_message(ctx: Context, message: Message) -> None:
    if message.prefix != ctx.config.common.prefix:
        raise MessageError(
            f"prefix {message.prefix!r} is not BACKUP_NAME_PREFIX {ctx.config.common.prefix!r}"
        )
    HANDLERS[type(message)](ctx, message)


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
        scan_limiter=RateLimiter(
            restore_check.SCAN_PAGES_PER_SECOND, burst=1, clock=monotonic, sleep=sleep
        ),
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
    _emit_drill_metrics(ctx)
    return {"batchItemFailures": failed_items}


def _emit_drill_metrics(ctx: Context) -> None:
    """The restore drills' metrics, when this batch finished or timed a drill: the counts,
    then one line per drill table that became ACTIVE (`RestoreDrillSeconds`)."""
    counters = ctx.counters
    common = ctx.config.common
    if counters.drill_succeeded or counters.drill_failed:
        metrics.emit(
            metrics.emf_line(
                common.metrics_namespace,
                common.prefix,
                {
                    "RestoreDrillSucceeded": counters.drill_succeeded,
                    "RestoreDrillFailed": counters.drill_failed,
                },
                ctx.now(),
            )
        )
    for seconds in counters.drill_seconds:
        metrics.emit(
            metrics.emf_line(
                common.metrics_namespace,
                common.prefix,
                {"RestoreDrillSeconds": seconds},
                ctx.now(),
            )
        )


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
