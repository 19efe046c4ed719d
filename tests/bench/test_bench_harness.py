"""The harness end to end on a small scale: counts add up, workers report, reports say so."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto.dynamodb.models import dynamodb_backends

from bench.clock import ManualClock
from bench.limiter import PUBLISHED_RATES, RateLimits
from bench.report import Row, build_rows, extrapolate, results_table, targets_table
from bench.scenario import (
    ScenarioConfig,
    ScenarioResult,
    _interceptor,
    mirror_backups,
    phase_result,
    seed,
    summarize_calls,
    table_names,
)
from bench.simaws import BackupIndex, CallLog, CallRecord, SimulatedAws
from bench.static import StaticFigures, parse_importtime, zip_size
from bench.worker import Invocation, Worker
from localrun.server import LocalAws


def test_throttling_reaches_the_client_and_every_call_is_counted_once() -> None:
    """Through the real server: 55 CreateBackups on a frozen clock meet a bucket of 50;
    the client sees 5 ThrottlingExceptions; the bench's log, the runtime's record and the
    client's own tally agree."""
    log = CallLog()
    with LocalAws() as aws:
        aws.reset()
        backend = dynamodb_backends[aws.account][aws.region]
        names = table_names(55)
        seed(backend, names, datetime.now(UTC), history_days=1)
        index = BackupIndex()
        mirror_backups(backend, index)
        assert len(index) == 55
        sim = SimulatedAws(ManualClock(), RateLimits(PUBLISHED_RATES), index, 0.0, log)
        aws.intercept(_interceptor(sim))
        client: Any = boto3.client(
            "dynamodb",
            endpoint_url=aws.endpoint,
            region_name=aws.region,
            aws_access_key_id="tester",
            aws_secret_access_key="local",
            config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
        )
        codes: list[str] = []
        for name in names:
            try:
                client.create_backup(TableName=name, BackupName=f"bench-{name}")
                codes.append("ok")
            except ClientError as exc:
                codes.append(exc.response["Error"]["Code"])
        listed = client.list_backups(TableName=names[0])["BackupSummaries"]
        recorded = [c for c in aws.calls if c.call.principal == "tester"]
    assert codes == ["ok"] * 50 + ["ThrottlingException"] * 5
    assert len(index) == 55 + 50  # the mirror saw every backup moto created
    assert len(listed) == 2  # served by the pager: the seeded one and the new one
    summary = summarize_calls(log.snapshot())
    assert summary["calls_by_operation"] == {
        "dynamodb:CreateBackup": 55,
        "dynamodb:ListBackups": 1,
    }
    assert summary["throttles_by_operation"] == {"dynamodb:CreateBackup": 5}
    assert summary["calls_by_principal"] == {"tester": 56}
    assert len(recorded) == 56
    assert sum(c.error_code == "ThrottlingException" for c in recorded) == 5


def test_summary_counts_add_up() -> None:
    records = [
        CallRecord("dynamodb", "CreateBackup", "scheduler", "a", False, 0.0),
        CallRecord("dynamodb", "CreateBackup", "scheduler", "b", True, 0.1),
        CallRecord("dynamodb", "CreateBackup", "scheduler", "b", False, 0.5),
        CallRecord("dynamodb", "DeleteBackup", "monitor", "b", False, 1.0),
        CallRecord("dynamodb", "ListBackups", "monitor", None, False, 1.0, "window"),
        CallRecord("sqs", "ReceiveMessage", "esm", None, False, 2.0),
    ]
    s = summarize_calls(records)
    assert sum(s["calls_by_operation"].values()) == len(records)
    assert sum(s["calls_by_principal"].values()) == len(records)
    assert sum(s["calls_by_principal_operation"].values()) == len(records)
    assert s["calls_by_principal"] == {"esm": 1, "monitor": 2, "scheduler": 3}
    assert s["throttles_by_operation"] == {"dynamodb:CreateBackup": 1}
    assert s["table_calls_max"] == 3
    assert s["list_backups_by_kind"] == {"window": 1}
    assert s["create_span_seconds"] == 0.5


def invocation(seconds: float, *, ok: bool = True, emf: int = 0, rss: float = 90.0) -> Invocation:
    return Invocation(
        ok=ok,
        result=None,
        error=None if ok else "Boom: it broke",
        sim_seconds=seconds,
        timeout_seconds=300.0,
        emf=[{"_aws": {}, "BackupsSucceeded": emf}],
        peak_rss_mb=rss,
    )


def test_phase_result_aggregates_invocations() -> None:
    cold = [{"rss_after_import_mb": 80.0}]
    phase = phase_result(
        [invocation(30, emf=4, rss=100), invocation(250, ok=False, emf=6), invocation(5)],
        cold,
        300.0,
    )
    assert phase.invocations == 3
    assert phase.errors == 1
    assert phase.error_samples == ["Boom: it broke"]
    assert phase.busy_seconds == 285
    assert phase.max_timeout_fraction == pytest.approx(250 / 300)
    assert phase.metrics["BackupsSucceeded"] == 10
    assert phase.peak_rss_mb == 100


def test_worker_runs_a_handler_warm_with_a_warped_clock() -> None:
    """k = 50: the handler sleeps 20 simulated seconds; its context's remaining time falls by
    at least that much; its EMF line is collected, its other output ignored."""
    spec = "tests.bench.bench_handlers:sleepy"
    with Worker(spec, {}, factor=50.0) as worker:
        first = worker.invoke({"sleep": 20, "things": 3}, 300.0)
        second = worker.invoke({"sleep": 0, "things": 4}, 300.0)
    assert first.ok, first.error
    assert first.result["before"] - first.result["after"] >= 20_000
    assert first.result["before"] <= 300_000
    assert first.sim_seconds >= 20
    assert first.emf == [{"_aws": {"CloudWatchMetrics": []}, "Things": 3}]
    assert second.emf[0]["Things"] == 4
    assert first.peak_rss_mb > 0
    assert worker.cold_start["rss_after_import_mb"] > 0


def test_worker_reports_a_failing_handler_instead_of_dying() -> None:
    with Worker("tests.bench.bench_handlers:broken", {}) as worker:
        failed = worker.invoke({}, 10.0)
        again = worker.invoke({}, 10.0)
    assert not failed.ok
    assert failed.error is not None
    assert "failed on purpose" in failed.error
    assert not again.ok


IMPORTTIME = """\
import time: self [us] | cumulative | imported package
import time:       100 |        100 |   _io
import time:      2000 |       2500 | site
import time:       300 |        300 | dynamodb_backup
import time:       500 |        500 |         botocore.exceptions
import time:     40000 |      90000 |     boto3
import time:      4000 |     100000 |   dynamodb_backup.aws
import time:      1000 |     120000 | dynamodb_backup.scheduler
"""


def test_importtime_parser_counts_the_import_and_not_the_start_up() -> None:
    total, in_boto3 = parse_importtime(IMPORTTIME, "dynamodb_backup.scheduler")
    assert total == pytest.approx(0.1203)
    assert in_boto3 == pytest.approx(0.09)
    with pytest.raises(ValueError, match="not found"):
        parse_importtime(IMPORTTIME, "dynamodb_backup.monitor")


def test_zip_holds_the_package_sources() -> None:
    assert 1000 < zip_size() < 10 * 1024 * 1024


def row(variant: str, tables: int, calls_per_table: float, scheduler_s: float) -> Row:
    return Row(
        variant=variant,
        tables=tables,
        calls=calls_per_table * tables,
        calls_per_table=calls_per_table,
        handler_calls_per_table=calls_per_table,
        throttles=0,
        scheduler_s=scheduler_s,
        create_span_s=scheduler_s,
        monitor_span_s=100.0,
        monitor_invocations=3,
        scheduler_fraction=scheduler_s / 900,
        monitor_fraction=0.4,
        scheduler_rss_mb=100.0,
        monitor_rss_mb=120.0,
        correct=True,
    )


def test_missing_baseline_sizes_are_extrapolated_and_marked() -> None:
    result = ScenarioResult.from_json(
        {
            "config": ScenarioConfig(variant="baseline", tables=1000).__dict__,
            "calls_by_operation": {"dynamodb:CreateBackup": 5000},
            "calls_by_principal": {"scheduler": 5000},
            "calls_by_principal_operation": {"scheduler/dynamodb/CreateBackup": 5000},
            "throttles_by_operation": {},
            "table_calls_max": 5,
            "list_backups_by_kind": {},
            "create_span_seconds": 20.0,
            "call_overhead_ms": 5.0,
            "scheduler": {"invocations": 1, "max_invocation_seconds": 60.0, "timeout_seconds": 900},
            "monitor": {"invocations": 100, "span_seconds": 400.0, "timeout_seconds": 300},
            "checks": {"ok": True},
            "real_seconds": 10.0,
        }
    )
    rows = build_rows([result], [1000, 10000])
    big = next(r for r in rows if r.tables == 10000)
    assert big.extrapolated
    assert big.calls_per_table == 5.0
    assert big.scheduler_s == pytest.approx(600.0)
    assert big.correct is None
    table = "\n".join(results_table(rows))
    assert "baseline (extrapolated)" in table


def test_targets_table_flags_a_missed_target() -> None:
    static = StaticFigures(
        zip_bytes=70_000,
        boto3_import_s=0.2,
        handler_import_s={"dynamodb_backup.scheduler": 0.22, "dynamodb_backup.monitor": 0.3},
        boto3_cpu_s=0.2,
        handler_cpu_s={"dynamodb_backup.scheduler": 0.21, "dynamodb_backup.monitor": 0.3},
        runs=3,
    )
    rows = [row("ours", 1000, 2.25, 21.0), row("baseline", 1000, 5.2, 60.0)]
    text = "\n".join(targets_table(rows, [], static))
    calls = next(line for line in text.splitlines() if "calls per table" in line)
    assert calls.endswith("**FAIL** |")
    sched = next(line for line in text.splitlines() if "scheduler wall time" in line)
    assert sched.endswith("pass |")  # 21 s <= 1.1 x 1000/50 = 22 s
    zipline = next(line for line in text.splitlines() if "zip size" in line)
    assert "**FAIL**" in zipline
    imports = [line for line in text.splitlines() if "import of" in line]
    assert imports[0].endswith("pass |")
    assert imports[1].endswith("**FAIL** |")
    assert extrapolate(rows[1], 10000).calls_per_table == 5.2


def test_worker_peak_memory_is_its_own_and_follows_what_the_handler_holds() -> None:
    """The parent holds 120 MB; the worker's figure leaves that out, and grows by the
    60 MB its handler allocates."""
    parent = bytearray(120 * 1024 * 1024)
    for i in range(0, len(parent), 4096):
        parent[i] = 1
    with Worker("tests.bench.bench_handlers:hog", {}) as worker:
        idle = worker.cold_start["rss_after_import_mb"]
        busy = worker.invoke({"mb": 60}, 10.0)
    assert busy.ok, busy.error
    assert idle < 100
    assert busy.peak_rss_mb >= idle + 55
    assert len(parent) > 0
