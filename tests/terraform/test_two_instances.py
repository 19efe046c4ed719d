"""Two instances in one account never interfere (examples/two-schedules, evaluated offline).

Two module blocks that differ in `name` share no resource name, no metric dimension their
alarms watch and no backup name prefix; the same instance in two regions of one account
gets two role names (IAM is global).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tools import tfeval

EXAMPLE = "two-schedules"
INSTANCES = ("daily", "weekly")

# Every argument that names a resource in the account (and region).
NAME_KEYS = ("name", "function_name", "alarm_name")
NAMED_TYPES = (
    "aws_cloudwatch_event_rule",
    "aws_lambda_function",
    "aws_sqs_queue",
    "aws_iam_role",
    "aws_cloudwatch_log_group",
    "aws_cloudwatch_metric_alarm",
    "aws_sns_topic",
)


def parsed() -> tfeval.Parsed:
    return tfeval.load_example(EXAMPLE)


def block(instance: str, address: str) -> tfeval.Block:
    return tfeval.find(parsed(), f"module.{instance}.{address}")


def names(instance: str) -> dict[str, str]:
    """Resource address (within the instance) -> the name it creates in the account."""
    out: dict[str, str] = {}
    for b in tfeval.find_all(parsed(), f"module.{instance}."):
        address = tfeval.block_path(b).removeprefix(f"module.{instance}.")
        if address.split(".")[0] not in NAMED_TYPES:
            continue
        for key in NAME_KEYS:
            if isinstance(b.get(key), str):
                out[address] = b[key]
    return out


def prefix(instance: str) -> str:
    value: str = block(instance, "output.backup_name_prefix")["value"]
    return value


def test_both_instances_back_up_the_same_tables_on_their_own_schedule() -> None:
    expected = {
        "daily": ("rate(1 day)", "7"),
        "weekly": ("cron(0 3 ? * SUN *)", "35"),
    }
    for instance, (schedule, retention) in expected.items():
        rule = block(instance, "aws_cloudwatch_event_rule.schedule[0]")
        assert rule["schedule_expression"] == schedule
        scheduler = block(instance, 'aws_lambda_function.this["scheduler"]')["environment"][
            "variables"
        ]
        monitor = block(instance, 'aws_lambda_function.this["monitor"]')["environment"]["variables"]
        assert scheduler["TABLE_NAMES"] == '["orders","customers"]'
        assert monitor["RETENTION_DAYS"] == retention


def test_the_instances_share_no_resource_name() -> None:
    daily, weekly = names("daily"), names("weekly")
    assert set(daily) == set(weekly)  # the same resources...
    # rule, both functions, three queues, two roles, two log groups, six alarms, topic
    assert len(daily) == 1 + 2 + 3 + 2 + 2 + 6 + 1, sorted(daily)
    assert not set(daily.values()) & set(weekly.values())  # ...under different names
    for instance, found in (("daily", daily), ("weekly", weekly)):
        rule_name = found["aws_cloudwatch_event_rule.schedule[0]"]
        assert rule_name == f"orders-backup-{instance}-schedule"
        assert found["aws_sns_topic.this[0]"] == f"orders-backup-{instance}-alerts"
    # each instance has a key of its own for its topic
    keys = [block(i, "aws_kms_key.sns[0]")["id"] for i in INSTANCES]
    assert len(set(keys)) == 2
    for instance in INSTANCES:
        topic = block(instance, "aws_sns_topic.this[0]")
        assert topic["kms_master_key_id"] == block(instance, "aws_kms_key.sns[0]")["id"]


def test_the_backup_name_prefixes_differ_and_are_the_names() -> None:
    assert prefix("daily") == "orders-backup-daily"
    assert prefix("weekly") == "orders-backup-weekly"
    for instance in INSTANCES:
        for function in ("scheduler", "monitor"):
            env = block(instance, f'aws_lambda_function.this["{function}"]')["environment"][
                "variables"
            ]
            assert env["BACKUP_NAME_PREFIX"] == prefix(instance)
    # Neither prefix followed by "-" starts the other's backup names.
    assert not prefix("weekly").startswith(prefix("daily") + "-")
    assert not prefix("daily").startswith(prefix("weekly") + "-")


def watched(instance: str) -> set[tuple[str, str, tuple[tuple[str, Any], ...]]]:
    """(namespace, metric, dimensions) of every alarm of the instance."""
    out = set()
    for alarm in tfeval.find_all(parsed(), f"module.{instance}.aws_cloudwatch_metric_alarm."):
        dims = tuple(sorted(alarm["dimensions"].items()))
        out.add((alarm["namespace"], alarm["metric_name"], dims))
    return out


def test_no_alarm_watches_a_metric_of_the_other_instance() -> None:
    daily, weekly = watched("daily"), watched("weekly")
    assert len(daily) == len(weekly) == 6
    assert not daily & weekly
    for instance in INSTANCES:
        for name in ("backups_failed[0]", "no_backup_succeeded[0]"):
            alarm = block(instance, f"aws_cloudwatch_metric_alarm.{name}")
            assert alarm["dimensions"] == {"BackupNamePrefix": prefix(instance)}


def test_role_names_carry_the_region(tmp_path: Path) -> None:
    """IAM is global per account: the role names contain the region (offline, tfparse
    stands in the data source's id for it), and stay within IAM's 64 characters."""
    for instance in INSTANCES:
        region = block(instance, "data.aws_region.current")["id"]
        for function in ("scheduler", "monitor"):
            role = block(instance, f'aws_iam_role.this["{function}"]')["name"]
            full = f"orders-backup-{instance}-{function}-{region}"
            assert role == full if len(full) <= 64 else role.startswith(full[:55] + "-")
            assert len(role) <= 64
    long_name = "n" * 40
    many = tfeval.evaluate_module(
        tfeval.REPO, {"long": {"name": long_name, "table_names": ["orders"]}}, tmp_path
    )
    role = tfeval.find(many, 'module.long.aws_iam_role.this["scheduler"]')["name"]
    assert len(role) == 64
    assert role.startswith(f"{long_name}-scheduler-")


def test_defaults_follow_name_and_the_old_names_stay_available(tmp_path: Path) -> None:
    parsed_defaults = tfeval.evaluate_module(
        tfeval.REPO,
        {
            "a": {"name": "team-a", "table_names": ["orders"]},
            "b": {"name": "team-b", "table_names": ["orders"]},
            "old": {
                "table_names": ["orders"],
                "backup_name_prefix": "scheduled",
                "schedule_rule_name": "DynamoDBBackupScheduleRule",
            },
        },
        tmp_path,
    )

    def get(instance: str, address: str) -> tfeval.Block:
        return tfeval.find(parsed_defaults, f"module.{instance}.{address}")

    for instance in ("a", "b"):
        rule = get(instance, "aws_cloudwatch_event_rule.schedule[0]")
        assert rule["name"] == f"team-{instance}-schedule"
        env = get(instance, 'aws_lambda_function.this["monitor"]')["environment"]["variables"]
        assert env["BACKUP_NAME_PREFIX"] == f"team-{instance}"
    old_rule = get("old", "aws_cloudwatch_event_rule.schedule[0]")
    assert old_rule["name"] == "DynamoDBBackupScheduleRule"
    env = get("old", 'aws_lambda_function.this["scheduler"]')["environment"]["variables"]
    assert env["BACKUP_NAME_PREFIX"] == "scheduled"
    alarm = get("old", "aws_cloudwatch_metric_alarm.no_backup_succeeded[0]")
    assert alarm["dimensions"] == {"BackupNamePrefix": "scheduled"}
    assert alarm["alarm_name"] == "dynamodb-backup-no-backup-succeeded"  # name unchanged


@pytest.mark.parametrize("instance", INSTANCES)
def test_the_example_passes_every_check_it_can_evaluate(instance: str) -> None:
    prefix_ = f"module.{instance}."
    inputs = tfeval.find(parsed(), f"module.{instance}")
    unknown = {f"{prefix_}variable.{k}" for k, v in inputs.items() if tfeval.is_placeholder(v)}
    for b in tfeval.find_all(parsed(), prefix_):
        path = tfeval.block_path(b)
        if path in unknown or tfeval.is_placeholder(b.get("value", b.get("default"))):
            continue
        for kind in ("validation", "precondition"):
            for ok, message in tfeval.conditions(b, kind):
                assert ok is True, (path, message)
