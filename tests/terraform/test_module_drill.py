"""The restore drill's Terraform (drill.tf), evaluated offline with tfparse.

Off by default: no drill resource, nothing changes for the scheduler and the monitor. On:
a third function with the scheduler's selection and settings, its own rule whose input
transformer hands the handler a Scheduled Event carrying the period, a dead-letter queue,
alarms the operator can follow, and inputs that are refused with a value that works.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import hcl2
import pytest

from tests.terraform.test_module_operations import RUNBOOK, github_anchors
from tests.terraform.test_module_wiring import documented_variables
from tools import tfeval

M = "module.dynamodb_backup"
BASE: dict[str, Any] = {"table_names": ["orders", "customers"], "name": "shop"}
UNIT = {"minute": 60, "hour": 3600, "day": 86400}
GIB = 1024**3


def period_of(expression: str) -> int:
    """The period of a rate(...) expression, computed here independently of the module."""
    match = re.fullmatch(r"rate\((\d+) (minute|hour|day)s?\)", expression)
    assert match, expression
    return int(match.group(1)) * UNIT[match.group(2)]


def evaluate(tmp_path: Path, **inputs: Any) -> tfeval.Parsed:
    return tfeval.evaluate_module(tfeval.REPO, {"m": {**BASE, **inputs}}, tmp_path)


def res(parsed: tfeval.Parsed, address: str, module: str = "module.m") -> tfeval.Block:
    return tfeval.find(parsed, f"{module}.{address}")


def output(parsed: tfeval.Parsed, name: str, module: str = "module.m") -> Any:
    return tfeval.find(parsed, f"{module}.output.{name}").get("value")


def env(parsed: tfeval.Parsed, function: str, module: str = "module.m") -> dict[str, str]:
    block = res(parsed, f'aws_lambda_function.this["{function}"]', module)
    variables: dict[str, str] = block["environment"]["variables"]
    return variables


def fill(template: str, values: dict[str, Any]) -> dict[str, Any]:
    """What EventBridge sends: each unquoted <placeholder> replaced by its JSON value."""
    text = re.sub(r"<([a-z]+)>", lambda m: json.dumps(values[m.group(1)]), template)
    event: dict[str, Any] = json.loads(text)
    return event


# -- off by default ---------------------------------------------------------------------


@pytest.mark.parametrize("example", ["basic", "tag-selection", "multi-region", "two-schedules"])
def test_examples_without_the_drill_have_no_drill_resource(example: str) -> None:
    parsed = tfeval.load_example(example)
    drill = [
        tfeval.block_path(b)
        for b in tfeval.find_all(parsed, "module.")
        if b["__tfmeta"].get("type") == "resource" and "drill" in tfeval.block_path(b)
    ]
    assert drill == []
    for b in tfeval.find_all(parsed, "module."):
        if b["__tfmeta"].get("label") == "aws_lambda_function":
            assert not any(k.startswith("DRILL_") for k in b["environment"]["variables"])


def test_disabled_drill_outputs_are_null_and_the_policy_module_hears_so(tmp_path: Path) -> None:
    parsed = evaluate(tmp_path)
    for name in (
        "drill_function_arn",
        "drill_function_name",
        "drill_role_arn",
        "drill_role_name",
        "drill_log_group_name",
        "drill_log_group_arn",
        "drill_schedule_rule_arn",
        "drill_schedule_rule_name",
        "drill_period_seconds",
        "drill_dlq_arn",
        "drill_dlq_name",
        "drill_dlq_url",
    ):
        assert output(parsed, name) is None, name
    policies = res(parsed, "module.iam_policies")
    assert policies["drill_enabled"] is False
    assert policies["drill_log_group_arn"] is None
    assert policies["drill_failure_destination_arn"] is None
    assert policies["backup_name_prefix"] == "shop"


# -- on: the function -------------------------------------------------------------------


@pytest.fixture(scope="module")
def complete() -> tfeval.Parsed:
    return tfeval.load_example("complete")


def test_drill_function_gets_exactly_its_documented_environment(complete: tfeval.Parsed) -> None:
    drill = env(complete, "drill", M)
    scheduler = env(complete, "scheduler", M)
    assert set(drill) == documented_variables()["drill"] - {"TABLE_NAMES_FILE"}
    # The selection and the common settings exactly as the scheduler gets them.
    for name in (
        "TABLE_NAMES",
        "TABLE_TAGS",
        "BACKUP_NAME_PREFIX",
        "MONITOR_QUEUE_URL",
        "ALERT_TOPIC_ARN",
        "LOG_LEVEL",
        "METRICS_NAMESPACE",
    ):
        assert drill[name] == scheduler[name], name
    assert json.loads(drill["DRILL_TABLES"]) == []
    assert drill["DRILL_MAX_BACKUP_BYTES"] == str(50 * GIB)  # max_backup_size_gb = 50
    assert drill["DRILL_MAX_WAIT_MINUTES"] == "360"
    # The monitor waits for the restores with the same limit.
    assert env(complete, "monitor", M)["DRILL_MAX_WAIT_MINUTES"] == "360"


def test_drill_defaults_and_listed_tables(tmp_path: Path) -> None:
    parsed = evaluate(tmp_path, restore_drill={"enabled": True, "tables": ["customers"]})
    drill = env(parsed, "drill")
    assert json.loads(drill["DRILL_TABLES"]) == ["customers"]
    assert drill["DRILL_MAX_BACKUP_BYTES"] == "10737418240"
    assert drill["DRILL_MAX_WAIT_MINUTES"] == "720"
    assert output(parsed, "drill_period_seconds") == 7 * 86400


def test_drill_function_role_log_group_and_settings(complete: tfeval.Parsed) -> None:
    f = res(complete, 'aws_lambda_function.this["drill"]', M)
    scheduler = res(complete, 'aws_lambda_function.this["scheduler"]', M)
    role = res(complete, 'aws_iam_role.this["drill"]', M)
    group = res(complete, 'aws_cloudwatch_log_group.this["drill"]', M)
    policy = res(complete, 'aws_iam_role_policy.this["drill"]', M)
    assert f["function_name"] == "prod-dynamodb-backup-drill"
    assert f["handler"] == "dynamodb_backup.drill.handler"
    assert f["role"] == role["id"]
    assert policy["role"] == role["id"]
    assert policy["name"] == "prod-dynamodb-backup-drill"
    assert group["name"] == "/aws/lambda/prod-dynamodb-backup-drill"
    # The role's policy is modules/iam-policies' drill_policy_json (its content: that
    # module's tests), scoped to this instance's drill tables.
    (built,) = tfeval.find_all(complete, f"{M}.module.iam_policies.output.drill_policy_json") or [
        {"value": None}
    ]
    assert policy["policy"] == built["value"]
    if built["value"] is not None:
        assert ":table/nightly-drill-*" in built["value"]
    assert f["logging_config"]["log_group"] == group["name"]
    assert group["kms_key_id"] == scheduler["kms_key_arn"]  # the customer key
    assert role["name"].startswith("prod-dynamodb-backup-drill-")
    for setting in (
        "timeout",
        "memory_size",
        "reserved_concurrent_executions",
        "runtime",
        "architectures",
        "filename",
        "source_code_hash",
    ):
        assert f[setting] == scheduler[setting], setting
    dlq = res(complete, "aws_sqs_queue.drill_dlq[0]", M)
    assert f["dead_letter_config"]["target_arn"] == dlq["id"]
    invoke = res(complete, "aws_lambda_function_event_invoke_config.drill[0]", M)
    assert invoke["function_name"] == f["function_name"]
    assert (
        invoke["maximum_retry_attempts"]
        == res(complete, "aws_lambda_function_event_invoke_config.scheduler", M)[
            "maximum_retry_attempts"
        ]
    )


def test_policy_module_gets_the_drill_inputs(complete: tfeval.Parsed) -> None:
    policies = res(complete, "module.iam_policies", M)
    assert policies["drill_enabled"] is True
    assert policies["backup_name_prefix"] == "nightly"
    assert (
        policies["drill_log_group_arn"]
        == res(complete, 'aws_cloudwatch_log_group.this["drill"]', M)["id"]
    )
    assert (
        policies["drill_failure_destination_arn"]
        == res(complete, "aws_sqs_queue.drill_dlq[0]", M)["id"]
    )


# -- on: schedule, event, dead letters -------------------------------------------------


def test_the_users_scan_bound_reaches_the_drills_event(tmp_path: Path) -> None:
    drill = {"enabled": True, "max_read_units_per_second": 64}
    parsed = evaluate(tmp_path, restore_drill=drill)
    template = res(parsed, "aws_cloudwatch_event_target.drill[0]")["input_transformer"]
    values = {"id": "x", "account": "1", "time": "t", "region": "r", "resources": []}
    assert fill(template["input_template"], values)["detail"]["max_read_units_per_second"] == 64


@pytest.mark.parametrize(
    "expression", ["rate(1 hour)", "rate(12 hours)", "rate(1 day)", "rate(3 days)", "rate(7 days)"]
)
def test_rule_hands_the_handler_a_scheduled_event_with_the_period(
    expression: str, tmp_path: Path
) -> None:
    parsed = evaluate(tmp_path, restore_drill={"enabled": True, "schedule_expression": expression})
    rule = res(parsed, "aws_cloudwatch_event_rule.drill[0]")
    target = res(parsed, "aws_cloudwatch_event_target.drill[0]")
    function = res(parsed, 'aws_lambda_function.this["drill"]')
    assert rule["name"] == "shop-drill-schedule"
    assert rule["schedule_expression"] == expression
    assert rule["state"] == "ENABLED"
    assert target["rule"] == rule["name"]
    assert target["arn"] == function["id"]
    transformer = target["input_transformer"]
    assert transformer["input_paths"] == {
        "id": "$.id",
        "account": "$.account",
        "time": "$.time",
        "region": "$.region",
        "resources": "$.resources",
    }
    # EventBridge's own event of the rule, and what the handler then receives.
    values = {
        "id": "89d1a02d-5ec7-412e-82f5-13505f849b41",
        "account": "123456789012",
        "time": "2026-11-28T04:00:00Z",
        "region": "eu-west-1",
        "resources": ["arn:aws:events:eu-west-1:123456789012:rule/shop-drill-schedule"],
    }
    event = fill(transformer["input_template"], values)
    assert event == {
        "version": "0",
        "id": values["id"],
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": values["account"],
        "time": values["time"],
        "region": values["region"],
        "resources": values["resources"],
        "detail": {"drill_period_seconds": period_of(expression), "max_read_units_per_second": 512},
    }
    assert output(parsed, "drill_period_seconds") == period_of(expression)
    permission = res(parsed, "aws_lambda_permission.drill[0]")
    assert permission["function_name"] == function["function_name"]
    assert permission["principal"] == "events.amazonaws.com"
    assert permission["source_arn"] == rule["id"]
    dlq = res(parsed, "aws_sqs_queue.drill_dlq[0]")
    assert target["dead_letter_config"]["arn"] == dlq["id"]


def test_drill_dead_letter_queue_is_encrypted_like_the_schedulers(
    complete: tfeval.Parsed, tmp_path: Path
) -> None:
    for parsed, module in (
        (complete, M),
        (evaluate(tmp_path, restore_drill={"enabled": True}), "module.m"),
    ):
        dlq = res(parsed, "aws_sqs_queue.drill_dlq[0]", module)
        scheduler_dlq = res(parsed, "aws_sqs_queue.scheduler_dlq", module)
        assert dlq["name"].endswith("-drill-dlq")
        assert not dlq.get("fifo_queue")
        for key in (
            "sqs_managed_sse_enabled",
            "kms_master_key_id",
            "kms_data_key_reuse_period_seconds",
            "message_retention_seconds",
        ):
            assert dlq.get(key) == scheduler_dlq.get(key), key
        policy = json.loads(res(parsed, "aws_sqs_queue_policy.drill_dlq[0]", module)["policy"])
        (statement,) = policy["Statement"]
        assert statement["Principal"] == {"Service": "events.amazonaws.com"}
        assert statement["Resource"] == dlq["id"]
        rule = res(parsed, "aws_cloudwatch_event_rule.drill[0]", module)
        assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": rule["id"]}}


# -- on: alarms, dashboard, runbook -----------------------------------------------------


def alarms_of(parsed: tfeval.Parsed, module: str = "module.m") -> dict[str, tfeval.Block]:
    return {
        tfeval.block_path(b).removeprefix(f"{module}.aws_cloudwatch_metric_alarm."): b
        for b in tfeval.find_all(parsed, f"{module}.aws_cloudwatch_metric_alarm.")
    }


def test_drill_alarms_watch_the_contract_metrics(complete: tfeval.Parsed) -> None:
    alarms = alarms_of(complete, M)
    failed = alarms["restore_drill_failed[0]"]
    assert (failed["namespace"], failed["metric_name"]) == ("DynamoDBBackup", "RestoreDrillFailed")
    assert failed["dimensions"] == {"BackupNamePrefix": "nightly"}
    assert (failed["comparison_operator"], failed["threshold"]) == ("GreaterThanThreshold", 0)
    assert failed["treat_missing_data"] == "notBreaching"
    none = alarms["no_restore_drill_succeeded[0]"]
    assert none["metric_name"] == "RestoreDrillSucceeded"
    assert none["dimensions"] == {"BackupNamePrefix": "nightly"}
    assert none["treat_missing_data"] == "missing"
    assert none["insufficient_data_actions"] == none["alarm_actions"]
    # rate(3 days): two periods, 144 hourly data points, within CloudWatch's 7 days.
    assert none["period"] * none["evaluation_periods"] == 2 * period_of("rate(3 days)")
    assert none["period"] * none["evaluation_periods"] <= 604800
    errors = alarms['function_errors["drill"]']
    assert errors["dimensions"] == {"FunctionName": "prod-dynamodb-backup-drill"}
    dlq = alarms['dlq_not_empty["drill"]']
    assert dlq["dimensions"] == {"QueueName": "prod-dynamodb-backup-drill-dlq"}
    # outputs.alarm_arns (tfparse leaves it unevaluated: read the source) keys them as the
    # runbook anchors are keyed.
    source = (tfeval.REPO / "outputs.tf").read_text(encoding="utf-8")
    for name in ("restore_drill_failed", "no_restore_drill_succeeded"):
        assert f'aws_cloudwatch_metric_alarm.{name} : "{name}" => a.arn' in source
    anchors = hcl2.loads((tfeval.REPO / "runbook.tf").read_text(encoding="utf-8"))["locals"][0]
    for key in ("restore_drill_failed", "no_restore_drill_succeeded", "drill_errors"):
        assert key in anchors["runbook_anchors"], key
    assert "drill_dlq_not_empty" in anchors["runbook_anchors"]


@pytest.mark.parametrize(
    ("expression", "alarmed"),
    [
        ("rate(1 hour)", True),
        ("rate(3 days)", True),
        ("rate(84 hours)", True),  # two periods = 7 days exactly
        ("rate(85 hours)", False),
        ("rate(7 days)", False),  # the default: CloudWatch cannot look back 14 days
    ],
)
def test_no_success_alarm_exists_only_where_cloudwatch_can_evaluate_two_periods(
    expression: str, alarmed: bool, tmp_path: Path
) -> None:
    parsed = evaluate(tmp_path, restore_drill={"enabled": True, "schedule_expression": expression})
    alarms = alarms_of(parsed)
    assert ("no_restore_drill_succeeded[0]" in alarms) is alarmed
    assert "restore_drill_failed[0]" in alarms
    if alarmed:
        a = alarms["no_restore_drill_succeeded[0]"]
        assert a["period"] * a["evaluation_periods"] >= 2 * period_of(expression)
        assert a["period"] * a["evaluation_periods"] <= 604800
        assert a["datapoints_to_alarm"] == a["evaluation_periods"]


def test_no_drill_alarms_without_create_alarms(tmp_path: Path) -> None:
    parsed = evaluate(
        tmp_path,
        create_alarms=False,
        restore_drill={"enabled": True, "schedule_expression": "rate(1 day)"},
    )
    assert alarms_of(parsed) == {}


def test_dashboard_shows_the_drill(complete: tfeval.Parsed) -> None:
    body = json.loads(res(complete, "aws_cloudwatch_dashboard.this[0]", M)["dashboard_body"])
    series = {
        tuple(m)
        for w in body["widgets"]
        if w["type"] == "metric"
        for m in w["properties"]["metrics"]
    }
    for metric in ("RestoreDrillSucceeded", "RestoreDrillFailed", "RestoreDrillSeconds"):
        assert ("DynamoDBBackup", metric, "BackupNamePrefix", "nightly") in series
    assert ("AWS/Lambda", "Errors", "FunctionName", "prod-dynamodb-backup-drill") in series
    assert ("AWS/Lambda", "Duration", "FunctionName", "prod-dynamodb-backup-drill") in series
    assert (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        "QueueName",
        "prod-dynamodb-backup-drill-dlq",
    ) in series
    (widget,) = [w for w in body["widgets"] if w["type"] == "alarm"]
    alarms = alarms_of(complete, M)
    assert sorted(widget["properties"]["alarms"]) == sorted(a["id"] for a in alarms.values())


def test_every_drill_alarm_links_to_its_runbook_section(complete: tfeval.Parsed) -> None:
    anchors = github_anchors(RUNBOOK.read_text(encoding="utf-8"))
    assert "drill-dead-letter-queue" in anchors
    for address, alarm in alarms_of(complete, M).items():
        if "drill" not in address:
            continue
        (anchor,) = re.findall(r"runbook\.md#([a-z0-9-]+)", alarm["alarm_description"])
        assert anchor in anchors, (address, anchor)
        assert "drill" in anchor


# -- inputs refused ----------------------------------------------------------------------

DRILL = "variable.restore_drill"
FUNCTION = 'aws_lambda_function.this["drill"]'

BAD: dict[str, tuple[dict[str, Any], str, str]] = {
    # case -> (restore_drill and other inputs, the refusing block, text of a working value)
    "cron": ({"schedule_expression": "cron(0 4 ? * MON *)"}, DRILL, '"rate(7 days)"'),
    "rate_plural_one": ({"schedule_expression": "rate(1 days)"}, DRILL, '"rate(1 day)"'),
    "rate_prose": ({"schedule_expression": "weekly"}, DRILL, '"rate(7 days)"'),
    "too_often": ({"schedule_expression": "rate(30 minutes)"}, DRILL, '"rate(1 hour)"'),
    # (with tags, so the precondition on listed tables has nothing to say)
    "table_name": ({"tables": ["my orders"], "__tags": {"b": "1"}}, DRILL, '["orders"]'),
    "table_twice": ({"tables": ["orders", "orders"]}, DRILL, '["orders"]'),
    "size_zero": ({"max_backup_size_gb": 0}, DRILL, "10"),
    "wait_short": ({"max_wait_minutes": 5}, DRILL, "720"),
    "wait_fraction": ({"max_wait_minutes": 90.5}, DRILL, "720"),
    "wait_long": ({"max_wait_minutes": 5000}, DRILL, "720"),
    "unlisted_table": ({"tables": ["invoices"]}, FUNCTION, "add them to table_names"),
    "read_units_zero": ({"max_read_units_per_second": 0}, DRILL, "512"),
    "read_units_fraction": ({"max_read_units_per_second": 1.5}, DRILL, "512"),
    "read_units_huge": ({"max_read_units_per_second": 50000}, DRILL, "512"),
    "key_alias": ({"table_kms_key_arns": ["alias/orders"]}, DRILL, '["arn:aws:kms:'),
}
GOOD: dict[str, dict[str, Any]] = {
    "defaults": {},
    "hourly": {"schedule_expression": "rate(1 hour)"},
    "minutes_of_an_hour": {"schedule_expression": "rate(60 minutes)"},
    "listed_table": {"tables": ["orders"]},
    "small_backups": {"max_backup_size_gb": 0.5},
    "gentle_scan": {"max_read_units_per_second": 64},
    "table_key": {
        "table_kms_key_arns": [
            "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
        ]
    },
    "tagged_selection": {"tables": ["anything-tagged"], "__tags": {"backup": "daily"}},
}


def _instance(drill: dict[str, Any]) -> dict[str, Any]:
    drill = dict(drill)
    tags = drill.pop("__tags", None)
    inputs: dict[str, Any] = {**BASE, "restore_drill": {"enabled": True, **drill}}
    if tags:
        inputs["table_tags"] = tags
    return inputs


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> tfeval.Parsed:
    instances = {f"bad_{k}": _instance(v[0]) for k, v in BAD.items()}
    instances |= {f"good_{k}": _instance(v) for k, v in GOOD.items()}
    return tfeval.evaluate_many(tfeval.REPO, instances, tmp_path_factory.mktemp("drill"))


def refusals(parsed: tfeval.Parsed, instance: str) -> dict[str, list[str]]:
    prefix = f"module.{instance}."
    found: dict[str, list[str]] = {}
    for block in tfeval.find_all(parsed, prefix):
        address = tfeval.block_path(block).removeprefix(prefix)
        if address.startswith("module."):
            continue
        for kind in ("validation", "precondition"):
            for ok, message in tfeval.conditions(block, kind):
                if ok is not True:
                    found.setdefault(address, []).append(message)
    return found


@pytest.mark.parametrize("case", sorted(BAD))
def test_drill_mistake_is_refused_with_a_value_that_works(
    checked: tfeval.Parsed, case: str
) -> None:
    _, guard, working = BAD[case]
    found = refusals(checked, f"bad_{case}")
    assert set(found) == {guard}, found
    (message,) = found[guard]
    assert "restore_drill" in message
    assert working in message


@pytest.mark.parametrize("case", sorted(GOOD))
def test_good_drill_inputs_pass_every_check(checked: tfeval.Parsed, case: str) -> None:
    assert refusals(checked, f"good_{case}") == {}
