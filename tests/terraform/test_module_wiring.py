"""Every arrow of the design, checked on each example evaluated offline with tfparse.

A reference to another resource's ARN or id evaluates to that block's tfparse id, so
"the permission's source is the rule" is ``permission["source_arn"] == rule["id"]``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tools import tfeval

M = "module.dynamodb_backup"
# The project states its interface in its own docs (a clone has nothing beside it).
DESIGN = tfeval.REPO / "docs" / "design.md"


@dataclass(frozen=True)
class Expected:
    """What a user of each example should get (from the example's own inputs)."""

    name: str
    table_names: list[str]
    table_tags: dict[str, str]
    prefix: str
    schedule: str
    rule_name: str
    retention_days: int
    min_keep: int
    max_wait: int
    monitor_timeout: int
    batch_size: int
    max_concurrency: int
    queue_retention: int
    max_receive_count: int
    dead_man_hours: int
    customer_key: bool  # kms_key_arn given (examples/complete)
    existing_topic: bool
    architecture: str = "arm64"
    log_retention: int = 365
    log_level: str = "INFO"
    ok_notifications: bool = False
    emails: list[str] = field(default_factory=list)
    keep: dict[str, int] = field(default_factory=dict)  # tier -> count, unset tiers 0
    overrides: dict[str, dict[str, int]] = field(default_factory=dict)
    timezone: str | None = None  # schedule_timezone: an EventBridge Scheduler schedule
    unprotected_exclude: list[str] = field(default_factory=list)
    alert_unprotected: bool = False
    alarm_unprotected: bool = False
    drill: bool = False  # restore_drill.enabled (examples/complete)


EXAMPLES: dict[str, Expected] = {
    "basic": Expected(
        name="dynamodb-backup",
        table_names=["orders", "customers"],
        table_tags={},
        prefix="dynamodb-backup",  # backup_name_prefix defaults to name
        schedule="rate(1 day)",
        rule_name="dynamodb-backup-schedule",  # schedule_rule_name: <name>-schedule
        retention_days=3,
        min_keep=1,
        max_wait=360,
        monitor_timeout=180,
        batch_size=10,
        max_concurrency=2,
        queue_retention=3660,
        max_receive_count=3,
        dead_man_hours=26,  # 24 h + 2 h margin
        customer_key=False,
        existing_topic=False,
        emails=["platform-team@example.com"],
    ),
    "tag-selection": Expected(
        name="tagged-tables-backup",
        table_names=[],
        table_tags={"backup": "daily", "environment": "prod"},
        prefix="tagged",
        schedule="rate(12 hours)",
        rule_name="TaggedTablesBackupSchedule",
        retention_days=3,
        min_keep=1,
        max_wait=360,
        monitor_timeout=180,
        batch_size=10,
        max_concurrency=2,
        queue_retention=3660,
        max_receive_count=3,
        dead_man_hours=14,  # 12 h + 2 h margin
        customer_key=False,
        existing_topic=False,
        emails=["platform-team@example.com"],
    ),
    # The first of its two instances (module.dynamodb_backup, eu-west-1); the second is
    # checked in test_module_operations.py.
    "multi-region": Expected(
        name="dynamodb-backup-eu-west-1",
        table_names=["orders", "customers"],
        table_tags={},
        prefix="dynamodb-backup-eu-west-1",  # defaults to name
        schedule="rate(1 day)",
        rule_name="dynamodb-backup-eu-west-1-schedule",
        retention_days=3,
        min_keep=1,
        max_wait=360,
        monitor_timeout=180,
        batch_size=10,
        max_concurrency=2,
        queue_retention=3660,
        max_receive_count=3,
        dead_man_hours=26,  # 24 h + 2 h margin
        customer_key=False,
        existing_topic=False,
        emails=["platform-team@example.com"],
    ),
    "complete": Expected(
        name="prod-dynamodb-backup",
        table_names=["orders", "customers", "invoices", "payments.v2"],
        table_tags={},
        prefix="nightly",
        schedule="cron(30 2 * * ? *)",
        rule_name="ProdDynamoDBBackupSchedule",
        retention_days=35,
        min_keep=7,
        max_wait=720,
        monitor_timeout=120,
        batch_size=5,
        max_concurrency=4,
        queue_retention=86400,
        max_receive_count=5,
        dead_man_hours=27,  # alarm_dead_man_window_seconds = 97200
        customer_key=True,
        existing_topic=True,
        architecture="x86_64",
        log_retention=731,
        log_level="DEBUG",
        ok_notifications=True,
        keep={"weekly": 8, "monthly": 12, "yearly": 1},
        overrides={"payments.v2": {"keep_yearly": 7}},
        timezone="Europe/Dublin",
        unprotected_exclude=["tmp-*", "*-scratch"],
        alert_unprotected=True,
        alarm_unprotected=True,
        drill=True,
    ),
}

ALL = sorted(EXAMPLES)
# Examples triggered by the EventBridge rule (no schedule_timezone); the others are
# checked in test_module_operations.py.
RULE = [n for n in ALL if EXAMPLES[n].timezone is None]


def ex(name: str) -> tfeval.Parsed:
    return tfeval.load_example(name)


def res(name: str, address: str) -> tfeval.Block:
    return tfeval.find(ex(name), f"{M}.{address}")


def topic_id(name: str) -> str:
    if EXAMPLES[name].existing_topic:
        topic_id: str = tfeval.find(ex(name), "aws_sns_topic.alerts")["id"]
    else:
        topic_id = res(name, "aws_sns_topic.this[0]")["id"]
    return topic_id


def key_ids(name: str) -> list[str]:
    """Ids of the KMS keys the functions must be able to use."""
    if EXAMPLES[name].customer_key:
        return [tfeval.find(ex(name), "aws_kms_key.backup")["id"]]
    return [res(name, "aws_kms_key.sns[0]")["id"]]


def documented_variables() -> dict[str, set[str]]:
    """Environment variable names per function, read from docs/design.md's table."""
    text = DESIGN.read_text(encoding="utf-8")
    names: dict[str, set[str]] = {"scheduler": set(), "monitor": set(), "drill": set()}
    groups = {"both": ("scheduler", "monitor"), "all": ("scheduler", "monitor", "drill")}
    for cell, functions in re.findall(
        r"^\| (`[A-Z_]+`(?:, `[A-Z_]+`)*) \| "
        r"((?:scheduler|monitor|drill|both|all)(?:, (?:scheduler|monitor|drill))*) \|",
        text,
        re.M,
    ):
        for var in re.findall(r"`([A-Z_]+)`", cell):
            for function in functions.split(", "):
                for f in groups.get(function, (function,)):
                    names[f].add(var)
    return names


# -- schedule -> scheduler --------------------------------------------------------------


@pytest.mark.parametrize("name", RULE)
def test_schedule_rule_invokes_the_scheduler(name: str) -> None:
    e = EXAMPLES[name]
    rule = res(name, "aws_cloudwatch_event_rule.schedule[0]")
    target = res(name, "aws_cloudwatch_event_target.scheduler[0]")
    scheduler = res(name, 'aws_lambda_function.this["scheduler"]')

    assert rule["name"] == e.rule_name
    assert rule["schedule_expression"] == e.schedule
    assert rule["state"] == "ENABLED"
    assert "event_bus_name" not in rule  # the default bus
    assert target["rule"] == rule["name"]
    assert target["arn"] == scheduler["id"]
    assert target["dead_letter_config"]["arn"] == res(name, "aws_sqs_queue.scheduler_dlq")["id"]


@pytest.mark.parametrize("name", RULE)
def test_invoke_permission_is_scoped_to_the_rule(name: str) -> None:
    permission = res(name, "aws_lambda_permission.schedule[0]")
    assert permission["source_arn"] == res(name, "aws_cloudwatch_event_rule.schedule[0]")["id"]
    scheduler = res(name, 'aws_lambda_function.this["scheduler"]')
    assert permission["function_name"] == scheduler["function_name"]
    assert permission["principal"] == "events.amazonaws.com"
    assert permission["action"] == "lambda:InvokeFunction"
    assert len(tfeval.find_all(ex(name), f"{M}.aws_lambda_permission.")) == 1


# -- functions ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL)
def test_functions_run_the_contract_handlers_from_the_package_zip(name: str) -> None:
    e = EXAMPLES[name]
    archive = res(name, "data.archive_file.lambda")
    for function, handler, timeout in (
        ("scheduler", "dynamodb_backup.scheduler.handler", 900),
        ("monitor", "dynamodb_backup.monitor.handler", e.monitor_timeout),
    ):
        f = res(name, f'aws_lambda_function.this["{function}"]')
        assert f["function_name"] == f"{e.name}-{function}"
        assert f["handler"] == handler
        assert f["runtime"] == "python3.13"
        assert f["architectures"] == [e.architecture]
        assert f["timeout"] == timeout
        assert f["role"] == res(name, f'aws_iam_role.this["{function}"]')["id"]
        assert f["filename"] == archive["output_path"]
        assert f["tracing_config"]["mode"] == "PassThrough"


@pytest.mark.parametrize("name", ALL)
def test_zip_holds_exactly_the_package_sources(name: str) -> None:
    package = tfeval.REPO / "lambda"
    on_disk = sorted(
        str(p.relative_to(package))
        for p in (package / "dynamodb_backup").rglob("*.py")
        if "__pycache__" not in p.parts and not p.name.startswith("test_")
    )
    sources = tfeval.as_list(res(name, "data.archive_file.lambda")["source"])
    assert sorted(s["filename"] for s in sources) == on_disk
    assert "dynamodb_backup/scheduler.py" in on_disk
    for s in sources:
        assert s["content"] == (package / s["filename"]).read_text(encoding="utf-8")


LAMBDA_LEVELS = {
    "DEBUG": "DEBUG",
    "INFO": "INFO",
    "WARNING": "WARN",
    "ERROR": "ERROR",
    "CRITICAL": "FATAL",
}


def test_every_log_level_maps_to_lambdas_level_name(tmp_path: Path) -> None:
    parsed = tfeval.evaluate_module(
        tfeval.REPO,
        {level.lower(): {"table_names": ["orders"], "log_level": level} for level in LAMBDA_LEVELS},
        tmp_path,
    )
    for level, lambda_level in LAMBDA_LEVELS.items():
        for function in ("scheduler", "monitor"):
            f = tfeval.find(
                parsed, f'module.{level.lower()}.aws_lambda_function.this["{function}"]'
            )
            assert f["logging_config"]["application_log_level"] == lambda_level
            assert f["environment"]["variables"]["LOG_LEVEL"] == level


@pytest.mark.parametrize("name", ALL)
def test_each_function_logs_json_to_its_own_log_group(name: str) -> None:
    e = EXAMPLES[name]
    for function in ("scheduler", "monitor"):
        f = res(name, f'aws_lambda_function.this["{function}"]')
        group = res(name, f'aws_cloudwatch_log_group.this["{function}"]')
        assert group["name"] == f"/aws/lambda/{f['function_name']}"
        assert group["retention_in_days"] == e.log_retention
        assert f["logging_config"]["log_group"] == group["name"]
        assert f["logging_config"]["log_format"] == "JSON"
        # Lambda filters JSON logs itself: the filter follows log_level in Lambda's names.
        assert f["logging_config"]["application_log_level"] == LAMBDA_LEVELS[e.log_level]
        assert f["logging_config"]["system_log_level"] == "WARN"
        if e.customer_key:
            assert group["kms_key_id"] == key_ids(name)[0]


@pytest.mark.parametrize("name", ALL)
def test_environment_carries_the_contract_names_and_points_at_queue_and_topic(
    name: str,
) -> None:
    e = EXAMPLES[name]
    wanted = documented_variables()
    assert "TABLE_NAMES" in wanted["scheduler"]
    assert "RETENTION_DAYS" in wanted["monitor"]
    queue = res(name, "aws_sqs_queue.monitor")["id"]
    scheduler = res(name, 'aws_lambda_function.this["scheduler"]')["environment"]["variables"]
    monitor = res(name, 'aws_lambda_function.this["monitor"]')["environment"]["variables"]

    # Each function gets exactly the variables docs/design.md lists (short lists: TABLE_NAMES).
    assert set(scheduler) == wanted["scheduler"] - {"TABLE_NAMES_FILE"}
    # DRILL_MAX_WAIT_MINUTES only with the drill (test_module_drill.py).
    drill_only = set() if e.drill else {"DRILL_MAX_WAIT_MINUTES"}
    assert set(monitor) == wanted["monitor"] - {"RETENTION_OVERRIDES_FILE"} - drill_only
    for env in (scheduler, monitor):
        assert env["MONITOR_QUEUE_URL"] == queue  # the queue's id is its URL
        assert env["ALERT_TOPIC_ARN"] == topic_id(name)
        assert env["BACKUP_NAME_PREFIX"] == e.prefix
        assert env["LOG_LEVEL"] == e.log_level
        assert env["METRICS_NAMESPACE"] == "DynamoDBBackup"
    assert json.loads(scheduler["TABLE_NAMES"]) == e.table_names
    assert json.loads(scheduler["TABLE_TAGS"]) == e.table_tags
    assert monitor["RETENTION_DAYS"] == str(e.retention_days)
    assert monitor["MIN_BACKUPS_TO_KEEP"] == str(e.min_keep)
    for tier in ("daily", "weekly", "monthly", "yearly"):
        assert monitor[f"KEEP_{tier.upper()}"] == str(e.keep.get(tier, 0))
    # only the keys the user set: the handler falls back for the others
    assert json.loads(monitor["RETENTION_OVERRIDES"]) == e.overrides
    assert monitor["MAX_WAIT_MINUTES"] == str(e.max_wait)
    assert json.loads(scheduler["UNPROTECTED_TABLES_EXCLUDE"]) == e.unprotected_exclude
    assert scheduler["ALERT_UNPROTECTED_TABLES"] == ("true" if e.alert_unprotected else "false")


# -- queue -> monitor -------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL)
def test_monitoring_queue_attributes(name: str) -> None:
    e = EXAMPLES[name]
    q = res(name, "aws_sqs_queue.monitor")
    assert q["name"] == f"{e.name}-monitor.fifo"
    assert q["fifo_queue"] is True
    assert q["content_based_deduplication"] is True
    assert q["deduplication_scope"] == "messageGroup"
    assert q["fifo_throughput_limit"] == "perMessageGroupId"
    assert q["delay_seconds"] == 300
    assert q["message_retention_seconds"] == e.queue_retention
    assert q["visibility_timeout_seconds"] >= 6 * e.monitor_timeout
    # A failing message reaches the dead-letter queue before it could expire.
    assert (
        q["delay_seconds"] + e.max_receive_count * q["visibility_timeout_seconds"]
        < q["message_retention_seconds"]
    )


@pytest.mark.parametrize("name", ALL)
def test_queues_are_encrypted(name: str) -> None:
    for queue in ("monitor", "monitor_dlq", "scheduler_dlq"):
        q = res(name, f"aws_sqs_queue.{queue}")
        if EXAMPLES[name].customer_key:
            assert q["kms_master_key_id"] == key_ids(name)[0]
            assert q["sqs_managed_sse_enabled"] is None
        else:
            assert q["sqs_managed_sse_enabled"] is True


@pytest.mark.parametrize("name", ALL)
def test_failed_messages_are_redriven_to_a_fifo_dead_letter_queue(name: str) -> None:
    e = EXAMPLES[name]
    q = res(name, "aws_sqs_queue.monitor")
    dlq = res(name, "aws_sqs_queue.monitor_dlq")
    redrive = json.loads(q["redrive_policy"])
    assert redrive == {"deadLetterTargetArn": dlq["id"], "maxReceiveCount": e.max_receive_count}
    assert dlq["fifo_queue"] is True
    assert dlq["name"] == f"{e.name}-monitor-dlq.fifo"
    assert dlq["message_retention_seconds"] >= 4 * 86400  # days to inspect it


@pytest.mark.parametrize("name", ALL)
def test_event_source_mapping_feeds_the_monitor_with_partial_batch_responses(name: str) -> None:
    e = EXAMPLES[name]
    esm = res(name, "aws_lambda_event_source_mapping.monitor")
    assert esm["event_source_arn"] == res(name, "aws_sqs_queue.monitor")["id"]
    assert esm["function_name"] == res(name, 'aws_lambda_function.this["monitor"]')["id"]
    assert esm["function_response_types"] == ["ReportBatchItemFailures"]
    assert esm["batch_size"] == e.batch_size
    assert 1 <= esm["batch_size"] <= 10
    assert esm["scaling_config"]["maximum_concurrency"] == e.max_concurrency


# -- scheduler's own failures -----------------------------------------------------------


@pytest.mark.parametrize("name", ALL)
def test_failed_scheduler_invocations_are_kept_and_alarmed(name: str) -> None:
    scheduler = res(name, 'aws_lambda_function.this["scheduler"]')
    dlq = res(name, "aws_sqs_queue.scheduler_dlq")
    invoke = res(name, "aws_lambda_function_event_invoke_config.scheduler")
    assert scheduler["dead_letter_config"]["target_arn"] == dlq["id"]
    assert invoke["function_name"] == scheduler["function_name"]
    assert invoke["maximum_retry_attempts"] == 2
    assert dlq["message_retention_seconds"] == 1209600
    alarm = res(name, 'aws_cloudwatch_metric_alarm.dlq_not_empty["scheduler"]')
    assert alarm["dimensions"] == {"QueueName": dlq["name"]}
    if EXAMPLES[name].timezone is not None:
        # EventBridge Scheduler delivers with the schedule's role: no queue policy.
        # (The restore drill's rule has its own queue, policy and all: test_module_drill.py.)
        assert tfeval.find_all(ex(name), f"{M}.aws_sqs_queue_policy.scheduler_dlq") == []
        return
    # EventBridge may deliver undeliverable events there, and only for this rule.
    policy = json.loads(res(name, "aws_sqs_queue_policy.scheduler_dlq[0]")["policy"])
    (statement,) = policy["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Resource"] == dlq["id"]
    rule = res(name, "aws_cloudwatch_event_rule.schedule[0]")["id"]
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": rule}}


# -- alarms -> topic --------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL)
def test_every_alarm_publishes_to_the_topic(name: str) -> None:
    alarms = tfeval.find_all(ex(name), f"{M}.aws_cloudwatch_metric_alarm.")
    assert {tfeval.block_path(a).split("aws_cloudwatch_metric_alarm.")[1] for a in alarms} == {
        "backups_failed[0]",
        'dlq_not_empty["monitor"]',
        'dlq_not_empty["scheduler"]',
        'function_errors["monitor"]',
        'function_errors["scheduler"]',
        "no_backup_succeeded[0]",
    } | ({"tables_unprotected[0]"} if EXAMPLES[name].alarm_unprotected else set()) | (
        {
            'dlq_not_empty["drill"]',
            'function_errors["drill"]',
            "restore_drill_failed[0]",
            "no_restore_drill_succeeded[0]",  # rate(3 days): two periods fit in 7 days
        }
        if EXAMPLES[name].drill
        else set()
    )
    for alarm in alarms:
        assert alarm["alarm_actions"] == [topic_id(name)]
        assert alarm["ok_actions"] == ([topic_id(name)] if EXAMPLES[name].ok_notifications else [])


@pytest.mark.parametrize("name", ALL)
def test_alarm_metrics(name: str) -> None:
    e = EXAMPLES[name]
    for function in ("scheduler", "monitor"):
        a = res(name, f'aws_cloudwatch_metric_alarm.function_errors["{function}"]')
        fn = res(name, f'aws_lambda_function.this["{function}"]')["function_name"]
        assert (a["namespace"], a["metric_name"], a["dimensions"]) == (
            "AWS/Lambda",
            "Errors",
            {"FunctionName": fn},
        )
        assert (a["comparison_operator"], a["threshold"]) == ("GreaterThanThreshold", 0)

    failed = res(name, "aws_cloudwatch_metric_alarm.backups_failed[0]")
    assert (failed["namespace"], failed["metric_name"]) == ("DynamoDBBackup", "BackupsFailed")
    assert failed["dimensions"] == {"BackupNamePrefix": e.prefix}
    assert (failed["statistic"], failed["comparison_operator"], failed["threshold"]) == (
        "Sum",
        "GreaterThanThreshold",
        0,
    )

    dlq = res(name, 'aws_cloudwatch_metric_alarm.dlq_not_empty["monitor"]')
    assert dlq["namespace"] == "AWS/SQS"
    assert dlq["metric_name"] == "ApproximateNumberOfMessagesVisible"
    assert dlq["dimensions"] == {"QueueName": res(name, "aws_sqs_queue.monitor_dlq")["name"]}


@pytest.mark.parametrize("name", ALL)
def test_dead_man_alarm_fires_when_no_backup_succeeded_within_the_period(name: str) -> None:
    """treat_missing_data = "missing": "If all data points in the alarm evaluation range are
    missing, the alarm transitions to INSUFFICIENT_DATA" (CloudWatch User Guide)."""
    e = EXAMPLES[name]
    a = res(name, "aws_cloudwatch_metric_alarm.no_backup_succeeded[0]")
    assert (a["namespace"], a["metric_name"]) == ("DynamoDBBackup", "BackupsSucceeded")
    assert a["dimensions"] == {"BackupNamePrefix": e.prefix}
    # A fresh deploy stays in INSUFFICIENT_DATA (no state change, no action); a window
    # without any success takes the alarm from OK to INSUFFICIENT_DATA, which notifies.
    assert a["treat_missing_data"] == "missing"
    assert a["insufficient_data_actions"] == [topic_id(name)]
    assert a["alarm_actions"] == [topic_id(name)]
    assert (a["statistic"], a["comparison_operator"], a["threshold"]) == (
        "Sum",
        "LessThanThreshold",
        1,
    )
    assert a["period"] == 3600
    assert a["evaluation_periods"] == a["datapoints_to_alarm"] == e.dead_man_hours
    assert a["period"] * a["evaluation_periods"] <= 7 * 86400  # CloudWatch's limit


@pytest.mark.parametrize("name", ALL)
def test_unprotected_tables_alarm_watches_this_instances_coverage_metric(name: str) -> None:
    e = EXAMPLES[name]
    found = tfeval.find_all(ex(name), f"{M}.aws_cloudwatch_metric_alarm.tables_unprotected")
    if not e.alarm_unprotected:
        assert found == []  # off by default
        return
    (a,) = found
    assert a["alarm_name"] == f"{e.name}-tables-unprotected"
    assert (a["namespace"], a["metric_name"]) == ("DynamoDBBackup", "TablesUnprotected")
    assert a["dimensions"] == {"BackupNamePrefix": e.prefix}
    assert (a["statistic"], a["comparison_operator"], a["threshold"]) == (
        "Maximum",
        "GreaterThanThreshold",
        0,
    )
    assert a["treat_missing_data"] == "ignore"  # the latest run's count holds between runs


def test_coverage_alarm_follows_create_alarms(tmp_path: Path) -> None:
    parsed = tfeval.evaluate_module(
        tfeval.REPO,
        {
            "on": {"table_names": ["orders"], "alarm_unprotected_tables_enabled": True},
            "off": {
                "table_names": ["orders"],
                "alarm_unprotected_tables_enabled": True,
                "create_alarms": False,
            },
            "default": {"table_names": ["orders"]},
        },
        tmp_path,
    )
    assert tfeval.find_all(parsed, "module.on.aws_cloudwatch_metric_alarm.tables_unprotected")
    for instance in ("off", "default"):
        assert not tfeval.find_all(
            parsed, f"module.{instance}.aws_cloudwatch_metric_alarm.tables_unprotected"
        )
    env = tfeval.find(parsed, 'module.default.aws_lambda_function.this["scheduler"]')["environment"]
    assert env["variables"]["UNPROTECTED_TABLES_EXCLUDE"] == "[]"
    assert env["variables"]["ALERT_UNPROTECTED_TABLES"] == "false"


# -- topic ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL)
def test_alert_topic_is_encrypted_and_subscribed(name: str) -> None:
    e = EXAMPLES[name]
    topics = tfeval.find_all(ex(name), f"{M}.aws_sns_topic.this")
    subscriptions = tfeval.find_all(ex(name), f"{M}.aws_sns_topic_subscription.email")
    assert sorted(s["endpoint"] for s in subscriptions) == sorted(e.emails)
    for s in subscriptions:
        assert (s["protocol"], s["topic_arn"]) == ("email", topic_id(name))
    if e.existing_topic:
        assert topics == []
        assert tfeval.find_all(ex(name), f"{M}.aws_kms_key.") == []
        return
    (topic,) = topics
    assert topic["name"] == f"{e.name}-alerts"
    key = res(name, "aws_kms_key.sns[0]")
    assert topic["kms_master_key_id"] == key["id"]
    assert key["enable_key_rotation"] is True
    # The key policy's statements name the account (a data source, unknown offline);
    # that CloudWatch may use the key is checked on the source in test_module_sources.
    assert json.loads(key["policy"])["Version"] == "2012-10-17"


@pytest.mark.parametrize("name", ALL)
def test_tags_are_merged_with_per_resource_tags(name: str) -> None:
    common = tfeval.find(ex(name), M)["tags"]
    extra = {
        "aws_lambda_function.": "lambda_function_tags",
        "aws_sqs_queue.": "queue_tags",
        "aws_cloudwatch_metric_alarm.": "alarm_tags",
        "aws_iam_role.": "iam_role_tags",
        "aws_cloudwatch_log_group.": "cloudwatch_log_group_tags",
    }
    for prefix, variable in extra.items():
        wanted = {**common, **(tfeval.find(ex(name), M).get(variable) or {})}
        found = tfeval.find_all(ex(name), f"{M}.{prefix}")
        assert found
        for block in found:
            assert block["tags"] == wanted, tfeval.block_path(block)
    if name == "complete":
        f = res(name, 'aws_lambda_function.this["monitor"]')
        assert f["tags"]["Component"] == "backup-functions"
        assert f["tags"]["Environment"] == "prod"


KEY = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def test_topic_key_choice_depends_on_booleans_only(tmp_path: Path) -> None:
    """Own key by default; kms_key_arn with create_sns_kms_key = false; never on a null test."""
    parsed = tfeval.evaluate_module(
        tfeval.REPO,
        {
            "own_key": {"table_names": ["orders"], "kms_key_arn": KEY},
            "customer_key": {
                "table_names": ["orders"],
                "kms_key_arn": KEY,
                "create_sns_kms_key": False,
            },
            "aws_managed": {"table_names": ["orders"], "create_sns_kms_key": False},
        },
        tmp_path,
    )
    own = tfeval.find(parsed, "module.own_key.aws_kms_key.sns[0]")
    topic = tfeval.find(parsed, "module.own_key.aws_sns_topic.this[0]")
    assert topic["kms_master_key_id"] == own["id"]
    policy = tfeval.find(parsed, "module.own_key.module.iam_policies")
    assert policy["kms_key_arns"] == [KEY, own["id"]]

    assert tfeval.find_all(parsed, "module.customer_key.aws_kms_key.") == []
    topic = tfeval.find(parsed, "module.customer_key.aws_sns_topic.this[0]")
    assert topic["kms_master_key_id"] == KEY

    assert tfeval.find_all(parsed, "module.aws_managed.aws_kms_key.") == []
    topic = tfeval.find(parsed, "module.aws_managed.aws_sns_topic.this[0]")
    assert topic["kms_master_key_id"] == "alias/aws/sns"
    assert tfeval.find(parsed, "module.aws_managed.module.iam_policies")["kms_key_arns"] == []

    locals_text = (tfeval.REPO / "locals.tf").read_text(encoding="utf-8")
    line = next(x for x in locals_text.splitlines() if x.strip().startswith("create_sns_kms_key"))
    assert "kms_key_arn" not in line


# -- IAM --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL)
def test_iam_policies_module_gets_this_deployments_resources(name: str) -> None:
    e = EXAMPLES[name]
    inputs = res(name, "module.iam_policies")
    assert inputs["table_names"] == e.table_names
    assert inputs["table_tags"] == e.table_tags
    assert inputs["dynamodb_abac_enabled"] is True
    assert inputs["queue_arn"] == res(name, "aws_sqs_queue.monitor")["id"]
    assert inputs["topic_arn"] == topic_id(name)
    assert inputs["kms_key_arns"] == key_ids(name)
    for function in ("scheduler", "monitor"):
        group = res(name, f'aws_cloudwatch_log_group.this["{function}"]')
        assert inputs[f"{function}_log_group_arn"] == group["id"]
    assert (
        inputs["scheduler_failure_destination_arn"]
        == res(name, "aws_sqs_queue.scheduler_dlq")["id"]
    )


@pytest.mark.parametrize("name", ALL)
def test_each_role_has_exactly_its_functions_inline_policy(name: str) -> None:
    assert tfeval.find_all(ex(name), f"{M}.aws_iam_role_policy_attachment") == []
    for function in ("scheduler", "monitor"):
        role = res(name, f'aws_iam_role.this["{function}"]')
        policy = res(name, f'aws_iam_role_policy.this["{function}"]')
        output = res(name, f"module.iam_policies.output.{function}_policy_json")
        assert policy["role"] == role["id"]
        assert policy["policy"] == output["value"]
        trust = json.loads(role["assume_role_policy"])["Statement"]
        assert trust == [
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Principal": {"Service": "lambda.amazonaws.com"},
            }
        ]


PARTITION, REGION, ACCOUNT = "aws", "eu-west-1", "123456789012"
ARN = f"arn:{PARTITION}:dynamodb:{REGION}:{ACCOUNT}"


def statement(
    sid: str, actions: list[str], resources: list[str], condition: Any = None
) -> dict[str, Any]:
    s: dict[str, Any] = {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}
    if condition is not None:
        s["Condition"] = condition
    return s


def expected_policies(inputs: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    """The issue's rules, written out: (scheduler statements, monitor statements)."""
    names: list[str] = inputs["table_names"]
    tags: dict[str, str] = inputs["table_tags"]
    abac: bool = inputs.get("dynamodb_abac_enabled", True)
    keys: list[str] = inputs["kms_key_arns"]
    queue, topic = inputs["queue_arn"], inputs["topic_arn"]
    logs = ["logs:CreateLogStream", "logs:PutLogEvents"]
    backup_actions = ["dynamodb:DescribeBackup", "dynamodb:DeleteBackup"]
    queue_actions = [
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:SendMessage",
    ]
    tag_condition = {"StringEquals": {f"aws:ResourceTag/{k}": v for k, v in tags.items()}}
    kms = [statement("UseEncryptionKeys", ["kms:Decrypt", "kms:GenerateDataKey"], keys)]

    scheduler: list[Any] = []
    monitor: list[Any] = []
    if names:
        table_arns = [f"{ARN}:table/{n}" for n in names]
        backup_arns = [f"{ARN}:table/{n}/backup/*" for n in names]
        scheduler.append(
            statement("CreateBackupOfSelectedTables", ["dynamodb:CreateBackup"], table_arns)
        )
        monitor.append(
            statement("CheckAndDeleteBackupsOfSelectedTables", backup_actions, backup_arns)
        )
    if tags:
        scheduler += [
            statement(
                "CreateBackupOfTaggedTables",
                ["dynamodb:CreateBackup"],
                [f"{ARN}:table/*"],
                tag_condition if abac else None,  # with ABAC off: the region's tables
            ),
            statement("FindTaggedTables", ["tag:GetResources"], ["*"]),
        ]
        monitor.append(
            statement(
                "CheckAndDeleteBackupsOfTaggedTables", backup_actions, [f"{ARN}:table/*/backup/*"]
            )
        )
    scheduler += [
        statement("ListBackups", ["dynamodb:ListBackups"], ["*"]),
        statement("ListTables", ["dynamodb:ListTables"], ["*"]),
        statement("SendToMonitoringQueue", ["sqs:SendMessage"], [queue]),
        statement("PublishAlerts", ["sns:Publish"], [topic]),
        statement("WriteOwnLogs", logs, [inputs["scheduler_log_group_arn"] + ":*"]),
        statement(
            "SendFailedInvocations",
            ["sqs:SendMessage"],
            [inputs["scheduler_failure_destination_arn"]],
        ),
    ]
    monitor += [
        statement("ListBackups", ["dynamodb:ListBackups"], ["*"]),
        statement("UseMonitoringQueue", queue_actions, [queue]),
        statement("PublishAlerts", ["sns:Publish"], [topic]),
        statement("WriteOwnLogs", logs, [inputs["monitor_log_group_arn"] + ":*"]),
    ]
    if keys:
        scheduler += kms
        monitor += kms
    return scheduler, monitor


def iam_inputs(name: str) -> dict[str, Any]:
    """The example's inputs of modules/iam-policies, with a concrete account."""
    block = res(name, "module.iam_policies")
    inputs = {k: v for k, v in block.items() if k not in ("id", "source", "__tfmeta")}
    inputs.update(partition=PARTITION, region=REGION, account_id=ACCOUNT)
    return inputs


def by_sid(statements: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out = {s["Sid"]: s for s in statements}
    assert len(out) == len(statements), "duplicate Sid"
    return out


@pytest.mark.parametrize("name", ALL)
def test_iam_statements_are_exactly_the_issues(name: str, tmp_path: Path) -> None:
    """Evaluate modules/iam-policies with this example's inputs and a concrete account."""
    inputs = iam_inputs(name)
    parsed = tfeval.evaluate_module(tfeval.IAM_POLICIES, {"p": inputs}, tmp_path)
    scheduler = json.loads(tfeval.find(parsed, "module.p.output.scheduler_policy_json")["value"])
    monitor = json.loads(tfeval.find(parsed, "module.p.output.monitor_policy_json")["value"])
    want_scheduler, want_monitor = expected_policies(inputs)

    assert scheduler["Version"] == monitor["Version"] == "2012-10-17"
    assert by_sid(scheduler["Statement"]) == by_sid(want_scheduler)
    # With the restore drill the monitor also waits for, counts and deletes drill tables
    # (their statements: modules/iam-policies' own tests); nothing else changes.
    drill, others = split_drill_statements(monitor["Statement"], inputs)
    assert bool(drill) <= bool(inputs.get("drill_enabled"))
    assert by_sid(others) == by_sid(want_monitor)


def drill_tables_arn(inputs: dict[str, Any]) -> str:
    return f"{ARN}:table/{inputs.get('backup_name_prefix')}-drill-*"


def split_drill_statements(
    statements: list[dict[str, Any]], inputs: dict[str, Any]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(statements only on this instance's drill tables, the rest)."""
    drill = [s for s in statements if s["Resource"] == [drill_tables_arn(inputs)]]
    for s in drill:
        # Table actions only: never a backup's deletion, never another table.
        assert all(a.startswith("dynamodb:") and "Backup" not in a for a in s["Action"]), s
    return drill, [s for s in statements if s not in drill]


@pytest.mark.parametrize("name", ALL)
def test_no_wildcard_beyond_the_ones_the_issue_allows(name: str, tmp_path: Path) -> None:
    inputs = iam_inputs(name)
    parsed = tfeval.evaluate_module(tfeval.IAM_POLICIES, {"p": inputs}, tmp_path)
    for output in ("scheduler_policy_json", "monitor_policy_json"):
        for s in json.loads(tfeval.find(parsed, f"module.p.output.{output}")["value"])["Statement"]:
            assert s["Effect"] == "Allow"
            assert all("*" not in a for a in s["Action"])
            for r in s["Resource"]:
                if r == "*":
                    assert s["Action"] in (
                        ["dynamodb:ListBackups"],
                        ["dynamodb:ListTables"],
                        ["tag:GetResources"],
                    )
                elif r == f"{ARN}:table/*":
                    assert s["Action"] == ["dynamodb:CreateBackup"]
                    if inputs.get("dynamodb_abac_enabled", True):
                        assert "aws:ResourceTag/" in json.dumps(s["Condition"])
                    else:
                        assert "Condition" not in s
                elif r == f"{ARN}:table/*/backup/*":
                    assert inputs["table_tags"], "table/*/backup/* only with tag selection"
                elif r.endswith(":*"):
                    assert s["Sid"] == "WriteOwnLogs"
                elif r == drill_tables_arn(inputs):
                    assert inputs.get("drill_enabled"), "drill tables only with the drill"
                    assert s["Resource"] == [r]
                    assert all("Backup" not in a for a in s["Action"])
                elif "*" in r:
                    assert r.endswith("/backup/*")
                    assert "*" not in r.removesuffix("/backup/*")


def test_tag_selection_without_abac_grants_create_backup_on_the_regions_tables(
    tmp_path: Path,
) -> None:
    """Where DynamoDB ABAC is off, aws:ResourceTag conditions see no tags: the grant then has
    none, and everything else (names, monitor, listing) stays as with ABAC."""
    with_abac = iam_inputs("tag-selection")
    without = {**with_abac, "dynamodb_abac_enabled": False}
    names_too = {**without, "table_names": ["orders"]}
    parsed = tfeval.evaluate_module(
        tfeval.IAM_POLICIES, {"on": with_abac, "off": without, "both": names_too}, tmp_path
    )
    for module, inputs in (("on", with_abac), ("off", without), ("both", names_too)):
        scheduler = json.loads(
            tfeval.find(parsed, f"module.{module}.output.scheduler_policy_json")["value"]
        )
        monitor = json.loads(
            tfeval.find(parsed, f"module.{module}.output.monitor_policy_json")["value"]
        )
        want_scheduler, want_monitor = expected_policies(inputs)
        assert by_sid(scheduler["Statement"]) == by_sid(want_scheduler)
        assert by_sid(monitor["Statement"]) == by_sid(want_monitor)
    off = json.loads(tfeval.find(parsed, "module.off.output.scheduler_policy_json")["value"])
    (tagged,) = [s for s in off["Statement"] if s["Sid"] == "CreateBackupOfTaggedTables"]
    assert tagged == {
        "Sid": "CreateBackupOfTaggedTables",
        "Effect": "Allow",
        "Action": ["dynamodb:CreateBackup"],
        "Resource": [f"{ARN}:table/*"],
    }


def test_root_module_passes_dynamodb_abac_enabled(tmp_path: Path) -> None:
    parsed = tfeval.evaluate_module(
        tfeval.REPO,
        {"off": {"table_tags": {"backup": "daily"}, "dynamodb_abac_enabled": False}},
        tmp_path,
    )
    assert tfeval.find(parsed, "module.off.module.iam_policies")["dynamodb_abac_enabled"] is False


@pytest.mark.parametrize("name", ALL)
def test_first_backup_at_apply_arms_the_dead_man_alarm(name: str) -> None:
    """One scheduler run at create, with a scheduled event at the first apply's time, after
    the monitor can work. (tfparse leaves the event's unknown parts null: the rule ARN, the
    account, the region and the slot are checked on the source below.)"""
    invocation = res(name, "aws_lambda_invocation.first_backup[0]")
    scheduler = res(name, 'aws_lambda_function.this["scheduler"]')
    slot = res(name, "terraform_data.first_backup_slot[0]")
    assert invocation["function_name"] == scheduler["function_name"]
    event = json.loads(invocation["input"])
    assert set(event) == {
        "version",
        "id",
        "detail-type",
        "source",
        "account",
        "time",
        "region",
        "resources",
        "detail",
    }
    assert (event["detail-type"], event["source"], event["version"]) == (
        "Scheduled Event",
        "aws.events",
        "0",
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", slot["input"])
    # A whole for_each resource in depends_on renders as a map of its instances.
    depends = {
        block["id"]
        for d in tfeval.as_list(invocation.get("depends_on"))
        for block in ([d] if "id" in d else d.values())
    }
    # Every function's policy (the drill's too, with restore_drill), and the monitor's queue.
    assert depends == {
        res(name, "aws_lambda_event_source_mapping.monitor")["id"],
        *(p["id"] for p in tfeval.find_all(ex(name), f"{M}.aws_iam_role_policy.this[")),
    }
    assert res(name, 'aws_iam_role_policy.this["scheduler"]')["id"] in depends
    assert res(name, 'aws_iam_role_policy.this["monitor"]')["id"] in depends


def test_first_backup_event_is_a_scheduled_event_at_the_frozen_slot() -> None:
    text = (tfeval.REPO / "main.tf").read_text(encoding="utf-8")
    data = text[text.index('resource "terraform_data" "first_backup_slot"') :]
    data = data[: data.index("\n}\n")]
    assert "input = timestamp()" in data
    assert "ignore_changes = [input]" in data  # later applies never move the slot
    invocation = text[text.index('resource "aws_lambda_invocation" "first_backup"') :]
    invocation = invocation[: invocation.index("\n}\n")]
    for line in (
        "time          = terraform_data.first_backup_slot[0].output",
        "resources     = [local.schedule_trigger_arn]",
        "account       = local.account_id",
        "region        = local.region",
        "detail        = {}",
    ):
        assert line in invocation, line


def test_first_backup_at_apply_can_be_turned_off(tmp_path: Path) -> None:
    parsed = tfeval.evaluate_module(
        tfeval.REPO, {"off": {"table_names": ["orders"], "first_backup_at_apply": False}}, tmp_path
    )
    assert tfeval.find_all(parsed, "module.off.aws_lambda_invocation.") == []
    assert tfeval.find_all(parsed, "module.off.terraform_data.") == []
    alarm = tfeval.find(parsed, "module.off.aws_cloudwatch_metric_alarm.no_backup_succeeded[0]")
    assert alarm["treat_missing_data"] == "missing"
