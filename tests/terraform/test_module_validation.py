"""Inputs a user can get wrong are refused at plan, and good ones are not.

tfparse evaluates every ``validation`` condition and ``precondition`` with the inputs of
each module instance, so one throwaway root module holds all cases below; each case must
fail exactly the check that guards its mistake, and nothing else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tools import tfeval

BASE: dict[str, Any] = {"table_names": ["orders"]}
KEY = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
TOPIC = "arn:aws:sns:eu-west-1:123456789012:platform-alerts"

SCHEDULER = "aws_lambda_function.scheduler"
QUEUE = "aws_sqs_queue.monitor"
DEAD_MAN = "aws_cloudwatch_metric_alarm.no_backup_succeeded[0]"
SCHEDULE = "variable.schedule_expression"
NAMES = "variable.table_names"
TAGS = "variable.table_tags"
EXCLUDE = "variable.unprotected_tables_exclude"
EMAILS = "variable.sns_subscription_emails"

# case id -> (inputs on top of BASE, the block that must refuse them)
BAD: dict[str, tuple[dict[str, Any], str]] = {
    "retention_zero": ({"retention_days": 0}, "variable.retention_days"),
    "retention_fraction": ({"retention_days": 1.5}, "variable.retention_days"),
    "keep_no_backup": ({"min_backups_to_keep": 0}, "variable.min_backups_to_keep"),
    "rate_one_plural": ({"schedule_expression": "rate(1 days)"}, SCHEDULE),
    "rate_many_singular": ({"schedule_expression": "rate(2 day)"}, SCHEDULE),
    "rate_seconds": ({"schedule_expression": "rate(30 seconds)"}, SCHEDULE),
    "schedule_prose": ({"schedule_expression": "every day"}, SCHEDULE),
    "cron_five_fields": ({"schedule_expression": "cron(0 2 * * *)"}, SCHEDULE),
    "cron_seven_fields": ({"schedule_expression": "cron(0 2 * * ? * *)"}, SCHEDULE),
    "cron_out_of_range": ({"schedule_expression": "cron(99 99 * * * *)"}, SCHEDULE),
    "cron_minute_60": ({"schedule_expression": "cron(60 2 * * ? *)"}, SCHEDULE),
    "cron_hour_24": ({"schedule_expression": "cron(0 24 * * ? *)"}, SCHEDULE),
    "cron_day_32": ({"schedule_expression": "cron(0 2 32 * ? *)"}, SCHEDULE),
    "cron_month_13": ({"schedule_expression": "cron(0 2 ? 13 MON *)"}, SCHEDULE),
    "cron_weekday_8": ({"schedule_expression": "cron(0 2 ? * 8 *)"}, SCHEDULE),
    "cron_weekday_name": ({"schedule_expression": "cron(0 2 ? * MONDAY *)"}, SCHEDULE),
    "cron_lowercase_name": ({"schedule_expression": "cron(0 2 ? * mon *)"}, SCHEDULE),
    "cron_year_1969": ({"schedule_expression": "cron(0 2 * * ? 1969)"}, SCHEDULE),
    "cron_both_days_set": ({"schedule_expression": "cron(0 2 1 * MON *)"}, SCHEDULE),
    "cron_no_day_is_question": ({"schedule_expression": "cron(0 2 * * * *)"}, SCHEDULE),
    "cron_both_days_question": ({"schedule_expression": "cron(0 2 ? * ? *)"}, SCHEDULE),
    "cron_question_in_minutes": ({"schedule_expression": "cron(? 2 * * ? *)"}, SCHEDULE),
    "rate_zero": ({"schedule_expression": "rate(0 days)"}, SCHEDULE),
    "rate_leading_zero_one": ({"schedule_expression": "rate(01 day)"}, SCHEDULE),
    "table_name_short": ({"table_names": ["ab"]}, NAMES),
    "table_name_space": ({"table_names": ["my orders"]}, NAMES),
    "table_name_long": ({"table_names": ["t" * 256]}, NAMES),
    "table_names_twice": ({"table_names": ["orders", "orders"]}, NAMES),
    "tag_key_reserved": ({"table_tags": {"aws:cloudformation": "x"}}, TAGS),
    "tags_too_long": ({"table_tags": {f"k{i}": "v" * 200 for i in range(5)}}, TAGS),
    "batch_zero": ({"monitor_batch_size": 0}, "variable.monitor_batch_size"),
    "batch_eleven": ({"monitor_batch_size": 11}, "variable.monitor_batch_size"),
    "kms_alias": ({"kms_key_arn": "alias/backup"}, "variable.kms_key_arn"),
    "kms_not_a_key": ({"kms_key_arn": TOPIC}, "variable.kms_key_arn"),
    "prefix_dash_first": ({"backup_name_prefix": "-nightly"}, "variable.backup_name_prefix"),
    "prefix_slash": ({"backup_name_prefix": "a/b"}, "variable.backup_name_prefix"),
    "prefix_too_long": ({"backup_name_prefix": "p" * 65}, "variable.backup_name_prefix"),
    "name_too_long": ({"name": "n" * 41}, "variable.name"),
    "name_with_dot": ({"name": "my.backup"}, "variable.name"),
    "email_without_at": ({"sns_subscription_emails": ["platform-team"]}, EMAILS),
    "topic_arn_of_a_queue": (
        {"create_sns_topic": False, "sns_topic_arn": "arn:aws:sqs:eu-west-1:123456789012:q"},
        "variable.sns_topic_arn",
    ),
    "runtime_too_old": ({"runtime": "python3.9"}, "variable.runtime"),
    "architecture_unknown": ({"architecture": "arm32"}, "variable.architecture"),
    "log_retention_unsupported": (
        {"cloudwatch_logs_retention_in_days": 2},
        "variable.cloudwatch_logs_retention_in_days",
    ),
    "namespace_of_aws": ({"metrics_namespace": "AWS/Lambda"}, "variable.metrics_namespace"),
    "scheduler_unreserved": (
        {"scheduler_reserved_concurrent_executions": -1},
        "variable.scheduler_reserved_concurrent_executions",
    ),
    "scheduler_two_at_once": (
        {"scheduler_reserved_concurrent_executions": 2},
        "variable.scheduler_reserved_concurrent_executions",
    ),
    "concurrency_one": ({"monitor_maximum_concurrency": 1}, "variable.monitor_maximum_concurrency"),
    "delay_too_long": (
        {"queue_delay_seconds": 901, "queue_max_receive_count": 1},
        "variable.queue_delay_seconds",
    ),
    "scheduler_timeout_too_long": ({"scheduler_timeout": 901}, "variable.scheduler_timeout"),
    "dead_man_window_over_a_week": (
        {"alarm_dead_man_window_seconds": 604801},
        "variable.alarm_dead_man_window_seconds",
    ),
    "keep_weekly_negative": ({"keep_weekly": -1}, "variable.keep_weekly"),
    "keep_monthly_fraction": ({"keep_monthly": 1.5}, "variable.keep_monthly"),
    "override_retention_zero": (
        {"retention_overrides": {"orders": {"retention_days": 0}}},
        "variable.retention_overrides",
    ),
    "override_tier_negative": (
        {"retention_overrides": {"orders": {"keep_yearly": -2}}},
        "variable.retention_overrides",
    ),
    "override_bad_table_name": (
        {"retention_overrides": {"my orders": {"keep_daily": 7}}},
        "variable.retention_overrides",
    ),
    "exclude_empty_pattern": ({"unprotected_tables_exclude": [""]}, EXCLUDE),
    "exclude_space": ({"unprotected_tables_exclude": ["tmp *"]}, EXCLUDE),
    "exclude_too_long": (
        {"unprotected_tables_exclude": [f"p{i}-*" * 20 for i in range(5)]},
        EXCLUDE,
    ),
    # cross-variable rules (Terraform 1.5 validations see one variable): preconditions
    "override_of_an_unselected_table": (
        {"retention_overrides": {"customers": {"keep_monthly": 12}}},
        "aws_lambda_function.monitor",
    ),
    "nothing_selected": ({"table_names": []}, SCHEDULER),
    "no_topic_at_all": ({"create_sns_topic": False}, SCHEDULER),
    "visibility_below_6x_timeout": ({"queue_visibility_timeout_seconds": 600}, QUEUE),
    "messages_would_expire_before_dlq": ({"queue_max_receive_count": 4}, QUEUE),
    "cron_without_dead_man_window": ({"schedule_expression": "cron(0 2 * * ? *)"}, DEAD_MAN),
    "dead_man_window_over_cloudwatch_limit": ({"schedule_expression": "rate(7 days)"}, DEAD_MAN),
}

GOOD: dict[str, dict[str, Any]] = {
    "defaults": {},
    "tags_only": {"table_names": [], "table_tags": {"backup": "daily"}},
    "names_and_tags": {"table_tags": {"team": "payments", "env": ""}},
    "edge_table_names": {"table_names": ["a.b", "A_Z-0.9", "t" * 255]},
    "rate_minutes": {"schedule_expression": "rate(30 minutes)"},
    "rate_one_hour": {"schedule_expression": "rate(1 hour)"},
    "cron_with_window": {
        "schedule_expression": "cron(0 2 ? * MON-FRI *)",
        "alarm_dead_man_window_seconds": 90000,
    },
    "cron_without_dead_man_alarm": {
        "schedule_expression": "cron(0 2 * * ? *)",
        "alarm_dead_man_enabled": False,
    },
    **{
        f"cron_{i}": {"schedule_expression": e, "alarm_dead_man_window_seconds": 90000}
        for i, e in enumerate(
            [
                "cron(0 4 * * ? *)",
                "cron(0/15 * * * ? *)",
                "cron(5,35 8-17 ? * MON-FRI *)",
                "cron(0 2 L * ? *)",
                "cron(0 2 15W * ? *)",
                "cron(0 2 ? * 6L *)",
                "cron(0 2 ? * 2#1 *)",
                "cron(0 2 1 JAN-DEC/3 ? 2026-2199)",
                "cron(59 23 31 12 ? 2199)",
                "cron(0 0 1,15 * ? *)",
            ]
        )
    },
    "rate_many_days": {"schedule_expression": "rate(3 days)", "alarm_dead_man_margin_seconds": 0},
    "customer_key": {"kms_key_arn": KEY},
    "existing_topic": {"create_sns_topic": False, "sns_topic_arn": TOPIC},
    "retries_with_longer_retention": {
        "queue_message_retention_seconds": 86400,
        "queue_max_receive_count": 5,
    },
    "short_monitor_timeout": {"monitor_timeout": 60, "queue_max_receive_count": 2},
    "prefix_and_name": {"backup_name_prefix": "nightly.v2", "name": "prod_backup-1"},
    "batch_one": {"monitor_batch_size": 1},
    "tiers": {"keep_daily": 7, "keep_weekly": 4, "keep_monthly": 12, "keep_yearly": 1},
    "override_of_a_listed_table": {"retention_overrides": {"orders": {"keep_monthly": 12}}},
    "override_with_tag_selection": {
        "table_tags": {"backup": "daily"},
        "retention_overrides": {
            "anything-tagged": {"retention_days": 30, "min_backups_to_keep": 2}
        },
    },
    "emails": {"sns_subscription_emails": ["ops@example.com", "a.b+backup@example.co.uk"]},
    "coverage": {
        "unprotected_tables_exclude": ["tmp-*", "*-scratch", "dev-??", "[!p]*.v[0-9]"],
        "alert_unprotected_tables": True,
        "alarm_unprotected_tables_enabled": True,
    },
}


@pytest.fixture(scope="module")
def parsed(tmp_path_factory: pytest.TempPathFactory) -> tfeval.Parsed:
    instances = {f"bad_{k}": {**BASE, **inputs} for k, (inputs, _) in BAD.items()}
    instances |= {f"good_{k}": {**BASE, **inputs} for k, inputs in GOOD.items()}
    workdir: Path = tmp_path_factory.mktemp("validation")
    return tfeval.evaluate_many(tfeval.REPO, instances, workdir)


def refusals(parsed: tfeval.Parsed, instance: str) -> dict[str, list[str]]:
    """Address (within the instance) -> error messages of conditions not evaluated true."""
    prefix = f"module.{instance}."
    found: dict[str, list[str]] = {}
    for block in tfeval.find_all(parsed, prefix):
        address = tfeval.block_path(block).removeprefix(prefix)
        if address.startswith("module."):
            continue  # submodules have no conditions on user input
        for kind in ("validation", "precondition"):
            for ok, message in tfeval.conditions(block, kind):
                if ok is not True:
                    found.setdefault(address, []).append(message)
    return found


def test_every_instance_was_evaluated(parsed: tfeval.Parsed) -> None:
    for instance in [f"bad_{k}" for k in BAD] + [f"good_{k}" for k in GOOD]:
        assert tfeval.find(parsed, f"module.{instance}.aws_lambda_function.scheduler")


# A schedule that is no rate(...) also leaves the dead-man alarm without a window, so its
# precondition speaks up as well; no other case may trip more than its own check.
ALSO_REFUSED: dict[str, set[str]] = {
    "rate_seconds": {DEAD_MAN},
    "schedule_prose": {DEAD_MAN},
    "cron_five_fields": {DEAD_MAN},
    **{
        case: {DEAD_MAN}
        for case in (
            "cron_seven_fields",
            "cron_out_of_range",
            "cron_minute_60",
            "cron_hour_24",
            "cron_day_32",
            "cron_month_13",
            "cron_weekday_8",
            "cron_weekday_name",
            "cron_lowercase_name",
            "cron_year_1969",
            "cron_both_days_set",
            "cron_no_day_is_question",
            "cron_both_days_question",
            "cron_question_in_minutes",
        )
    },
    "dead_man_window_over_a_week": {DEAD_MAN},
    # "my orders" is not in table_names either
    "override_bad_table_name": {"aws_lambda_function.monitor"},
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_mistake_is_refused_by_its_own_check(parsed: tfeval.Parsed, case: str) -> None:
    _, guard = BAD[case]
    found = refusals(parsed, f"bad_{case}")
    assert set(found) == {guard} | ALSO_REFUSED.get(case, set()), found
    assert all(message.strip() for message in found[guard])


@pytest.mark.parametrize("case", sorted(GOOD))
def test_good_inputs_pass_every_check(parsed: tfeval.Parsed, case: str) -> None:
    assert refusals(parsed, f"good_{case}") == {}


def test_checks_exist_for_what_the_issue_lists(parsed: tfeval.Parsed) -> None:
    """Retention, schedule form, table names, selection, batch size, KMS ARN, prefix."""
    guarded = {guard for _, guard in BAD.values()}
    for needed in (
        "variable.retention_days",
        "variable.schedule_expression",
        "variable.table_names",
        SCHEDULER,
        "variable.monitor_batch_size",
        "variable.kms_key_arn",
        "variable.backup_name_prefix",
    ):
        assert needed in guarded


@pytest.mark.parametrize("name", ["basic", "tag-selection", "complete"])
def test_examples_pass_every_check_they_can_evaluate(name: str) -> None:
    """Values known only after apply (resource ARNs) are not judged, as in Terraform."""
    parsed = tfeval.load_example(name)
    placeholders = {
        tfeval.block_path(b)
        for b in tfeval.find_all(parsed, "module.dynamodb_backup.variable.")
        if tfeval.is_placeholder(b.get("value", b.get("default")))
    }
    module_inputs = tfeval.find(parsed, "module.dynamodb_backup")
    unknown = {
        f"module.dynamodb_backup.variable.{k}"
        for k, v in module_inputs.items()
        if tfeval.is_placeholder(v)
    }
    for block in tfeval.find_all(parsed, ""):
        path = tfeval.block_path(block)
        if path in placeholders | unknown:
            continue
        for kind in ("validation", "precondition"):
            for ok, message in tfeval.conditions(block, kind):
                assert ok is True, (path, message)


def test_retention_error_gives_the_value_that_would_work(parsed: tfeval.Parsed) -> None:
    """Four receives of 1,080 s after a 300 s delay need 300 + 4 x 1080 + 1 = 4,621 s."""
    (message,) = refusals(parsed, "bad_messages_would_expire_before_dlq")[QUEUE]
    assert "set queue_message_retention_seconds = 4621 (300 + 4 x 1080 + 1)" in message


def test_schedule_error_gives_expressions_that_would_work(parsed: tfeval.Parsed) -> None:
    (message,) = refusals(parsed, "bad_cron_out_of_range")[SCHEDULE]
    for example in ("'rate(1 day)'", "'cron(0 4 * * ? *)'", "'cron(30 2 ? * MON-FRI *)'"):
        assert example in message
