"""`make demo`'s run and the runtime's oracle: it passes a sound cycle and flags a bad one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from localrun.__main__ import BAD_DAY_TABLE, run_demo
from localrun.clock import VirtualClock
from localrun.cycle import Settings
from localrun.report import format_day, format_summary
from localrun.server import ApiCall, AwsResponse, Forward, LocalAws, json_response

from .conftest import Deploy

SLOT = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)


def test_demo_week_then_bad_day(aws: LocalAws, clock: VirtualClock) -> None:
    days: list[dict[str, object]] = []
    result = run_demo(clock, aws, days=4, retention_days=3, hour=3, emit=days.append)
    assert result["ok"] is True
    assert len(days) == 5
    bad = days[-1]
    assert BAD_DAY_TABLE in str(bad["alerts"])
    assert "could not start backup: TableNotFoundException" in format_day(bad)
    kept = {row["table"]: row["kept"] for row in result["summary"]}
    assert kept == {"audit-log": 3, "customers": 3, "inventory": 3, "orders": 3}
    assert "not ours, untouched" in format_summary(result["summary"], result["finished"])


def test_oracle_flags_a_backup_silently_lost(deploy: Deploy) -> None:
    d = deploy(Settings(table_names=("orders", "users")))
    d.create_tables(["orders", "users"])

    def fake_success(call: ApiCall, forward: Forward) -> AwsResponse:
        # the service claims a backup it never made: nobody alerts, the oracle must notice
        if call.operation == "CreateBackup" and call.params.get("TableName") == "users":
            arn = f"arn:aws:dynamodb:{call.region}:{call.account}:table/users/backup/0-x"
            return json_response(
                {
                    "BackupDetails": {
                        "BackupArn": arn,
                        "BackupName": call.params["BackupName"],
                        "BackupStatus": "AVAILABLE",
                        "BackupType": "USER",
                        "BackupCreationDateTime": SLOT.timestamp(),
                    }
                }
            )
        return forward(call)

    d.aws.intercept(fake_success)
    report = d.run_day(SLOT)
    assert "users: no AVAILABLE backup of this run" in report.problems
    assert not any(p.startswith("orders") for p in report.problems)


def test_oracle_flags_a_kept_backup_deleted(deploy: Deploy) -> None:
    d = deploy(Settings(table_names=("orders",), retention_days=3))
    d.create_tables(["orders"])
    for day in range(3):
        assert d.run_day(SLOT + timedelta(days=day)).problems == []
    in_window = sorted(d.backups().values(), key=lambda b: b.created)[-1]  # yesterday's

    def wrongly_delete() -> None:
        d.ddb.delete_backup(BackupArn=in_window.arn)

    report = d.run_day(SLOT + timedelta(days=3), before_drain=wrongly_delete)
    assert f"orders: backup {in_window.name} deleted but should be kept" in report.problems
