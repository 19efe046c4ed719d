"""Interceptors that make moto answer as AWS does where our code depends on it.

moto differs from AWS in ways that would let wrong code pass; these close the gaps:
- `ListBackupsLikeAws`: moto ignores `TimeRangeLowerBound`/`UpperBound`, `BackupType`,
  `Limit` and `ExclusiveStartBackupArn`; AWS filters by creation time (lower bound
  inclusive, upper bound exclusive) and type (default `USER`) and pages (at most `Limit`,
  at most 100, with `LastEvaluatedBackupArn`).
- `BackupLifecycle`: moto's backups are AVAILABLE at once; an AWS backup is CREATING for a
  while (configurable per table; `None` = stuck), and `DeleteBackup` on a CREATING backup
  is refused with `BackupInUseException`.
- `FifoDedupLikeAws`: moto deduplicates only against messages still in the queue and
  across message groups; AWS, with `DeduplicationScope=messageGroup`, drops a message whose
  deduplication id was sent in the same group during the last 5 minutes, deleted or not.

Each is an `Interceptor` (`localrun.server`); `install_aws_semantics` adds all three.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from moto.dynamodb.models import dynamodb_backends
from moto.sqs.models import sqs_backends

from localrun.clock import VirtualClock
from localrun.server import ApiCall, AwsResponse, Forward, LocalAws, aws_error, json_response

PAGE_MAX = 100
DEDUP_WINDOW = timedelta(minutes=5)


def _epoch(value: Any) -> float:
    return float(value)


def _sort_key(summary: Mapping[str, Any]) -> tuple[float, str]:
    return (_epoch(summary["BackupCreationDateTime"]), str(summary["BackupArn"]))


def _arn_key(arn: str) -> tuple[float, str]:
    """Sort key of a backup ARN whose summary is gone (its id starts with epoch ms)."""
    ident = arn.rsplit("/", 1)[-1]
    digits = ident.split("-", 1)[0]
    return (int(digits) / 1000.0 if digits.isdigit() else 0.0, arn)


class ListBackupsLikeAws:
    """Filter and page ListBackups as AWS does (see module doc)."""

    def __call__(self, call: ApiCall, forward: Forward) -> AwsResponse:
        if call.service != "dynamodb" or call.operation != "ListBackups":
            return forward(call)
        params = dict(call.params)
        limit = params.get("Limit")
        if limit is not None and not 1 <= int(limit) <= PAGE_MAX:
            return aws_error(call, "ValidationException", f"Limit {limit} is not in [1, 100]")
        page = min(int(limit), PAGE_MAX) if limit is not None else PAGE_MAX
        response = forward(call.with_params({k: v for k, v in params.items() if k == "TableName"}))
        if response.status != 200:
            return response
        summaries = list(response.json().get("BackupSummaries", []))
        lower = params.get("TimeRangeLowerBound")
        upper = params.get("TimeRangeUpperBound")
        kind = str(params.get("BackupType", "USER"))
        selected = [
            s
            for s in summaries
            if (lower is None or _epoch(s["BackupCreationDateTime"]) >= _epoch(lower))
            and (upper is None or _epoch(s["BackupCreationDateTime"]) < _epoch(upper))
            and (kind == "ALL" or s.get("BackupType", "USER") == kind)
        ]
        selected.sort(key=_sort_key)
        start = params.get("ExclusiveStartBackupArn")
        if start is not None:
            start_key = next(
                (_sort_key(s) for s in summaries if s["BackupArn"] == start), _arn_key(str(start))
            )
            selected = [s for s in selected if _sort_key(s) > start_key]
        body: dict[str, Any] = {"BackupSummaries": selected[:page]}
        if len(selected) > page:
            body["LastEvaluatedBackupArn"] = selected[page - 1]["BackupArn"]
        return json_response(body)


def _dynamodb_backend(aws: LocalAws) -> Any:
    return dynamodb_backends[aws.account][aws.region]


BackupDuration = Callable[[str], float | None]


@dataclass
class BackupLifecycle:
    """Backups stay CREATING for `duration(table)` seconds (None: forever)."""

    aws: LocalAws
    clock: VirtualClock
    duration: BackupDuration = lambda _table: 60.0
    ready_at: dict[str, datetime | None] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def promote(self) -> None:
        """Turn due CREATING backups AVAILABLE (call before reading backup state)."""
        now = self.clock.now()
        backups = _dynamodb_backend(self.aws).backups
        with self._lock:
            for arn, when in list(self.ready_at.items()):
                if when is not None and when <= now:
                    del self.ready_at[arn]
                    backup = backups.get(arn)
                    if backup is not None and backup.status == "CREATING":
                        backup.status = "AVAILABLE"

    def set_stuck(self, arn: str) -> None:
        with self._lock:
            self.ready_at[arn] = None
        backup = _dynamodb_backend(self.aws).backups.get(arn)
        if backup is not None:
            backup.status = "CREATING"

    def __call__(self, call: ApiCall, forward: Forward) -> AwsResponse:
        if call.service != "dynamodb":
            return forward(call)
        self.promote()
        if call.operation == "DeleteBackup":
            arn = str(call.params.get("BackupArn", ""))
            with self._lock:
                creating = arn in self.ready_at
            if creating:
                return aws_error(call, "BackupInUseException", f"Backup is being created: {arn}")
        response = forward(call)
        if call.operation != "CreateBackup" or response.status != 200:
            return response
        details = dict(response.json()["BackupDetails"])
        seconds = self.duration(str(call.params.get("TableName", "")))
        if seconds is not None and seconds <= 0:
            return response
        arn = str(details["BackupArn"])
        backup = _dynamodb_backend(self.aws).backups.get(arn)
        if backup is not None:
            backup.status = "CREATING"
        with self._lock:
            self.ready_at[arn] = (
                None if seconds is None else self.clock.now() + timedelta(seconds=seconds)
            )
        details["BackupStatus"] = "CREATING"
        return json_response({"BackupDetails": details})


@dataclass
class FifoDedupLikeAws:
    """SQS FIFO deduplication with `DeduplicationScope=messageGroup` (see module doc)."""

    aws: LocalAws
    clock: VirtualClock
    content_based: Callable[[str], bool]
    seen: dict[tuple[str, str, str], tuple[datetime, str]] = field(default_factory=dict)
    dropped: list[tuple[str, str, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _dedup_id(self, queue_url: str, entry: Mapping[str, Any]) -> str | None:
        explicit = entry.get("MessageDeduplicationId")
        if explicit is not None:
            return str(explicit)
        if self.content_based(queue_url):
            return hashlib.sha256(str(entry.get("MessageBody", "")).encode()).hexdigest()
        return None

    def _duplicate_of(self, queue_url: str, entry: Mapping[str, Any]) -> str | None:
        dedup = self._dedup_id(queue_url, entry)
        if dedup is None:
            return None
        key = (queue_url, str(entry.get("MessageGroupId", "")), dedup)
        now = self.clock.now()
        with self._lock:
            previous = self.seen.get(key)
            if previous is not None and now - previous[0] < DEDUP_WINDOW:
                self.dropped.append(key)
                return previous[1]
        return None

    def _remember(self, queue_url: str, entry: Mapping[str, Any], message_id: str) -> None:
        dedup = self._dedup_id(queue_url, entry)
        if dedup is not None:
            key = (queue_url, str(entry.get("MessageGroupId", "")), dedup)
            with self._lock:
                self.seen[key] = (self.clock.now(), message_id)

    def __call__(self, call: ApiCall, forward: Forward) -> AwsResponse:
        url = str(call.params.get("QueueUrl", ""))
        if call.service != "sqs" or not url.endswith(".fifo"):
            return forward(call)
        if call.operation == "SendMessage":
            original = self._duplicate_of(url, call.params)
            if original is not None:
                return json_response(_sent(original, call.params), service="sqs")
            response = forward(call)
            if response.status == 200:
                self._remember(url, call.params, str(response.json()["MessageId"]))
            return response
        if call.operation != "SendMessageBatch":
            return forward(call)
        entries = list(call.params.get("Entries", []))
        fresh: list[Mapping[str, Any]] = []
        answered: list[dict[str, Any]] = []
        for entry in entries:
            original = self._duplicate_of(url, entry)
            if original is None:
                fresh.append(entry)
            else:
                answered.append({"Id": entry["Id"], **_sent(original, entry)})
        body: dict[str, Any] = {"Successful": answered, "Failed": []}
        if fresh:
            response = forward(call.with_params({**call.params, "Entries": fresh}))
            if response.status != 200:
                return response
            data = response.json()
            by_id = {str(e["Id"]): e for e in fresh}
            for ok in data.get("Successful", []):
                self._remember(url, by_id[str(ok["Id"])], str(ok["MessageId"]))
            body["Successful"] += data.get("Successful", [])
            body["Failed"] += data.get("Failed", [])
        return json_response(body, service="sqs")


def _sent(message_id: str, entry: Mapping[str, Any]) -> dict[str, Any]:
    body = str(entry.get("MessageBody", ""))
    return {
        "MessageId": message_id,
        "MD5OfMessageBody": hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
        "SequenceNumber": "0",
    }


@dataclass
class AwsSemantics:
    list_backups: ListBackupsLikeAws
    lifecycle: BackupLifecycle
    dedup: FifoDedupLikeAws


def install_aws_semantics(
    aws: LocalAws, clock: VirtualClock, backup_duration: BackupDuration
) -> AwsSemantics:
    def content_based(queue_url: str) -> bool:
        name = queue_url.rstrip("/").rsplit("/", 1)[-1]
        queue = sqs_backends[aws.account][aws.region].queues.get(name)
        return queue is not None and queue.attributes.get("ContentBasedDeduplication") == "true"

    semantics = AwsSemantics(
        ListBackupsLikeAws(),
        BackupLifecycle(aws, clock, backup_duration),
        FifoDedupLikeAws(aws, clock, content_based),
    )
    # outermost first: list/paging sees the lifecycle's promoted statuses
    aws.intercept(semantics.lifecycle)
    aws.intercept(semantics.list_backups)
    aws.intercept(semantics.dedup)
    return semantics
