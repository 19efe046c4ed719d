"""Monitor, chunk messages: the status of a chunk of a run's backups; CREATING ones are
re-enqueued until `MAX_WAIT_MINUTES`, failures alerted."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime

from dynamodb_backup.aws import describe_backup, list_backups
from dynamodb_backup.context import Context
from dynamodb_backup.logs import log_event
from dynamodb_backup.messages import ChunkMessage, FinalizeMessage, outgoing
from dynamodb_backup.model import BackupRef, Failure
from dynamodb_backup.naming import iso, to_utc
from dynamodb_backup.status import Outcome, classify

LOG = logging.getLogger("dynamodb_backup.monitor")


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
