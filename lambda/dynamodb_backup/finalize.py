"""Monitor, finalize messages: wait until a run is final, then decide retention per table
through a resumable listing, and hand the deletions to delete messages.

The retention listing goes newest first: the run's range (`started` on), then backward
time windows `[lower, upper)` of every USER backup of the account, each paged to the end
before its own backups are folded (`fold.py`) into a small state per table. Between pages
the time budget is checked; when it runs low, the deletions decided so far go out, and so
does a continuation (this finalizer with `listing` set: the position, the fold states and
the storage so far) that the next invocation picks up. A partially paged window is never
folded: it is listed again (halved when not even one window fitted), so a crash or a cut
decides nothing from a partial listing, and a redelivered message starts over from its
own position.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from dynamodb_backup import retention
from dynamodb_backup.aws import list_backups
from dynamodb_backup.chunk import run_started
from dynamodb_backup.context import Context
from dynamodb_backup.fold import Candidate, Position, TableFold, feed, finish
from dynamodb_backup.logs import log_event
from dynamodb_backup.messages import (
    FinalizeMessage,
    Outgoing,
    Window,
    delete_messages,
    encode,
    outgoing,
)
from dynamodb_backup.model import AVAILABLE, CREATING, BackupRef, BackupSummary
from dynamodb_backup.naming import backup_name, iso, to_utc

LOG = logging.getLogger("dynamodb_backup.monitor")

# DynamoDB on-demand backups launched on 2017-11-29: no backup is older, so the window
# that reaches this date is the last one and is unbounded below.
FLOOR = datetime(2017, 11, 29, tzinfo=UTC)
FIRST_WINDOW_SECONDS = 86_400
MAX_WINDOW_SECONDS = 8192 * 86_400
GROW_BELOW_PAGES = 10  # a window of fewer pages: the next one is twice as long
SHRINK_FROM_PAGES = 50  # a window of this many pages or more: the next one is half as long
SPLIT_BYTES = 200_000  # a continuation body above this is split by table (SQS: 256 KiB)


@dataclass
class RunListing:
    """The run's range: its CREATING and AVAILABLE backups, and own AVAILABLE by table."""

    own: dict[str, list[Candidate]] = field(default_factory=lambda: defaultdict(list))
    creating: list[BackupSummary] = field(default_factory=list)
    succeeded: set[str] = field(default_factory=set)


def _candidate(summary: BackupSummary) -> Candidate:
    return Candidate(summary.arn, summary.created, summary.size_bytes or 0)


def _run_listing(
    ctx: Context, message: FinalizeMessage, lower: datetime | None, upper: datetime | None
) -> RunListing:
    result = RunListing()
    for summary in list_backups(
        ctx.clients.dynamodb,
        lower=lower,
        upper=upper,
        sleep=ctx.sleep,
        rand=ctx.rand,
        pace=ctx.list_limiter.acquire,
    ):
        if not retention.is_own(summary, message.prefix):
            continue  # never deleted, not counted
        if summary.status == AVAILABLE:
            result.own[summary.table].append(_candidate(summary))
        if summary.name == backup_name(message.prefix, summary.table, message.slot):
            if summary.status == CREATING:
                result.creating.append(summary)
            elif summary.status == AVAILABLE:
                result.succeeded.add(summary.table)
    return result


class _OutOfTimeError(Exception):
    """The budget ran low between two pages of a window."""


@dataclass
class _Window:
    own: dict[str, list[Candidate]] = field(default_factory=lambda: defaultdict(list))
    pages: int = 0


def _list_window(
    ctx: Context, prefix: str, lower: datetime | None, upper: datetime, *, may_stop: bool
) -> _Window:
    """Every own AVAILABLE backup in `[lower, upper)`; `_OutOfTimeError` between pages when the
    budget is low and `may_stop` (the smallest window is always paged to the end)."""
    window = _Window()

    def pace() -> None:
        if window.pages > 0 and may_stop and ctx.budget.low():
            raise _OutOfTimeError
        window.pages += 1
        ctx.list_limiter.acquire()

    for summary in list_backups(
        ctx.clients.dynamodb, lower=lower, upper=upper, sleep=ctx.sleep, rand=ctx.rand, pace=pace
    ):
        if summary.status == AVAILABLE and retention.is_own(summary, prefix):
            window.own[summary.table].append(_candidate(summary))
    return window


@dataclass
class _Progress:
    """What one invocation of the listing has decided so far."""

    doomed: list[BackupRef] = field(default_factory=list)
    windows: int = 0
    pages: int = 0
    listed: bool = False  # some listing was folded in this invocation (the run's range)


def _fold(
    ctx: Context,
    position: Position,
    own: dict[str, list[Candidate]],
    progress: _Progress,
) -> None:
    """Fold one fully listed window (or the run's range) into `position`."""
    storage = 0
    for table, backups in sorted(own.items()):
        state = position.tables.get(table)
        if state is None:  # its run backup is not AVAILABLE: everything stays
            storage += sum(b.size for b in backups)
            continue
        step = feed(state, backups, ctx.config.policies.for_table(table), position.now)
        storage += step.kept_bytes
        progress.doomed.extend(BackupRef(table, b.arn) for b in step.doomed)
    if position.storage is not None:
        position.storage += storage


def _start(ctx: Context, message: FinalizeMessage, run: RunListing, now: datetime) -> Position:
    """The position after the run's range: fold states of the tables whose run backup is
    AVAILABLE, and where the windows start. With the default `MIN_BACKUPS_TO_KEEP` 1 and
    no tier, nothing between the (shortest) cutoff and the run's start can change a
    decision: the windows start at the cutoff, and the listing does not see every backup
    (no `BackupStorageBytes`)."""
    policies = ctx.config.policies
    full = policies.needs_full_history()
    started = to_utc(message.started)
    upper = retention.listing_start(
        now=now,
        retention_days=policies.shortest_retention_days(),
        run_started=started,
        full_history=full,
    )
    upper = upper.replace(microsecond=0)
    # the whole history is needed: a day at a time at first (a day holds about a backup
    # per table), then as the pages say. Else one window of all that is past the cutoff
    # (normally a day's worth), halved only when it does not fit.
    first = FIRST_WINDOW_SECONDS if full else max(int((upper - FLOOR).total_seconds()), 1)
    return Position(
        now=now,
        upper=upper,
        window_seconds=min(first, MAX_WINDOW_SECONDS),
        storage=0 if full else None,
        tables={t: TableFold.start(policies.for_table(t)) for t in sorted(run.succeeded)},
    )


def _next_size(seconds: int, pages: int) -> int:
    if pages < GROW_BELOW_PAGES:
        return min(seconds * 2, MAX_WINDOW_SECONDS)
    if pages >= SHRINK_FROM_PAGES:
        return max(seconds // 2, 1)
    return seconds


def _resume(
    ctx: Context, message: FinalizeMessage, position: Position, progress: _Progress
) -> None:
    """List backward windows until the floor (then decide the rest and finish) or until
    the budget is low (then send what is decided and a continuation)."""
    if not position.tables:  # no run backup AVAILABLE: nothing to decide, no storage
        position.storage = None
        _complete(ctx, message, position, progress)
        return
    while True:
        if (progress.listed or progress.windows > 0) and ctx.budget.low():
            _suspend(ctx, message, position, progress)
            return
        lower = position.upper - timedelta(seconds=position.window_seconds)
        last = lower <= FLOOR
        try:
            window = _list_window(
                ctx,
                message.prefix,
                None if last else lower,
                position.upper,
                may_stop=position.window_seconds > 1,
            )
        except _OutOfTimeError:
            if progress.windows == 0:  # not even one window fitted: halve it
                position.window_seconds = max(position.window_seconds // 2, 1)
            _suspend(ctx, message, position, progress)
            return
        _fold(ctx, position, window.own, progress)
        progress.windows += 1
        progress.pages += window.pages
        if last:
            _complete(ctx, message, position, progress)
            return
        position.upper = lower
        position.window_seconds = _next_size(position.window_seconds, window.pages)


def _complete(
    ctx: Context, message: FinalizeMessage, position: Position, progress: _Progress
) -> None:
    for state in position.tables.values():
        kept = finish(state)
        if position.storage is not None:
            position.storage += kept
    ctx.counters.storage_bytes = position.storage
    deletes = delete_messages(message.prefix, message.slot, progress.doomed)
    if deletes:
        ctx.send([outgoing(m) for m in deletes])
    log_event(
        LOG,
        logging.INFO,
        "retention decided",
        slot=iso(message.slot),
        tables=len(position.tables),
        to_delete=len(progress.doomed),
        messages=len(deletes),
        windows=progress.windows,
        pages=progress.pages,
    )


def continuations(message: FinalizeMessage, position: Position) -> list[FinalizeMessage]:
    """`message` carrying `position`; split by table into parts of at most `SPLIT_BYTES`
    when one would be larger. Split parts carry no storage (no part sees every table)."""
    whole = replace(message, listing=position)
    if len(encode(whole)) <= SPLIT_BYTES or len(position.tables) <= 1:
        return [whole]
    names = sorted(position.tables)
    parts = 2
    while True:
        size = math.ceil(len(names) / parts)
        pieces = [
            replace(
                message,
                listing=replace(
                    position,
                    storage=None,
                    tables={t: position.tables[t] for t in names[i : i + size]},
                ),
            )
            for i in range(0, len(names), size)
        ]
        if size <= 1 or all(len(encode(p)) <= SPLIT_BYTES for p in pieces):
            return pieces
        parts *= 2


def _suspend(
    ctx: Context, message: FinalizeMessage, position: Position, progress: _Progress
) -> None:
    deletes = delete_messages(message.prefix, message.slot, progress.doomed)
    following = continuations(message, position)
    batch: list[Outgoing] = [outgoing(m) for m in deletes]
    batch += [outgoing(m) for m in following]
    ctx.send(batch)
    log_event(
        LOG,
        logging.INFO,
        "time budget low; retention listing continues",
        slot=iso(message.slot),
        upper=iso(position.upper),
        window_seconds=position.window_seconds,
        tables=len(position.tables),
        to_delete=len(progress.doomed),
        windows=progress.windows,
        pages=progress.pages,
        parts=len(following),
    )


def handle_finalize(ctx: Context, message: FinalizeMessage) -> None:
    """Wait until no backup of the run is CREATING (or MAX_WAIT_MINUTES passed), then decide
    retention for every table whose run backup is AVAILABLE.

    Attempt 0 (normally everything is final by then: the queue delays it) lists the run's
    range at once. When some are still CREATING it re-enqueues itself with `window`
    narrowed to them; later attempts list only that window (AVAILABLE or DELETED never
    turn CREATING again) and, once nothing there is CREATING, list the run's range. Then
    the retention listing goes on backward (`_resume`); a continuation (`listing` set)
    goes on from its position.
    """
    if message.listing is not None:
        _resume(ctx, message, message.listing, _Progress())
        return
    config = ctx.config
    # read before listing (which may wait for the ListBackups pace): the retention cutoff
    # is never later than the moment this message was taken up
    now = to_utc(ctx.now()).replace(microsecond=0)
    if message.attempt == 0:
        run = _run_listing(ctx, message, message.started, None)
    else:
        window = message.window
        run = _run_listing(ctx, message, window.start, window.end)
    waited = now - run_started(message)
    if run.creating and waited < timedelta(minutes=config.max_wait_minutes):
        again = replace(
            message,
            attempt=message.attempt + 1,
            window=Window.around(summary.created for summary in run.creating),
        )
        ctx.send([outgoing(again)])
        log_event(
            LOG,
            logging.INFO,
            "run not final yet; finalizer re-enqueued",
            slot=iso(message.slot),
            creating=len(run.creating),
            attempt=again.attempt,
        )
        return
    if message.attempt != 0:
        run = _run_listing(ctx, message, message.started, None)
    position = _start(ctx, message, run, now)
    progress = _Progress()
    _fold(ctx, position, run.own, progress)
    progress.listed = True
    _resume(ctx, message, position, progress)
