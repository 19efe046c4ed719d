"""The seed's design, implemented literally, as the benchmark's point of comparison.

- scheduler: one CreateBackup per table, sequentially, then one SendMessage per backup
  (FIFO, one message group per table); a failure to start is published to SNS at once.
- monitor: for every message, DescribeBackup of its ARN; CREATING is sent back to the
  queue; AVAILABLE triggers retention of that table: ListBackups for the table (paginated),
  then DeleteBackup of every own backup older than RETENTION_DAYS beyond the newest
  MIN_BACKUPS_TO_KEEP; any other status, or an error, is published to SNS (one message per
  failure).
- boto3 clients with their default configuration (legacy retry mode).

It reads the same environment variables as the real handlers, and prints one EMF-style
line per invocation so the benchmark counts its successes the same way. Never shipped.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

_PREFIX_DEFAULT = "scheduled"


def _tables() -> list[str]:
    names: list[str] = json.loads(os.environ.get("TABLE_NAMES", "[]") or "[]")
    path = os.environ.get("TABLE_NAMES_FILE")
    if path:
        names += json.loads(Path(path).read_text(encoding="utf-8"))
    return sorted(set(names))


def _stamp(slot: str) -> str:
    moment = datetime.fromisoformat(slot.replace("Z", "+00:00")).astimezone(UTC)
    return moment.strftime("%Y%m%dT%H%M%SZ")


def _emit(**metrics: int) -> None:
    print(json.dumps({"_aws": {"CloudWatchMetrics": []}, "Baseline": True, **metrics}))


def _send(sqs: Any, body: dict[str, Any], group: str) -> None:
    text = json.dumps(body, sort_keys=True)
    sqs.send_message(
        QueueUrl=os.environ["MONITOR_QUEUE_URL"],
        MessageBody=text,
        MessageGroupId=group[:128],
        MessageDeduplicationId=hashlib.sha256(text.encode()).hexdigest(),
    )


def _alert(sns: Any, subject: str, text: str) -> None:
    sns.publish(TopicArn=os.environ["ALERT_TOPIC_ARN"], Subject=subject[:100], Message=text)


def scheduler_handler(event: dict[str, Any], _context: Any) -> dict[str, int]:
    prefix = os.environ.get("BACKUP_NAME_PREFIX", _PREFIX_DEFAULT)
    slot = str(event["time"])
    ddb, sqs, sns = boto3.client("dynamodb"), boto3.client("sqs"), boto3.client("sns")
    started = failed = 0
    for table in _tables():
        try:
            name = f"{prefix}-{table}-{_stamp(slot)}"
            details = ddb.create_backup(TableName=table, BackupName=name)
            arn = details["BackupDetails"]["BackupArn"]
            _send(sqs, {"table": table, "arn": arn, "slot": slot, "attempt": 0}, table)
            started += 1
        except ClientError as exc:
            failed += 1
            _alert(sns, f"DynamoDB backup of {table} failed", f"{table}: {exc}")
    _emit(BackupsStarted=started, BackupsFailed=failed)
    return {"started": started, "failed": failed}


def _retention(ddb: Any, table: str, now: datetime) -> int:
    prefix = os.environ.get("BACKUP_NAME_PREFIX", _PREFIX_DEFAULT) + "-"
    days = int(os.environ.get("RETENTION_DAYS", "3"))
    keep = int(os.environ.get("MIN_BACKUPS_TO_KEEP", "1"))
    own: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": table, "BackupType": "USER"}
    while True:
        page = ddb.list_backups(**kwargs)
        own += [
            s
            for s in page.get("BackupSummaries", [])
            if s["BackupName"].startswith(prefix) and s["BackupStatus"] == "AVAILABLE"
        ]
        if "LastEvaluatedBackupArn" not in page:
            break
        kwargs["ExclusiveStartBackupArn"] = page["LastEvaluatedBackupArn"]
    own.sort(key=lambda s: (s["BackupCreationDateTime"], s["BackupArn"]), reverse=True)
    deleted = 0
    for summary in own[keep:]:
        if summary["BackupCreationDateTime"] < now - timedelta(days=days):
            ddb.delete_backup(BackupArn=summary["BackupArn"])
            deleted += 1
    return deleted


def monitor_handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    ddb, sqs, sns = boto3.client("dynamodb"), boto3.client("sqs"), boto3.client("sns")
    succeeded = failed = deleted = pending = 0
    for record in event["Records"]:
        message = json.loads(record["body"])
        table, arn = message["table"], message["arn"]
        try:
            details = ddb.describe_backup(BackupArn=arn)["BackupDescription"]["BackupDetails"]
            status = details["BackupStatus"]
            if status == "CREATING":
                pending += 1
                message["attempt"] += 1
                _send(sqs, message, table)
            elif status == "AVAILABLE":
                succeeded += 1
                deleted += _retention(ddb, table, datetime.now(UTC))
            else:
                failed += 1
                _alert(sns, f"DynamoDB backup of {table} failed", f"{arn}: status {status}")
        except ClientError as exc:
            failed += 1
            _alert(sns, f"DynamoDB backup of {table} failed", f"{arn}: {exc}")
    _emit(
        BackupsSucceeded=succeeded,
        BackupsFailed=failed,
        BackupsDeleted=deleted,
        BackupsPending=pending,
    )
    return {"batchItemFailures": []}
