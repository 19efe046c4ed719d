"""The restore drill function against moto (`mock_aws`), its names and its configuration."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.exceptions import ClientError
from freezegun import freeze_time
from moto import mock_aws
from moto.dynamodb.models import dynamodb_backends
from moto.sns.models import sns_backends

from dynamodb_backup import drill, scheduler
from dynamodb_backup.aws import Clients
from dynamodb_backup.config import ConfigError, DrillConfig, MonitorConfig, SchedulerConfig
from dynamodb_backup.coverage import unprotected
from dynamodb_backup.messages import RestoreCheckMessage, decode
from dynamodb_backup.naming import backup_name, drill_slot_of, drill_table_name

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient

REGION = "eu-west-1"
ACCOUNT = "123456789012"
SLOT = datetime(2026, 11, 29, 5, 0, tzinfo=UTC)
WEEK = 7 * 24 * 3600
SESSION = boto3.session.Session()


def no_sleep(_seconds: float) -> None:
    """Tests never wait for real."""


def drill_event(slot: datetime = SLOT, period: object = WEEK) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "5f1c3b2a-0000-4000-8000-000000000001",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT,
        "time": slot.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/backup-drill-schedule"],
        "detail": {"drill_period_seconds": period},
    }


# --- names ------------------------------------------------------------------------------


@pytest.mark.parametrize("table", ["orders", "a.b_c-d", "x" * 255, "y" * 220])
def test_drill_table_names_are_valid_distinct_and_parse_back(table: str) -> None:
    name = drill_table_name("scheduled", table, SLOT)
    later = drill_table_name("scheduled", table, SLOT + timedelta(days=7))
    assert name.startswith("scheduled-drill-")
    assert len(name) <= 255
    assert all(c.isalnum() or c in "_.-" for c in name)
    assert name != later
    assert name != drill_table_name("scheduled", table + "2", SLOT)
    assert drill_table_name("scheduled", table, SLOT) == name  # deterministic
    assert drill_slot_of("scheduled", name) == SLOT
    assert drill_slot_of("scheduled", later) == SLOT + timedelta(days=7)


def test_long_table_names_are_shortened_with_a_hash() -> None:
    first = drill_table_name("p", "t" * 250 + "a", SLOT)
    second = drill_table_name("p", "t" * 250 + "b", SLOT)
    assert len(first) == len(second) == 255
    assert first != second


@pytest.mark.parametrize(
    "name",
    [
        "orders",
        "scheduled-orders-20261129T050000Z",  # a backup-like name, not a drill table
        "scheduled-drillx-orders-20261129T050000Z",
        "other-drill-orders-20261129T050000Z",
        "scheduled-drill-orders-20261129T050000",
        "scheduled-drill-orders-20261399T050000Z",
        "scheduled-drill--20261129T050000Z",
        "scheduled-drill-orders_20261129T050000Z",
        "scheduled-drill-" + "z" * 222 + "-nothex!!-20261129T050000Z",
    ],
)
def test_anything_else_is_not_a_drill_table_of_this_instance(name: str) -> None:
    assert drill_slot_of("scheduled", name) is None


def test_coverage_does_not_count_own_drill_tables() -> None:
    own = drill_table_name("scheduled", "orders", SLOT)
    foreign = drill_table_name("other", "orders", SLOT)
    found = unprotected(["orders", own, foreign, "scratch"], {"orders"}, [], prefix="scheduled")
    assert found == sorted([foreign, "scratch"])


# --- configuration ----------------------------------------------------------------------

BASE_ENV = {
    "MONITOR_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/123456789012/m.fifo",
    "ALERT_TOPIC_ARN": "arn:aws:sns:eu-west-1:123456789012:alerts",
}


def test_drill_config_defaults_and_values() -> None:
    config = DrillConfig.from_env(BASE_ENV | {"TABLE_NAMES": '["orders"]'})
    assert config.drill_tables == ()
    assert config.max_backup_bytes == 10737418240
    assert config.max_wait_minutes == 720
    assert config.selection.table_names == ("orders",)
    config = DrillConfig.from_env(
        BASE_ENV
        | {
            "DRILL_TABLES": '["b-table", "a-table"]',
            "DRILL_MAX_BACKUP_BYTES": "1000",
            "DRILL_MAX_WAIT_MINUTES": "30",
        }
    )
    assert config.drill_tables == ("a-table", "b-table")
    assert (config.max_backup_bytes, config.max_wait_minutes) == (1000, 30)
    assert MonitorConfig.from_env(BASE_ENV).drill_max_wait_minutes == 720
    assert (
        MonitorConfig.from_env(BASE_ENV | {"DRILL_MAX_WAIT_MINUTES": "5"}).drill_max_wait_minutes
        == 5
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DRILL_TABLES", '{"orders": 1}'),
        ("DRILL_TABLES", '["x"]'),
        ("DRILL_MAX_BACKUP_BYTES", "ten"),
        ("DRILL_MAX_BACKUP_BYTES", "0"),
        ("DRILL_MAX_WAIT_MINUTES", "-1"),
    ],
)
def test_bad_drill_variables_fail_naming_the_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        DrillConfig.from_env(BASE_ENV | {variable: value})
    assert str(caught.value).startswith(f"{variable}: ")


# --- rotation ---------------------------------------------------------------------------


def test_rotation_drills_every_selected_table_in_turn() -> None:
    config = DrillConfig.from_env(BASE_ENV)
    tables = ["c-table", "a-table", "b-table"]
    picked = [
        drill.pick_tables(config, tables, SLOT + timedelta(seconds=WEEK * week), WEEK)[0]
        for week in range(6)
    ]
    assert sorted(picked[:3]) == sorted(tables)
    assert picked[3:] == picked[:3]
    index = (int(SLOT.timestamp()) // WEEK) % 3
    assert picked[0] == sorted(tables)[index]


def test_a_missing_or_bad_period_falls_back_to_a_week(caplog: pytest.LogCaptureFixture) -> None:
    assert drill.drill_period(drill_event(period=3600)) == 3600
    for bad in (None, "86400", 0, -5, True):
        assert drill.drill_period(drill_event(period=bad)) == WEEK
    assert drill.drill_period({"time": "x"}) == WEEK
    assert "drill_period_seconds" in caplog.text


# --- the drill against moto -------------------------------------------------------------


@dataclass
class DrillWorld:
    ddb: DynamoDBClient
    sqs: SQSClient
    queue_url: str
    topic_arn: str
    monkeypatch: pytest.MonkeyPatch

    def env(self, **values: str) -> None:
        for key, value in values.items():
            self.monkeypatch.setenv(key, value)

    def table(self, name: str, items: int = 3, gsi: bool = False) -> None:
        extra: dict[str, Any] = {}
        attributes = [{"AttributeName": "pk", "AttributeType": "S"}]
        if gsi:
            attributes.append({"AttributeName": "g", "AttributeType": "S"})
            extra["GlobalSecondaryIndexes"] = [
                {
                    "IndexName": "by-g",
                    "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ]
        self.ddb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=attributes,  # type: ignore[arg-type]
            BillingMode="PAY_PER_REQUEST",
            **extra,
        )
        for i in range(items):
            self.ddb.put_item(TableName=name, Item={"pk": {"S": f"i{i}"}, "g": {"S": "x"}})

    def backup(self, table: str, slot: datetime, name: str | None = None) -> str:
        arn: str = self.ddb.create_backup(
            TableName=table, BackupName=name or backup_name("scheduled", table, slot)
        )["BackupDetails"]["BackupArn"]
        return arn

    def drill(self, event: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
        kwargs.setdefault("sleep", no_sleep)
        kwargs.setdefault("clients", Clients(SESSION))
        return drill.run(event or drill_event(), config=DrillConfig.from_env(os.environ), **kwargs)

    def queued(self) -> list[RestoreCheckMessage]:
        found: list[RestoreCheckMessage] = []
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10
            ).get("Messages", [])
            if not messages:
                return found
            for message in messages:
                decoded = decode(message["Body"])
                assert isinstance(decoded, RestoreCheckMessage)
                found.append(decoded)
                self.sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )

    def alerts(self) -> list[str]:
        topic = sns_backends[ACCOUNT][REGION].topics[self.topic_arn]
        return [message for _, message, _, _, _ in topic.sent_notifications]

    def tables(self) -> set[str]:
        return set(dynamodb_backends[ACCOUNT][REGION].tables)


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[DrillWorld]:
    with freeze_time(SLOT + timedelta(minutes=1), tick=True), mock_aws():
        sqs = boto3.client("sqs", region_name=REGION)
        queue_url = sqs.create_queue(
            QueueName="backup-monitor.fifo",
            Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
        )["QueueUrl"]
        topic_arn = boto3.client("sns", region_name=REGION).create_topic(Name="alerts")["TopicArn"]
        monkeypatch.setenv("MONITOR_QUEUE_URL", queue_url)
        monkeypatch.setenv("ALERT_TOPIC_ARN", topic_arn)
        for name in ("DRILL_TABLES", "DRILL_MAX_BACKUP_BYTES", "DRILL_MAX_WAIT_MINUTES"):
            monkeypatch.delenv(name, raising=False)
        yield DrillWorld(
            boto3.client("dynamodb", region_name=REGION), sqs, queue_url, topic_arn, monkeypatch
        )


def emf(captured: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in captured.splitlines() if '"_aws"' in line]


def test_the_newest_own_backup_is_restored_on_demand_and_queued(
    world: DrillWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    world.table("orders", items=4, gsi=True)
    with freeze_time(SLOT - timedelta(days=2), tick=True):
        world.backup("orders", SLOT - timedelta(days=2))
    with freeze_time(SLOT - timedelta(days=1), tick=True):
        newest = world.backup("orders", SLOT - timedelta(days=1))
    with freeze_time(SLOT - timedelta(hours=1), tick=True):  # newer, but not its own
        world.backup("orders", SLOT, name="scheduled-orders-manual")
    world.env(TABLE_NAMES='["orders"]')
    summary = world.drill()
    target = drill_table_name("scheduled", "orders", SLOT)
    assert summary["restores_started"] == [target]
    restored = world.ddb.describe_table(TableName=target)["Table"]
    assert restored["RestoreSummary"]["SourceBackupArn"] == newest
    (message,) = world.queued()
    assert (message.table, message.backup_arn, message.target) == ("orders", newest, target)
    assert message.key_schema == (("pk", "HASH"),)
    assert message.indexes == ()  # moto's DescribeBackup has no SourceTableFeatureDetails
    assert message.item_count == 4
    assert message.phase == "wait"
    assert world.alerts() == []
    (doc,) = emf(capsys.readouterr().out)
    assert doc["RestoreDrillFailed"] == 0


def test_what_the_backup_recorded_is_read_where_aws_reports_it() -> None:
    response = {
        "BackupDescription": {
            "BackupDetails": {"BackupSizeBytes": 2048},
            "SourceTableDetails": {
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "sk", "KeyType": "RANGE"},
                ],
                "ItemCount": 1234,
            },
            "SourceTableFeatureDetails": {
                "GlobalSecondaryIndexes": [{"IndexName": "by-status"}],
                "LocalSecondaryIndexes": [{"IndexName": "by-date"}],
            },
        }
    }
    assert drill.recorded(response) == drill.Recorded(
        size_bytes=2048,
        key_schema=(("pk", "HASH"), ("sk", "RANGE")),
        indexes=("by-date", "by-status"),
        item_count=1234,
    )
    assert drill.recorded({}) == drill.Recorded(None, (), (), 0)


def test_restore_overrides_billing_to_on_demand(world: DrillWorld) -> None:
    world.table("orders")
    world.backup("orders", SLOT - timedelta(days=1))
    world.env(TABLE_NAMES='["orders"]')
    calls: list[dict[str, Any]] = []
    original = world.ddb.restore_table_from_backup

    class Spy:
        def __getattr__(self, name: str) -> Any:
            return getattr(world.ddb, name)

        def restore_table_from_backup(self, **params: Any) -> Any:
            calls.append(params)
            return original(**params)

    world.drill(
        clients=Clients.of(
            dynamodb=Spy(), sqs=world.sqs, sns=boto3.client("sns", region_name=REGION)
        )
    )
    assert calls[0]["BillingModeOverride"] == "PAY_PER_REQUEST"
    assert set(calls[0]) == {"TargetTableName", "BackupArn", "BillingModeOverride"}


def test_no_own_backup_is_an_alerted_failure(
    world: DrillWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    world.table("orders")
    world.backup("orders", SLOT, name="before-migration")
    world.env(TABLE_NAMES='["orders"]')
    summary = world.drill()
    assert summary["failed"] == 1
    (alert,) = world.alerts()
    assert "table: orders" in alert
    assert "no backup to drill" in alert
    assert world.queued() == []
    assert world.tables() == {"orders"}
    (doc,) = emf(capsys.readouterr().out)
    assert doc["RestoreDrillFailed"] == 1


def test_a_backup_larger_than_the_limit_is_not_restored(world: DrillWorld) -> None:
    world.table("orders")
    arn = world.backup("orders", SLOT - timedelta(days=1))
    world.env(TABLE_NAMES='["orders"]', DRILL_MAX_BACKUP_BYTES="100")  # moto reports 123
    assert world.drill()["failed"] == 1
    (alert,) = world.alerts()
    assert "backup too large" in alert
    assert arn in alert
    assert "123 bytes" in alert
    assert world.tables() == {"orders"}
    world.env(DRILL_MAX_BACKUP_BYTES="123")
    assert world.drill()["failed"] == 0


def test_a_refused_restore_is_alerted(world: DrillWorld) -> None:
    world.table("orders")
    arn = world.backup("orders", SLOT - timedelta(days=1))
    world.env(TABLE_NAMES='["orders"]')

    class Refusing:
        def __getattr__(self, name: str) -> Any:
            return getattr(world.ddb, name)

        def restore_table_from_backup(self, **_params: Any) -> Any:
            raise ClientError(
                {"Error": {"Code": "LimitExceededException", "Message": "4 restores running"}},
                "RestoreTableFromBackup",
            )

    sns = boto3.client("sns", region_name=REGION)
    summary = world.drill(clients=Clients.of(dynamodb=Refusing(), sqs=world.sqs, sns=sns))
    assert summary["failed"] == 1
    (alert,) = world.alerts()
    assert "restore failed: LimitExceededException" in alert
    assert arn in alert


def test_a_repeated_delivery_starts_no_second_restore(world: DrillWorld) -> None:
    world.table("orders")
    world.backup("orders", SLOT - timedelta(days=1))
    world.env(TABLE_NAMES='["orders"]')
    world.drill()
    again = world.drill()
    assert again["restores_started"] == []
    assert len(world.queued()) == 1
    assert world.alerts() == []


def test_drill_tables_are_drilled_all_and_the_rotation_one(world: DrillWorld) -> None:
    for name in ("aaa", "bbb", "ccc"):
        world.table(name)
        world.backup(name, SLOT - timedelta(days=1))
    world.env(TABLE_NAMES='["aaa", "bbb", "ccc"]')
    expected = ["aaa", "bbb", "ccc"][(int(SLOT.timestamp()) // WEEK) % 3]
    assert world.drill()["tables"] == [expected]
    world.queued()
    for target in world.tables() - {"aaa", "bbb", "ccc"}:
        world.ddb.delete_table(TableName=target)
    world.env(DRILL_TABLES='["ccc", "aaa"]')
    assert world.drill()["tables"] == ["aaa", "ccc"]
    assert {m.table for m in world.queued()} == {"aaa", "ccc"}


def test_an_empty_selection_is_alerted_and_drills_nothing(world: DrillWorld) -> None:
    summary = world.drill()
    assert summary["tables"] == []
    (alert,) = world.alerts()
    assert "the selection matches no table" in alert


def test_leftover_drill_tables_are_deleted_and_alerted(world: DrillWorld) -> None:
    world.table("orders")
    world.backup("orders", SLOT - timedelta(days=1))
    old = drill_table_name("scheduled", "orders", SLOT - timedelta(days=7))
    recent = drill_table_name("scheduled", "orders", SLOT - timedelta(hours=2))  # in progress
    foreign = drill_table_name("other", "orders", SLOT - timedelta(days=7))
    for name in (old, recent, foreign, "scheduled-drill-notes"):
        world.table(name, items=0)
    world.env(TABLE_NAMES='["orders"]')
    summary = world.drill()
    assert summary["leftovers_deleted"] == [old]
    assert old not in world.tables()
    assert {recent, foreign, "scheduled-drill-notes"} <= world.tables()
    (alert,) = world.alerts()
    assert f"table: {old}" in alert
    assert "left over drill table deleted" in alert


def test_a_leftover_that_cannot_be_deleted_is_alerted(world: DrillWorld) -> None:
    old = drill_table_name("scheduled", "orders", SLOT - timedelta(days=7))
    world.table("orders")
    world.table(old, items=0)
    world.env(TABLE_NAMES='["orders"]', DRILL_TABLES='["orders"]')

    class Stuck:
        def __getattr__(self, name: str) -> Any:
            return getattr(world.ddb, name)

        def delete_table(self, **_params: Any) -> Any:
            raise ClientError(
                {"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "DeleteTable"
            )

    sns = boto3.client("sns", region_name=REGION)
    world.drill(clients=Clients.of(dynamodb=Stuck(), sqs=world.sqs, sns=sns))
    (alert,) = world.alerts()
    assert f"table: {old}" in alert
    assert "clean-up failed" in alert
    assert "no backup to drill" in alert  # orders has none


def test_a_queue_that_refuses_the_check_deletes_the_drill_table(world: DrillWorld) -> None:
    world.table("orders")
    arn = world.backup("orders", SLOT - timedelta(days=1))
    world.env(TABLE_NAMES='["orders"]')

    class NoQueue:
        def send_message_batch(self, **_params: Any) -> Any:
            raise ClientError(
                {"Error": {"Code": "KMS.DisabledException", "Message": "key disabled"}},
                "SendMessageBatch",
            )

    sns = boto3.client("sns", region_name=REGION)
    summary = world.drill(clients=Clients.of(dynamodb=world.ddb, sqs=NoQueue(), sns=sns))
    assert summary["failed"] == 1
    assert world.tables() == {"orders"}
    (alert,) = world.alerts()
    assert "could not be queued" in alert
    assert arn in alert


def test_listing_failures_are_alerted(world: DrillWorld) -> None:
    world.env(DRILL_TABLES='["orders"]')

    class Broken:
        def __getattr__(self, name: str) -> Any:
            def fail(**_params: Any) -> Any:
                raise ClientError(
                    {"Error": {"Code": "AccessDeniedException", "Message": "x"}}, name
                )

            return fail

    sns = boto3.client("sns", region_name=REGION)
    summary = world.drill(clients=Clients.of(dynamodb=Broken(), sqs=world.sqs, sns=sns))
    assert summary["failed"] == 1
    (alert,) = world.alerts()
    assert "could not list the tables" in alert
    assert "no backup to drill: could not list its backups" in alert


def test_the_handler_reads_the_environment(world: DrillWorld) -> None:
    world.table("orders")
    world.backup("orders", SLOT - timedelta(days=1))
    world.env(TABLE_NAMES='["orders"]')
    result = drill.handler(drill_event(), None)
    assert result["restores_started"] == [drill_table_name("scheduled", "orders", SLOT)]
    world.env(DRILL_MAX_WAIT_MINUTES="zero")
    with pytest.raises(ConfigError, match=r"^DRILL_MAX_WAIT_MINUTES: "):
        drill.handler(drill_event(), None)


def test_the_scheduler_does_not_count_own_drill_tables_as_unprotected(
    world: DrillWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    world.table("orders")
    world.table(drill_table_name("scheduled", "orders", SLOT), items=0)
    world.table(drill_table_name("other", "orders", SLOT), items=0)
    world.env(TABLE_NAMES='["orders"]')
    summary = scheduler.run(
        {"time": "2026-11-29T05:00:00Z"},
        config=SchedulerConfig.from_env(os.environ),
        clients=Clients(SESSION),
        sleep=no_sleep,
    )
    assert summary["unprotected"] == 1  # another instance's drill table is not excused
    (doc,) = [d for d in emf(capsys.readouterr().out) if "TablesUnprotected" in d]
    assert doc["TablesUnprotected"] == 1
