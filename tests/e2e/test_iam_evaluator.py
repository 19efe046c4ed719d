"""The small IAM evaluator of the proof, and the policy rendering through tfparse."""

from __future__ import annotations

import json

import pytest

from localrun.iam import Policy, PolicyInputs, Request, check_calls, render_policies

ACCOUNT = "123456789012"
TABLE = f"arn:aws:dynamodb:eu-west-1:{ACCOUNT}:table"


def policy(*statements: dict[str, object]) -> Policy:
    return Policy.parse(json.dumps({"Version": "2012-10-17", "Statement": list(statements)}))


def allow(action: object, resource: object, **extra: object) -> dict[str, object]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def test_default_is_deny_and_allow_needs_action_and_resource() -> None:
    p = policy(allow("dynamodb:CreateBackup", f"{TABLE}/orders"))
    assert p.evaluate(Request("dynamodb:CreateBackup", f"{TABLE}/orders")).allowed
    assert not p.evaluate(Request("dynamodb:CreateBackup", f"{TABLE}/users")).allowed
    assert not p.evaluate(Request("dynamodb:DeleteBackup", f"{TABLE}/orders")).allowed
    assert not policy().evaluate(Request("sns:Publish", "*")).allowed


def test_actions_are_case_insensitive_resources_are_not() -> None:
    p = policy(allow("DynamoDB:createbackup", f"{TABLE}/orders"))
    assert p.evaluate(Request("dynamodb:CreateBackup", f"{TABLE}/orders")).allowed
    assert not p.evaluate(Request("dynamodb:CreateBackup", f"{TABLE}/ORDERS")).allowed


def test_wildcards_in_actions_and_resources() -> None:
    p = policy(allow(["dynamodb:*Backup"], [f"{TABLE}/ord?rs/backup/*"]))
    assert p.evaluate(Request("dynamodb:DeleteBackup", f"{TABLE}/orders/backup/0176-ab")).allowed
    assert p.evaluate(Request("dynamodb:DescribeBackup", f"{TABLE}/ordXrs/backup/x")).allowed
    assert not p.evaluate(Request("dynamodb:ListBackups", f"{TABLE}/orders/backup/x")).allowed
    assert not p.evaluate(Request("dynamodb:DeleteBackup", f"{TABLE}/orders")).allowed
    # a resource list without "*" does not cover actions that have no resource
    assert not p.evaluate(Request("dynamodb:DeleteBackup", "*")).allowed
    assert (
        policy(allow("dynamodb:ListBackups", "*"))
        .evaluate(Request("dynamodb:ListBackups", "*"))
        .allowed
    )


def test_explicit_deny_wins() -> None:
    p = policy(
        allow("sqs:*", "*"),
        {"Effect": "Deny", "Action": "sqs:DeleteQueue", "Resource": "*", "Sid": "NoDelete"},
    )
    assert p.evaluate(Request("sqs:SendMessage", "arn:aws:sqs:eu-west-1:1:q")).allowed
    decision = p.evaluate(Request("sqs:DeleteQueue", "arn:aws:sqs:eu-west-1:1:q"))
    assert not decision.allowed
    assert decision.denied_by == ("NoDelete",)


def test_not_action_and_not_resource() -> None:
    p = policy({"Effect": "Allow", "NotAction": "sqs:Delete*", "NotResource": "arn:aws:sqs:*:*:x"})
    assert p.evaluate(Request("sqs:SendMessage", "arn:aws:sqs:eu-west-1:1:q")).allowed
    assert not p.evaluate(Request("sqs:DeleteMessage", "arn:aws:sqs:eu-west-1:1:q")).allowed
    assert not p.evaluate(Request("sqs:SendMessage", "arn:aws:sqs:eu-west-1:1:x")).allowed


def test_tag_conditions() -> None:
    p = policy(
        allow(
            "dynamodb:CreateBackup",
            f"{TABLE}/*",
            Condition={"StringEquals": {"aws:ResourceTag/backup": ["daily", "hourly"]}},
        )
    )
    target = f"{TABLE}/orders"
    assert p.evaluate(Request("dynamodb:CreateBackup", target, {"aws:ResourceTag/backup": "daily"}))
    assert p.evaluate(
        Request("dynamodb:CreateBackup", target, {"aws:resourcetag/Backup": "hourly"})
    ).allowed  # condition keys are case-insensitive
    assert not p.evaluate(
        Request("dynamodb:CreateBackup", target, {"aws:ResourceTag/backup": "never"})
    ).allowed
    assert not p.evaluate(Request("dynamodb:CreateBackup", target)).allowed  # untagged


def test_condition_operators_and_missing_keys() -> None:
    like = policy(allow("s3:GetObject", "*", Condition={"StringLike": {"aws:ResourceTag/t": "a*"}}))
    assert like.evaluate(Request("s3:GetObject", "*", {"aws:ResourceTag/t": "abc"})).allowed
    assert not like.evaluate(Request("s3:GetObject", "*", {"aws:ResourceTag/t": "xbc"})).allowed
    negated = policy(
        allow("s3:GetObject", "*", Condition={"StringNotEquals": {"aws:ResourceTag/t": "x"}})
    )
    assert negated.evaluate(Request("s3:GetObject", "*")).allowed  # missing key: not equal
    if_exists = policy(
        allow("s3:GetObject", "*", Condition={"StringEqualsIfExists": {"aws:ResourceTag/t": "x"}})
    )
    assert if_exists.evaluate(Request("s3:GetObject", "*")).allowed
    assert not if_exists.evaluate(Request("s3:GetObject", "*", {"aws:ResourceTag/t": "y"})).allowed
    both = policy(
        allow(
            "s3:GetObject",
            "*",
            Condition={"StringEquals": {"aws:ResourceTag/a": "1", "aws:ResourceTag/b": "2"}},
        )
    )
    assert both.evaluate(
        Request("s3:GetObject", "*", {"aws:ResourceTag/a": "1", "aws:ResourceTag/b": "2"})
    ).allowed
    assert not both.evaluate(Request("s3:GetObject", "*", {"aws:ResourceTag/a": "1"})).allowed


def test_unknown_condition_operator_fails_loudly() -> None:
    p = policy(allow("s3:GetObject", "*", Condition={"NumericLessThan": {"s3:max-keys": "10"}}))
    with pytest.raises(ValueError, match="NumericLessThan"):
        p.evaluate(Request("s3:GetObject", "*", {"s3:max-keys": "5"}))


def test_malformed_policies_are_refused() -> None:
    with pytest.raises(ValueError, match="Version"):
        Policy.parse({"Statement": []})
    with pytest.raises(ValueError, match="Effect"):
        policy({"Effect": "Maybe", "Action": "x:y", "Resource": "*"})
    with pytest.raises(ValueError, match="Action"):
        policy({"Effect": "Allow", "Resource": "*"})


def _inputs(**changes: object) -> PolicyInputs:
    base: dict[str, object] = {
        "partition": "aws",
        "region": "eu-west-1",
        "account_id": ACCOUNT,
        "table_names": ("orders",),
        "table_tags": {},
        "queue_arn": f"arn:aws:sqs:eu-west-1:{ACCOUNT}:b-monitor.fifo",
        "topic_arn": f"arn:aws:sns:eu-west-1:{ACCOUNT}:b-alerts",
        "scheduler_log_group_arn": f"arn:aws:logs:eu-west-1:{ACCOUNT}:log-group:/aws/lambda/s",
        "monitor_log_group_arn": f"arn:aws:logs:eu-west-1:{ACCOUNT}:log-group:/aws/lambda/m",
        "scheduler_failure_destination_arn": f"arn:aws:sqs:eu-west-1:{ACCOUNT}:b-scheduler-dlq",
    }
    base.update(changes)
    return PolicyInputs(**base)  # type: ignore[arg-type]


def test_rendered_policies_carry_the_concrete_arns() -> None:
    rendered = render_policies(_inputs(table_tags={"backup": "daily"}))
    scheduler, monitor = rendered["scheduler"], rendered["monitor"]
    assert scheduler.evaluate(Request("dynamodb:CreateBackup", f"{TABLE}/orders")).allowed
    assert not scheduler.evaluate(Request("dynamodb:CreateBackup", f"{TABLE}/other")).allowed
    tagged = Request("dynamodb:CreateBackup", f"{TABLE}/other", {"aws:ResourceTag/backup": "daily"})
    assert scheduler.evaluate(tagged).allowed
    assert not monitor.evaluate(Request("dynamodb:CreateBackup", f"{TABLE}/orders")).allowed
    assert monitor.evaluate(
        Request("sqs:ReceiveMessage", f"arn:aws:sqs:eu-west-1:{ACCOUNT}:b-monitor.fifo")
    ).allowed
    log_stream = f"arn:aws:logs:eu-west-1:{ACCOUNT}:log-group:/aws/lambda/m:log-stream:x"
    assert monitor.evaluate(Request("logs:PutLogEvents", log_stream)).allowed
    assert not scheduler.evaluate(Request("logs:PutLogEvents", log_stream)).allowed


def test_check_calls_reports_denials_and_usage() -> None:
    rendered = render_policies(_inputs())
    result = check_calls(
        rendered,
        [
            ("scheduler", "dynamodb:CreateBackup", f"{TABLE}/orders"),
            (
                "scheduler",
                "sqs:SendMessageBatch",
                f"arn:aws:sqs:eu-west-1:{ACCOUNT}:b-monitor.fifo",
            ),
            ("monitor", "dynamodb:DeleteTable", f"{TABLE}/orders"),
            ("runtime", "dynamodb:DeleteTable", f"{TABLE}/orders"),  # not a function: ignored
        ],
        {},
    )
    assert result.denials == [f"monitor: dynamodb:DeleteTable on {TABLE}/orders is denied"]
    assert ("scheduler", "CreateBackupOfSelectedTables", "dynamodb:CreateBackup") in result.used
    assert ("scheduler", "SendToMonitoringQueue", "sqs:SendMessage") in result.used
    assert ("monitor", "PublishAlerts", "sns:Publish") in result.grants - result.used
    assert result.calls == 3
