"""Both handlers against moto (`mock_aws`): the backup cycle as a user sees it."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from freezegun import freeze_time
from moto import mock_aws
from moto.dynamodb.models import dynamodb_backends
from moto.sns.models import sns_backends

from dynamodb_backup import monitor, scheduler
from dynamodb_backup.alerts import AlertPublishError
from dynamodb_backup.aws import Clients, list_tables
from dynamodb_backup.budget import Budget
from dynamodb_backup.config import ConfigError, MonitorConfig, SchedulerConfig
from dynamodb_backup.messages import (
    ChunkMessage,
    DeleteMessage,
    FinalizeMessage,
    Window,
    decode,
    encode,
)
from dynamodb_backup.model import BackupRef
from dynamodb_backup.naming import SlotError, backup_name

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient

REGION = "eu-west-1"
ACCOUNT = "123456789012"
SLOT = "2026-11-28T04:00:00Z"
SLOT_DT = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)
# one session for the whole module: loading botocore models per call would dominate the run
SESSION = boto3.session.Session()


def no_sleep(_seconds: float) -> None:
    """Tests never wait for real."""


def scheduled_event(time: str | None = SLOT) -> dict[str, Any]:
    event: dict[str, Any] = {
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT,
        "region": REGION,
        "resources": ["arn:aws:events:eu-west-1:123456789012:rule/backup"],
        "detail": {},
    }
    if time is not None:
        event["time"] = time
    return event


@dataclass
class World:
    """A moto account with the module's queue and topic, plus a queue reading the alerts."""

    ddb: DynamoDBClient
    sqs: SQSClient
    queue_url: str
    topic_arn: str
    monkeypatch: pytest.MonkeyPatch

    def env(self, **values: str) -> None:
        for key, value in values.items():
            self.monkeypatch.setenv(key, value)

    def table(self, name: str, tags: dict[str, str] | None = None) -> str:
        response = self.ddb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            Tags=[{"Key": k, "Value": v} for k, v in (tags or {}).items()],
        )
        return response["TableDescription"]["TableArn"]

    def schedule(self, time: str | None = SLOT, **kwargs: Any) -> dict[str, Any]:
        kwargs.setdefault("sleep", no_sleep)
        kwargs.setdefault("clients", Clients(SESSION))
        return scheduler.run(
            scheduled_event(time), config=SchedulerConfig.from_env(os.environ), **kwargs
        )

    def drain(self) -> list[dict[str, Any]]:
        """Receive and delete every queued message; return them as SQS event records."""
        records: list[dict[str, Any]] = []
        while True:
            response = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=10,
                MessageSystemAttributeNames=["All"],
            )
            messages = response.get("Messages", [])
            if not messages:
                return records
            for message in messages:
                records.append(
                    {
                        "messageId": message["MessageId"],
                        "receiptHandle": message["ReceiptHandle"],
                        "body": message["Body"],
                        "attributes": dict(message.get("Attributes", {})),
                        "messageAttributes": {},
                        "eventSource": "aws:sqs",
                        "awsRegion": REGION,
                    }
                )
                self.sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )

    def monitor(
        self, records: Sequence[dict[str, Any]], now: datetime | None = None, **kwargs: Any
    ) -> dict[str, list[dict[str, str]]]:
        kwargs.setdefault("sleep", no_sleep)
        kwargs.setdefault("clients", Clients(SESSION))
        if now is not None:
            moment = now
            kwargs["now"] = lambda: moment
        return monitor.run(
            {"Records": list(records)}, config=MonitorConfig.from_env(os.environ), **kwargs
        )

    def cycle(self, now: datetime | None = None, rounds: int = 5) -> list[dict[str, Any]]:
        """Feed the queue to the monitor until it is empty; returns every record handled."""
        seen: list[dict[str, Any]] = []
        for _ in range(rounds):
            records = self.drain()
            if not records:
                break
            seen.extend(records)
            response = self.monitor(records, now=now)
            assert response == {"batchItemFailures": []}
        return seen

    def alerts(self) -> list[tuple[str, str]]:
        topic = sns_backends[ACCOUNT][REGION].topics[self.topic_arn]
        return [(subject or "", message) for _, message, subject, _, _ in topic.sent_notifications]

    def backups(self) -> dict[str, Any]:
        store: dict[str, Any] = dynamodb_backends[ACCOUNT][REGION].backups
        return store

    def backup_names(self, table: str) -> list[str]:
        return sorted(b.name for b in self.backups().values() if b.table.name == table)


# The moment every test starts at. moto keeps SQS retention and visibility on whatever
# clock `datetime` shows, so the tests never let it see the wall clock: the fixture
# freezes it here (ticking, so botocore's retry clock still moves) and the tests move it
# with `freeze_time` or inject `now`. Nothing depends on the date the tests run on.
TEST_START = SLOT_DT + timedelta(minutes=1)


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with freeze_time(TEST_START, tick=True), mock_aws():
        sqs = boto3.client("sqs", region_name=REGION)
        queue_url = sqs.create_queue(
            QueueName="backup-monitor.fifo",
            Attributes={"FifoQueue": "true", "VisibilityTimeout": "900"},
        )["QueueUrl"]
        topic_arn = boto3.client("sns", region_name=REGION).create_topic(Name="alerts")["TopicArn"]
        monkeypatch.setenv("MONITOR_QUEUE_URL", queue_url)
        monkeypatch.setenv("ALERT_TOPIC_ARN", topic_arn)
        yield World(
            ddb=boto3.client("dynamodb", region_name=REGION),
            sqs=sqs,
            queue_url=queue_url,
            topic_arn=topic_arn,
            monkeypatch=monkeypatch,
        )


def emf(captured: str) -> list[dict[str, Any]]:
    """The EMF documents printed to stdout."""
    docs = []
    for line in captured.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            docs.append(json.loads(line))
    return docs


# --- scheduler --------------------------------------------------------------------------


def test_scheduler_backs_up_listed_and_tagged_tables(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    world.table("orders")
    world.table("users", {"backup": "daily", "team": "a"})
    world.table("carts", {"backup": "daily"})
    world.table("logs", {"backup": "never", "team": "a"})
    world.env(TABLE_NAMES='["orders"]', TABLE_TAGS='{"backup": "daily", "team": "a"}')

    summary = world.schedule()

    assert summary == {
        "slot": SLOT,
        "selected": 2,
        "started": 2,
        "already_present": 0,
        "failed": 0,
        "messages": 2,
        "unprotected": 2,  # carts and logs: nothing selects them
    }
    assert world.backup_names("orders") == ["scheduled-orders-20261128T040000Z"]
    assert world.backup_names("users") == ["scheduled-users-20261128T040000Z"]
    assert world.backup_names("carts") == []
    assert world.backup_names("logs") == []
    [doc] = emf(capsys.readouterr().out)
    assert doc["BackupsStarted"] == 2
    assert doc["BackupsFailed"] == 0
    assert doc["TablesSelected"] == 2
    assert doc["TablesUnprotected"] == 2
    assert world.alerts() == []  # ALERT_UNPROTECTED_TABLES is off by default


def test_full_cycle_marks_backups_available(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    world.table("orders")
    world.env(TABLE_NAMES='["orders"]')
    world.schedule()
    capsys.readouterr()

    records = world.cycle()

    kinds = [json.loads(r["body"])["kind"] for r in records]
    assert kinds == ["chunk", "finalize"]
    docs = emf(capsys.readouterr().out)
    assert docs[0]["BackupsSucceeded"] == 1
    assert world.alerts() == []


def test_handlers_read_the_environment(world: World) -> None:
    world.table("orders")
    world.env(TABLE_NAMES='["orders", "ghost"]')

    summary = scheduler.handler(scheduled_event(), None)

    assert summary["started"] == 1
    assert summary["failed"] == 1
    records = world.drain()
    assert monitor.handler({"Records": records}, None) == {"batchItemFailures": []}
    [(subject, body)] = world.alerts()
    assert subject == f"DynamoDB backup: 1 failure(s) in run {SLOT}"
    assert "table: ghost" in body
    assert "could not start backup: TableNotFoundException" in body


def test_a_missing_table_fails_alone_and_is_alerted(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    world.table("orders")
    world.table("users")
    world.env(TABLE_NAMES='["orders", "ghost", "users"]')

    summary = world.schedule()

    assert (summary["started"], summary["failed"]) == (2, 1)
    assert world.backup_names("orders")
    assert world.backup_names("users")
    [(subject, body)] = world.alerts()
    assert subject == f"DynamoDB backup: 1 failure(s) in run {SLOT}"
    assert "- table: ghost\n  backup: -\n  reason: could not start backup: TableNotFound" in body
    [doc] = emf(capsys.readouterr().out)
    assert (doc["BackupsStarted"], doc["BackupsFailed"], doc["TablesSelected"]) == (2, 1, 3)
    bodies = [json.loads(r["body"]) for r in world.drain()]
    assert [b["table"] for b in bodies[0]["backups"]] == ["orders", "users"]


def test_second_invocation_for_the_same_slot_creates_nothing(world: World) -> None:
    world.table("orders")
    world.table("users")
    world.env(TABLE_NAMES='["orders", "users"]')
    first = world.schedule()

    second = world.schedule()

    assert first["started"] == 2
    assert (second["started"], second["already_present"], second["failed"]) == (0, 2, 0)
    assert len(world.backups()) == 2
    # the same bodies again: FIFO deduplication keeps one copy of each message
    records = world.drain()
    assert [json.loads(r["body"])["kind"] for r in records] == ["chunk", "finalize"]


def test_a_new_slot_makes_a_new_backup(world: World) -> None:
    world.table("orders")
    world.env(TABLE_NAMES='["orders"]')
    world.schedule()
    with freeze_time("2026-11-29T04:00:01Z"):
        world.schedule("2026-11-29T04:00:00Z")
    assert world.backup_names("orders") == [
        "scheduled-orders-20261128T040000Z",
        "scheduled-orders-20261129T040000Z",
    ]


def test_long_table_names_get_valid_deterministic_names(world: World) -> None:
    long_name = "t" * 250
    world.table(long_name)
    world.env(TABLE_NAMES=json.dumps([long_name]), BACKUP_NAME_PREFIX="nightly")

    world.schedule()
    again = world.schedule()

    [name] = world.backup_names(long_name)
    assert len(name) == 255
    assert name == backup_name("nightly", long_name, SLOT_DT)
    assert name.startswith("nightly-ttt")
    assert name.endswith("-20261128T040000Z")
    assert again["already_present"] == 1


def test_many_tables_are_chunked_and_all_succeed(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    names = [f"table-{i:03d}" for i in range(230)]
    for name in names:
        world.table(name)
    world.env(TABLE_NAMES=json.dumps(names))

    summary = world.schedule()
    records = world.drain()

    assert summary["messages"] == 4
    bodies = [json.loads(r["body"]) for r in records]
    assert [(b["kind"], len(b.get("backups", []))) for b in bodies] == [
        ("chunk", 100),
        ("chunk", 100),
        ("chunk", 30),
        ("finalize", 0),
    ]
    assert bodies[-1]["tables"] == 230
    groups = [r["attributes"]["MessageGroupId"] for r in records]
    assert groups == [
        "scheduled-20261128T040000Z-c00000",
        "scheduled-20261128T040000Z-c00001",
        "scheduled-20261128T040000Z-c00002",
        "scheduled-20261128T040000Z-final",
    ]
    dedup = [r["attributes"]["MessageDeduplicationId"] for r in records]
    assert dedup == [hashlib.sha256(r["body"].encode()).hexdigest() for r in records]
    capsys.readouterr()
    assert world.monitor(records) == {"batchItemFailures": []}
    [doc] = emf(capsys.readouterr().out)
    assert doc["BackupsSucceeded"] == 230
    assert doc["BackupsFailed"] == 0


def test_a_selection_that_matches_no_table_is_an_alerted_failure(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    """Contract behaviour 12: a misspelt tag (`dialy`) must not look like a quiet success."""
    world.table("orders", {"backup": "daily"})
    world.env(TABLE_NAMES="[]", TABLE_TAGS='{"backup": "dialy"}')
    summary = world.schedule()
    assert summary == {
        "slot": SLOT,
        "selected": 0,
        "started": 0,
        "already_present": 0,
        "failed": 1,
        "messages": 0,
        "unprotected": 1,
    }
    assert world.drain() == []
    [doc] = emf(capsys.readouterr().out)
    assert (doc["TablesSelected"], doc["BackupsStarted"], doc["BackupsFailed"]) == (0, 0, 1)
    [(subject, body)] = world.alerts()
    assert subject == f"DynamoDB backup: 1 failure(s) in run {SLOT}"
    assert "reason: the selection matches no table: TABLE_NAMES is empty and no table" in body
    assert 'carries all of the tags {"backup": "dialy"} (TABLE_TAGS)' in body


def test_an_empty_selection_is_an_alerted_failure_too(world: World) -> None:
    world.env(TABLE_NAMES="[]")
    assert world.schedule()["failed"] == 1
    [(_, body)] = world.alerts()
    assert "TABLE_NAMES and TABLE_TAGS are both empty" in body
    assert "set table_names or table_tags on the module" in body


def test_an_event_without_time_uses_the_invocation_time(world: World) -> None:
    world.table("orders")
    world.env(TABLE_NAMES='["orders"]')
    with freeze_time("2026-11-28T04:00:02.5Z"):
        summary = world.schedule(time=None)
    assert summary["slot"] == "2026-11-28T04:00:02Z"
    assert world.backup_names("orders") == ["scheduled-orders-20261128T040002Z"]


def test_an_unreadable_time_fails_naming_time(world: World) -> None:
    world.env(TABLE_NAMES='["orders"]')
    with pytest.raises(SlotError, match=r"^time: "):
        world.schedule(time="tomorrow-ish")


def test_a_bad_variable_fails_the_handler_naming_it(world: World) -> None:
    world.env(TABLE_NAMES="orders,users")
    with pytest.raises(ConfigError, match=r"^TABLE_NAMES: "):
        scheduler.handler(scheduled_event(), None)
    world.env(RETENTION_DAYS="a week")
    with pytest.raises(ConfigError, match=r"^RETENTION_DAYS: "):
        monitor.handler({"Records": []}, None)


def test_scheduler_raises_when_the_alert_cannot_be_published(world: World) -> None:
    world.table("orders")
    world.env(
        TABLE_NAMES='["orders", "ghost"]',
        ALERT_TOPIC_ARN="arn:aws:sns:eu-west-1:123456789012:deleted-topic",
    )
    with pytest.raises(AlertPublishError):
        world.schedule()
    # the started backup still reached the monitor before the alert failed
    assert [json.loads(r["body"])["kind"] for r in world.drain()] == ["chunk", "finalize"]


def test_start_failures_are_alerted_even_when_the_queue_refuses_the_run(world: World) -> None:
    """Issue 14.1: with the queue unwritable the scheduler still publishes what could not
    start, names the started backups nothing watches, and fails so Lambda retries."""
    world.table("orders")
    world.env(TABLE_NAMES='["orders", "ghost"]')
    good_queue = world.queue_url
    world.env(MONITOR_QUEUE_URL=good_queue.replace("backup-monitor", "deleted-queue"))

    with pytest.raises(Exception, match=r"NonExistentQueue|does not exist"):
        world.schedule()

    [(subject, body)] = world.alerts()
    assert subject == f"DynamoDB backup: 2 failure(s) in run {SLOT}"
    assert "- table: ghost\n  backup: -\n  reason: could not start backup: TableNotFound" in body
    orders = _only_backup(world, "orders")
    assert (
        f"- table: orders\n  backup: {orders.arn}\n"
        "  reason: backup started but could not be queued for monitoring: "
    ) in body
    # Lambda's retry, with the queue back, queues the backup that was started
    world.env(MONITOR_QUEUE_URL=good_queue)
    again = world.schedule()
    assert (again["started"], again["already_present"]) == (0, 1)
    assert [json.loads(r["body"])["kind"] for r in world.drain()] == ["chunk", "finalize"]


# --- monitor: statuses ------------------------------------------------------------------


def _only_backup(world: World, table: str) -> Any:
    [backup] = [b for b in world.backups().values() if b.table.name == table]
    return backup


def test_a_deleted_backup_is_a_failure_with_table_arn_and_reason(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    world.table("orders")
    world.table("users")
    world.env(TABLE_NAMES='["orders", "users"]')
    world.schedule()
    backup = _only_backup(world, "orders")
    backup.status = "DELETED"
    capsys.readouterr()

    world.cycle()

    [(subject, body)] = world.alerts()
    assert subject == f"DynamoDB backup: 1 failure(s) in run {SLOT}"
    assert (
        f"- table: orders\n  backup: {backup.arn}\n"
        "  reason: backup status DELETED while waiting for AVAILABLE\n"
    ) in body
    docs = emf(capsys.readouterr().out)
    assert docs[0]["BackupsFailed"] == 1
    assert docs[0]["BackupsSucceeded"] == 1


def test_a_vanished_backup_is_not_found(world: World) -> None:
    world.table("orders")
    world.env(TABLE_NAMES='["orders"]')
    world.schedule()
    backup = _only_backup(world, "orders")
    del world.backups()[backup.arn]

    world.cycle()

    [(_, body)] = world.alerts()
    assert f"backup: {backup.arn}\n  reason: backup not found" in body


def test_creating_backups_are_re_enqueued_with_a_fresh_dedup_id(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    world.table("orders")
    world.table("users")
    world.env(TABLE_NAMES='["orders", "users"]')
    world.schedule()
    slow = _only_backup(world, "users")
    slow.status = "CREATING"
    chunk, final = world.drain()
    capsys.readouterr()

    assert world.monitor([chunk], now=SLOT_DT + timedelta(minutes=5)) == {"batchItemFailures": []}

    [again] = world.drain()
    body = json.loads(again["body"])
    assert body["attempt"] == 1
    assert body["backups"] == [{"table": "users", "arn": slow.arn}]
    assert body["window"] == json.loads(chunk["body"])["window"]
    assert again["attributes"]["MessageGroupId"] == chunk["attributes"]["MessageGroupId"]
    assert again["attributes"]["MessageDeduplicationId"] not in {
        chunk["attributes"]["MessageDeduplicationId"],
        final["attributes"]["MessageDeduplicationId"],
    }
    [doc] = emf(capsys.readouterr().out)
    assert (doc["BackupsSucceeded"], doc["BackupsPending"], doc["BackupsFailed"]) == (1, 1, 0)

    slow.status = "AVAILABLE"
    world.monitor([again], now=SLOT_DT + timedelta(minutes=10))
    assert world.drain() == []
    [doc] = emf(capsys.readouterr().out)
    assert (doc["BackupsSucceeded"], doc["BackupsPending"]) == (1, 0)
    assert world.alerts() == []


def test_still_creating_after_max_wait_is_a_timeout(world: World) -> None:
    world.table("orders")
    world.env(TABLE_NAMES='["orders"]', MAX_WAIT_MINUTES="60")
    with freeze_time(SLOT):
        world.schedule()
    backup = _only_backup(world, "orders")
    backup.status = "CREATING"
    chunk, final = world.drain()

    world.monitor([chunk, final], now=SLOT_DT + timedelta(minutes=59))
    assert [json.loads(r["body"])["attempt"] for r in world.drain()] == [1, 1]
    assert world.alerts() == []

    world.monitor([chunk, final], now=SLOT_DT + timedelta(minutes=61))

    assert world.drain() == []
    [(_, body)] = world.alerts()
    assert f"backup: {backup.arn}" in body
    assert "reason: timed out: still CREATING 61 minutes after the run started" in body
    assert "(MAX_WAIT_MINUTES=60)" in body
    assert world.backup_names("orders") == ["scheduled-orders-20261128T040000Z"]


def test_a_late_invocation_waits_from_its_own_start_not_the_slot(world: World) -> None:
    world.table("orders")
    world.env(TABLE_NAMES='["orders"]', MAX_WAIT_MINUTES="60")
    with freeze_time(SLOT_DT + timedelta(hours=3)):  # Lambda retried the event late
        world.schedule()
    _only_backup(world, "orders").status = "CREATING"
    chunk, _ = world.drain()

    world.monitor([chunk], now=SLOT_DT + timedelta(hours=3, minutes=30))

    assert world.alerts() == []
    assert json.loads(world.drain()[0]["body"])["attempt"] == 1


def test_a_chunk_whose_slot_lies_in_the_future_still_times_out(world: World) -> None:
    """A slot 30 days ahead does not postpone MAX_WAIT_MINUTES: the wait runs from the
    backups' real start (before, the later of slot and start switched the timeout off)."""
    world.table("orders")
    world.env(TABLE_NAMES='["orders"]', MAX_WAIT_MINUTES="60")
    with freeze_time(SLOT):
        world.schedule()
    _only_backup(world, "orders").status = "CREATING"
    chunk, _ = world.drain()
    message = decode(chunk["body"])
    assert isinstance(message, ChunkMessage)
    future = replace(message, slot=SLOT_DT + timedelta(days=30))
    chunk = {**chunk, "body": encode(future)}

    world.monitor([chunk], now=SLOT_DT + timedelta(minutes=62))

    assert world.drain() == []
    [(_, body)] = world.alerts()
    assert "reason: timed out: still CREATING" in body


def test_the_scheduler_refuses_a_slot_in_the_future_and_alerts_it(world: World) -> None:
    world.table("orders")
    world.env(TABLE_NAMES='["orders"]')
    with freeze_time(SLOT_DT - timedelta(days=30)):
        summary = world.schedule()

    assert summary["started"] == 0
    assert summary["failed"] == 1
    assert world.backups() == {}
    assert world.drain() == []
    [(subject, body)] = world.alerts()
    assert SLOT in subject
    assert "refused: no backup started" in body


def test_a_slot_within_the_tolerance_ahead_is_backed_up(world: World) -> None:
    world.table("orders")
    world.env(TABLE_NAMES='["orders"]')
    with freeze_time(SLOT_DT - scheduler.FUTURE_SLOT_TOLERANCE):
        summary = world.schedule()
    assert summary["started"] == 1
    assert world.backup_names("orders") == ["scheduled-orders-20261128T040000Z"]


def test_a_slot_far_in_the_past_keeps_its_name_and_waits_from_the_real_start(
    world: World,
) -> None:
    world.table("orders")
    world.env(TABLE_NAMES='["orders"]', MAX_WAIT_MINUTES="60")
    old_slot = SLOT_DT - timedelta(days=10)
    with freeze_time(SLOT):  # a replayed ten-day-old event
        world.schedule(time=old_slot.strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert world.backup_names("orders") == ["scheduled-orders-20261118T040000Z"]
    _only_backup(world, "orders").status = "CREATING"
    chunk, _ = world.drain()

    world.monitor([chunk], now=SLOT_DT + timedelta(minutes=59))
    assert world.alerts() == []
    [again] = world.drain()
    world.monitor([again], now=SLOT_DT + timedelta(minutes=62))
    [(_, body)] = world.alerts()
    assert "timed out: still CREATING 62 minutes after the run started" in body


# --- monitor: retention -----------------------------------------------------------------


def _history(world: World, table: str, days: Sequence[int], prefix: str = "scheduled") -> None:
    """Backups of earlier daily runs, created `days` days before the slot (freezegun)."""
    for day in days:
        moment = SLOT_DT - timedelta(days=day)
        with freeze_time(moment):
            world.ddb.create_backup(TableName=table, BackupName=backup_name(prefix, table, moment))


def _run_cycle(world: World, minutes_after: int = 10) -> None:
    with freeze_time(SLOT_DT + timedelta(seconds=1)):
        world.schedule()
    world.cycle(now=SLOT_DT + timedelta(minutes=minutes_after))


def test_retention_deletes_only_own_backups_past_the_window(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    world.table("orders")
    world.table("users")
    world.env(TABLE_NAMES='["orders", "users"]', RETENTION_DAYS="3")
    _history(world, "orders", [1, 2, 3, 4, 5, 6])
    _history(world, "users", [10])
    with freeze_time(SLOT_DT - timedelta(days=30)):
        world.ddb.create_backup(TableName="orders", BackupName="manual-before-migration")
        world.ddb.create_backup(TableName="orders", BackupName="scheduledx-orders-old")
        # look-alikes of own names: hand-made, another instance's prefix extending ours,
        # our name for another table
        world.ddb.create_backup(TableName="orders", BackupName="scheduled-orders-old")
        world.ddb.create_backup(
            TableName="orders", BackupName="scheduled-weekly-orders-20261028T040000Z"
        )
        world.ddb.create_backup(TableName="orders", BackupName="scheduled-users-20261028T040000Z")
        system = world.ddb.create_backup(TableName="orders", BackupName="scheduled-orders-system")[
            "BackupDetails"
        ]["BackupArn"]
        aws_backup = world.ddb.create_backup(
            TableName="orders", BackupName="scheduled-orders-awsbackup"
        )["BackupDetails"]["BackupArn"]
    world.backups()[system].type = "SYSTEM"
    world.backups()[aws_backup].type = "AWS_BACKUP"
    capsys.readouterr()

    _run_cycle(world)

    assert world.backup_names("orders") == [
        "manual-before-migration",
        "scheduled-orders-20261126T040000Z",  # 2 days old: inside RETENTION_DAYS
        "scheduled-orders-20261127T040000Z",
        "scheduled-orders-20261128T040000Z",
        "scheduled-orders-awsbackup",
        "scheduled-orders-old",
        "scheduled-orders-system",
        "scheduled-users-20261028T040000Z",
        "scheduled-weekly-orders-20261028T040000Z",
        "scheduledx-orders-old",
    ]
    assert world.backup_names("users") == ["scheduled-users-20261128T040000Z"]
    deleted = sum(doc.get("BackupsDeleted", 0) for doc in emf(capsys.readouterr().out))
    assert deleted == 5
    assert world.alerts() == []


def test_two_instances_whose_prefixes_extend_each_other_never_touch_each_others_backups(
    world: World,
) -> None:
    """Issue 14.8 / contract behaviour 9: `prod` (3 days) and `prod-weekly` (15 days) back
    up the same tables in the same slot. Neither's finalizer takes the other's backups for
    its own: each keeps exactly its own survivors. `prod`'s name for table `weekly-orders`
    equals `prod-weekly`'s name for `orders`; the backup's table tells them apart."""
    for table in ("orders", "users", "weekly-orders"):
        world.table(table)
    instances = {
        "prod": ('["orders", "users", "weekly-orders"]', "3", [1, 2, 3, 4, 5, 6, 7, 8]),
        "prod-weekly": ('["orders", "users"]', "15", [7, 14, 21, 28]),
    }
    for prefix, (names, _, days) in instances.items():
        for table in json.loads(names):
            _history(world, table, days, prefix=prefix)
    queued: dict[str, list[dict[str, Any]]] = {}
    for prefix, (names, retention, _) in instances.items():
        world.env(BACKUP_NAME_PREFIX=prefix, TABLE_NAMES=names, RETENTION_DAYS=retention)
        with freeze_time(SLOT_DT + timedelta(seconds=1)):
            assert world.schedule()["started"] == len(json.loads(names))
        queued[prefix] = world.drain()
    assert backup_name("prod", "weekly-orders", SLOT_DT) == backup_name(
        "prod-weekly", "orders", SLOT_DT
    )

    def names_of(prefix: str, table: str) -> list[str]:
        days = [0, *instances[prefix][2]]
        own = {backup_name(prefix, table, SLOT_DT - timedelta(days=d)) for d in days}
        return sorted(n for n in world.backup_names(table) if n in own)

    weekly_before = {t: names_of("prod-weekly", t) for t in ("orders", "users")}
    now = SLOT_DT + timedelta(minutes=10)
    for prefix, (_, retention, _) in instances.items():  # prod's monitor first, then weekly's
        world.env(BACKUP_NAME_PREFIX=prefix, RETENTION_DAYS=retention)
        assert world.monitor(queued[prefix], now=now) == {"batchItemFailures": []}
        world.cycle(now=now)
        if prefix == "prod":
            for table, kept in weekly_before.items():
                assert names_of("prod-weekly", table) == kept, "prod deleted prod-weekly's"

    def expected(prefix: str, table: str, days: Sequence[int]) -> list[str]:
        return sorted(backup_name(prefix, table, SLOT_DT - timedelta(days=d)) for d in days)

    for table in ("orders", "users"):
        assert names_of("prod", table) == expected("prod", table, [0, 1, 2])
        assert names_of("prod-weekly", table) == expected("prod-weekly", table, [0, 7, 14])
        assert len(world.backup_names(table)) == 6
    assert world.backup_names("weekly-orders") == expected("prod", "weekly-orders", [0, 1, 2])
    assert world.alerts() == []


def test_min_backups_to_keep_keeps_the_newest_available(world: World) -> None:
    world.table("orders")
    world.env(TABLE_NAMES='["orders"]', RETENTION_DAYS="1", MIN_BACKUPS_TO_KEEP="3")
    _history(world, "orders", [1, 2, 3, 4])
    broken = next(b for b in world.backups().values() if b.name.endswith("20261127T040000Z"))
    broken.status = "CREATING"  # not AVAILABLE: does not count towards the newest 3

    _run_cycle(world)

    assert world.backup_names("orders") == [
        "scheduled-orders-20261125T040000Z",
        "scheduled-orders-20261126T040000Z",
        "scheduled-orders-20261127T040000Z",  # CREATING: neither counted nor deleted
        "scheduled-orders-20261128T040000Z",
    ]


def test_a_failed_run_keeps_every_backup_of_that_table(world: World) -> None:
    world.table("orders")
    world.table("users")
    world.env(TABLE_NAMES='["orders", "users"]', RETENTION_DAYS="1")
    _history(world, "orders", [5, 6, 7])
    _history(world, "users", [5, 6, 7])
    with freeze_time(SLOT_DT + timedelta(seconds=1)):
        world.schedule()
    _only_backup_of_run(world, "orders").status = "DELETED"

    world.cycle(now=SLOT_DT + timedelta(minutes=10))

    assert len(world.backup_names("orders")) == 4
    assert world.backup_names("users") == ["scheduled-users-20261128T040000Z"]
    [(_, body)] = world.alerts()
    assert "table: orders" in body


def _only_backup_of_run(world: World, table: str) -> Any:
    name = backup_name("scheduled", table, SLOT_DT)
    [backup] = [b for b in world.backups().values() if b.name == name]
    return backup


def test_the_finalizer_waits_for_creating_backups(world: World) -> None:
    world.table("orders")
    world.env(TABLE_NAMES='["orders"]', RETENTION_DAYS="1")
    _history(world, "orders", [3])
    with freeze_time(SLOT_DT + timedelta(seconds=1)):
        world.schedule()
    run_backup = _only_backup_of_run(world, "orders")
    run_backup.status = "CREATING"
    records = world.drain()
    final = records[-1]

    world.monitor([final], now=SLOT_DT + timedelta(minutes=5))

    [again] = world.drain()
    assert json.loads(again["body"])["kind"] == "finalize"
    assert json.loads(again["body"])["attempt"] == 1
    assert (
        again["attributes"]["MessageDeduplicationId"]
        != final["attributes"]["MessageDeduplicationId"]
    )
    assert len(world.backup_names("orders")) == 2

    run_backup.status = "AVAILABLE"
    world.monitor([again], now=SLOT_DT + timedelta(minutes=10))
    world.cycle(now=SLOT_DT + timedelta(minutes=15))

    assert world.backup_names("orders") == ["scheduled-orders-20261128T040000Z"]


def test_the_finalizer_gives_up_waiting_after_max_wait_and_keeps_that_table(world: World) -> None:
    world.table("orders")
    world.table("users")
    world.env(TABLE_NAMES='["orders", "users"]', RETENTION_DAYS="1", MAX_WAIT_MINUTES="30")
    _history(world, "orders", [3])
    _history(world, "users", [3])
    with freeze_time(SLOT_DT + timedelta(seconds=1)):
        world.schedule()
    _only_backup_of_run(world, "orders").status = "CREATING"
    final = world.drain()[-1]

    world.monitor([final], now=SLOT_DT + timedelta(minutes=31))
    world.cycle(now=SLOT_DT + timedelta(minutes=35))

    assert len(world.backup_names("orders")) == 2
    assert world.backup_names("users") == ["scheduled-users-20261128T040000Z"]


def test_delete_messages_tolerate_already_deleted_backups(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    world.table("orders")
    world.env(TABLE_NAMES='["orders"]', RETENTION_DAYS="1")
    _history(world, "orders", [3, 4])
    with freeze_time(SLOT_DT + timedelta(seconds=1)):
        world.schedule()
    world.cycle(now=SLOT_DT + timedelta(minutes=10), rounds=1)
    [delete] = world.drain()
    doomed = json.loads(delete["body"])["backups"]
    assert len(doomed) == 2
    del world.backups()[doomed[0]["arn"]]  # someone deleted it meanwhile
    capsys.readouterr()

    assert world.monitor([delete]) == {"batchItemFailures": []}

    assert world.backup_names("orders") == ["scheduled-orders-20261128T040000Z"]
    assert world.alerts() == []
    [doc] = emf(capsys.readouterr().out)
    assert doc["BackupsDeleted"] == 1


# --- monitor: batches, unreadable messages, failures ------------------------------------


def record(body: str, group: str, message_id: str) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "receiptHandle": f"rh-{message_id}",
        "body": body,
        "attributes": {"MessageGroupId": group, "ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "eventSource": "aws:sqs",
        "awsRegion": REGION,
    }


def _chunk_body(world: World, tables: Sequence[str], chunk: int = 0, prefix: str = "") -> str:
    refs = []
    times = []
    for backup in world.backups().values():
        if backup.table.name in tables:
            refs.append(BackupRef(backup.table.name, backup.arn))
            times.append(backup.creation_date_time)
    message = ChunkMessage(
        prefix=prefix or "scheduled",
        slot=SLOT_DT,
        chunk=chunk,
        attempt=0,
        window=Window.around(times),
        backups=tuple(refs),
    )
    return encode(message)


def test_unreadable_messages_are_alerted_returned_and_only_their_group_stops(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    world.table("orders")
    world.table("users")
    world.env(TABLE_NAMES='["orders", "users"]')
    world.schedule()
    world.drain()
    capsys.readouterr()
    records = [
        record("{not json", "group-a", "m1"),
        record(_chunk_body(world, ["orders"]), "group-a", "m2"),
        record(_chunk_body(world, ["users"], chunk=1), "group-b", "m3"),
        record(json.dumps({"v": 2, "kind": "chunk"}), "group-c", "m4"),
        record(_chunk_body(world, ["users"], chunk=2), "group-c", "m5"),
        record(json.dumps({"v": 1, "kind": "chunk", "prefix": "scheduled"}), "group-d", "m6"),
    ]

    response = world.monitor(records)

    assert response == {
        "batchItemFailures": [
            {"itemIdentifier": "m1"},
            {"itemIdentifier": "m2"},
            {"itemIdentifier": "m4"},
            {"itemIdentifier": "m5"},
            {"itemIdentifier": "m6"},
        ]
    }
    sent = world.alerts()
    assert [subject for subject, _ in sent] == [
        "DynamoDB backup: unreadable queue message m1 in group group-a",
        "DynamoDB backup: unreadable queue message m4 in group group-c",
        "DynamoDB backup: unreadable queue message m6 in group group-d",
    ]
    bodies = [body for _, body in sent]
    assert bodies[0].startswith(
        'DynamoDB backup monitor (prefix "scheduled"): unreadable queue message m1 in group '
        "group-a: body is not JSON: Expecting property name"
    )
    assert "- queue message: m1\n  group: group-a\n  problem: body is not JSON: " in bodies[0]
    assert "outcome: returned to the queue unhandled" in bodies[0]
    assert "dead-letter queue" in bodies[0]
    assert """problem: unknown version 2 in field 'v' (this monitor reads "v": 1)""" in bodies[1]
    assert "problem: missing field 'slot' (a str)" in bodies[2]
    for body in bodies:
        assert "run -" not in body
        assert "table: -" not in body
    [doc] = emf(capsys.readouterr().out)
    assert doc["MessagesUnreadable"] == 3
    assert doc["BackupsSucceeded"] == 1  # group-b was still handled


@pytest.mark.parametrize(
    ("event", "why"),
    [
        (None, "the event is empty (a console test?)"),
        ("hello", "the event is a str, not an object"),
        ({"key1": "value1"}, "the event has no 'Records' (its keys: key1)"),
        ({"Records": {"messageId": "m1"}}, "the event's 'Records' is a dict, not a list"),
    ],
)
def test_a_malformed_event_is_alerted_not_a_crash(
    world: World, capsys: pytest.CaptureFixture[str], event: Any, why: str
) -> None:
    response = monitor.run(
        event, config=MonitorConfig.from_env(os.environ), clients=Clients(SESSION), sleep=no_sleep
    )

    assert response == {"batchItemFailures": []}
    [(subject, body)] = world.alerts()
    assert subject == "DynamoDB backup: the monitor was invoked with an event it cannot read"
    assert f"- event: {why}" in body
    assert 'the event source mapping sends {"Records": [...]}' in body
    [doc] = emf(capsys.readouterr().out)
    assert doc["MessagesUnreadable"] == 0


def test_the_handler_takes_a_console_test_event(world: World) -> None:
    assert monitor.handler(None, None) == {"batchItemFailures": []}
    [(subject, _)] = world.alerts()
    assert "event it cannot read" in subject


def test_malformed_records_are_alerted_and_returned_where_they_can_be(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    world.table("orders")
    world.table("users")
    world.env(TABLE_NAMES='["orders", "users"]')
    world.schedule()
    world.drain()
    capsys.readouterr()
    no_id = record(_chunk_body(world, ["orders"]), "group-a", "x")
    del no_id["messageId"]
    no_body = record("", "group-b", "m2")
    del no_body["body"]
    records: list[Any] = [
        ["not", "a", "record"],
        no_id,
        record(_chunk_body(world, ["orders"]), "group-a", "m1"),  # behind a failed record
        no_body,
        {**record("", "group-c", "m3"), "body": 7},
        record(_chunk_body(world, ["users"], chunk=1), "group-d", "m4"),
    ]

    response = world.monitor(records)

    assert response == {
        "batchItemFailures": [
            {"itemIdentifier": "m1"},
            {"itemIdentifier": "m2"},
            {"itemIdentifier": "m3"},
        ]
    }
    subjects = [subject for subject, _ in world.alerts()]
    assert subjects == [
        "DynamoDB backup: unreadable queue record 0 of a batch (it has no messageId)",
        "DynamoDB backup: unreadable queue record 1 of a batch (it has no messageId)",
        "DynamoDB backup: unreadable queue message m2 in group group-b",
        "DynamoDB backup: unreadable queue message m3 in group group-c",
    ]
    bodies = [body for _, body in world.alerts()]
    assert "problem: the record is a list, not an object" in bodies[0]
    assert "group: group-a\n  position in the batch: 1\n" in bodies[1]
    assert "problem: the record has no messageId" in bodies[1]
    assert "cannot be returned to the queue without a messageId" in bodies[1]
    assert "problem: the record has no body" in bodies[2]
    assert "problem: the record's body is a int, not text" in bodies[3]
    [doc] = emf(capsys.readouterr().out)
    assert doc["MessagesUnreadable"] == 4
    assert doc["BackupsSucceeded"] == 1  # group-d was still handled


@pytest.mark.parametrize(
    ("body", "why"),
    [
        # deeper than any parser's limit: 3.11 stops near 1,000 levels, 3.13 past 5,000
        ("[" * 100_000 + "]" * 100_000, "body is not readable JSON: nested too deeply"),
        ('{"v": ' + "1" * 5000 + "}", "body is not JSON: Exceeds the limit"),
    ],
)
def test_bodies_that_break_the_json_parser_are_unreadable_not_crashes(
    world: World, capsys: pytest.CaptureFixture[str], body: str, why: str
) -> None:
    """Issue 14.2: a RecursionError or ValueError from json.loads is an unreadable message:
    alerted, counted, returned."""
    response = world.monitor([record(body, "g", "m1")])

    assert response == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    [(subject, alert)] = world.alerts()
    assert subject == "DynamoDB backup: unreadable queue message m1 in group g"
    assert f"problem: {why}" in alert
    [doc] = emf(capsys.readouterr().out)
    assert doc["MessagesUnreadable"] == 1


def test_a_message_of_another_prefix_is_unreadable(world: World) -> None:
    world.table("orders")
    world.env(TABLE_NAMES='["orders"]')
    world.schedule()
    world.drain()
    body = _chunk_body(world, ["orders"], prefix="weekly")

    response = world.monitor([record(body, "g", "m1")])

    assert response == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    [(_, alert)] = world.alerts()
    assert "prefix 'weekly' is not BACKUP_NAME_PREFIX 'scheduled'" in alert


def finalizer(times: Iterable[datetime], *, tables: int = 1, attempt: int = 0) -> FinalizeMessage:
    """A run's finalizer for SLOT_DT whose window spans `times`."""
    return FinalizeMessage(
        prefix="scheduled",
        slot=SLOT_DT,
        attempt=attempt,
        window=Window.around(times),
        tables=tables,
        started=SLOT_DT,
    )


def test_a_record_whose_handling_raises_fails_its_group_only(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    final = finalizer([SLOT_DT])
    arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/backup/01795838401000-abcdef01"
    delete = DeleteMessage(
        prefix="scheduled", slot=SLOT_DT, part=0, attempt=0, backups=(BackupRef("orders", arn),)
    )
    ddb = boto3.client("dynamodb", region_name=REGION)
    records = [
        record(encode(final), "final", "m1"),
        record(encode(replace(final, attempt=1)), "final", "m2"),
        record(encode(delete), "delete", "m3"),
    ]
    capsys.readouterr()
    with Stubber(ddb) as stub:
        stub.add_client_error("list_backups", "AccessDeniedException", "not allowed")
        stub.add_response("delete_backup", {}, {"BackupArn": arn})
        response = world.monitor(records, clients=Clients.of(dynamodb=ddb))
        stub.assert_no_pending_responses()

    assert response == {"batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m2"}]}
    [doc] = emf(capsys.readouterr().out)
    assert doc["BackupsDeleted"] == 1


def test_a_deletion_that_keeps_failing_is_alerted(world: World) -> None:
    arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/backup/01795838401000-abcdef01"
    delete = DeleteMessage(
        prefix="scheduled", slot=SLOT_DT, part=0, attempt=0, backups=(BackupRef("orders", arn),)
    )
    ddb = boto3.client("dynamodb", region_name=REGION)
    with Stubber(ddb) as stub:
        for _ in range(6):
            stub.add_client_error("delete_backup", "BackupInUseException", "in use")
        response = world.monitor(
            [record(encode(delete), "d", "m1")], clients=Clients.of(dynamodb=ddb)
        )
        stub.assert_no_pending_responses()

    assert response == {"batchItemFailures": []}
    [(_, body)] = world.alerts()
    assert f"- table: orders\n  backup: {arn}\n  reason: could not delete backup: " in body
    assert "BackupInUseException: in use" in body


class FlakySns:
    """moto's SNS behind a list of error codes that the next Publish calls raise."""

    def __init__(self, errors: Sequence[str]) -> None:
        self.real = SESSION.client("sns", region_name=REGION)
        self.errors = list(errors)
        self.calls = 0

    def publish(self, **kwargs: Any) -> Any:
        self.calls += 1
        if self.errors:
            code = self.errors.pop(0)
            raise ClientError({"Error": {"Code": code, "Message": code}}, "Publish")
        return self.real.publish(**kwargs)


def test_a_kms_throttle_on_the_alert_is_retried(world: World) -> None:
    world.table("orders")
    world.env(TABLE_NAMES='["orders"]')
    world.schedule()
    _only_backup(world, "orders").status = "DELETED"
    records = world.drain()
    sns = FlakySns(["KMSThrottling"])

    response = world.monitor(records, clients=Clients.of(sns=sns))

    assert response == {"batchItemFailures": []}
    assert sns.calls == 2
    [(_, body)] = world.alerts()
    assert "table: orders" in body


def test_a_failing_alert_returns_only_its_record_and_replays_nothing_else(
    world: World,
) -> None:
    world.table("orders")
    world.table("users")
    world.env(TABLE_NAMES='["orders", "users"]')
    world.schedule()
    _only_backup(world, "orders").status = "DELETED"
    _only_backup(world, "users").status = "CREATING"
    chunk, final = world.drain()
    sns = FlakySns(["KMSDisabled"] * 10)  # not retryable: the alert fails at once

    response = world.monitor([chunk, final], clients=Clients.of(sns=sns))

    # only the chunk whose alert failed comes back; the finalizer's work stands
    assert response == {"batchItemFailures": [{"itemIdentifier": chunk["messageId"]}]}
    # and the chunk left no re-enqueued copy to wait behind it in its group
    assert [
        (r["attributes"]["MessageGroupId"], json.loads(r["body"])["kind"]) for r in world.drain()
    ] == [(final["attributes"]["MessageGroupId"], "finalize")]
    assert world.alerts() == []

    # the redelivered chunk, SNS working again: alerted and re-enqueued once
    response = world.monitor([chunk])
    assert response == {"batchItemFailures": []}
    [(_, body)] = world.alerts()
    assert "table: orders" in body
    [again] = world.drain()
    assert json.loads(again["body"])["attempt"] == 1
    assert [b["table"] for b in json.loads(again["body"])["backups"]] == ["users"]


def test_an_unreadable_message_whose_alert_fails_is_still_returned(world: World) -> None:
    sns = FlakySns(["KMSDisabled"])
    response = world.monitor([record("{not json", "junk", "m1")], clients=Clients.of(sns=sns))
    assert response == {"batchItemFailures": [{"itemIdentifier": "m1"}]}


def test_chunk_statuses_come_from_one_listing_and_describe_for_the_rest(world: World) -> None:
    base = "arn:aws:dynamodb:eu-west-1:123456789012:table/{t}/backup/01795838401000-0000000{n}"
    arns = {t: base.format(t=t, n=n) for n, t in enumerate(["alpha", "beta", "gamma"])}
    created = SLOT_DT + timedelta(seconds=1)
    message = ChunkMessage(
        prefix="scheduled",
        slot=SLOT_DT,
        chunk=0,
        attempt=0,
        window=Window.around([created]),
        backups=tuple(BackupRef(t, a) for t, a in arns.items()),
    )

    def listed(table: str, status: str) -> dict[str, Any]:
        return {
            "TableName": table,
            "BackupArn": arns[table],
            "BackupName": backup_name("scheduled", table, SLOT_DT),
            "BackupCreationDateTime": created,
            "BackupStatus": status,
            "BackupType": "USER",
        }

    ddb = boto3.client("dynamodb", region_name=REGION)
    with Stubber(ddb) as stub:
        stub.add_response(
            "list_backups",
            {
                "BackupSummaries": [listed("alpha", "AVAILABLE"), listed("beta", "CREATING")],
            },
            {
                "BackupType": "USER",
                "Limit": 100,
                "TimeRangeLowerBound": message.window.start,
                "TimeRangeUpperBound": message.window.end,
            },
        )
        stub.add_response(
            "describe_backup",
            {
                "BackupDescription": {
                    "BackupDetails": {
                        "BackupArn": arns["gamma"],
                        "BackupName": "scheduled-gamma-20261128T040000Z",
                        "BackupStatus": "CREATING",
                        "BackupType": "USER",
                        "BackupCreationDateTime": created,
                    }
                }
            },
            {"BackupArn": arns["gamma"]},
        )
        response = world.monitor(
            [record(encode(message), "g", "m1")],
            now=SLOT_DT + timedelta(minutes=5),
            clients=Clients.of(dynamodb=ddb),
        )
        stub.assert_no_pending_responses()

    assert response == {"batchItemFailures": []}
    [again] = world.drain()
    body = json.loads(again["body"])
    assert body["attempt"] == 1
    assert [b["table"] for b in body["backups"]] == ["beta", "gamma"]


# --- monitor: time budget ---------------------------------------------------------------


class FakeContext:
    def __init__(self, remaining: list[int]) -> None:
        self.remaining = remaining

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining[0]


def test_budget_from_context() -> None:
    assert not Budget.from_context(None).low()
    context = FakeContext([60_000])
    budget = Budget.from_context(context)
    assert not budget.low()
    context.remaining[0] = 15_001
    assert not budget.low()
    context.remaining[0] = 14_999
    assert budget.low()

    class Broken:
        def get_remaining_time_in_millis(self) -> int:
            raise RuntimeError("no deadline here")

    assert not Budget.from_context(Broken()).low()


def test_low_budget_hands_records_back_unchanged(world: World) -> None:
    world.table("orders")
    world.env(TABLE_NAMES='["orders"]')
    world.schedule()
    records = world.drain()
    context = FakeContext([60_000])
    budget = Budget.from_context(context)
    context.remaining[0] = 5_000

    response = world.monitor(records, budget=budget)

    assert response == {"batchItemFailures": []}
    handed = world.drain()
    assert [r["body"] for r in handed] == [r["body"] for r in records]
    for old, new in zip(records, handed, strict=True):
        assert new["attributes"]["MessageGroupId"] == old["attributes"]["MessageGroupId"]
        assert (
            new["attributes"]["MessageDeduplicationId"]
            == hashlib.sha256((old["body"] + old["messageId"]).encode()).hexdigest()
        )


def test_low_budget_during_deletions_re_enqueues_the_rest(world: World) -> None:
    world.table("orders")
    world.env(TABLE_NAMES='["orders"]', RETENTION_DAYS="1")
    _history(world, "orders", [3, 4, 5])
    with freeze_time(SLOT_DT + timedelta(seconds=1)):
        world.schedule()
    world.cycle(now=SLOT_DT + timedelta(minutes=10), rounds=1)
    [delete] = world.drain()
    total = len(world.backups())
    budget = Budget(lambda: 60_000 if len(world.backups()) == total else 1_000)

    assert world.monitor([delete], budget=budget) == {"batchItemFailures": []}

    assert len(world.backups()) == total - 1
    [rest] = world.drain()
    body = json.loads(rest["body"])
    assert (body["kind"], body["attempt"], len(body["backups"])) == ("delete", 1, 2)
    world.monitor([rest])
    assert world.backup_names("orders") == ["scheduled-orders-20261128T040000Z"]


def test_a_delete_whose_alert_fails_re_enqueues_no_rest_behind_itself(world: World) -> None:
    base = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/backup/0179583840100{n}-x"
    delete = DeleteMessage(
        prefix="scheduled",
        slot=SLOT_DT,
        part=0,
        attempt=0,
        backups=tuple(BackupRef("orders", base.format(n=n)) for n in range(3)),
    )
    remaining = iter([60_000, 60_000, 60_000])
    budget = Budget(lambda: next(remaining, 1_000))
    ddb = boto3.client("dynamodb", region_name=REGION)
    with Stubber(ddb) as stub:
        for _ in range(6):
            stub.add_client_error("delete_backup", "BackupInUseException", "in use")
        response = world.monitor(
            [record(encode(delete), "d", "m1")],
            clients=Clients.of(dynamodb=ddb, sns=FlakySns(["KMSDisabled"])),
            budget=budget,
        )
        stub.assert_no_pending_responses()

    assert response == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    assert world.drain() == []  # the rest would have waited behind m1 in group "d"


# --- scheduler: what moto cannot show (Stubber) -----------------------------------------


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def _created(table: str) -> dict[str, Any]:
    return {
        "BackupDetails": {
            "BackupArn": f"arn:aws:dynamodb:eu-west-1:123456789012:table/{table}/backup/0179-x",
            "BackupName": backup_name("scheduled", table, SLOT_DT),
            "BackupStatus": "CREATING",
            "BackupType": "USER",
            "BackupCreationDateTime": SLOT_DT + timedelta(seconds=1),
        }
    }


def _stubbed_schedule(
    world: World, errors: Sequence[str], succeed: bool, sleeps: Sleeps
) -> dict[str, Any]:
    world.env(TABLE_NAMES='["orders"]')
    ddb = boto3.client("dynamodb", region_name=REGION)
    name = backup_name("scheduled", "orders", SLOT_DT)
    with Stubber(ddb) as stub:
        stub.add_response("list_backups", {"BackupSummaries": []})
        for code in errors:
            stub.add_client_error("create_backup", code, f"{code} happened")
        if succeed:
            stub.add_response(
                "create_backup", _created("orders"), {"TableName": "orders", "BackupName": name}
            )
        summary = world.schedule(clients=Clients.of(dynamodb=ddb), sleep=sleeps, rand=lambda: 1.0)
        stub.assert_no_pending_responses()
    return summary


def test_throttling_then_success_starts_the_backup(world: World) -> None:
    sleeps = Sleeps()
    summary = _stubbed_schedule(
        world, ["ThrottlingException", "LimitExceededException"], succeed=True, sleeps=sleeps
    )
    assert (summary["started"], summary["failed"]) == (1, 0)
    assert [s for s in sleeps.calls if s >= 0.25] == [0.25, 0.5]
    [chunk, _] = world.drain()
    assert json.loads(chunk["body"])["backups"][0]["table"] == "orders"
    assert world.alerts() == []


def test_throttling_past_the_retries_is_a_failure(world: World) -> None:
    sleeps = Sleeps()
    summary = _stubbed_schedule(world, ["ThrottlingException"] * 6, succeed=False, sleeps=sleeps)
    assert (summary["started"], summary["failed"], summary["messages"]) == (0, 1, 0)
    assert [s for s in sleeps.calls if s >= 0.25] == [0.25, 0.5, 1.0, 2.0, 4.0]
    [(_, body)] = world.alerts()
    assert "- table: orders\n  backup: -\n" in body
    assert (
        "reason: could not start backup: ThrottlingException: ThrottlingException happened" in body
    )


@pytest.mark.parametrize(
    "code", ["ContinuousBackupsUnavailableException", "TableNotFoundException"]
)
def test_permanent_errors_fail_at_once(world: World, code: str) -> None:
    sleeps = Sleeps()
    summary = _stubbed_schedule(world, [code], succeed=False, sleeps=sleeps)
    assert summary["failed"] == 1
    assert not [s for s in sleeps.calls if s >= 0.25]
    [(_, body)] = world.alerts()
    assert f"could not start backup: {code}" in body


def test_tag_selection_follows_pages_and_needs_every_tag() -> None:
    tagging = boto3.client("resourcegroupstaggingapi", region_name=REGION)
    arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/{}"
    filters = {
        "ResourceTypeFilters": ["dynamodb:table"],
        "TagFilters": [
            {"Key": "backup", "Values": ["daily"]},
            {"Key": "team", "Values": ["a"]},
        ],
        "ResourcesPerPage": 100,
    }
    both = [{"Key": "backup", "Value": "daily"}, {"Key": "team", "Value": "a"}]
    with Stubber(tagging) as stub:
        stub.add_response(
            "get_resources",
            {
                "PaginationToken": "page-2",
                "ResourceTagMappingList": [
                    {"ResourceARN": arn.format("orders"), "Tags": both},
                    {"ResourceARN": arn.format("half"), "Tags": both[:1]},
                ],
            },
            filters | {"PaginationToken": ""},
        )
        stub.add_response(
            "get_resources",
            {
                "PaginationToken": "",
                "ResourceTagMappingList": [
                    {"ResourceARN": arn.format("users"), "Tags": both},
                    {"ResourceARN": "arn:aws:s3:::not-a-table", "Tags": both},
                ],
            },
            filters | {"PaginationToken": "page-2"},
        )
        names = scheduler.tagged_tables(
            tagging, (("backup", "daily"), ("team", "a")), sleep=no_sleep, rand=lambda: 0.0
        )
        stub.assert_no_pending_responses()
    assert names == {"orders", "users"}


def test_no_tags_selects_nothing_without_calling_the_api() -> None:
    tagging = boto3.client("resourcegroupstaggingapi", region_name=REGION)
    with Stubber(tagging):
        assert scheduler.tagged_tables(tagging, (), sleep=no_sleep, rand=lambda: 0.0) == set()


def test_a_deleted_backup_of_the_slot_does_not_count_as_present(world: World) -> None:
    world.table("orders")
    world.env(TABLE_NAMES='["orders"]')
    world.schedule()
    _only_backup(world, "orders").status = "DELETED"

    again = world.schedule()

    assert (again["started"], again["already_present"]) == (1, 0)
    assert world.backup_names("orders") == ["scheduled-orders-20261128T040000Z"] * 2


def test_low_budget_returns_failed_groups_and_records_it_cannot_re_send(world: World) -> None:
    world.table("orders")
    world.env(TABLE_NAMES='["orders"]')
    world.schedule()
    chunk, final = world.drain()
    records = [
        record("garbage", "poisoned", "m1"),
        record(chunk["body"], "poisoned", "m2"),
        record(final["body"], "final", "m3"),
        {"messageId": "m4", "body": chunk["body"]},  # no group: cannot be re-sent to a FIFO
    ]

    class LowAfterFirst(Budget):
        def low(self) -> bool:
            return bool(world.alerts())  # low once the first record has been alerted

    world.env(MONITOR_QUEUE_URL=world.queue_url.replace("backup-monitor", "missing-queue"))
    response = world.monitor(records, budget=LowAfterFirst(None))

    assert response == {
        "batchItemFailures": [
            {"itemIdentifier": "m1"},
            {"itemIdentifier": "m2"},
            {"itemIdentifier": "m3"},
            {"itemIdentifier": "m4"},
        ]
    }


def test_a_week_of_daily_runs_keeps_exactly_the_retention_window(world: World) -> None:
    world.table("orders")
    world.table("users")
    world.env(TABLE_NAMES='["orders", "users"]', RETENTION_DAYS="2")
    for day in range(7):
        slot = SLOT_DT + timedelta(days=day)
        with freeze_time(slot + timedelta(seconds=1)):
            summary = world.schedule(time=slot.strftime("%Y-%m-%dT%H:%M:%SZ"))
        assert summary["started"] == 2
        world.cycle(now=slot + timedelta(minutes=10))
        # yesterday's backup is 1 day old and stays; the one before is past 2 days: deleted
        kept = [SLOT_DT + timedelta(days=d) for d in range(max(0, day - 1), day + 1)]
        for table in ("orders", "users"):
            assert world.backup_names(table) == [backup_name("scheduled", table, k) for k in kept]
    assert world.alerts() == []


def test_a_scheduler_short_of_time_alerts_the_tables_it_could_not_start(world: World) -> None:
    tables = ["t-a", "t-b", "t-c"]
    for table in tables:
        world.table(table)
    world.env(TABLE_NAMES=json.dumps(tables))
    budget = Budget(lambda: 900_000 if not world.backups() else 10_000, reserve=0.1)

    summary = world.schedule(workers=1, budget=budget)

    assert (summary["started"], summary["failed"]) == (1, 2)
    assert world.backup_names("t-a") == ["scheduled-t-a-20261128T040000Z"]
    [chunk, _] = world.drain()
    assert [b["table"] for b in json.loads(chunk["body"])["backups"]] == ["t-a"]
    [(_, body)] = world.alerts()
    for table in ("t-b", "t-c"):
        assert (
            f"- table: {table}\n  backup: -\n  reason: could not start backup: TimeBudget" in body
        )


def test_a_failing_tag_lookup_still_backs_up_the_listed_tables(world: World) -> None:
    world.table("orders")
    world.env(TABLE_NAMES='["orders"]', TABLE_TAGS='{"backup": "daily"}')
    tagging = boto3.client("resourcegroupstaggingapi", region_name=REGION)
    with Stubber(tagging) as stub:
        stub.add_client_error("get_resources", "AccessDeniedException", "no tag:GetResources")
        summary = world.schedule(clients=Clients.of(resourcegroupstaggingapi=tagging))

    assert (summary["started"], summary["failed"]) == (1, 1)
    assert world.backup_names("orders") == ["scheduled-orders-20261128T040000Z"]
    [(_, body)] = world.alerts()
    assert (
        "- table: -\n  backup: -\n  reason: could not select tables by tag: "
        "AccessDeniedException: no tag:GetResources"
    ) in body


def test_access_denied_on_a_tag_selected_table_names_abac_and_the_fix(world: World) -> None:
    """Issue 9.7: with DynamoDB ABAC off the tag condition never matches; the alert says so
    for tables selected by tag, not for tables listed by name."""
    world.env(TABLE_NAMES='["listed"]', TABLE_TAGS='{"backup": "daily"}')
    arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/{}"
    tagging = boto3.client("resourcegroupstaggingapi", region_name=REGION)
    ddb = boto3.client("dynamodb", region_name=REGION)
    with Stubber(tagging) as tags, Stubber(ddb) as stub:
        tags.add_response(
            "get_resources",
            {
                "ResourceTagMappingList": [
                    {
                        "ResourceARN": arn.format(name),
                        "Tags": [{"Key": "backup", "Value": "daily"}],
                    }
                    for name in ("listed", "tagged")
                ]
            },
        )
        stub.add_response("list_backups", {"BackupSummaries": []})
        for _ in range(2):
            stub.add_client_error(
                "create_backup", "AccessDeniedException", "not authorized to dynamodb:CreateBackup"
            )
        summary = world.schedule(
            clients=Clients.of(dynamodb=ddb, resourcegroupstaggingapi=tagging), workers=1
        )
        stub.assert_no_pending_responses()

    assert summary["failed"] == 2
    [(_, body)] = world.alerts()
    listed, tagged = body.split("- table: ")[1:]
    assert listed.startswith("listed\n")
    assert "ABAC" not in listed
    assert tagged.startswith("tagged\n")
    assert "AccessDeniedException: not authorized to dynamodb:CreateBackup" in tagged
    assert "attribute-based access control (ABAC) for DynamoDB is off" in " ".join(tagged.split())
    assert (
        "enable attribute-based access control for DynamoDB in this account and region, "
        "or set dynamodb_abac_enabled = false on the module"
    ) in " ".join(tagged.split())


def test_a_re_enqueued_finalizer_lists_only_where_backups_are_still_creating(
    world: World,
) -> None:
    tables = ["t-a", "t-b", "t-c"]
    for table in tables:
        world.table(table)
    world.env(TABLE_NAMES=json.dumps(tables), RETENTION_DAYS="1")
    for table in tables:
        _history(world, table, [3])
    for offset, table in enumerate(tables):
        with freeze_time(SLOT_DT + timedelta(seconds=10 * offset + 1)):
            world.ddb.create_backup(
                TableName=table, BackupName=backup_name("scheduled", table, SLOT_DT)
            )
    slow = _only_backup_of_run(world, "t-b")
    slow.status = "CREATING"
    first = finalizer([SLOT_DT + timedelta(seconds=s) for s in (1, 11, 21)], tables=3)

    world.monitor([record(encode(first), "f", "m1")], now=SLOT_DT + timedelta(minutes=5))

    [again] = world.drain()
    body = json.loads(again["body"])
    assert body["window"] == {"from": "2026-11-28T04:00:10Z", "to": "2026-11-28T04:00:12Z"}
    assert body["started"] == "2026-11-28T04:00:00Z"
    assert body["attempt"] == 1
    slow.status = "AVAILABLE"

    world.monitor([again], now=SLOT_DT + timedelta(minutes=10))
    world.cycle(now=SLOT_DT + timedelta(minutes=15))

    for table in tables:  # retention for every table, also those outside the narrowed window
        assert world.backup_names(table) == [backup_name("scheduled", table, SLOT_DT)]


def test_the_finalizer_times_out_from_the_run_start_not_its_narrowed_window(
    world: World,
) -> None:
    world.table("orders")
    world.env(TABLE_NAMES='["orders"]', RETENTION_DAYS="1", MAX_WAIT_MINUTES="30")
    _history(world, "orders", [3])
    with freeze_time(SLOT_DT + timedelta(minutes=20)):
        world.ddb.create_backup(
            TableName="orders", BackupName=backup_name("scheduled", "orders", SLOT_DT)
        )
    _only_backup_of_run(world, "orders").status = "CREATING"
    final = finalizer([SLOT_DT + timedelta(minutes=20)], attempt=3)

    world.monitor([record(encode(final), "f", "m1")], now=SLOT_DT + timedelta(minutes=31))

    assert world.drain() == []  # not re-enqueued: 31 minutes since the run started
    assert len(world.backup_names("orders")) == 2  # the table's run did not succeed


def test_the_finalizer_paces_its_listing_below_the_list_backups_rate(world: World) -> None:
    """ListBackups allows 5 calls/s per account: one invocation spaces its pages 1/4.5 s
    apart instead of running into throttling (the clock here never moves, so the waits
    add up)."""
    world.env(RETENTION_DAYS="3", MIN_BACKUPS_TO_KEEP="1")
    final = finalizer([SLOT_DT], tables=3)
    now = SLOT_DT + timedelta(minutes=5)
    marker = "arn:aws:dynamodb:eu-west-1:123456789012:table/t0/backup/01795838401000-aa"
    old: dict[str, Any] = {
        "BackupType": "USER",
        "Limit": 100,
        "TimeRangeUpperBound": now - timedelta(days=3),
    }
    run_backup = {
        "TableName": "tab0",
        "BackupArn": marker,
        "BackupName": backup_name("scheduled", "tab0", SLOT_DT),
        "BackupCreationDateTime": SLOT_DT + timedelta(seconds=1),
        "BackupStatus": "AVAILABLE",
        "BackupType": "USER",
    }
    sleeps: list[float] = []
    ddb = boto3.client("dynamodb", region_name=REGION)
    with Stubber(ddb) as stub:
        stub.add_response(  # the run's range first, then what is past the cutoff
            "list_backups",
            {"BackupSummaries": [run_backup]},
            {"BackupType": "USER", "Limit": 100, "TimeRangeLowerBound": SLOT_DT},
        )
        stub.add_response(
            "list_backups", {"BackupSummaries": [], "LastEvaluatedBackupArn": marker}, old
        )
        stub.add_response(
            "list_backups", {"BackupSummaries": []}, old | {"ExclusiveStartBackupArn": marker}
        )
        world.monitor(
            [record(encode(final), "f", "m1")],
            now=now,
            clients=Clients.of(dynamodb=ddb),
            sleep=sleeps.append,
            monotonic=lambda: 100.0,
        )
        stub.assert_no_pending_responses()
    assert sleeps == pytest.approx([1 / monitor.LIST_RATE, 2 / monitor.LIST_RATE])
    assert monitor.LIST_RATE < 5


def _finalizer_case() -> tuple[dict[str, Any], FinalizeMessage]:
    created = SLOT_DT + timedelta(seconds=5)
    arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/backup/01795838405000-0000000a"
    summary = {
        "TableName": "orders",
        "BackupArn": arn,
        "BackupName": backup_name("scheduled", "orders", SLOT_DT),
        "BackupCreationDateTime": created,
        "BackupStatus": "CREATING",
        "BackupType": "USER",
    }
    first = finalizer([SLOT_DT, created])
    return summary, first


def test_finalizer_listing_costs(world: World) -> None:
    """Attempt 0 lists the run's own range (and, once it is final, what is past the
    retention, not the backups the retention keeps); a later attempt probes only its
    narrowed window, then makes those two listings once."""
    world.env(RETENTION_DAYS="35", MIN_BACKUPS_TO_KEEP="1")
    summary, first = _finalizer_case()
    created = summary["BackupCreationDateTime"]
    base: dict[str, Any] = {"BackupType": "USER", "Limit": 100}
    run_range = base | {"TimeRangeLowerBound": SLOT_DT}
    ddb = boto3.client("dynamodb", region_name=REGION)
    now = SLOT_DT + timedelta(minutes=5)
    with Stubber(ddb) as stub:  # still CREATING: the run's range only, then wait
        stub.add_response("list_backups", {"BackupSummaries": [summary]}, run_range)
        world.monitor([record(encode(first), "f", "m1")], now=now, clients=Clients.of(dynamodb=ddb))
        stub.assert_no_pending_responses()
    [again] = world.drain()
    second = decode(again["body"])
    assert isinstance(second, FinalizeMessage)
    assert second.window == Window.around([created])

    later = SLOT_DT + timedelta(minutes=10)
    with Stubber(ddb) as stub:
        available = {"BackupSummaries": [summary | {"BackupStatus": "AVAILABLE"}]}
        stub.add_response(
            "list_backups",
            available,
            base
            | {
                "TimeRangeLowerBound": second.window.start,
                "TimeRangeUpperBound": second.window.end,
            },
        )
        stub.add_response("list_backups", available, run_range)
        stub.add_response(
            "list_backups",
            {"BackupSummaries": []},
            base | {"TimeRangeUpperBound": later - timedelta(days=35)},
        )
        world.monitor([again], now=later, clients=Clients.of(dynamodb=ddb))
        stub.assert_no_pending_responses()
    assert world.drain() == []  # only this run's backup: nothing to delete


def test_with_min_backups_to_keep_above_one_the_finalizer_lists_everything(
    world: World, aws_like: Any, static_backups: Any
) -> None:
    """The newest MIN_BACKUPS_TO_KEEP may lie anywhere: every backup is listed."""
    world.env(RETENTION_DAYS="3", MIN_BACKUPS_TO_KEEP="2")
    summary, first = _finalizer_case()
    older = summary | {
        "BackupArn": summary["BackupArn"].replace("0000000a", "0000000b"),
        "BackupName": backup_name("scheduled", "orders", SLOT_DT - timedelta(days=10)),
        "BackupCreationDateTime": SLOT_DT - timedelta(days=10),
        "BackupStatus": "AVAILABLE",
    }
    ddb = aws_like(static_backups([summary | {"BackupStatus": "AVAILABLE"}, older]))
    world.monitor(
        [record(encode(first), "f", "m1")],
        now=SLOT_DT + timedelta(minutes=5),
        clients=Clients.of(dynamodb=ddb),
    )
    assert world.drain() == []  # ten days old, but one of the newest two: kept
    # the run's range, then windows from a day back, doubling, down to the floor (2017)
    assert ddb.calls <= 1 + 13


def test_tiers_and_a_per_table_override_keep_weeklies_and_monthlies(world: World) -> None:
    """The slot is Saturday 2026-11-28: the weeklies are the Sundays before it, the
    monthly of October its last day."""
    world.table("orders")
    world.table("users")
    world.env(
        TABLE_NAMES='["orders", "users"]',
        RETENTION_DAYS="3",
        KEEP_WEEKLY="3",
        RETENTION_OVERRIDES=json.dumps({"users": {"keep_monthly": 2}}),
    )
    for table in ("orders", "users"):
        _history(world, table, range(1, 41))
    _run_cycle(world)

    def names(table: str, days: Sequence[int]) -> list[str]:
        run = backup_name("scheduled", table, SLOT_DT)
        older = [backup_name("scheduled", table, SLOT_DT - timedelta(days=d)) for d in days]
        return sorted([run, *older])

    assert (SLOT_DT - timedelta(days=6)).isoweekday() == 7
    assert (SLOT_DT - timedelta(days=28)).date().isoformat() == "2026-10-31"
    assert world.backup_names("orders") == names("orders", [1, 2, 6, 13])
    assert world.backup_names("users") == names("users", [1, 2, 6, 13, 28])


# --- scheduler: coverage (behaviour 11) --------------------------------------------------


def coverage_world(world: World) -> None:
    """orders by name, users by tag; tmp-* excused; carts, Logs and TMP-upper unprotected."""
    world.table("orders")
    world.table("users", {"backup": "daily"})
    world.table("carts", {"backup": "weekly"})
    world.table("Logs")
    world.table("tmp-1")
    world.table("tmp-2")
    world.table("TMP-upper")  # patterns are case-sensitive, as table names are
    world.env(
        TABLE_NAMES='["orders"]',
        TABLE_TAGS='{"backup": "daily"}',
        UNPROTECTED_TABLES_EXCLUDE='["tmp-*"]',
    )


def test_coverage_alerts_the_unprotected_tables_in_one_alert(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    coverage_world(world)
    world.env(ALERT_UNPROTECTED_TABLES="true")

    summary = world.schedule()

    assert (summary["started"], summary["failed"], summary["unprotected"]) == (2, 0, 3)
    [doc] = emf(capsys.readouterr().out)
    assert doc["TablesUnprotected"] == 3
    assert doc["BackupsFailed"] == 0  # an unprotected table is not a failed backup
    [(subject, body)] = world.alerts()
    assert subject == f"DynamoDB backup: 3 unprotected table(s) in run {SLOT}"
    listed = [line.removeprefix("- table: ") for line in body.splitlines() if line.startswith("- ")]
    assert listed == ["Logs", "TMP-upper", "carts"]
    assert "unprotected_tables_exclude" in body
    assert world.backup_names("orders") == ["scheduled-orders-20261128T040000Z"]
    assert world.backup_names("users") == ["scheduled-users-20261128T040000Z"]


def test_coverage_without_the_alert_only_counts(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    coverage_world(world)
    world.env(ALERT_UNPROTECTED_TABLES="false")

    world.schedule()

    [doc] = emf(capsys.readouterr().out)
    assert doc["TablesUnprotected"] == 3
    assert world.alerts() == []


def test_coverage_with_every_table_covered_or_excused_alerts_nothing(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    coverage_world(world)
    world.env(ALERT_UNPROTECTED_TABLES="true", UNPROTECTED_TABLES_EXCLUDE='["tmp-*", "[cLT]*"]')

    world.schedule()

    [doc] = emf(capsys.readouterr().out)
    assert doc["TablesUnprotected"] == 0
    assert world.alerts() == []


def test_coverage_lists_every_page_of_tables(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    """250 tables: three ListTables pages of at most 100, and all of them counted."""
    for i in range(250):
        world.table(f"t-{i:03d}")
    world.env(TABLE_NAMES='["t-000"]')
    ddb = SESSION.client("dynamodb", region_name=REGION)
    calls: list[dict[str, Any]] = []
    ddb.meta.events.register(
        "provide-client-params.dynamodb.ListTables", lambda params, **_: calls.append(params)
    )

    world.schedule(clients=Clients.of(dynamodb=ddb))

    assert [c.get("ExclusiveStartTableName") for c in calls] == [None, "t-099", "t-199"]
    assert all(c["Limit"] == 100 for c in calls)
    [doc] = emf(capsys.readouterr().out)
    assert doc["TablesUnprotected"] == 249


def test_list_tables_follows_last_evaluated_table_name_as_aws_pages() -> None:
    """AWS may end with an empty page that still carried a LastEvaluatedTableName."""
    ddb = SESSION.client("dynamodb", region_name=REGION)
    with Stubber(ddb) as stub:
        stub.add_response(
            "list_tables",
            {"TableNames": ["aaa1", "bbb1"], "LastEvaluatedTableName": "bbb1"},
            {"Limit": 2},
        )
        stub.add_response(
            "list_tables",
            {"TableNames": ["ccc1", "ddd1"], "LastEvaluatedTableName": "ddd1"},
            {"Limit": 2, "ExclusiveStartTableName": "bbb1"},
        )
        stub.add_response(
            "list_tables", {"TableNames": []}, {"Limit": 2, "ExclusiveStartTableName": "ddd1"}
        )
        assert list_tables(ddb, sleep=no_sleep, rand=lambda: 0.0, page_size=2) == [
            "aaa1",
            "bbb1",
            "ccc1",
            "ddd1",
        ]
        stub.assert_no_pending_responses()


@pytest.mark.parametrize("alert", ["true", "false"])
def test_a_listing_failure_never_stops_the_backups(
    world: World, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, alert: str
) -> None:
    coverage_world(world)
    world.env(ALERT_UNPROTECTED_TABLES=alert)
    ddb = SESSION.client("dynamodb", region_name=REGION)

    def refuse(**_: Any) -> Any:
        raise ClientError(
            {"Error": {"Code": "AccessDeniedException", "Message": "no dynamodb:ListTables"}},
            "ListTables",
        )

    monkeypatch.setattr(ddb, "list_tables", refuse)

    summary = world.schedule(clients=Clients.of(dynamodb=ddb))

    assert (summary["started"], summary["failed"], summary["unprotected"]) == (2, 0, None)
    assert world.backup_names("orders") == ["scheduled-orders-20261128T040000Z"]
    assert len(world.drain()) == 2  # the run's chunk and finalizer still reach the queue
    [doc] = emf(capsys.readouterr().out)
    assert "TablesUnprotected" not in doc  # no count rather than a wrong one
    assert doc["BackupsStarted"] == 2
    if alert == "false":
        assert world.alerts() == []
        return
    [(subject, body)] = world.alerts()
    assert subject == f"DynamoDB backup: coverage check failed in run {SLOT}"
    assert "could not list the tables: AccessDeniedException: no dynamodb:ListTables" in body
    assert "the backups of this run are not affected" in body


def test_a_failing_tag_lookup_skips_coverage_instead_of_guessing(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    coverage_world(world)
    world.env(ALERT_UNPROTECTED_TABLES="true")
    tagging = boto3.client("resourcegroupstaggingapi", region_name=REGION)
    with Stubber(tagging) as stub:
        stub.add_client_error("get_resources", "ThrottlingException", "slow down")
        for _ in range(5):
            stub.add_client_error("get_resources", "ThrottlingException", "slow down")
        summary = world.schedule(clients=Clients.of(resourcegroupstaggingapi=tagging))

    assert summary["unprotected"] is None
    [doc] = emf(capsys.readouterr().out)
    assert "TablesUnprotected" not in doc
    [(subject, _)] = world.alerts()  # the run's failure alert only, no coverage alert
    assert subject == f"DynamoDB backup: 1 failure(s) in run {SLOT}"


def test_backup_storage_bytes_is_the_survivors_size_when_every_backup_was_listed(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    """Own AVAILABLE backups left after retention only: not the deleted ones, not foreign."""
    world.table("orders")
    world.env(TABLE_NAMES='["orders"]', RETENTION_DAYS="3", KEEP_WEEKLY="2")
    _history(world, "orders", range(1, 15))
    with freeze_time(SLOT_DT - timedelta(days=30)):
        world.ddb.create_backup(TableName="orders", BackupName="manual-not-ours")
    capsys.readouterr()
    _run_cycle(world)

    own = [b for b in world.backups().values() if b.name.startswith("scheduled-")]
    assert len(own) == 4  # the run's, days 1 and 2 (3 days), and last week's newest (day 6)
    size = {  # moto reports one size for every backup
        s["BackupArn"]: s["BackupSizeBytes"]
        for s in world.ddb.list_backups(BackupType="USER")["BackupSummaries"]
    }
    docs = [d for d in emf(capsys.readouterr().out) if "BackupStorageBytes" in d]
    assert [d["BackupStorageBytes"] for d in docs] == [sum(size[b.arn] for b in own)]
    assert {"Name": "BackupStorageBytes", "Unit": "Bytes"} in docs[0]["_aws"]["CloudWatchMetrics"][
        0
    ]["Metrics"]


def test_backup_storage_bytes_is_left_out_when_the_listing_was_partial(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    world.table("orders")
    world.env(TABLE_NAMES='["orders"]', RETENTION_DAYS="3")
    _history(world, "orders", range(1, 6))
    capsys.readouterr()
    _run_cycle(world)
    assert all("BackupStorageBytes" not in doc for doc in emf(capsys.readouterr().out))
