"""Monitor, finalize messages: wait until a run is final, then decide retention per table
and hand the deletions to delete messages."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from dynamodb_backup import retention
from dynamodb_backup.aws import list_backups
from dynamodb_backup.chunk import run_started
from dynamodb_backup.context import Context
from dynamodb_backup.logs import log_event
from dynamodb_backup.messages import FinalizeMessage, Window, delete_messages, outgoing
from dynamodb_backup.model import AVAILABLE, CREATING, BackupRef, BackupSummary
from dynamodb_backup.naming import backup_name, iso

LOG = logging.getLogger("dynamodb_backup.monitor")


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
