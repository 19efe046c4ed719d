"""The restore drill end to end on the local runtime: the drill function, the monitor
and restores that take time (`localrun.drill`), with the IAM proof of the drill's role.

Each scenario backs the tables up with a real daily run first, then plays the drill's
schedule; none may leave a drill table behind.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from localrun.__main__ import run_demo
from localrun.clock import VirtualClock
from localrun.cycle import LocalDeployment, Settings
from localrun.drill import DrillReport, DrillSettings, LocalDrill, format_drill
from localrun.iam import Request, render_policies
from localrun.server import LocalAws

from .conftest import START, Deploy

WEEK = timedelta(days=7)
DAY_SLOT = START + timedelta(hours=1)  # the daily backup run
DRILL_SLOT = START + timedelta(hours=6)


def _deployment(deploy: Deploy, tables: tuple[str, ...] = ("orders",)) -> LocalDeployment:
    deployment = deploy(Settings(table_names=tables))
    deployment.create_tables(tables, items=5)
    return deployment


def _backed_up(deployment: LocalDeployment, slot: datetime = DAY_SLOT) -> None:
    day = deployment.run_day(slot)
    assert day.problems == []
    assert all(b.status == "AVAILABLE" for b in day.created.values())


def _alert_text(report: DrillReport) -> str:
    return "\n".join(a.message for a in report.alerts)


def test_a_successful_drill_restores_verifies_measures_and_deletes(deploy: Deploy) -> None:
    deployment = _deployment(deploy)
    _backed_up(deployment)
    drill = LocalDrill(deployment, restore_duration=lambda _t: 14 * 60.0)
    report = drill.run(DRILL_SLOT)
    assert report.alerts == []
    assert report.result["restores_started"] == report.restored
    (target,) = report.restored
    assert target.startswith("scheduled-drill-orders-")
    assert report.metrics["RestoreDrillSucceeded"] == [1]
    assert report.metrics["RestoreDrillFailed"] == [0, 0]  # the drill's, the monitor's
    (seconds,) = report.metrics["RestoreDrillSeconds"]
    assert 14 * 60 <= seconds < 14 * 60 + 600  # measured at the first look after ACTIVE
    assert drill.restores.restores[0]["BillingModeOverride"] == "PAY_PER_REQUEST"
    assert report.left_over == []
    assert "orders" in deployment.existing_tables()


def test_a_table_without_a_backup_is_an_alerted_failure(deploy: Deploy) -> None:
    deployment = _deployment(deploy)
    drill = LocalDrill(deployment)
    report = drill.run(DRILL_SLOT)
    assert report.restored == []
    assert "table: orders" in _alert_text(report)
    assert "no backup to drill" in _alert_text(report)
    assert report.metrics["RestoreDrillFailed"] == [1]
    assert report.left_over == []


def test_a_restore_that_comes_back_empty_fails_verification(deploy: Deploy) -> None:
    deployment = _deployment(deploy)
    _backed_up(deployment)
    drill = LocalDrill(deployment)
    drill.restores.empty.add("orders")
    report = drill.run(DRILL_SLOT)
    text = _alert_text(report)
    assert "verification failed: the restored table is empty" in text
    assert "backup: arn:aws:dynamodb:" in text
    assert report.metrics["RestoreDrillFailed"][-1] == 1
    assert "RestoreDrillSucceeded" in report.metrics
    assert report.metrics["RestoreDrillSucceeded"] == [0]
    assert report.left_over == []


def _describe_table(operation: str, params: Mapping[str, Any]) -> bool:
    return operation == "DescribeTable" and "-drill-" in str(params.get("TableName", ""))


def test_a_monitor_crash_between_restore_and_clean_up_is_cleaned_by_the_next_drill(
    deploy: Deploy,
) -> None:
    deployment = _deployment(deploy)
    _backed_up(deployment)
    drill = LocalDrill(deployment)
    crashed = drill.run(DRILL_SLOT, monitor_crash_after=_describe_table)
    (target,) = crashed.restored
    assert crashed.left_over == [target]  # the check message went to the monitor's DLQ
    assert deployment.dead_letters()
    _backed_up(deployment, DAY_SLOT + WEEK)
    report = drill.run(DRILL_SLOT + WEEK)
    text = _alert_text(report)
    assert f"table: {target}" in text
    assert "left over drill table deleted" in text
    assert report.metrics["RestoreDrillSucceeded"] == [1]
    assert report.left_over == []


def test_a_backup_larger_than_the_limit_is_not_restored(deploy: Deploy) -> None:
    deployment = _deployment(deploy)
    _backed_up(deployment)
    drill = LocalDrill(deployment, DrillSettings(max_backup_bytes=10 * 1024**3))
    drill.restores.sizes["orders"] = 11 * 1024**3
    report = drill.run(DRILL_SLOT)
    assert report.restored == []
    assert "backup too large" in _alert_text(report)
    assert report.metrics["RestoreDrillFailed"] == [1]
    assert report.left_over == []


def test_a_restore_that_outlasts_the_wait_times_out_and_is_still_deleted(
    deploy: Deploy,
) -> None:
    deployment = _deployment(deploy)
    _backed_up(deployment)
    drill = LocalDrill(
        deployment, DrillSettings(max_wait_minutes=30), restore_duration=lambda _t: 50 * 60.0
    )
    report = drill.run(DRILL_SLOT)
    assert "timed out" in _alert_text(report)
    assert "DRILL_MAX_WAIT_MINUTES=30" in _alert_text(report)
    assert report.left_over == []  # deleted once the restore let it be deleted


def test_the_rotation_drills_every_table_in_turn(deploy: Deploy) -> None:
    tables = ("aaa-table", "bbb-table", "ccc-table")
    deployment = _deployment(deploy, tables)
    drill = LocalDrill(deployment, restore_duration=lambda _t: 60.0)
    drilled: list[str] = []
    for week in range(3):
        _backed_up(deployment, DAY_SLOT + week * WEEK)
        report = drill.run(DRILL_SLOT + week * WEEK)
        assert report.alerts == []
        drilled += report.result["tables"]
        assert report.left_over == []
    assert sorted(drilled) == list(tables)


def test_a_drill_that_keeps_crashing_lands_in_its_dead_letter_queue(deploy: Deploy) -> None:
    deployment = _deployment(deploy)
    _backed_up(deployment)
    drill = LocalDrill(deployment)
    report = drill.run(DRILL_SLOT, crash_after=lambda operation, _params: operation == "ListTables")
    assert len(report.invocations) == 3  # Lambda's two retries
    assert len(report.dead_letters) == 1
    assert report.restored == []
    assert report.left_over == []


def test_a_drill_crash_right_after_the_restore_is_cleaned_by_the_next_drill(
    deploy: Deploy,
) -> None:
    deployment = _deployment(deploy)
    _backed_up(deployment)
    drill = LocalDrill(deployment)
    crashes = [1]

    def once(operation: str, _params: Mapping[str, Any]) -> bool:
        if operation == "RestoreTableFromBackup" and crashes[0]:
            crashes[0] -= 1
            return True
        return False

    report = drill.run(DRILL_SLOT, crash_after=once)
    assert len(report.invocations) == 2  # the retry finds the drill table and starts nothing
    (target,) = report.restored
    assert report.left_over == [target]
    _backed_up(deployment, DAY_SLOT + WEEK)
    later = drill.run(DRILL_SLOT + WEEK)
    assert "left over drill table deleted" in _alert_text(later)
    assert later.metrics["RestoreDrillSucceeded"] == [1]
    assert later.left_over == []


def test_the_demo_week_includes_one_successful_drill(aws: LocalAws, clock: VirtualClock) -> None:
    drills: list[dict[str, Any]] = []
    result = run_demo(clock, aws, days=3, retention_days=3, hour=3, emit_drill=drills.append)
    assert result["ok"] is True
    assert drills == [result["drill"]]
    (drilled,) = result["drill"]["tables"]
    assert drilled in ("audit-log", "customers", "inventory", "orders")
    assert result["drill"]["succeeded"] == 1
    assert result["drill"]["left_over"] == []
    text = format_drill(result["drill"])
    assert "verified, deleted" in text
    assert "RestoreDrillSeconds" in text


def test_the_drill_and_the_monitor_may_delete_only_drill_tables(deploy: Deploy) -> None:
    deployment = _deployment(deploy)
    LocalDrill(deployment)
    policies = render_policies(deployment.policy_inputs())
    table = "arn:aws:dynamodb:eu-west-1:123456789012:table/"
    for function in ("drill", "monitor"):
        policy = policies[function]
        for action in ("dynamodb:DeleteTable", "dynamodb:Scan"):
            assert policy.evaluate(Request(action, f"{table}scheduled-drill-orders-x")).allowed
            assert not policy.evaluate(Request(action, f"{table}orders")).allowed
            assert not policy.evaluate(Request(action, f"{table}other-drill-orders-x")).allowed
    drill = policies["drill"]
    for action in (
        "dynamodb:PutItem",
        "dynamodb:BatchWriteItem",
        "dynamodb:RestoreTableFromBackup",
    ):
        assert not drill.evaluate(Request(action, f"{table}orders")).allowed
    backup = f"{table}orders/backup/01793502000000-036a2094"
    assert drill.evaluate(Request("dynamodb:RestoreTableFromBackup", backup)).allowed
    assert not drill.evaluate(
        Request("dynamodb:RestoreTableFromBackup", f"{table}users/backup/0-x")
    ).allowed
    assert not drill.evaluate(Request("dynamodb:CreateBackup", f"{table}orders")).allowed
    assert (
        not policies["scheduler"]
        .evaluate(Request("dynamodb:DeleteTable", f"{table}scheduled-drill-orders-x"))
        .allowed
    )


def test_a_drill_of_a_tag_selected_table(deploy: Deploy) -> None:
    deployment = deploy(Settings(table_tags={"backup": "daily"}))
    deployment.create_tables(["audit-log"], items=5, tags={"backup": "daily"})
    deployment.create_tables(["scratch"], items=1)
    _backed_up(deployment)
    report = LocalDrill(deployment).run(DRILL_SLOT)
    assert report.result["tables"] == ["audit-log"]
    assert report.alerts == []
    assert report.metrics["RestoreDrillSucceeded"] == [1]
    assert report.left_over == []
