"""End-to-end scenarios (issue 4): the real handlers on the local runtime.

Each scenario asserts what was lost (nothing: every backup that should exist exists,
nothing that should be kept was deleted) and what was alerted. `DayReport.problems` is
the runtime's own oracle (see `LocalDeployment.check`); the tests assert it empty and
then the scenario's specific outcome.
"""

from __future__ import annotations

import json
import random
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from localrun.clock import VirtualClock, iso_z
from localrun.cycle import (
    BackupState,
    DayReport,
    LocalDeployment,
    Settings,
    expected_backup_name,
)
from localrun.functions import SimulatedCrash
from localrun.server import ApiCall, AwsResponse, Forward, aws_error

from .conftest import Deploy

DAY = timedelta(days=1)
SLOT0 = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)


def slot(day: int) -> datetime:
    """The schedule slot of day 1, 2, ..."""
    return SLOT0 + (day - 1) * DAY


def own_backups(d: LocalDeployment, table: str) -> list[BackupState]:
    return sorted(
        (b for b in d.backups().values() if b.table == table and b.own(d.settings.prefix)),
        key=lambda b: b.created,
    )


def run_days(d: LocalDeployment, table: str) -> list[int]:
    """The days whose run's backup of `table` still exists (by the backup name)."""
    days = []
    for backup in own_backups(d, table):
        for day in range(1, 30):
            if backup.name == f"{d.settings.prefix}-{table}-{slot(day):%Y%m%dT%H%M%SZ}":
                days.append(day)
    return days


def alert_text(report: DayReport) -> str:
    return "\n".join(f"{a.subject}\n{a.message}" for a in report.alerts)


def assert_clean(report: DayReport) -> None:
    assert report.problems == []
    assert report.alerts == []
    assert report.dead_letters == []
    assert report.expired == []
    assert not any(i.failed for i in report.scheduler + report.monitor)


def run_bodies(d: LocalDeployment) -> list[dict[str, Any]]:
    """Every queue message the monitor was given, decoded."""
    found = []
    for outcome in d.esm.outcomes:
        for record in outcome.records:
            try:
                found.append(json.loads(record["body"]))
            except ValueError:
                found.append({"unreadable": record["body"]})
    return found


# 1 ------------------------------------------------------------------------------------------
def test_normal_week_one_backup_per_table_per_day_and_retention(deploy: Deploy) -> None:
    d = deploy(
        Settings(table_names=("orders", "customers"), table_tags={"backup": "daily"}),
        backup_duration=lambda t: 420.0 if t == "customers" else 60.0,
    )
    d.create_tables(["orders", "customers"])
    d.create_tables(["audit"], tags={"backup": "daily"})
    d.create_tables(["scratch"], tags={"backup": "never"})
    manual = d.add_backup("orders", "before-migration", slot(1) - 40 * DAY)
    aws_backup = d.add_backup("orders", "scheduled-aws-backup", slot(1) - 40 * DAY, "AWS_BACKUP")
    tables = ["audit", "customers", "orders"]
    for day in range(1, 8):
        report = d.run_day(slot(day))
        assert_clean(report)
        assert sorted(report.created) == tables
        assert all(b.status == "AVAILABLE" for b in report.created.values())
        for table in tables:
            names = [b.name for b in own_backups(d, table)]
            expected_days = range(max(1, day - 2), day + 1)  # 3-day retention, in-window
            assert names == [f"scheduled-{table}-{slot(n):%Y%m%dT%H%M%SZ}" for n in expected_days]
        assert own_backups(d, "scratch") == []
    survivors = d.backups()
    assert manual.arn in survivors
    assert aws_backup.arn in survivors
    # the slow table's backups were re-enqueued while CREATING (attempt > 0)
    assert any(b.get("kind") == "chunk" and b.get("attempt", 0) > 0 for b in run_bodies(d))


# 2 ------------------------------------------------------------------------------------------
def test_listed_table_missing_is_alerted_and_others_backed_up(deploy: Deploy) -> None:
    d = deploy(Settings(table_names=("orders", "ghost", "users")))
    d.create_tables(["orders", "users"])
    report = d.run_day(slot(1))
    assert report.problems == []
    assert sorted(report.created) == ["orders", "users"]
    assert len(report.alerts) == 1
    text = alert_text(report)
    assert "table: ghost" in text
    assert "TableNotFoundException" in text
    assert "orders" not in text
    assert "users" not in text


# 3 ------------------------------------------------------------------------------------------
class ThrottlingStorm:
    """Answers a share of the functions' DynamoDB calls with throttling errors."""

    def __init__(self, share: float, seed: int) -> None:
        self.share = share
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.throttled = 0

    def __call__(self, call: ApiCall, forward: Forward) -> AwsResponse:
        if call.service != "dynamodb" or call.principal == "runtime":
            return forward(call)
        with self.lock:
            hit = self.rng.random() < self.share
            if hit:
                self.throttled += 1
        if not hit:
            return forward(call)
        if call.operation == "CreateBackup" and self.throttled % 2:
            return aws_error(call, "LimitExceededException", "Too many backups in progress")
        return aws_error(call, "ThrottlingException", "Rate of requests exceeds the allowed")


def test_throttling_storm_every_backup_still_made(deploy: Deploy) -> None:
    tables = [f"table-{i:02d}" for i in range(12)]
    d = deploy(Settings(table_names=tuple(tables), retention_days=1))
    d.create_tables(tables, items=1)
    storm = ThrottlingStorm(share=0.5, seed=4)
    d.aws.intercept(storm)
    for day in range(1, 4):
        report = d.run_day(slot(day))
        assert_clean(report)
        assert sorted(report.created) == tables
    assert storm.throttled > 50
    for table in tables:
        assert run_days(d, table) == [3]  # 1-day retention: only the newest run's


# 4 ------------------------------------------------------------------------------------------
def test_table_in_use_then_free_is_retried_and_backed_up(deploy: Deploy) -> None:
    d = deploy(Settings(table_names=("busy", "calm")))
    d.create_tables(["busy", "calm"])
    refused: list[str] = []

    def in_use(call: ApiCall, forward: Forward) -> AwsResponse:
        busy = call.operation == "CreateBackup" and call.params.get("TableName") == "busy"
        if busy and len(refused) < 3:
            refused.append(call.principal)
            return aws_error(call, "TableInUseException", "Table is being updated: busy")
        return forward(call)

    d.aws.intercept(in_use)
    report = d.run_day(slot(1))
    assert_clean(report)
    assert refused == ["scheduler"] * 3
    assert report.created["busy"].status == "AVAILABLE"


# 5 ------------------------------------------------------------------------------------------
def test_backup_deleted_while_monitor_waits_is_alerted(deploy: Deploy) -> None:
    # doomed is selected by its tag: its backups are in the tag statements' reach only
    d = deploy(Settings(table_names=("orders",), table_tags={"backup": "daily"}, retention_days=1))
    d.create_tables(["orders"])
    d.create_tables(["doomed"], tags={"backup": "daily"})
    for day in (1, 2):
        assert_clean(d.run_day(slot(day)))
    kept_before = own_backups(d, "doomed")
    assert run_days(d, "doomed") == [2]
    victim: list[str] = []

    def delete_doomed_backup() -> None:
        for state in d.backups().values():
            if state.table == "doomed" and state.name.endswith(f"{slot(3):%Y%m%dT%H%M%SZ}"):
                victim.append(state.arn)
                d.semantics.lifecycle.ready_at.pop(state.arn, None)
                d.ddb.delete_backup(BackupArn=state.arn)

    report = d.run_day(slot(3), before_drain=delete_doomed_backup, expected_failures=["doomed"])
    assert report.problems == []
    assert len(victim) == 1
    text = alert_text(report)
    assert "table: doomed" in text
    assert victim[0] in text
    assert "backup not found" in text or "DELETED" in text
    assert "table: orders" not in text
    # no retention for the table whose backup failed; the others as usual
    assert own_backups(d, "doomed") == kept_before
    assert run_days(d, "orders") == [3]


# 6 ------------------------------------------------------------------------------------------
def test_backup_stuck_creating_times_out_and_keeps_retention_off(deploy: Deploy) -> None:
    d = deploy(
        Settings(table_names=("orders", "stuck"), retention_days=1, max_wait_minutes=45),
        backup_duration=lambda _t: 60.0,
    )
    d.create_tables(["orders", "stuck"])
    for day in (1, 2):
        assert_clean(d.run_day(slot(day)))
    kept_before = own_backups(d, "stuck")
    assert run_days(d, "stuck") == [2]

    def stick() -> None:
        for state in d.backups().values():
            if state.table == "stuck" and state.name.endswith(f"{slot(3):%Y%m%dT%H%M%SZ}"):
                d.semantics.lifecycle.set_stuck(state.arn)

    report = d.run_day(slot(3), before_drain=stick, expected_failures=["stuck"])
    assert report.problems == []
    text = alert_text(report)
    assert "table: stuck" in text
    assert "timed out: still CREATING" in text
    assert "MAX_WAIT_MINUTES=45" in text
    assert "table: orders" not in text
    attempts = [
        b["attempt"]
        for b in run_bodies(d)
        if b.get("kind") == "chunk"
        and b.get("slot") == iso_z(slot(3))
        and any(x["table"] == "stuck" for x in b["backups"])
    ]
    assert attempts == list(range(len(attempts)))  # re-enqueued each round
    assert len(attempts) >= 45 // 5  # one round per queue delay until the deadline
    assert report.finished >= slot(3) + timedelta(minutes=45)
    assert own_backups(d, "stuck")[:-1] == kept_before  # nothing deleted for it
    assert run_days(d, "stuck") == [2, 3]
    assert run_days(d, "orders") == [3]


# 7 ------------------------------------------------------------------------------------------
def test_schedule_delivered_twice_makes_one_backup_per_table(deploy: Deploy) -> None:
    d = deploy(Settings(table_names=("orders", "users"), retention_days=1))
    d.create_tables(["orders", "users"])
    assert_clean(d.run_day(slot(1)))
    report = d.run_day(slot(2), deliveries=2)
    assert_clean(report)
    assert report.duplicates_dropped > 0  # FIFO deduplication dropped the copies
    # a late third delivery of the same event, after the monitor finished
    d.clock.advance(3600)
    late = d.run_day(slot(2))
    assert_clean(late)
    for table in ("orders", "users"):
        assert run_days(d, table) == [2]
        assert len(own_backups(d, table)) == 1


# 8 ------------------------------------------------------------------------------------------
MODULE_DEFAULT_QUEUE = pytest.param((3, 3660), id="module-default-queue")
RETRYING_QUEUE = pytest.param((5, 4 * 3600), id="max-receive-count-5")


@pytest.mark.parametrize("queue", [MODULE_DEFAULT_QUEUE, RETRYING_QUEUE])
def test_monitor_crash_mid_batch_redelivery_finishes_the_job(
    deploy: Deploy, queue: tuple[int, int]
) -> None:
    tables = ("alpha", "bravo", "charlie")
    max_receive_count, queue_retention = queue
    d = deploy(
        Settings(
            table_names=tables,
            retention_days=1,
            max_receive_count=max_receive_count,
            queue_retention=queue_retention,
        )
    )
    d.create_tables(tables)
    for day in (1, 2):
        assert_clean(d.run_day(slot(day)))
    crashed: list[str] = []

    def crash_after_first_delete(operation: str, params: Any) -> bool:
        if operation == "DeleteBackup" and not crashed:
            crashed.append(str(params["BackupArn"]))
            return True
        return False

    first_call = len(d.aws.calls)
    report = d.run_day(slot(3), crash_after=crash_after_first_delete)
    assert len(crashed) == 1
    assert any(isinstance(i.error, SimulatedCrash) for i in report.monitor)
    assert report.problems == []
    assert report.dead_letters == []
    for table in tables:
        assert run_days(d, table) == [3]
    assert sorted(b.table for b in report.deleted) == sorted(tables)
    # every DeleteBackup attempt, first try or redelivery, aimed at an expired backup;
    # the redelivered one for the backup deleted before the crash found it gone
    attempted = [c for c in d.aws.calls[first_call:] if c.call.operation == "DeleteBackup"]
    assert {str(c.call.params["BackupArn"]) for c in attempted} == {b.arn for b in report.deleted}
    assert [c.error_code for c in attempted if c.call.params["BackupArn"] == crashed[0]] == [
        None,
        "BackupNotFoundException",
    ]
    assert "could not delete" not in alert_text(report)


# 9 ------------------------------------------------------------------------------------------
def test_poison_message_is_alerted_dead_lettered_and_the_queue_flows(deploy: Deploy) -> None:
    d = deploy(Settings(table_names=("orders", "users")))
    d.create_tables(["orders", "users"])

    def poison() -> None:
        d.sqs.send_message(
            QueueUrl=d.queue_url, MessageBody='{"v": 99, "kind": "chunk"}', MessageGroupId="junk"
        )

    report = d.run_day(slot(1), before_drain=poison)
    assert report.problems == []
    assert sorted(report.created) == ["orders", "users"]
    assert all(b.status == "AVAILABLE" for b in report.created.values())
    assert "unreadable queue message" in alert_text(report)
    assert report.dead_letters == ['{"v": 99, "kind": "chunk"}']


# 10 -----------------------------------------------------------------------------------------
def test_sns_publish_failure_is_not_swallowed(deploy: Deploy) -> None:
    d = deploy(Settings(table_names=("orders", "ghost")))
    d.create_tables(["orders"])
    outage = {"on": True}

    def sns_down(call: ApiCall, forward: Forward) -> AwsResponse:
        if call.service == "sns" and call.operation == "Publish" and outage["on"]:
            return aws_error(call, "InternalError", "SNS is unavailable", status=500)
        return forward(call)

    d.aws.intercept(sns_down)
    report = d.run_day(slot(1), expected_failures=["ghost"])
    # the scheduler's alert could not be published: every attempt errored (the Errors
    # alarm fires) and the event went to the scheduler's failure queue
    assert len(report.scheduler) == 3
    assert all(i.failed for i in report.scheduler)
    failed_events = d.sqs.receive_message(QueueUrl=d.failure_url).get("Messages", [])
    assert len(failed_events) == 1
    assert json.loads(failed_events[0]["Body"])["time"] == iso_z(slot(1))
    assert report.created["orders"].status == "AVAILABLE"  # the others are still backed up
    # once SNS is back, the next run's alert arrives
    outage["on"] = False
    later = d.run_day(slot(2), expected_failures=["ghost"])
    assert "table: ghost" in alert_text(later)


def test_monitor_sns_failure_returns_only_its_record_for_the_dead_letter_queue(
    deploy: Deploy,
) -> None:
    d = deploy(Settings(table_names=("orders", "doomed")))
    d.create_tables(["orders", "doomed"])

    def sns_down(call: ApiCall, forward: Forward) -> AwsResponse:
        if call.service == "sns" and call.operation == "Publish":
            return aws_error(call, "InternalError", "SNS is unavailable", status=500)
        return forward(call)

    def delete_doomed_backup() -> None:
        for state in d.backups().values():
            if state.table == "doomed":
                d.semantics.lifecycle.ready_at.pop(state.arn, None)
                d.ddb.delete_backup(BackupArn=state.arn)
        d.aws.intercept(sns_down)

    report = d.run_day(slot(1), before_drain=delete_doomed_backup, expected_failures=["doomed"])
    # the alert could not go out: the chunk naming the failure is returned on every
    # receive and lands in the (alarmed) dead-letter queue; nothing else is replayed
    # and nothing expires
    assert report.expired == []
    [dead] = report.dead_letters
    assert '"table":"doomed"' in dead
    assert report.problems == ["doomed: no backup of this run, and no alert names it"]
    assert report.created["orders"].status == "AVAILABLE"
    finalizers = [b for b in run_bodies(d) if b.get("kind") == "finalize"]
    assert len(finalizers) == 1  # handled once, never replayed with the failing chunk


def test_a_95_minute_sns_outage_expires_no_message(deploy: Deploy, clock: VirtualClock) -> None:
    """Publish fails for 95 minutes (a disabled KMS key) while a run has a failed backup
    and a slow one: no queue message expires unhandled; every failure is alerted or in the
    dead-letter queue. Before, each receive of the chunk re-enqueued its CREATING backup
    into the chunk's own FIFO group before the alert raised: the copies waited behind the
    failing parent (3 receives x the visibility timeout) past the queue's retention."""
    tables = ("doomed", "orders", "slow")
    d = deploy(
        Settings(table_names=tables, retention_days=1),
        backup_duration=lambda t: 2400.0 if t == "slow" else 60.0,
    )
    d.create_tables(tables)
    assert_clean(d.run_day(slot(1)))
    outage_end = slot(2) + timedelta(minutes=95)

    def sns_down(call: ApiCall, forward: Forward) -> AwsResponse:
        if call.service == "sns" and call.operation == "Publish" and clock.now() < outage_end:
            return aws_error(call, "KMSDisabled", "the topic's key is disabled", status=400)
        return forward(call)

    def break_doomed() -> None:
        for state in d.backups().values():
            if state.table == "doomed" and state.name.endswith(f"{slot(2):%Y%m%dT%H%M%SZ}"):
                d.semantics.lifecycle.ready_at.pop(state.arn, None)
                d.ddb.delete_backup(BackupArn=state.arn)
        d.aws.intercept(sns_down)

    report = d.run_day(slot(2), before_drain=break_doomed, expected_failures=["doomed"])
    assert report.expired == []
    # the failure the outage kept from being alerted is in the DLQ (its alarm fires)
    unalerted = {p.split(":")[0] for p in report.problems}
    assert unalerted <= {"doomed"}
    for table in unalerted:
        assert any(f'"table":"{table}"' in body for body in report.dead_letters)
    # only the chunk whose alert failed is dead-lettered: the finalizer was never replayed
    # with it, so retention still ran (before, it went to the DLQ with the whole batch)
    assert [json.loads(body)["kind"] for body in report.dead_letters] == ["chunk"]
    assert report.created["slow"].status == "AVAILABLE"
    assert report.created["orders"].status == "AVAILABLE"
    # after the outage the next run is alerted and clean again
    later = d.run_day(slot(3))
    assert later.expired == []
    assert later.problems == []


# 11 -----------------------------------------------------------------------------------------
def test_thousand_tables_in_one_run(deploy: Deploy) -> None:
    tables = [f"tbl-{i:04d}" for i in range(1000)]
    d = deploy(Settings(table_names=tuple(tables), retention_days=1))
    d.create_tables(tables, items=0)
    assert "TABLE_NAMES_FILE" in d.scheduler.environment  # too long for the environment
    reports = [d.run_day(slot(day)) for day in (1, 2)]
    for report in reports:
        assert_clean(report)
        assert len(report.created) == 1000
    chunks = [
        b for b in run_bodies(d) if b.get("kind") == "chunk" and b.get("slot") == iso_z(slot(2))
    ]
    assert {c["chunk"] for c in chunks} == set(range(10))
    assert all(len(c["backups"]) <= 100 for c in chunks)
    for table in tables:
        assert run_days(d, table) == [2]
    assert len(reports[1].deleted) == 1000


# 12 -----------------------------------------------------------------------------------------
def test_long_table_names_and_the_retention_boundary(deploy: Deploy, clock: VirtualClock) -> None:
    long_a = "a" * 255
    long_b = "a" * 254 + "b"  # same first characters: the hash keeps the names apart
    d = deploy(Settings(table_names=(long_a, long_b, "edge"), retention_days=3))
    d.create_tables([long_a, long_b, "edge"], items=1)
    boundary: dict[str, str] = {}

    def plant_boundary(records: list[dict[str, Any]]) -> None:
        # just before the finalizer is handled: one own backup exactly at now - 3 days
        # (kept: the boundary is inclusive) and one a second older (deleted)
        if boundary or not any('"finalize"' in r["body"] for r in records):
            return
        # whole seconds, so that the planted times survive the API's epoch floats exactly
        clock.sleep_until(clock.now().replace(microsecond=0) + timedelta(seconds=1))
        now = clock.now()
        at_time, past_time = now - 3 * DAY, now - 3 * DAY - timedelta(seconds=1)
        at = d.add_backup("edge", expected_backup_name("scheduled", "edge", at_time), at_time)
        past = d.add_backup("edge", expected_backup_name("scheduled", "edge", past_time), past_time)
        boundary.update(at=at.arn, past=past.arn)

    d.esm.before_invoke = plant_boundary
    report = d.run_day(slot(1))
    assert_clean(report)
    names = {t: b.name for t, b in report.created.items()}
    assert len(names[long_a]) == 255
    assert len(names[long_b]) == 255
    assert names[long_a] != names[long_b]
    assert boundary
    remaining = d.backups()
    assert boundary["at"] in remaining
    assert boundary["past"] not in remaining
    assert report.deleted == []  # nothing older existed before the run


# 13 -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("daily", "weekly", "weekly_offset"),
    [("daily", "weekly", timedelta(hours=1)), ("prod", "prod-weekly", timedelta(0))],
)
def test_a_daily_and_a_weekly_instance_on_the_same_tables_keep_apart(
    deploy: Deploy, daily: str, weekly: str, weekly_offset: timedelta
) -> None:
    """Two instances in one account (examples/two-schedules): daily with 7 days, weekly
    with 35, on the same tables for six weeks; in the second pair the weekly prefix
    extends the daily one and both run in the same slot. Neither ever deletes the other's
    backups (the runtime's oracle also checks each run's retention against exact
    ownership), and at the end each has exactly its expected survivors."""
    tables = ("orders", "customers")
    d = deploy(Settings(name=daily, prefix=daily, table_names=tables, retention_days=7))
    w = deploy(Settings(name=weekly, prefix=weekly, table_names=tables, retention_days=35))
    d.create_tables(tables)
    weeks = 6
    weekly_days = range(1, 7 * weeks + 1, 7)
    for day in range(1, 7 * weeks + 1):
        runs = [(d, w, slot(day))]
        if day in weekly_days:
            runs.append((w, d, slot(day) + weekly_offset))
        for instance, other, moment in runs:
            report = instance.run_day(moment)
            assert_clean(report)
            assert sorted(report.created) == sorted(tables)
            assert all(b.own(instance.settings.prefix) for b in report.deleted)
            assert not any(b.own(other.settings.prefix) for b in report.deleted)

    def survivors(instance: LocalDeployment, table: str, offset: timedelta) -> list[int]:
        names = {
            expected_backup_name(instance.settings.prefix, table, slot(n) + offset): n
            for n in range(1, 7 * weeks + 1)
        }
        own = [b for b in instance.backups().values() if b.own(instance.settings.prefix)]
        assert all(b.name in names for b in own if b.table == table)
        return sorted(names[b.name] for b in own if b.table == table)

    last = 7 * weeks
    for table in tables:
        assert survivors(d, table, timedelta(0)) == list(range(last - 6, last + 1))
        assert survivors(w, table, weekly_offset) == [n for n in weekly_days if n > 1]
        assert len([b for b in d.backups().values() if b.table == table]) == 7 + 5


def scheduler_metric(report: DayReport, name: str) -> list[int]:
    return [m[name] for i in report.scheduler for m in i.metrics if name in m]


@pytest.mark.parametrize("alert", [True, False])
def test_a_table_nobody_selected_is_counted_and_alerted_until_it_is_covered(
    deploy: Deploy, alert: bool
) -> None:
    """Behaviour 11 (issue 12.1): a new table outside the selection is not silently
    skipped; a scratch table matching an exclusion pattern is excused."""
    d = deploy(
        Settings(
            table_names=("orders", "customers"),
            table_tags={"backup": "daily"},
            unprotected_tables_exclude=("tmp-*",),
            alert_unprotected_tables=alert,
        )
    )
    d.create_tables(["orders", "customers", "tmp-cache"])
    d.create_tables(["audit"], tags={"backup": "daily"})
    d.create_tables(["new-orders"], tags={"backup": "weekly"})

    first = d.run_day(slot(1))

    assert first.problems == []
    assert sorted(first.created) == ["audit", "customers", "orders"]
    assert scheduler_metric(first, "TablesUnprotected") == [1]
    coverage = [a for a in first.alerts if "unprotected table" in a.subject]
    assert [a for a in first.alerts if a not in coverage] == []
    if alert:
        [only] = coverage
        assert only.subject == f"DynamoDB backup: 1 unprotected table(s) in run {iso_z(slot(1))}"
        assert "- table: new-orders\n" in only.message
        assert "tmp-cache" not in only.message
    else:
        assert coverage == []

    d.delete_table("new-orders")  # or: added to the selection; either way covered now
    second = d.run_day(slot(2))
    assert_clean(second)
    assert scheduler_metric(second, "TablesUnprotected") == [0]
