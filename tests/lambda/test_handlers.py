"""Both handlers against moto (`mock_aws`): the backup cycle as a user sees it."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.models import dynamodb_backends
from moto.sns.models import sns_backends

from dynamodb_backup import monitor, scheduler
from dynamodb_backup.aws import Clients
from dynamodb_backup.config import MonitorConfig, SchedulerConfig

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient

REGION = "eu-west-1"
ACCOUNT = "123456789012"
SLOT = "2026-11-28T04:00:00Z"
SLOT_DT = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)


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
        return scheduler.run(
            scheduled_event(time),
            config=SchedulerConfig.from_env(os.environ),
            clients=Clients(),
            sleep=no_sleep,
            **kwargs,
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
        if now is not None:
            moment = now
            kwargs["now"] = lambda: moment
        return monitor.run(
            {"Records": list(records)},
            config=MonitorConfig.from_env(os.environ),
            clients=Clients(),
            **kwargs,
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


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with mock_aws():
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
    }
    assert world.backup_names("orders") == ["scheduled-orders-20261128T040000Z"]
    assert world.backup_names("users") == ["scheduled-users-20261128T040000Z"]
    assert world.backup_names("carts") == []
    assert world.backup_names("logs") == []
    [doc] = emf(capsys.readouterr().out)
    assert doc["BackupsStarted"] == 2
    assert doc["BackupsFailed"] == 0
    assert doc["TablesSelected"] == 2
    assert world.alerts() == []


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
