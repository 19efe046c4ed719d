"""`schedule_timezone`: the EventBridge Scheduler trigger, played with the module's own input.

A Scheduler target receives only the input the schedule gives it (with the
`<aws.scheduler.*>` context attributes replaced at each invocation), not an EventBridge
event. The module's input must therefore carry the slot as `time`, or a retried or
duplicated invocation would create second backups. Here the input the module renders
(tfparse) is filled in as Scheduler does and delivered to the real scheduler twice; and
the schedule's role, rendered the same way, is evaluated like the functions' policies.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from localrun.clock import iso_z
from localrun.cycle import Settings
from localrun.iam import Policy, Request
from tools import tfeval

from .conftest import Deploy

SLOT = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)
SCHEDULE_ARN = "arn:aws:scheduler:eu-west-1:123456789012:schedule/default/backup-schedule"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tfeval.Parsed:
    inputs = {"table_names": ["orders", "users"], "schedule_timezone": "Europe/Dublin"}
    return tfeval.evaluate_module(tfeval.REPO, {"m": inputs}, tmp_path_factory.mktemp("tz"))


def scheduler_input(rendered: tfeval.Parsed, slot: datetime) -> dict[str, Any]:
    """The schedule's target input, its context attributes replaced as Scheduler does."""
    target = tfeval.find(rendered, "module.m.aws_scheduler_schedule.schedule[0]")["target"]
    text = str(target["input"])
    assert '"time":"<aws.scheduler.scheduled-time>"' in text  # the slot, as the handler reads
    for keyword, value in {
        "<aws.scheduler.scheduled-time>": iso_z(slot),
        "<aws.scheduler.execution-id>": str(uuid.uuid4()),
        "<aws.scheduler.schedule-arn>": SCHEDULE_ARN,
    }.items():
        text = text.replace(keyword, value)
    assert "<aws.scheduler." not in text
    event: dict[str, Any] = json.loads(text)
    return event


def test_two_scheduler_deliveries_of_one_slot_make_one_backup_per_table(
    deploy: Deploy, rendered: tfeval.Parsed
) -> None:
    d = deploy(Settings(table_names=("orders", "users"), retention_days=1))
    d.create_tables(["orders", "users"])
    d.clock.sleep_until(SLOT)
    first = scheduler_input(rendered, SLOT)
    retry = scheduler_input(rendered, SLOT)  # a retry carries a new execution id
    assert first["time"] == retry["time"] == "2026-11-02T03:00:00Z"
    assert first["id"] != retry["id"]

    for event in (first, retry):
        assert not d.scheduler.invoke(event).failed

    for table in ("orders", "users"):
        names = sorted(b.name for b in d.backups().values() if b.table == table)
        assert names == [f"{d.settings.prefix}-{table}-20261102T030000Z"]


def test_the_schedule_role_may_start_only_the_scheduler_and_keep_its_dead_letters(
    rendered: tfeval.Parsed,
) -> None:
    policy = Policy.parse(
        tfeval.find(rendered, "module.m.aws_iam_role_policy.schedule[0]")["policy"]
    )
    scheduler = tfeval.find(rendered, 'module.m.aws_lambda_function.this["scheduler"]')["id"]
    monitor = tfeval.find(rendered, 'module.m.aws_lambda_function.this["monitor"]')["id"]
    dlq = tfeval.find(rendered, "module.m.aws_sqs_queue.scheduler_dlq")["id"]
    queue = tfeval.find(rendered, "module.m.aws_sqs_queue.monitor")["id"]
    schedule = tfeval.find(rendered, "module.m.aws_scheduler_schedule.schedule[0]")
    # what EventBridge Scheduler does with the role: invoke the target, dead-letter to the DLQ
    assert schedule["target"]["arn"] == scheduler
    assert schedule["target"]["dead_letter_config"]["arn"] == dlq
    assert policy.evaluate(Request("lambda:InvokeFunction", scheduler)).allowed
    assert policy.evaluate(Request("sqs:SendMessage", dlq)).allowed
    # and nothing else
    assert not policy.evaluate(Request("lambda:InvokeFunction", monitor)).allowed
    assert not policy.evaluate(Request("sqs:SendMessage", queue)).allowed
    assert not policy.evaluate(Request("dynamodb:CreateBackup", "*")).allowed
    assert policy.grants() == {
        ("InvokeTheScheduler", "lambda:InvokeFunction"),
        ("DeadLetters", "sqs:SendMessage"),
    }
