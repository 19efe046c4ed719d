"""The simulated AWS throttles when AWS would, pages ListBackups as AWS does, and counts."""

from __future__ import annotations

from typing import Any

import pytest

from bench.clock import ManualClock, ScaledClock
from bench.limiter import PUBLISHED_RATES, RateLimits, TokenBucket
from bench.simaws import (
    BackupIndex,
    BackupRow,
    CallLog,
    PassThrough,
    Respond,
    SimulatedAws,
    Throttle,
    list_backups_page,
    table_of,
)

T0 = 1_764_302_400.0  # 2025-11-28T04:00:00Z


def row(table: str, seconds: float, *, kind: str = "USER", name: str = "") -> BackupRow:
    millis = int((T0 + seconds) * 1000)
    ident = f"0{millis}-{abs(hash((table, seconds, kind))) % 16**8:08x}"
    arn = f"arn:aws:dynamodb:eu-west-1:123456789012:table/{table}/backup/{ident}"
    return BackupRow(
        table_name=table,
        table_arn=f"arn:aws:dynamodb:eu-west-1:123456789012:table/{table}",
        arn=arn,
        name=name or f"scheduled-{table}-{millis}",
        created=T0 + seconds,
        status="AVAILABLE",
        type=kind,
    )


def test_bucket_allows_its_burst_then_throttles_until_it_refills() -> None:
    bucket = TokenBucket(rate=10.0, burst=10.0)
    assert [bucket.try_take(0.0) for _ in range(11)] == [True] * 10 + [False]
    assert not bucket.try_take(0.05)  # half a token
    assert bucket.try_take(0.1)
    assert not bucket.try_take(0.1)


def test_bucket_never_holds_more_than_its_burst() -> None:
    bucket = TokenBucket(rate=5.0, burst=5.0)
    assert bucket.try_take(0.0)
    admitted = sum(bucket.try_take(3600.0) for _ in range(20))
    assert admitted == 5


def test_bucket_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="rate"):
        TokenBucket(rate=0.0, burst=1.0)


def test_sustained_rate_is_the_published_one() -> None:
    """Callers asking for 16 DeleteBackup/s for 10 s get 10/s plus one second of burst."""
    limits = RateLimits(PUBLISHED_RATES)
    asked = [limits.admit("dynamodb", "DeleteBackup", i / 16) for i in range(161)]
    assert sum(asked) == 10 + 100
    assert all(asked[:10])


def test_unlisted_operations_are_not_limited() -> None:
    limits = RateLimits(PUBLISHED_RATES)
    assert all(limits.admit("sqs", "SendMessageBatch", 0.0) for _ in range(1000))


def test_scaled_clock_runs_k_times_faster_and_stays_continuous() -> None:
    real = [100.0]
    slept: list[float] = []
    clock = ScaledClock(4.0, real_now=lambda: real[0], real_sleep=slept.append)
    real[0] += 2.0
    assert clock.now() == 8.0
    clock.set_factor(10.0)
    assert clock.now() == 8.0
    real[0] += 1.0
    assert clock.now() == 18.0
    clock.sleep(0.5)
    assert slept == [0.05]


def test_pages_follow_creation_order_with_at_most_100_each() -> None:
    rows = [row("orders", s) for s in range(250)]
    seen: list[str] = []
    params: dict[str, Any] = {}
    pages = 0
    while True:
        page = list_backups_page(reversed(rows), params)
        pages += 1
        assert len(page["BackupSummaries"]) <= 100
        seen += [s["BackupArn"] for s in page["BackupSummaries"]]
        if "LastEvaluatedBackupArn" not in page:
            break
        params = {"ExclusiveStartBackupArn": page["LastEvaluatedBackupArn"]}
    assert pages == 3
    assert seen == [r.arn for r in rows]


def test_limit_caps_at_100_and_smaller_limits_are_honoured() -> None:
    rows = [row("orders", s) for s in range(150)]
    assert len(list_backups_page(rows, {"Limit": 1000})["BackupSummaries"]) == 100
    assert len(list_backups_page(rows, {"Limit": 7})["BackupSummaries"]) == 7


def test_filters_table_type_and_time_window_like_aws() -> None:
    rows = [row("a", 0), row("a", 10), row("a", 20), row("b", 10), row("a", 15, kind="SYSTEM")]
    index = BackupIndex(rows)
    by_table = index.page({"TableName": "a"})["BackupSummaries"]
    assert [s["BackupCreationDateTime"] for s in by_table] == [T0, T0 + 10, T0 + 20]
    window = index.page({"TimeRangeLowerBound": T0 + 10, "TimeRangeUpperBound": T0 + 20})
    # lower bound inclusive, upper exclusive, USER only by default
    assert sorted(s["TableName"] for s in window["BackupSummaries"]) == ["a", "b"]
    everything = index.page({"BackupType": "ALL", "TableName": rows[0].table_arn})
    assert len(everything["BackupSummaries"]) == 4


def test_paging_survives_deletions_between_pages() -> None:
    rows = [row("t", s) for s in range(150)]
    index = BackupIndex(rows)
    first = index.page({})
    last = first["LastEvaluatedBackupArn"]
    for summary in first["BackupSummaries"]:
        index.remove(summary["BackupArn"])
    second = index.page({"ExclusiveStartBackupArn": last})
    assert [s["BackupArn"] for s in second["BackupSummaries"]] == [r.arn for r in rows[100:]]
    assert "LastEvaluatedBackupArn" not in second
    assert len(index) == 50


def test_table_of_reads_names_and_backup_arns() -> None:
    r = row("orders", 0)
    assert table_of({"BackupArn": r.arn}) == "orders"
    assert table_of({"TableName": r.table_arn}) == "orders"
    assert table_of({"QueueUrl": "x"}) is None


def test_simulated_aws_throttles_and_every_call_is_counted_once() -> None:
    clock = ManualClock()
    log = CallLog()
    sim = SimulatedAws(clock, RateLimits(PUBLISHED_RATES), BackupIndex([row("t", 0)]), 0.0, log)
    answers = [sim.decide("dynamodb", "ListBackups", {}, "monitor") for _ in range(8)]
    assert [type(a) for a in answers] == [Respond] * 5 + [Throttle] * 3
    first = answers[0]
    assert isinstance(first, Respond)
    assert len(first.body["BackupSummaries"]) == 1
    assert isinstance(sim.decide("sqs", "SendMessageBatch", {}, "scheduler"), PassThrough)
    records = log.snapshot()
    assert len(records) == 9
    assert sum(r.throttled for r in records) == 3
    assert {r.detail for r in records if r.operation == "ListBackups"} == {"all"}


def test_latency_is_spent_on_the_simulated_clock_before_the_bucket_is_asked() -> None:
    clock = ManualClock()
    sim = SimulatedAws(clock, RateLimits(PUBLISHED_RATES), BackupIndex(), 0.2, CallLog())
    # at 0.2 s per call a single caller makes 5 ListBackups per second: never throttled
    answers = [sim.decide("dynamodb", "ListBackups", {}, "x") for _ in range(50)]
    assert all(isinstance(a, Respond) for a in answers)
    assert clock.now() == pytest.approx(10.0)
