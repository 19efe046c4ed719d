"""Configuration: defaults, validation, and errors that name the variable."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from dynamodb_backup.config import ConfigError, MonitorConfig, SchedulerConfig
from dynamodb_backup.policy import Policies, Policy
from dynamodb_backup.tiers import Tiers

QUEUE = "https://sqs.eu-west-1.amazonaws.com/123456789012/backup-monitor.fifo"
TOPIC = "arn:aws:sns:eu-west-1:123456789012:alerts"
BASE = {"MONITOR_QUEUE_URL": QUEUE, "ALERT_TOPIC_ARN": TOPIC}


def test_defaults() -> None:
    scheduler = SchedulerConfig.from_env(BASE)
    monitor = MonitorConfig.from_env(BASE)
    assert scheduler.table_names == ()
    assert scheduler.table_tags == ()
    assert scheduler.common.prefix == "scheduled"
    assert scheduler.common.metrics_namespace == "DynamoDBBackup"
    assert scheduler.common.log_level == logging.INFO
    assert (monitor.retention_days, monitor.min_keep, monitor.max_wait_minutes) == (3, 1, 360)


def test_values_are_read() -> None:
    env = BASE | {
        "TABLE_NAMES": '["orders", "users", "orders"]',
        "TABLE_TAGS": '{"backup": "daily"}',
        "BACKUP_NAME_PREFIX": "nightly",
        "LOG_LEVEL": "debug",
        "METRICS_NAMESPACE": "Team/Backups",
        "RETENTION_DAYS": "14",
        "MIN_BACKUPS_TO_KEEP": "3",
        "MAX_WAIT_MINUTES": "60",
    }
    scheduler = SchedulerConfig.from_env(env)
    monitor = MonitorConfig.from_env(env)
    assert scheduler.table_names == ("orders", "users")
    assert scheduler.table_tags == (("backup", "daily"),)
    assert scheduler.common.prefix == "nightly"
    assert scheduler.common.log_level == logging.DEBUG
    assert scheduler.common.metrics_namespace == "Team/Backups"
    assert (monitor.retention_days, monitor.min_keep, monitor.max_wait_minutes) == (14, 3, 60)


def test_empty_selection_is_not_an_error() -> None:
    config = SchedulerConfig.from_env(BASE | {"TABLE_NAMES": "[]", "TABLE_TAGS": "{}"})
    assert config.table_names == ()
    assert config.table_tags == ()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("MONITOR_QUEUE_URL", None),
        ("MONITOR_QUEUE_URL", "https://sqs.eu-west-1.amazonaws.com/1/standard-queue"),
        ("ALERT_TOPIC_ARN", None),
        ("ALERT_TOPIC_ARN", "arn:aws:sqs:eu-west-1:1:not-a-topic"),
        ("TABLE_NAMES", "orders"),
        ("TABLE_NAMES", '{"orders": 1}'),
        ("TABLE_NAMES", '["ok-table", "x"]'),
        ("TABLE_NAMES", '["has space"]'),
        ("TABLE_TAGS", "backup=daily"),
        ("TABLE_TAGS", '["backup"]'),
        ("TABLE_TAGS", '{"backup": 1}'),
        ("TABLE_TAGS", '{"": "x"}'),
        ("BACKUP_NAME_PREFIX", "-leading-dash"),
        ("BACKUP_NAME_PREFIX", "has/slash"),
        ("BACKUP_NAME_PREFIX", "p" * 65),
        ("LOG_LEVEL", "LOUD"),
        ("METRICS_NAMESPACE", "AWS/DynamoDB"),
    ],
)
def test_scheduler_errors_name_the_variable(variable: str, value: str | None) -> None:
    env = dict(BASE)
    if value is None:
        env.pop(variable)
    else:
        env[variable] = value
    with pytest.raises(ConfigError, match=rf"^{variable}: ") as raised:
        SchedulerConfig.from_env(env)
    assert raised.value.variable == variable


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("RETENTION_DAYS", "three"),
        ("RETENTION_DAYS", "-1"),
        ("RETENTION_DAYS", "1.5"),
        ("MIN_BACKUPS_TO_KEEP", "0"),
        ("MAX_WAIT_MINUTES", "0"),
        ("MAX_WAIT_MINUTES", "soon"),
    ],
)
def test_monitor_errors_name_the_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError, match=rf"^{variable}: "):
        MonitorConfig.from_env(BASE | {variable: value})


def test_retention_days_zero_is_refused_as_the_module_refuses_it() -> None:
    with pytest.raises(ConfigError, match=r"^RETENTION_DAYS: must be between 1 and 36500, got 0$"):
        MonitorConfig.from_env(BASE | {"RETENTION_DAYS": "0"})
    with pytest.raises(ConfigError, match=r"whole number from 1 to 36500, got 'a week'"):
        MonitorConfig.from_env(BASE | {"RETENTION_DAYS": "a week"})
    assert MonitorConfig.from_env(BASE | {"RETENTION_DAYS": "1"}).retention_days == 1


def test_table_names_file_is_merged_and_relative_to_the_package_root(tmp_path: Path) -> None:
    (tmp_path / "dynamodb_backup_tables.json").write_text(json.dumps(["big-1", "big-2"]))
    env = BASE | {"TABLE_NAMES": '["small"]', "TABLE_NAMES_FILE": "dynamodb_backup_tables.json"}
    config = SchedulerConfig.from_env(env, package_root=tmp_path)
    assert config.table_names == ("big-1", "big-2", "small")


def test_table_names_file_absolute_path(tmp_path: Path) -> None:
    path = tmp_path / "tables.json"
    path.write_text('["abs-table"]')
    config = SchedulerConfig.from_env(BASE | {"TABLE_NAMES_FILE": str(path)})
    assert config.table_names == ("abs-table",)


@pytest.mark.parametrize("content", [None, "not json", '{"a": 1}', '["ok", 5]'])
def test_table_names_file_errors_name_the_variable(tmp_path: Path, content: str | None) -> None:
    if content is not None:
        (tmp_path / "t.json").write_text(content)
    with pytest.raises(ConfigError, match=r"^TABLE_NAMES_FILE: "):
        SchedulerConfig.from_env(BASE | {"TABLE_NAMES_FILE": "t.json"}, package_root=tmp_path)


def test_local_endpoint_queue_urls_are_accepted() -> None:
    url = "http://localhost:5000/123456789012/backup-monitor.fifo"
    assert SchedulerConfig.from_env(BASE | {"MONITOR_QUEUE_URL": url}).common.queue_url == url


# -- tiered retention and per-table overrides ------------------------------------------------


def test_tiers_and_overrides_are_read_with_module_wide_fallbacks(tmp_path: Path) -> None:
    overrides_file = tmp_path / "overrides.json"
    overrides_file.write_text(json.dumps({"audit-log": {"retention_days": 90}}), encoding="utf-8")
    config = MonitorConfig.from_env(
        {
            **BASE,
            "RETENTION_DAYS": "7",
            "KEEP_WEEKLY": "4",
            "KEEP_MONTHLY": "12",
            "RETENTION_OVERRIDES": json.dumps({"orders": {"keep_yearly": 3}}),
            "RETENTION_OVERRIDES_FILE": str(overrides_file),
        }
    )
    policies = config.policies
    assert policies.default == Policy(7, 1, Tiers(weekly=4, monthly=12))
    assert policies.for_table("orders") == Policy(7, 1, Tiers(weekly=4, monthly=12, yearly=3))
    assert policies.for_table("audit-log") == Policy(90, 1, Tiers(weekly=4, monthly=12))
    assert policies.for_table("customers") == policies.default
    assert (config.retention_days, config.min_keep) == (7, 1)


def test_defaults_keep_no_tiers() -> None:
    assert MonitorConfig.from_env(BASE).policies == Policies(Policy(3, 1, Tiers()))


@pytest.mark.parametrize(
    ("env", "variable", "words"),
    [
        ({"KEEP_DAILY": "-1"}, "KEEP_DAILY", "between 0 and 10000"),
        ({"KEEP_MONTHLY": "twelve"}, "KEEP_MONTHLY", "whole number"),
        ({"RETENTION_OVERRIDES": "[1]"}, "RETENTION_OVERRIDES", '{"orders": {"keep_monthly": 12}}'),
        (
            {"RETENTION_OVERRIDES": '{"orders": {"keep_hourly": 1}}'},
            "RETENTION_OVERRIDES",
            "keep_hourly",
        ),
        (
            {"RETENTION_OVERRIDES_FILE": "/nonexistent/overrides.json"},
            "RETENTION_OVERRIDES_FILE",
            "cannot read",
        ),
    ],
)
def test_bad_retention_settings_name_the_variable(
    env: dict[str, str], variable: str, words: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        MonitorConfig.from_env({**BASE, **env})
    assert caught.value.variable == variable
    assert str(caught.value).startswith(f"{variable}: ")
    assert words in str(caught.value)


def test_coverage_defaults_and_values() -> None:
    default = SchedulerConfig.from_env(BASE)
    assert (default.unprotected_exclude, default.alert_unprotected) == ((), False)
    config = SchedulerConfig.from_env(
        BASE
        | {"UNPROTECTED_TABLES_EXCLUDE": '["tmp-*", "dev-?"]', "ALERT_UNPROTECTED_TABLES": "true"}
    )
    assert config.unprotected_exclude == ("tmp-*", "dev-?")
    assert config.alert_unprotected is True
    off = SchedulerConfig.from_env(BASE | {"ALERT_UNPROTECTED_TABLES": "false"})
    assert off.alert_unprotected is False


@pytest.mark.parametrize(
    ("variable", "value", "working"),
    [
        ("UNPROTECTED_TABLES_EXCLUDE", "tmp-*", '["tmp-*", "*-scratch"]'),
        ("UNPROTECTED_TABLES_EXCLUDE", '{"tmp": "*"}', '["tmp-*", "*-scratch"]'),
        ("UNPROTECTED_TABLES_EXCLUDE", '["tmp-*", ""]', "non-empty string"),
        ("UNPROTECTED_TABLES_EXCLUDE", '["tmp-*", 3]', "non-empty string"),
        ("ALERT_UNPROTECTED_TABLES", "yes", "'false'"),
        ("ALERT_UNPROTECTED_TABLES", "True", "'false'"),
        ("ALERT_UNPROTECTED_TABLES", "1", "'false'"),
    ],
)
def test_coverage_errors_name_the_variable_and_a_working_value(
    variable: str, value: str, working: str
) -> None:
    with pytest.raises(ConfigError) as info:
        SchedulerConfig.from_env(BASE | {variable: value})
    assert str(info.value).startswith(f"{variable}: ")
    assert working in str(info.value)
    assert info.value.variable == variable
