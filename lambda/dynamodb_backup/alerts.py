"""Failure alerts: plain-text formatting (pure) and publishing to SNS."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from dynamodb_backup.aws import call_with_retries
from dynamodb_backup.logs import log_event
from dynamodb_backup.model import Failure

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient

LOG = logging.getLogger(__name__)
MAX_BODY_BYTES = 200_000
MAX_SUBJECT = 100
MAX_REASON = 2_000


class AlertPublishError(RuntimeError):
    """SNS refused an alert; never swallowed."""


@dataclass(frozen=True)
class Alert:
    subject: str
    body: str


def _ascii_line(text: str) -> str:
    return "".join(c if " " <= c <= "~" else "?" for c in text)


def subject(count: int, slot: str) -> str:
    return _ascii_line(f"DynamoDB backup: {count} failure(s) in run {slot}")[:MAX_SUBJECT]


def _entry(failure: Failure) -> str:
    reason = failure.reason
    if len(reason) > MAX_REASON:
        reason = reason[:MAX_REASON] + "..."
    reason = " ".join(reason.split())
    return f"- table: {failure.table}\n  backup: {failure.arn or '-'}\n  reason: {reason}\n"


def format_alerts(
    slot: str, prefix: str, failures: Sequence[Failure], max_bytes: int = MAX_BODY_BYTES
) -> list[Alert]:
    """One alert for `failures`, split into several when a body would exceed `max_bytes`."""
    if not failures:
        return []
    entries = [_entry(f) for f in failures]
    groups: list[list[str]] = [[]]
    size = 0
    header_room = 200
    for entry in entries:
        entry_size = len(entry.encode("utf-8")) + 1  # the blank line joining entries
        if groups[-1] and size + entry_size + header_room > max_bytes:
            groups.append([])
            size = 0
        groups[-1].append(entry)
        size += entry_size
    alerts: list[Alert] = []
    for index, group in enumerate(groups):
        part = f" (part {index + 1} of {len(groups)})" if len(groups) > 1 else ""
        header = (
            f'DynamoDB backup run {slot} (prefix "{prefix}"): {len(group)} failure(s){part}\n\n'
        )
        alerts.append(Alert(subject=subject(len(group), slot), body=header + "\n".join(group)))
    return alerts


@dataclass(frozen=True)
class Unreadable:
    """A queue message (or an event) the monitor cannot read.

    `message_id` is the record's messageId (None: it has none); `position` its place in
    the batch (None: the event itself is unreadable); `returned`: in batchItemFailures.
    """

    message_id: str | None
    group: str | None
    problem: str
    returned: bool
    position: int | None = None

    def what(self) -> str:
        if self.message_id is not None:
            group = f" in group {self.group}" if self.group else ""
            return f"unreadable queue message {self.message_id}{group}"
        if self.position is not None:
            return f"unreadable queue record {self.position} of a batch (it has no messageId)"
        return "the monitor was invoked with an event it cannot read"


def format_unreadable(prefix: str, item: Unreadable) -> Alert:
    """The alert for one unreadable message: which message, what was wrong, what happens."""
    problem = " ".join(item.problem.split())
    if len(problem) > MAX_REASON:
        problem = problem[:MAX_REASON] + "..."
    if item.returned:
        outcome = (
            "returned to the queue unhandled (batchItemFailures); after the queue's maximum "
            "receives it moves to the monitoring dead-letter queue: look at it there"
        )
    elif item.position is not None:
        outcome = "not handled; it cannot be returned to the queue without a messageId"
    else:
        outcome = "nothing was handled (the monitor expects an SQS event from its queue)"
    lines = [f'DynamoDB backup monitor (prefix "{prefix}"): {item.what()}: {problem}', ""]
    if item.message_id is not None or item.position is not None:
        lines.append(f"- queue message: {item.message_id or '- (none)'}")
        lines.append(f"  group: {item.group or '-'}")
        if item.message_id is None:
            lines.append(f"  position in the batch: {item.position}")
        lines.append(f"  problem: {problem}")
    else:
        lines.append(f"- event: {problem}")
    lines.append(f"  outcome: {outcome}")
    return Alert(
        subject=_ascii_line(f"DynamoDB backup: {item.what()}")[:MAX_SUBJECT],
        body="\n".join(lines) + "\n",
    )


def publish_unreadable(
    sns: SNSClient,
    topic_arn: str,
    prefix: str,
    item: Unreadable,
    *,
    sleep: Callable[[float], None],
    rand: Callable[[], float],
) -> None:
    """Publish the alert for an unreadable message (see `format_unreadable`)."""
    _send(sns, topic_arn, format_unreadable(prefix, item), sleep=sleep, rand=rand)
    log_event(LOG, logging.WARNING, "alert published", unreadable=item.message_id or "-")


def _send(
    sns: SNSClient,
    topic_arn: str,
    alert: Alert,
    *,
    sleep: Callable[[float], None],
    rand: Callable[[], float],
) -> None:
    try:
        call_with_retries(
            partial(sns.publish, TopicArn=topic_arn, Subject=alert.subject, Message=alert.body),
            sleep=sleep,
            rand=rand,
        )
    except Exception as exc:
        raise AlertPublishError(f"could not publish alert to {topic_arn}: {exc}") from exc


def publish(
    sns: SNSClient,
    topic_arn: str,
    slot: str,
    prefix: str,
    failures: Sequence[Failure],
    *,
    sleep: Callable[[float], None],
    rand: Callable[[], float],
) -> int:
    """Publish the alerts for `failures`; returns the number of SNS messages sent."""
    alerts = format_alerts(slot, prefix, failures)
    for alert in alerts:
        _send(sns, topic_arn, alert, sleep=sleep, rand=rand)
        log_event(LOG, logging.WARNING, "alert published", slot=slot, failures=len(failures))
    return len(alerts)


def format_unprotected(
    slot: str,
    prefix: str,
    tables: Sequence[str],
    listing_error: str | None = None,
    max_bytes: int = MAX_BODY_BYTES,
) -> list[Alert]:
    """The coverage alert of a run (behaviour 11): the tables nothing selects, one alert
    (split when a body would exceed `max_bytes`), or the reason the listing failed."""
    if listing_error is not None:
        problem = " ".join(listing_error.split())[:MAX_REASON]
        body = (
            f'DynamoDB backup run {slot} (prefix "{prefix}"): could not check which tables '
            "are not backed up\n\n"
            f"- tables: could not list the tables: {problem}\n"
            "  outcome: the backups of this run are not affected; TablesUnprotected is not "
            "emitted for this run\n"
        )
        return [Alert(_ascii_line(f"DynamoDB backup: coverage check failed in run {slot}"), body)]
    if not tables:
        return []
    footer = (
        "\nBack them up (add them to table_names, or give them the tags of table_tags) or "
        "excuse them with a pattern in unprotected_tables_exclude.\n"
    )
    groups: list[list[str]] = [[]]
    size = 0
    room = max_bytes - 400 - len(footer)
    for table in tables:
        line = f"- table: {table}\n"
        if groups[-1] and size + len(line) > room:
            groups.append([])
            size = 0
        groups[-1].append(line)
        size += len(line)
    alerts: list[Alert] = []
    for index, group in enumerate(groups):
        part = f" (part {index + 1} of {len(groups)})" if len(groups) > 1 else ""
        header = (
            f'DynamoDB backup run {slot} (prefix "{prefix}"): {len(tables)} table(s) in this '
            "account and region are not backed up: no selection covers them and no "
            f"exclusion pattern excuses them{part}\n\n"
        )
        subject = _ascii_line(f"DynamoDB backup: {len(tables)} unprotected table(s) in run {slot}")
        alerts.append(Alert(subject[:MAX_SUBJECT], header + "".join(group) + footer))
    return alerts


def publish_unprotected(
    sns: SNSClient,
    topic_arn: str,
    slot: str,
    prefix: str,
    tables: Sequence[str],
    *,
    listing_error: str | None,
    sleep: Callable[[float], None],
    rand: Callable[[], float],
) -> int:
    """Publish the coverage alert (see `format_unprotected`); returns the messages sent."""
    alerts = format_unprotected(slot, prefix, tables, listing_error)
    for alert in alerts:
        _send(sns, topic_arn, alert, sleep=sleep, rand=rand)
    if alerts:
        log_event(LOG, logging.WARNING, "coverage alert published", slot=slot, tables=len(tables))
    return len(alerts)
