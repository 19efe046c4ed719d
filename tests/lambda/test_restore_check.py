"""The monitor's restore messages (`restore_check.py`): wait, verify, count, delete.

DynamoDB is a small fake with AWS's behaviour for the calls involved (DescribeTable
statuses, Scan pages of `Select=COUNT` with LastEvaluatedKey, DeleteTable refused with
ResourceInUseException while a table is CREATING); SQS and SNS are moto's.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from freezegun import freeze_time
from moto import mock_aws
from moto.sns.models import sns_backends

from dynamodb_backup import monitor, restore_check
from dynamodb_backup.aws import Clients
from dynamodb_backup.budget import Budget
from dynamodb_backup.config import MonitorConfig
from dynamodb_backup.messages import MessageError, RestoreCheckMessage, decode, encode, outgoing
from dynamodb_backup.naming import drill_table_name

REGION = "eu-west-1"
ACCOUNT = "123456789012"
SLOT = datetime(2026, 11, 29, 5, 0, tzinfo=UTC)
STARTED = SLOT + timedelta(minutes=1)
BACKUP = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/orders/backup/01795928460000-abcdef12"
TARGET = drill_table_name("scheduled", "orders", SLOT)


def no_sleep(_seconds: float) -> None:
    """Tests never wait for real."""


def error(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": f"{code} (fake)"}}, operation)


@dataclass
class FakeTable:
    """The drill table as DynamoDB would show it."""

    status: str = "ACTIVE"
    items: int = 250
    page: int = 100  # items per Scan page (a 1 MB page holds many more; small for tests)
    key_schema: list[tuple[str, str]] = field(default_factory=lambda: [("pk", "HASH")])
    indexes: list[str] = field(default_factory=list)
    delete_errors: list[str] = field(default_factory=list)  # codes, one per DeleteTable call
    exists: bool = True
    scans: list[dict[str, Any]] = field(default_factory=list)
    deletes: int = 0


class FakeDynamoDB:
    def __init__(self, table: FakeTable) -> None:
        self.table = table

    def describe_table(self, TableName: str) -> dict[str, Any]:  # noqa: N803
        assert TableName == TARGET
        if not self.table.exists:
            raise error("ResourceNotFoundException", "DescribeTable")
        description: dict[str, Any] = {
            "TableName": TableName,
            "TableStatus": self.table.status,
            "KeySchema": [{"AttributeName": a, "KeyType": k} for a, k in self.table.key_schema],
        }
        if self.table.indexes:
            description["GlobalSecondaryIndexes"] = [{"IndexName": n} for n in self.table.indexes]
        return {"Table": description}

    def scan(self, **params: Any) -> dict[str, Any]:
        assert params["TableName"] == TARGET
        assert params["Select"] == "COUNT"
        self.table.scans.append(params)
        start = int(params.get("ExclusiveStartKey", {"pk": {"S": "0"}})["pk"]["S"])
        end = min(self.table.items, start + self.table.page)
        response: dict[str, Any] = {"Count": end - start, "ScannedCount": end - start}
        if end < self.table.items:
            response["LastEvaluatedKey"] = {"pk": {"S": str(end)}}
        return response

    def delete_table(self, TableName: str) -> dict[str, Any]:  # noqa: N803
        assert TableName == TARGET
        self.table.deletes += 1
        if self.table.delete_errors:
            raise error(self.table.delete_errors.pop(0), "DeleteTable")
        if not self.table.exists:
            raise error("ResourceNotFoundException", "DeleteTable")
        if self.table.status == "CREATING":
            raise error("ResourceInUseException", "DeleteTable")
        self.table.exists = False
        return {}


def message(**changes: Any) -> RestoreCheckMessage:
    base = RestoreCheckMessage(
        prefix="scheduled",
        slot=SLOT,
        attempt=0,
        table="orders",
        backup_arn=BACKUP,
        target=TARGET,
        started=STARTED,
        key_schema=(("pk", "HASH"),),
        indexes=(),
        item_count=250,
    )
    return replace(base, **changes)


@dataclass
class CheckWorld:
    table: FakeTable
    sqs: Any
    queue_url: str
    topic_arn: str
    monkeypatch: pytest.MonkeyPatch

    def run(
        self, msg: RestoreCheckMessage, now: datetime, budget: Budget | None = None
    ) -> dict[str, Any]:
        item = outgoing(msg)
        record = {
            "messageId": "m-1",
            "body": item.body,
            "attributes": {"MessageGroupId": item.group_id},
        }
        clients = Clients.of(
            dynamodb=FakeDynamoDB(self.table),
            sqs=self.sqs,
            sns=boto3.client("sns", region_name=REGION),
        )
        return monitor.run(
            {"Records": [record]},
            config=MonitorConfig.from_env(os.environ),
            clients=clients,
            now=lambda: now,
            sleep=no_sleep,
            budget=budget,
        )

    def queued(self) -> list[RestoreCheckMessage]:
        found: list[RestoreCheckMessage] = []
        while True:
            got = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10)
            if not got.get("Messages"):
                return found
            for m in got["Messages"]:
                decoded = decode(m["Body"])
                assert isinstance(decoded, RestoreCheckMessage)
                found.append(decoded)
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])

    def alerts(self) -> list[str]:
        topic = sns_backends[ACCOUNT][REGION].topics[self.topic_arn]
        return [text for _, text, _, _, _ in topic.sent_notifications]


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[CheckWorld]:
    with freeze_time(STARTED, tick=True), mock_aws():
        sqs = boto3.client("sqs", region_name=REGION)
        queue_url = sqs.create_queue(
            QueueName="m.fifo",
            Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
        )["QueueUrl"]
        topic_arn = boto3.client("sns", region_name=REGION).create_topic(Name="alerts")["TopicArn"]
        monkeypatch.setenv("MONITOR_QUEUE_URL", queue_url)
        monkeypatch.setenv("ALERT_TOPIC_ARN", topic_arn)
        monkeypatch.delenv("DRILL_MAX_WAIT_MINUTES", raising=False)
        yield CheckWorld(FakeTable(), sqs, queue_url, topic_arn, monkeypatch)


def exists(world: CheckWorld) -> bool:
    return world.table.exists


def drill_metrics(captured: str) -> dict[str, list[int]]:
    values: dict[str, list[int]] = {}
    for line in captured.splitlines():
        if '"_aws"' not in line:
            continue
        doc = json.loads(line)
        for name in ("RestoreDrillSucceeded", "RestoreDrillFailed", "RestoreDrillSeconds"):
            if name in doc:
                values.setdefault(name, []).append(doc[name])
    return values


def test_an_active_complete_restore_succeeds_and_is_deleted(
    world: CheckWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    result = world.run(message(), STARTED + timedelta(minutes=14))
    assert result == {"batchItemFailures": []}
    assert not exists(world)
    assert len(world.table.scans) == 3  # 250 items, 100 per page
    assert world.alerts() == []
    assert world.queued() == []
    metrics = drill_metrics(capsys.readouterr().out)
    assert metrics == {
        "RestoreDrillSucceeded": [1],
        "RestoreDrillFailed": [0],
        "RestoreDrillSeconds": [14 * 60],
    }


def test_a_creating_restore_is_re_enqueued_then_times_out_and_is_deleted(
    world: CheckWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    world.table.status = "CREATING"
    world.run(message(), STARTED + timedelta(minutes=30))
    (again,) = world.queued()
    assert (again.phase, again.attempt) == ("wait", 1)
    assert world.alerts() == []
    # past DRILL_MAX_WAIT_MINUTES (720): timed out, alerted; still CREATING: delete waits
    world.run(again, STARTED + timedelta(minutes=720))
    (alert,) = world.alerts()
    assert "timed out" in alert
    assert "table: orders" in alert
    assert BACKUP in alert
    (pending_delete,) = world.queued()
    assert pending_delete.phase == "delete"
    assert pending_delete.reported
    world.table.status = "ACTIVE"
    world.run(pending_delete, STARTED + timedelta(minutes=760))
    assert not exists(world)
    assert len(world.alerts()) == 1  # reported once
    metrics = drill_metrics(capsys.readouterr().out)
    assert metrics == {"RestoreDrillSucceeded": [0], "RestoreDrillFailed": [1]}


def test_drill_max_wait_minutes_sets_the_timeout(world: CheckWorld) -> None:
    world.table.status = "CREATING"
    world.monkeypatch.setenv("DRILL_MAX_WAIT_MINUTES", "60")
    world.run(message(), STARTED + timedelta(minutes=59))
    assert world.alerts() == []
    world.queued()
    world.run(message(attempt=1), STARTED + timedelta(minutes=60))
    assert "DRILL_MAX_WAIT_MINUTES=60" in world.alerts()[0]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"key_schema": [("pk", "HASH"), ("sk", "RANGE")]}, "key schema"),
        ({"indexes": ["by-status"]}, "indexes"),
    ],
)
def test_a_different_schema_fails_verification_and_is_deleted(
    world: CheckWorld, change: dict[str, Any], problem: str
) -> None:
    for key, value in change.items():
        setattr(world.table, key, value)
    world.run(message(), STARTED + timedelta(minutes=5))
    (alert,) = world.alerts()
    assert f"verification failed: {problem}" in alert
    assert not exists(world)
    assert world.table.scans == []


def test_matching_indexes_pass(world: CheckWorld) -> None:
    world.table.indexes = ["by-status", "by-date"]
    world.run(message(indexes=("by-date", "by-status")), STARTED + timedelta(minutes=5))
    assert world.alerts() == []
    assert not exists(world)


@pytest.mark.parametrize(
    ("expected", "counted", "ok"),
    [
        (250, 250, True),
        (250, 350, True),  # 100 off: the floor of the tolerance
        (250, 351, False),
        (250, 150, True),
        (250, 149, False),
        (5000, 5500, True),  # 10% of 5000 = 500
        (5000, 5501, False),
        (5000, 4500, True),
        (5000, 4499, False),
        (0, 0, True),
        (0, 100, True),
        (0, 101, False),
        (50, 0, False),  # the backup recorded items: empty is a failure, tolerance or not
    ],
)
def test_the_item_count_tolerance_is_max_100_or_10_percent(
    world: CheckWorld, expected: int, counted: int, ok: bool
) -> None:
    world.table.items = counted
    world.table.page = 1000
    world.run(message(item_count=expected), STARTED + timedelta(minutes=5))
    assert not exists(world)
    if ok:
        assert world.alerts() == []
    else:
        (alert,) = world.alerts()
        assert "verification failed" in alert
        assert ("empty" in alert) == (counted == 0)


def test_the_count_resumes_across_invocations_when_time_runs_low(world: CheckWorld) -> None:
    world.table.items = 1000
    remaining = [60_000]

    def tick() -> int:
        remaining[0] -= 4_000  # each look at the budget costs 4 s of the minute
        return remaining[0]

    world.run(message(item_count=1000), STARTED + timedelta(minutes=5), budget=Budget(tick, 0.25))
    (again,) = world.queued()
    assert again.phase == "scan"
    assert 0 < again.counted < 1000
    assert again.position == {"pk": {"S": str(again.counted)}}
    assert exists(world)
    world.run(again, STARTED + timedelta(minutes=10))
    assert not exists(world)
    assert world.alerts() == []
    starts = [s.get("ExclusiveStartKey") for s in world.table.scans]
    assert starts.count(None) == 1  # never started over


def test_a_count_not_done_within_the_wait_times_out_and_deletes(world: CheckWorld) -> None:
    late = message(phase="scan", counted=400, position={"pk": {"S": "400"}})
    world.run(late, STARTED + timedelta(minutes=720))
    (alert,) = world.alerts()
    assert "timed out: the count was not done" in alert
    assert "400 items so far" in alert
    assert not exists(world)
    assert world.table.scans == []


def test_scan_pages_are_paced(world: CheckWorld) -> None:
    world.table.items = 500
    slept: list[float] = []
    clock = [0.0]

    def monotonic() -> float:
        return clock[0]

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    item = outgoing(message())
    monitor.run(
        {"Records": [{"messageId": "m", "body": item.body, "attributes": {"MessageGroupId": "g"}}]},
        config=MonitorConfig.from_env(os.environ),
        clients=Clients.of(
            dynamodb=FakeDynamoDB(world.table),
            sqs=world.sqs,
            sns=boto3.client("sns", region_name=REGION),
        ),
        now=lambda: STARTED + timedelta(minutes=5),
        sleep=sleep,
        monotonic=monotonic,
    )
    assert len(world.table.scans) == 5
    assert clock[0] >= 4 / restore_check.SCAN_PAGES_PER_SECOND


def test_a_failing_scan_fails_verification_and_still_deletes(world: CheckWorld) -> None:
    class Failing(FakeDynamoDB):
        def scan(self, **params: Any) -> dict[str, Any]:
            raise error("AccessDeniedException", "Scan")

    item = outgoing(message())
    monitor.run(
        {"Records": [{"messageId": "m", "body": item.body, "attributes": {"MessageGroupId": "g"}}]},
        config=MonitorConfig.from_env(os.environ),
        clients=Clients.of(
            dynamodb=Failing(world.table),
            sqs=world.sqs,
            sns=boto3.client("sns", region_name=REGION),
        ),
        now=lambda: STARTED,
        sleep=no_sleep,
    )
    (alert,) = world.alerts()
    assert "verification failed: Scan: AccessDeniedException" in alert
    assert not exists(world)


def test_a_vanished_drill_table_is_a_failed_restore(world: CheckWorld) -> None:
    world.table.exists = False
    world.run(message(), STARTED + timedelta(minutes=5))
    (alert,) = world.alerts()
    assert "restore failed" in alert
    assert "does not exist" in alert


def test_an_unexpected_status_fails_and_deletes(world: CheckWorld) -> None:
    world.table.status = "INACCESSIBLE_ENCRYPTION_CREDENTIALS"
    world.run(message(), STARTED + timedelta(minutes=5))
    assert "drill table status INACCESSIBLE_ENCRYPTION_CREDENTIALS" in world.alerts()[0]
    assert not exists(world)


def test_a_clean_up_that_fails_once_is_retried_and_not_alerted(world: CheckWorld) -> None:
    world.table.delete_errors = ["AccessDeniedException"]
    world.run(message(), STARTED + timedelta(minutes=5))
    assert exists(world)
    (again,) = world.queued()
    assert again.phase == "delete"
    assert again.delete_failures == 1
    assert again.reported
    world.run(again, STARTED + timedelta(minutes=10))
    assert not exists(world)
    assert world.alerts() == []  # the drill succeeded; its clean-up only needed a retry


def test_a_clean_up_that_keeps_failing_is_alerted(world: CheckWorld) -> None:
    world.table.delete_errors = ["AccessDeniedException"] * restore_check.DELETE_ATTEMPTS
    current = message()
    for round_ in range(restore_check.DELETE_ATTEMPTS):
        world.run(current, STARTED + timedelta(minutes=5 * (round_ + 1)))
        queued = world.queued()
        if queued:
            (current,) = queued
    (alert,) = world.alerts()
    assert "clean-up failed" in alert
    assert TARGET in alert
    assert world.queued() == []


def test_an_already_deleted_table_is_a_finished_clean_up(world: CheckWorld) -> None:
    world.table.exists = False
    world.run(message(phase="delete", reported=True), STARTED)
    assert world.alerts() == []
    assert world.queued() == []


def test_restore_messages_round_trip_and_refuse_foreign_targets() -> None:
    original = message(phase="scan", counted=7, position={"pk": {"S": "7"}}, verdict="x")
    assert decode(encode(original)) == original
    body = json.loads(encode(original))
    for key, value in (
        ("target", "orders"),
        ("target", drill_table_name("other", "orders", SLOT)),
        ("phase", "dance"),
        ("key_schema", [["pk"]]),
        ("indexes", [1]),
        ("position", [1]),
        ("verdict", 3),
        ("reported", "yes"),
        ("backup", "nope"),
    ):
        with pytest.raises(MessageError):
            decode(json.dumps(body | {key: value}))


def test_a_table_already_being_deleted_is_a_finished_clean_up(world: CheckWorld) -> None:
    world.table.status = "DELETING"
    world.table.delete_errors = ["ResourceInUseException"]
    world.run(message(phase="delete", reported=True), STARTED)
    assert world.alerts() == []
    assert world.queued() == []
