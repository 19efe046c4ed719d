"""The operator's view, wired: dashboard, runbook links, both triggers, the deletion guard.

Evaluated offline with tfparse like test_module_wiring.py: a reference to a resource's ARN
or id is that block's tfparse id.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import hcl2
import pytest

from tools import tfeval

M = "module.dynamodb_backup"
RUNBOOK = tfeval.REPO / "docs" / "runbook.md"
EXAMPLES = ["basic", "complete", "tag-selection"]
# examples/complete sets schedule_timezone; the others keep the EventBridge rule.
TIMEZONES = {"basic": None, "complete": "Europe/Dublin", "tag-selection": None}
PREFIXES = {"basic": "dynamodb-backup", "complete": "nightly", "tag-selection": "tagged"}
KEY = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def ex(name: str) -> tfeval.Parsed:
    return tfeval.load_example(name)


def res(name: str, address: str) -> tfeval.Block:
    return tfeval.find(ex(name), f"{M}.{address}")


def addresses(parsed: tfeval.Parsed, prefix: str) -> set[str]:
    return {tfeval.block_path(b) for b in tfeval.find_all(parsed, prefix)}


# -- dashboard --------------------------------------------------------------------------


def dashboard(name: str) -> dict[str, Any]:
    board = res(name, "aws_cloudwatch_dashboard.this[0]")
    body: dict[str, Any] = json.loads(board["dashboard_body"])
    return {"name": board["dashboard_name"], "body": body}


def metric_series(body: dict[str, Any]) -> set[tuple[str, ...]]:
    return {
        tuple(m)
        for w in body["widgets"]
        if w["type"] == "metric"
        for m in w["properties"]["metrics"]
    }


@pytest.mark.parametrize("name", EXAMPLES)
def test_dashboard_graphs_this_instances_metrics_and_nothing_else(name: str) -> None:
    board = dashboard(name)
    prefix = PREFIXES[name]
    # examples/complete enables the restore drill: its function, queue and metrics too.
    drill = name == "complete"
    functions = ("scheduler", "monitor", "drill") if drill else ("scheduler", "monitor")
    fn = {f: res(name, f'aws_lambda_function.this["{f}"]')["function_name"] for f in functions}
    queue = res(name, "aws_sqs_queue.monitor")["name"]
    queues = (
        ("monitor_dlq", "scheduler_dlq", "drill_dlq[0]")
        if drill
        else ("monitor_dlq", "scheduler_dlq")
    )
    dlqs = [res(name, f"aws_sqs_queue.{q}")["name"] for q in queues]
    ns = "DynamoDBBackup"

    stem = res(name, 'aws_lambda_function.this["scheduler"]')["function_name"].removesuffix(
        "-scheduler"
    )
    # Account-wide, so the region is in the name.
    assert board["name"] == f"{stem}-{res(name, 'data.aws_region.current')['id']}"
    emf = {
        "BackupsSucceeded",
        "BackupsFailed",
        "BackupsPending",
        "BackupsDeleted",
        "TablesUnprotected",
        "BackupStorageBytes",
    }
    if drill:
        emf |= {"RestoreDrillSucceeded", "RestoreDrillFailed", "RestoreDrillSeconds"}
    want = {(ns, m, "BackupNamePrefix", prefix) for m in emf}
    want |= {
        ("AWS/Lambda", m, "FunctionName", f) for m in ("Errors", "Duration") for f in fn.values()
    }
    want |= {("AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", queue)}
    want |= {("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", q) for q in dlqs}
    assert metric_series(board["body"]) == want

    region = res(name, "data.aws_region.current")["id"]
    for w in board["body"]["widgets"]:
        assert w["x"] >= 0
        assert w["x"] + w["width"] <= 24
        if w["type"] == "metric":
            assert w["properties"]["region"] == region
            assert w["properties"]["period"] % 60 == 0
            assert w["properties"]["title"]


@pytest.mark.parametrize("name", EXAMPLES)
def test_dashboard_shows_exactly_the_alarms_the_module_created(name: str) -> None:
    (widget,) = [w for w in dashboard(name)["body"]["widgets"] if w["type"] == "alarm"]
    alarms = tfeval.find_all(ex(name), f"{M}.aws_cloudwatch_metric_alarm.")
    # six always; complete: the unprotected-tables alarm and the restore drill's four
    assert len(alarms) == (11 if name == "complete" else 6)
    assert sorted(widget["properties"]["alarms"]) == sorted(a["id"] for a in alarms)


def test_dashboard_metrics_use_the_alarms_names(tmp_path: Path) -> None:
    """Changing the prefix, namespace or name moves the dashboard and the alarms together."""
    inputs = {
        "table_names": ["orders"],
        "name": "other",
        "backup_name_prefix": "weekly",
        "metrics_namespace": "Team/Backups",
    }
    parsed = tfeval.evaluate_module(tfeval.REPO, {"m": inputs}, tmp_path)
    board = tfeval.find(parsed, "module.m.aws_cloudwatch_dashboard.this[0]")
    series = metric_series(json.loads(board["dashboard_body"]))
    failed = tfeval.find(parsed, "module.m.aws_cloudwatch_metric_alarm.backups_failed[0]")
    assert (failed["namespace"], "BackupsFailed", "BackupNamePrefix", "weekly") in series
    assert failed["dimensions"] == {"BackupNamePrefix": "weekly"}
    errors = tfeval.find(parsed, 'module.m.aws_cloudwatch_metric_alarm.function_errors["monitor"]')
    assert ("AWS/Lambda", "Errors", "FunctionName", errors["dimensions"]["FunctionName"]) in series
    assert board["dashboard_name"].startswith("other-")
    assert all(s[3] != "scheduled" for s in series)


def test_no_dashboard_when_turned_off(tmp_path: Path) -> None:
    parsed = tfeval.evaluate_module(
        tfeval.REPO, {"m": {"table_names": ["orders"], "create_dashboard": False}}, tmp_path
    )
    assert addresses(parsed, "module.m.aws_cloudwatch_dashboard.") == set()


# -- runbook ----------------------------------------------------------------------------


def github_anchors(markdown: str) -> set[str]:
    """Anchors GitHub gives the headings: lower case, punctuation dropped, spaces to '-'."""
    seen: dict[str, int] = {}
    anchors: set[str] = set()
    in_code = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        m = re.match(r"^#{1,6} (.+?)\s*#*$", line)
        if in_code or not m:
            continue
        text = re.sub(r"`|\*|_(?=\W)|(?<=\W)_", "", m.group(1)).strip().lower()
        slug = re.sub(r"[^\w\- ]", "", text).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        anchors.add(slug if n == 0 else f"{slug}-{n}")
    return anchors


def test_github_anchor_rules() -> None:
    text = (
        "# Alarm: no backup succeeded (dead man)\n## Reason: `could not start backup`\n## A\n## A\n"
    )
    assert github_anchors(text) == {
        "alarm-no-backup-succeeded-dead-man",
        "reason-could-not-start-backup",
        "a",
        "a-1",
    }


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_alarm_links_to_its_runbook_section(name: str) -> None:
    anchors = github_anchors(RUNBOOK.read_text(encoding="utf-8"))
    base = "https://github.com/example-org/terraform-aws-dynamodb-backup/blob/main/docs/runbook.md"
    alarms = tfeval.find_all(ex(name), f"{M}.aws_cloudwatch_metric_alarm.")
    linked = set()
    for alarm in alarms:
        links = re.findall(r"(https://\S+)#([a-z0-9-]+)", alarm["alarm_description"])
        assert len(links) == 1, alarm["alarm_description"]
        ((url, anchor),) = links
        assert url == base
        assert anchor in anchors, f"{tfeval.block_path(alarm)} links to missing #{anchor}"
        assert len(alarm["alarm_description"]) <= 1024
        linked.add(anchor)
    assert len(linked) == len(alarms)  # one section per alarm


def test_runbook_url_is_the_links_base(tmp_path: Path) -> None:
    url = "https://wiki.example.com/ops/dynamodb-backup"
    parsed = tfeval.evaluate_module(
        tfeval.REPO, {"m": {"table_names": ["orders"], "runbook_url": url}}, tmp_path
    )
    for alarm in tfeval.find_all(parsed, "module.m.aws_cloudwatch_metric_alarm."):
        assert f"Runbook: {url}#alarm-" in alarm["alarm_description"]


def test_runbook_covers_every_alert_reason_and_its_links_resolve() -> None:
    text = RUNBOOK.read_text(encoding="utf-8")
    anchors = github_anchors(text)
    for section in (
        "reason-could-not-start-backup",
        "reason-backup-status-deleted-while-waiting",
        "reason-backup-not-found",
        "reason-timed-out",
        "reason-could-not-delete-backup",
        "reason-unreadable-queue-message",
        "reason-selection-matches-no-table",
        "reason-could-not-select-tables-by-tag",
        "reason-queue-send-failed",
        "monitoring-dead-letter-queue",
        "scheduler-dead-letter-queue",
        "restore-a-table-from-a-backup",
        "pause-backups-safely",
    ):
        assert section in anchors
    for code in ("TableNotFoundException", "AccessDeniedException", "ThrottlingException"):
        assert code in text
    assert "TimeBudgetExhausted" in text
    assert "dynamodb_abac_enabled = false" in text
    for command in (
        "aws sqs start-message-move-task",
        "aws dynamodb restore-table-from-backup",
        "aws dynamodb describe-backup",
        "aws dynamodb list-backups",
        "aws logs filter-log-events",
    ):
        assert command in text
    for target in re.findall(r"\]\(#([^)]+)\)", text):
        assert target in anchors, f"runbook links to missing #{target}"


# -- triggers ---------------------------------------------------------------------------

RULE_TRIGGER = (
    "aws_cloudwatch_event_rule.",
    "aws_cloudwatch_event_target.",
    "aws_lambda_permission.",
    "aws_sqs_queue_policy.",
)
SCHEDULER_TRIGGER = (
    "aws_scheduler_schedule.",
    "aws_iam_role.schedule[",
    "aws_iam_role_policy.schedule[",
)


@pytest.mark.parametrize("name", EXAMPLES)
def test_exactly_one_trigger_exists(name: str) -> None:
    # The restore drill's own rule (examples/complete) is no trigger of the scheduler.
    rule = [a for p in RULE_TRIGGER for a in addresses(ex(name), f"{M}.{p}") if "drill" not in a]
    scheduler = [a for p in SCHEDULER_TRIGGER for a in addresses(ex(name), f"{M}.{p}")]
    if TIMEZONES[name] is None:
        assert len(rule) == 4
        assert scheduler == []
    else:
        assert rule == []
        assert len(scheduler) == 3


def scheduler_mode(tmp_path: Path, **extra: Any) -> tfeval.Parsed:
    inputs = {"table_names": ["orders"], "schedule_timezone": "America/New_York", **extra}
    return tfeval.evaluate_module(tfeval.REPO, {"m": inputs}, tmp_path)


@pytest.mark.parametrize("name", [n for n in EXAMPLES if TIMEZONES[n]])
def test_scheduler_schedule_invokes_the_scheduler_in_its_time_zone(name: str) -> None:
    schedule = res(name, "aws_scheduler_schedule.schedule[0]")
    scheduler = res(name, 'aws_lambda_function.this["scheduler"]')
    dlq = res(name, "aws_sqs_queue.scheduler_dlq")
    role = res(name, "aws_iam_role.schedule[0]")

    assert schedule["schedule_expression"] == "cron(30 2 * * ? *)"
    assert schedule["schedule_expression_timezone"] == TIMEZONES[name]
    assert schedule["name"] == "ProdDynamoDBBackupSchedule"
    assert schedule["state"] == "ENABLED"
    assert schedule["flexible_time_window"] == {**schedule["flexible_time_window"], "mode": "OFF"}
    assert "maximum_window_in_minutes" not in schedule["flexible_time_window"]
    assert "group_name" not in schedule  # the default group
    target = schedule["target"]
    assert target["arn"] == scheduler["id"]
    assert target["role_arn"] == role["id"]
    assert target["dead_letter_config"]["arn"] == dlq["id"]
    assert target["retry_policy"]["maximum_retry_attempts"] == 185
    assert target["retry_policy"]["maximum_event_age_in_seconds"] == 86400


def test_scheduler_input_carries_the_slot_as_time(tmp_path: Path) -> None:
    """Scheduler sends only this input: without `time` every invocation would be a new slot."""
    target = tfeval.find(scheduler_mode(tmp_path), "module.m.aws_scheduler_schedule.schedule[0]")[
        "target"
    ]
    raw = target["input"]
    # The keyword must be in the raw text: jsonencode's \u003c...\u003e would not be replaced.
    assert '"time":"<aws.scheduler.scheduled-time>"' in raw
    assert "\\u003c" not in raw
    event = json.loads(raw)
    assert event["time"] == "<aws.scheduler.scheduled-time>"
    assert event["detail-type"] == "Scheduled Event"
    assert event["detail"] == {}


def test_scheduler_role_may_only_invoke_the_scheduler_and_send_dead_letters(
    tmp_path: Path,
) -> None:
    parsed = scheduler_mode(tmp_path)
    role = tfeval.find(parsed, "module.m.aws_iam_role.schedule[0]")
    # The trust policy names the account (a data source tfparse cannot evaluate): read it
    # from the source.
    source = (tfeval.REPO / "schedule_timezone.tf").read_text(encoding="utf-8")
    (trust,) = re.findall(r"assume_role_policy = jsonencode\((\{.*?\n  \})\)", source, re.S)
    assert 'Principal = { Service = "scheduler.amazonaws.com" }' in trust
    assert 'Action    = "sts:AssumeRole"' in trust
    assert '"aws:SourceAccount" = local.account_id' in trust
    assert trust.count("Effect") == 1

    attached = tfeval.find(parsed, "module.m.aws_iam_role_policy.schedule[0]")
    assert attached["role"] == role["id"]
    policy = json.loads(attached["policy"])
    scheduler = tfeval.find(parsed, 'module.m.aws_lambda_function.this["scheduler"]')["id"]
    dlq = tfeval.find(parsed, "module.m.aws_sqs_queue.scheduler_dlq")["id"]
    assert {(s["Effect"], s["Action"], tuple(s["Resource"])) for s in policy["Statement"]} == {
        ("Allow", "lambda:InvokeFunction", (scheduler,)),
        ("Allow", "sqs:SendMessage", (dlq,)),
    }
    # No trigger of the other kind, and no resource policy for it.
    for prefix in RULE_TRIGGER:
        assert addresses(parsed, f"module.m.{prefix}") == set()


def test_scheduler_role_may_use_the_customer_key_of_the_dead_letter_queue(
    tmp_path: Path,
) -> None:
    parsed = scheduler_mode(tmp_path, kms_key_arn=KEY)
    policy = json.loads(tfeval.find(parsed, "module.m.aws_iam_role_policy.schedule[0]")["policy"])
    (key,) = [s for s in policy["Statement"] if s["Sid"] == "DeadLetterQueueKey"]
    assert key["Resource"] == [KEY]
    assert sorted(key["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]


def test_disabled_schedule_disables_the_scheduler_schedule(tmp_path: Path) -> None:
    parsed = scheduler_mode(tmp_path, schedule_enabled=False)
    schedule = tfeval.find(parsed, "module.m.aws_scheduler_schedule.schedule[0]")
    assert schedule["state"] == "DISABLED"


def test_dead_man_window_follows_a_rate_schedule_in_a_time_zone(tmp_path: Path) -> None:
    parsed = scheduler_mode(tmp_path, schedule_expression="rate(12 hours)")
    alarm = tfeval.find(parsed, "module.m.aws_cloudwatch_metric_alarm.no_backup_succeeded[0]")
    assert alarm["evaluation_periods"] == 14  # 12 h + the 2 h margin


@pytest.mark.parametrize(
    ("zone", "ok"),
    [
        ("Europe/Berlin", True),
        ("America/Argentina/Buenos_Aires", True),
        ("UTC", True),
        ("Etc/GMT+5", True),
        ("berlin", False),
        ("CET ", False),
        ("Europe/", False),
        ("+02:00", False),
    ],
)
def test_time_zone_must_be_an_iana_name(zone: str, ok: bool, tmp_path: Path) -> None:
    parsed = scheduler_mode(tmp_path, schedule_timezone=zone)
    variable = tfeval.find(parsed, "module.m.variable.schedule_timezone")
    results = [c for c, _ in tfeval.conditions(variable, "validation")]
    assert results == [ok]


# -- deletion guard ---------------------------------------------------------------------


def guard(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(res(name, "output.deletion_guard_policy_json")["value"])
    return doc


@pytest.mark.parametrize("name", EXAMPLES)
def test_deletion_guard_denies_every_principal_but_the_monitor(name: str) -> None:
    doc = guard(name)
    assert doc["Version"] == "2012-10-17"
    (statement,) = doc["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Action"] == "dynamodb:DeleteBackup"
    monitor_role = res(name, 'aws_iam_role.this["monitor"]')["id"]
    # SCPs support no NotPrincipal: the exception is a condition on the caller's ARN.
    assert statement["Condition"] == {"ArnNotLike": {"aws:PrincipalArn": [monitor_role]}}
    assert "Principal" not in statement
    assert "NotPrincipal" not in statement
    assert len(json.dumps(doc, separators=(",", ":"))) <= 5120  # an SCP's size limit


@pytest.mark.parametrize("name", EXAMPLES)
def test_deletion_guard_covers_exactly_what_the_monitor_may_delete(name: str) -> None:
    resources = guard(name)["Statement"][0]["Resource"]
    monitor = json.loads(res(name, 'aws_iam_role_policy.this["monitor"]')["policy"])
    may_delete = [
        r
        for s in monitor["Statement"]
        if "dynamodb:DeleteBackup" in s["Action"]
        for r in s["Resource"]
    ]
    assert resources == may_delete
    tables = res(name, 'aws_lambda_function.this["scheduler"]')["environment"]["variables"]
    names = json.loads(tables["TABLE_NAMES"])
    if json.loads(tables["TABLE_TAGS"]):
        assert resources == [r for r in resources if r.endswith(":table/*/backup/*")] != []
    else:
        assert sorted(r.split(":table/")[1] for r in resources) == sorted(
            f"{t}/backup/*" for t in names
        )


# -- many regions -----------------------------------------------------------------------

MULTI = tfeval.EXAMPLES / "multi-region"
INSTANCES = {"module.dynamodb_backup": "eu_west_1", "module.dynamodb_backup_us_east_1": "us_east_1"}


def test_multi_region_calls_the_module_once_per_region_with_its_provider() -> None:
    """tfparse does not resolve `providers` (it reports None): read them from the source."""
    providers = tfeval.blocks(tfeval.load_example("multi-region"), "provider")
    assert {p["alias"]: p["region"] for p in providers} == {
        "eu_west_1": "eu-west-1",
        "us_east_1": "us-east-1",
    }
    with (MULTI / "main.tf").open(encoding="utf-8") as handle:
        parsed = hcl2.load(handle)
    calls = {name.strip('"'): body for call in parsed["module"] for name, body in call.items()}
    assert {f"module.{n}": c["providers"]["aws"] for n, c in calls.items()} == {
        address: f"${{aws.{alias}}}" for address, alias in INSTANCES.items()
    }
    for call in calls.values():
        assert call["source"] == '"../../"'


def test_multi_region_names_do_not_collide_where_aws_names_are_global() -> None:
    """IAM roles and CloudWatch dashboards are account-wide: each region's must differ."""
    parsed = tfeval.load_example("multi-region")
    global_names: list[str] = []
    for address in INSTANCES:
        roles = [
            b["name"] for b in tfeval.find_all(parsed, f"{address}.aws_iam_role.") if "name" in b
        ]
        assert len(roles) == 2
        global_names += roles
        global_names.append(
            tfeval.find(parsed, f"{address}.aws_cloudwatch_dashboard.this[0]")["dashboard_name"]
        )
    assert len(set(global_names)) == len(global_names) == 6


def test_multi_region_second_instance_watches_its_own_region() -> None:
    parsed = tfeval.load_example("multi-region")
    address = "module.dynamodb_backup_us_east_1"
    scheduler = tfeval.find(parsed, f'{address}.aws_lambda_function.this["scheduler"]')
    assert scheduler["function_name"] == "dynamodb-backup-us-east-1-scheduler"
    assert json.loads(scheduler["environment"]["variables"]["TABLE_NAMES"]) == [
        "orders",
        "sessions",
    ]
    queue = tfeval.find(parsed, f"{address}.aws_sqs_queue.monitor")
    assert scheduler["environment"]["variables"]["MONITOR_QUEUE_URL"] == queue["id"]
    region = tfeval.find(parsed, f"{address}.data.aws_region.current")["id"]
    other = tfeval.find(parsed, "module.dynamodb_backup.data.aws_region.current")["id"]
    board = json.loads(
        tfeval.find(parsed, f"{address}.aws_cloudwatch_dashboard.this[0]")["dashboard_body"]
    )
    assert {w["properties"]["region"] for w in board["widgets"] if w["type"] == "metric"} == {
        region
    }
    assert region != other
    alarms = tfeval.find_all(parsed, f"{address}.aws_cloudwatch_metric_alarm.")
    topic = tfeval.find(parsed, f"{address}.aws_sns_topic.this[0]")["id"]
    assert len(alarms) == 6
    assert all(a["alarm_actions"] == [topic] for a in alarms)
