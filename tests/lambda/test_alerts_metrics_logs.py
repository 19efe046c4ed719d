"""Alert bodies, EMF lines and key/value logs."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import Stubber

from dynamodb_backup import alerts, logs, metrics
from dynamodb_backup.alerts import AlertPublishError, format_alerts, format_unprotected, publish
from dynamodb_backup.coverage import unprotected
from dynamodb_backup.model import Failure

SLOT = "2026-11-28T04:00:00Z"
ARN = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/backup/01766-abc"
TOPIC = "arn:aws:sns:eu-west-1:123456789012:alerts"


def test_alert_body_names_table_arn_and_reason() -> None:
    [alert] = format_alerts(
        SLOT,
        "scheduled",
        [
            Failure("orders", ARN, "backup status DELETED while waiting for AVAILABLE"),
            Failure("ghost", None, "could not start backup: TableNotFoundException: not found"),
        ],
    )
    assert alert.subject == "DynamoDB backup: 2 failure(s) in run 2026-11-28T04:00:00Z"
    assert alert.body == (
        'DynamoDB backup run 2026-11-28T04:00:00Z (prefix "scheduled"): 2 failure(s)\n'
        "\n"
        "- table: orders\n"
        f"  backup: {ARN}\n"
        "  reason: backup status DELETED while waiting for AVAILABLE\n"
        "\n"
        "- table: ghost\n"
        "  backup: -\n"
        "  reason: could not start backup: TableNotFoundException: not found\n"
    )


def test_no_failures_no_alert() -> None:
    assert format_alerts(SLOT, "scheduled", []) == []


def test_large_alerts_are_split_and_keep_every_failure() -> None:
    failures = [Failure(f"table-{i:05d}", f"{ARN}-{i}", "backup not found") for i in range(3000)]
    parts = format_alerts(SLOT, "scheduled", failures)
    assert len(parts) > 1
    assert all(len(p.body.encode()) <= alerts.MAX_BODY_BYTES for p in parts)
    joined = "".join(p.body for p in parts)
    assert all(f"table: table-{i:05d}\n" in joined for i in range(3000))
    assert parts[0].body.splitlines()[0].endswith(f"(part 1 of {len(parts)})")


def test_subject_is_short_ascii_and_reasons_are_one_line() -> None:
    [alert] = format_alerts(
        "ré\nrun" * 30, "p", [Failure("t", None, "line1\nline2  " + "x" * 5000)]
    )
    assert len(alert.subject) <= 100
    assert alert.subject.isascii()
    assert "\n" not in alert.subject
    reason_line = next(line for line in alert.body.splitlines() if "reason:" in line)
    assert "line1 line2" in reason_line
    assert len(reason_line) < 2100


def test_publish_sends_each_part_to_the_topic() -> None:
    sns = boto3.client("sns", region_name="eu-west-1")
    with Stubber(sns) as stub:
        stub.add_response(
            "publish",
            {"MessageId": "1"},
            {
                "TopicArn": TOPIC,
                "Subject": "DynamoDB backup: 1 failure(s) in run 2026-11-28T04:00:00Z",
                "Message": format_alerts(SLOT, "s", [Failure("t", ARN, "r")])[0].body,
            },
        )
        sent = publish(
            sns, TOPIC, SLOT, "s", [Failure("t", ARN, "r")], sleep=lambda _: None, rand=lambda: 0
        )
        stub.assert_no_pending_responses()
    assert sent == 1


def test_publish_failure_is_raised_not_swallowed() -> None:
    sns = boto3.client("sns", region_name="eu-west-1")
    with Stubber(sns) as stub:
        stub.add_client_error("publish", "AuthorizationError", "not allowed")
        with pytest.raises(AlertPublishError, match="AuthorizationError"):
            publish(
                sns,
                TOPIC,
                SLOT,
                "s",
                [Failure("t", ARN, "r")],
                sleep=lambda _: None,
                rand=lambda: 0,
            )


def test_emf_line_is_cloudwatch_embedded_metric_format() -> None:
    line = metrics.emf_line(
        "DynamoDBBackup",
        "scheduled",
        {"BackupsStarted": 3, "BackupsFailed": 0},
        datetime(2026, 11, 28, 4, 0, tzinfo=UTC),
    )
    doc = json.loads(line)
    assert doc == {
        "_aws": {
            "Timestamp": 1795838400000,
            "CloudWatchMetrics": [
                {
                    "Namespace": "DynamoDBBackup",
                    "Dimensions": [["BackupNamePrefix"]],
                    "Metrics": [
                        {"Name": "BackupsStarted", "Unit": "Count"},
                        {"Name": "BackupsFailed", "Unit": "Count"},
                    ],
                }
            ],
        },
        "BackupNamePrefix": "scheduled",
        "BackupsStarted": 3,
        "BackupsFailed": 0,
    }
    assert "\n" not in line


def test_emit_prints_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    metrics.emit('{"a":1}')
    assert capsys.readouterr().out == '{"a":1}\n'


def test_log_event_writes_key_values_and_record_fields(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("dynamodb_backup.test")
    with caplog.at_level(logging.INFO, logger="dynamodb_backup"):
        logs.log_event(logger, logging.INFO, "backup started", table="orders", count=3, name="a b")
        logs.log_event(logger, logging.DEBUG, "not shown", table="x")
    [record] = caplog.records
    assert record.getMessage() == 'backup started table=orders count=3 name="a b"'
    assert record.__dict__["table"] == "orders"
    assert record.__dict__["count"] == 3
    assert record.__dict__["f_name"] == "a b"  # reserved LogRecord attribute renamed


def test_setup_sets_the_level() -> None:
    logs.setup(logging.WARNING)
    assert logging.getLogger("dynamodb_backup").getEffectiveLevel() == logging.WARNING
    logs.setup(logging.INFO)
    assert logging.getLogger("dynamodb_backup").getEffectiveLevel() == logging.INFO


def test_setup_adds_a_handler_only_when_none_is_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])
    logs.setup(logging.INFO)
    assert len(root.handlers) == 1
    installed = root.handlers[0]
    logs.setup(logging.INFO)
    assert root.handlers == [installed]


def test_a_long_coverage_alert_is_split_and_names_every_table_once() -> None:
    tables = [f"table-{i:04d}-" + "x" * 200 for i in range(3000)]
    parts = format_unprotected("2026-11-28T04:00:00Z", "scheduled", tables)
    assert len(parts) > 1
    named = [
        line.removeprefix("- table: ")
        for part in parts
        for line in part.body.splitlines()
        if line.startswith("- table: ")
    ]
    assert named == tables
    for part in parts:
        assert len(part.body.encode()) <= 200_000
        assert len(part.subject) <= 100
        assert part.subject.startswith("DynamoDB backup: 3000 unprotected table(s)")
    assert f"(part 1 of {len(parts)})" in parts[0].body


def test_coverage_unprotected_is_sorted_unique_and_case_sensitive() -> None:
    assert unprotected(["b", "a", "a", "Tmp-1", "tmp-1", "kept"], {"kept"}, ["tmp-*"]) == [
        "Tmp-1",
        "a",
        "b",
    ]
