"""One benchmark scenario: a variant (ours or the baseline) at one table count N.

The scenario process hosts moto (`localrun.server.LocalAws`) with the simulated AWS as
its interceptor, seeds N tables in steady state (each with the backups of the last
`history_days` daily runs, so that retention deletes one per table), then:

1. invokes the scheduler once, in a warm worker process (`bench.worker`), with the
   scheduled event of the slot;
2. drains the monitoring queue like Lambda's SQS event source mapping: up to
   `monitor_concurrency` pollers, each receiving batches of `batch_size`, invoking the
   monitor in its own worker process, deleting what the partial batch response did not
   return;
3. checks the outcome in moto's state (one backup per table, retention done) and
   returns every figure as a `ScenarioResult`.
"""

from __future__ import annotations

import json
import multiprocessing
import tempfile
import threading
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import moto.sqs.models as sqs_models
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.table import Backup

from bench.clock import ScaledClock
from bench.limiter import PUBLISHED_RATES, RateLimits
from bench.retention import by_key, expected_after, seed_offsets
from bench.simaws import (
    BackupIndex,
    BackupRow,
    CallLog,
    CallRecord,
    Respond,
    SimulatedAws,
    Throttle,
    count_by,
)
from bench.worker import Invocation, Worker
from localrun.cycle import RetentionRules
from localrun.server import ApiCall, AwsResponse, Forward, LocalAws, aws_error, json_response

ACCOUNT = "123456789012"
REGION = "eu-west-1"
PREFIX = "scheduled"
SCHEDULER_TIMEOUT = 900.0
MONITOR_TIMEOUT = 180.0  # the module's monitor_timeout default

HANDLERS: dict[str, tuple[str, str]] = {
    "ours": ("dynamodb_backup.scheduler:handler", "dynamodb_backup.monitor:handler"),
    "baseline": ("bench.baseline:scheduler_handler", "bench.baseline:monitor_handler"),
}


@dataclass(frozen=True)
class ScenarioConfig:
    variant: str
    tables: int
    latency: float = 0.030
    scale_scheduler: float = 4.0
    scale_monitor: float = 10.0
    monitor_concurrency: int = 2
    batch_size: int = 10
    retention_days: int = 3
    min_keep: int = 1
    history_days: int = 3
    scheduler_timeout: float = SCHEDULER_TIMEOUT
    monitor_timeout: float = MONITOR_TIMEOUT
    # retention scenarios (bench.retention): "" is the steady state above
    retention: str = ""
    keep_daily: int = 0
    keep_weekly: int = 0
    keep_monthly: int = 0
    keep_yearly: int = 0

    def rules(self) -> RetentionRules:
        return RetentionRules(
            retention_days=self.retention_days,
            min_backups_to_keep=self.min_keep,
            keep_daily=self.keep_daily,
            keep_weekly=self.keep_weekly,
            keep_monthly=self.keep_monthly,
            keep_yearly=self.keep_yearly,
        )

    def seeded_offsets(self, slot: datetime) -> list[int]:
        """The day offsets (1 = yesterday) of each table's own backups before the run."""
        if not self.retention:
            return list(range(1, self.history_days + 1))
        return seed_offsets(by_key(self.retention), slot)


@dataclass
class PhaseResult:
    """One function's invocations in a scenario (all durations in simulated seconds)."""

    invocations: int = 0
    errors: int = 0
    span_seconds: float = 0.0
    busy_seconds: float = 0.0
    max_invocation_seconds: float = 0.0
    timeout_seconds: float = 0.0
    peak_rss_mb: float = 0.0
    rss_after_import_mb: float = 0.0
    cpu_seconds: float = 0.0
    error_samples: list[str] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def max_timeout_fraction(self) -> float:
        return self.max_invocation_seconds / self.timeout_seconds if self.timeout_seconds else 0.0


@dataclass
class ScenarioResult:
    config: ScenarioConfig
    calls_by_operation: dict[str, int]
    calls_by_principal: dict[str, int]
    calls_by_principal_operation: dict[str, int]
    throttles_by_operation: dict[str, int]
    table_calls_max: int
    list_backups_by_kind: dict[str, int]
    create_span_seconds: float
    call_overhead_ms: float
    scheduler: PhaseResult
    monitor: PhaseResult
    checks: dict[str, Any]
    real_seconds: float
    last_delete_seconds: float = 0.0  # from the scheduler's start to the last DeleteBackup
    seeded_backups: int = 0

    @property
    def total_calls(self) -> int:
        return sum(self.calls_by_operation.values())

    @property
    def esm_calls(self) -> int:
        return self.calls_by_principal.get("esm", 0)

    @property
    def handler_calls(self) -> int:
        return self.total_calls - self.esm_calls

    @property
    def calls_per_table(self) -> float:
        return self.total_calls / self.config.tables

    @property
    def handler_calls_per_table(self) -> float:
        return self.handler_calls / self.config.tables

    @property
    def throttles(self) -> int:
        return sum(self.throttles_by_operation.values())

    @property
    def correct(self) -> bool:
        return bool(self.checks.get("ok"))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_json(data: dict[str, Any]) -> ScenarioResult:
        return ScenarioResult(
            config=ScenarioConfig(**data["config"]),
            calls_by_operation=data["calls_by_operation"],
            calls_by_principal=data["calls_by_principal"],
            calls_by_principal_operation=data["calls_by_principal_operation"],
            throttles_by_operation=data["throttles_by_operation"],
            table_calls_max=data["table_calls_max"],
            list_backups_by_kind=data["list_backups_by_kind"],
            create_span_seconds=data["create_span_seconds"],
            call_overhead_ms=data["call_overhead_ms"],
            scheduler=PhaseResult(**data["scheduler"]),
            monitor=PhaseResult(**data["monitor"]),
            checks=data["checks"],
            real_seconds=data["real_seconds"],
            last_delete_seconds=data.get("last_delete_seconds", 0.0),
            seeded_backups=data.get("seeded_backups", 0),
        )


def summarize_calls(records: list[CallRecord]) -> dict[str, Any]:
    """The call counts of a scenario, from the simulated AWS's log (pure)."""
    by_op = count_by(records, "service", "operation")
    by_principal = count_by(records, "principal")
    by_both = count_by(records, "principal", "service", "operation")
    throttled = count_by((r for r in records if r.throttled), "service", "operation")
    per_table = Counter(r.table for r in records if r.table is not None)
    listings = count_by((r for r in records if r.detail), "detail")
    creates = [r.at for r in records if r.operation == "CreateBackup" and not r.throttled]
    return {
        "calls_by_operation": {":".join(k): v for k, v in sorted(by_op.items())},
        "calls_by_principal": {k[0]: v for k, v in sorted(by_principal.items())},
        "calls_by_principal_operation": {"/".join(k): v for k, v in sorted(by_both.items())},
        "throttles_by_operation": {":".join(k): v for k, v in sorted(throttled.items())},
        "table_calls_max": max(per_table.values(), default=0),
        "list_backups_by_kind": {k[0]: v for k, v in sorted(listings.items())},
        "create_span_seconds": (max(creates) - min(creates)) if creates else 0.0,
    }


def phase_result(
    invocations: list[Invocation], cold: list[dict[str, float]], span: float
) -> PhaseResult:
    """Aggregate one function's invocations (pure)."""
    result = PhaseResult(invocations=len(invocations), span_seconds=span)
    for inv in invocations:
        result.busy_seconds += inv.sim_seconds
        result.cpu_seconds += inv.cpu_seconds
        result.max_invocation_seconds = max(result.max_invocation_seconds, inv.sim_seconds)
        result.timeout_seconds = inv.timeout_seconds
        result.peak_rss_mb = max(result.peak_rss_mb, inv.peak_rss_mb)
        if not inv.ok:
            result.errors += 1
            if len(result.error_samples) < 3 and inv.error:
                result.error_samples.append(inv.error[-800:])
        for line in inv.emf:
            for key, value in line.items():
                if key != "_aws" and isinstance(value, int | float) and not isinstance(value, bool):
                    result.metrics[key] = result.metrics.get(key, 0) + value
    result.rss_after_import_mb = max((c["rss_after_import_mb"] for c in cold), default=0.0)
    return result


# --- moto state ---------------------------------------------------------------------


def speed_up_moto() -> None:
    """moto's SQS looks at every message of a queue on each send and receive, converting
    the current time through naive datetimes each time (0.35 ms per queued message: a
    send to a queue of 10,000 messages took 3.5 s). Same value, 50 times cheaper: epoch
    milliseconds from `time.time()`. Without this the baseline, which queues one message
    per table, would measure moto rather than its own design."""
    models: Any = sqs_models
    original = models.unix_time_millis
    if getattr(original, "bench_fast", False):
        return

    def unix_time_millis(dt: datetime | None = None) -> float:
        return time.time() * 1000.0 if dt is None else float(original(dt))

    unix_time_millis.bench_fast = True  # type: ignore[attr-defined]
    models.unix_time_millis = unix_time_millis


def _epoch(moment: datetime) -> float:
    return moment.replace(tzinfo=UTC).timestamp() if moment.tzinfo is None else moment.timestamp()


def _row(backup: Any) -> BackupRow:
    return BackupRow(
        table_name=backup.table.name,
        table_arn=backup.table.table_arn,
        arn=backup.arn,
        name=backup.name,
        created=_epoch(backup.creation_date_time),
        status=backup.status,
        type=backup.type,
    )


def table_names(n: int) -> list[str]:
    return [f"bench-table-{i:05d}" for i in range(n)]


def stamp(slot: datetime) -> str:
    return slot.strftime("%Y%m%dT%H%M%SZ")


def seed(
    backend: Any,
    names: list[str],
    slot: datetime,
    history_days: int,
    offsets: list[int] | None = None,
) -> int:
    """N tables, each with the own backups of the previous `history_days` daily runs, or of
    the runs `offsets` days before the slot (created 10 minutes before the slot's time of
    day, spaced like a 48/s scheduler). Returns the number of backups seeded."""
    days = offsets if offsets is not None else list(range(1, history_days + 1))
    seeded = 0
    schema = [{"AttributeName": "pk", "KeyType": "HASH"}]
    attrs = [{"AttributeName": "pk", "AttributeType": "S"}]
    for i, name in enumerate(names):
        table = backend.create_table(
            name,
            schema=schema,
            throughput=None,
            attr=attrs,
            global_indexes=None,
            indexes=None,
            streams=None,
            billing_mode="PAY_PER_REQUEST",
            sse_specification=None,
            tags=[],
            deletion_protection_enabled=False,
            warm_throughput=None,
        )
        for day in days:
            seeded += 1
            run = slot - timedelta(days=day)
            created = run - timedelta(minutes=10) + timedelta(seconds=i / 48.0)
            backup = Backup.__new__(Backup)
            backup.region_name = REGION
            backup.account_id = ACCOUNT
            backup.name = f"{PREFIX}-{name}-{stamp(run)}"
            backup.table = table  # shared, not deep-copied: 30,000 copies cost seconds
            backup.status = "AVAILABLE"
            backup.type = "USER"
            backup.creation_date_time = created.astimezone(UTC).replace(tzinfo=None)
            millis = int(_epoch(backup.creation_date_time) * 1000)
            backup.identifier = f"{str('0' + str(millis))[-16:16]}-{uuid.uuid4().hex[:8]}"
            backend.backups[backup.arn] = backup
    return seeded


def mirror_backups(backend: Any, index: BackupIndex) -> None:
    """Keep `index` in step with moto's backups: fill it, then wrap the backend's
    create/delete so every change reaches the index."""
    for backup in list(backend.backups.values()):
        index.add(_row(backup))
    create, delete = backend.create_backup, backend.delete_backup

    def create_backup(table_name: str, backup_name: str) -> Any:
        backup = create(table_name, backup_name)
        index.add(_row(backup))
        return backup

    def delete_backup(backup_arn: str) -> Any:
        backup = delete(backup_arn)
        index.remove(backup_arn)
        return backup

    backend.create_backup = create_backup
    backend.delete_backup = delete_backup


# --- the event source mapping ----------------------------------------------------------


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """The event Lambda's SQS event source mapping passes to the function."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": dict(m.get("Attributes", {})),
                "messageAttributes": {},
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
            for m in messages
        ]
    }


class EventSourceMapping:
    """Drains the queue into the monitor with `len(workers)` concurrent pollers. A poller
    that finds the queue empty waits while another poller's invocation may still send
    messages, and stops when all are idle and the queue is empty. (A real mapping
    long-polls without pause; those idle receives are not counted here.)"""

    def __init__(
        self,
        *,
        sqs: Any,
        probe: Any,
        queue_url: str,
        queue_arn: str,
        workers: list[Worker],
        batch_size: int,
        timeout: float,
    ) -> None:
        self.sqs = sqs
        self.probe = probe
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.workers = workers
        self.batch_size = batch_size
        self.timeout = timeout
        self.failed_records = 0
        self._busy = 0
        self._cond = threading.Condition()
        self._errors: list[BaseException] = []

    def run(self) -> None:
        threads = [threading.Thread(target=self._poll, args=(w,)) for w in self.workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if self._errors:
            raise self._errors[0]

    def _receive(self) -> list[dict[str, Any]]:
        response = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            MessageSystemAttributeNames=["All"],
        )
        return list(response.get("Messages", []))

    def _poll(self, worker: Worker) -> None:
        try:
            while True:
                with self._cond:
                    self._busy += 1
                messages = self._receive()
                if messages:
                    self._handle(worker, messages)
                with self._cond:
                    self._busy -= 1
                    self._cond.notify_all()
                    if not messages:
                        while self._busy > 0:
                            self._cond.wait()
                        if self._idle_and_empty():
                            return
        except BaseException as exc:  # surfaced by run()
            with self._cond:
                self._errors.append(exc)
                self._busy = max(0, self._busy - 1)
                self._cond.notify_all()

    def _idle_and_empty(self) -> bool:
        attrs = self.probe.get_queue_attributes(
            QueueUrl=self.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed"],
        )["Attributes"]
        return (
            int(attrs["ApproximateNumberOfMessages"])
            + int(attrs["ApproximateNumberOfMessagesDelayed"])
            == 0
        )

    def _handle(self, worker: Worker, messages: list[dict[str, Any]]) -> None:
        invocation = worker.invoke(sqs_event(messages, self.queue_arn), self.timeout)
        failed: set[str] = {m["MessageId"] for m in messages}
        if invocation.ok and isinstance(invocation.result, dict):
            failed = {
                str(item.get("itemIdentifier"))
                for item in invocation.result.get("batchItemFailures", [])
            }
        self.failed_records += len(failed)
        done = [m for m in messages if m["MessageId"] not in failed]
        for i in range(0, len(done), 10):
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]}
                    for n, m in enumerate(done[i : i + 10])
                ],
            )


# --- the scenario ------------------------------------------------------------------------


def _interceptor(sim: SimulatedAws) -> Callable[..., Any]:
    def intercept(call: ApiCall, forward: Forward) -> AwsResponse:
        decision = sim.decide(call.service, call.operation, call.params, call.principal)
        if isinstance(decision, Throttle):
            return aws_error(call, decision.code, decision.message)
        if isinstance(decision, Respond):
            return json_response(decision.body, service=call.service)
        return forward(call)

    return intercept


def calibrate(client: Any, latency: float, calls: int = 30) -> float:
    """Real milliseconds one API call costs the local stack (client, HTTP, moto) beyond the
    simulated latency, at time scale 1: the median of `calls` sequential DescribeLimits."""
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        client.describe_limits()
        times.append(time.perf_counter() - t0 - latency)
    times.sort()
    return max(0.0, times[len(times) // 2] * 1000.0)


def run_scenario(config: ScenarioConfig) -> ScenarioResult:
    """Run one scenario in this process (it starts moto here; see `run_isolated`)."""
    real0 = time.monotonic()
    speed_up_moto()
    scheduler_spec, monitor_spec = HANDLERS[config.variant]
    slot = datetime.now(UTC).replace(second=0, microsecond=0)
    names = table_names(config.tables)
    clock = ScaledClock(1.0)
    log = CallLog()
    index = BackupIndex()
    with LocalAws(region=REGION, account=ACCOUNT) as aws, tempfile.TemporaryDirectory() as tmp:
        backend = dynamodb_backends[ACCOUNT][REGION]
        seeded = seed(backend, names, slot, config.history_days, config.seeded_offsets(slot))
        mirror_backups(backend, index)
        sim = SimulatedAws(clock, RateLimits(PUBLISHED_RATES), index, config.latency, log)
        remove = aws.intercept(_interceptor(sim))
        setup_sqs = aws.client("sqs", "runtime")
        queue_url = setup_sqs.create_queue(
            QueueName="bench-monitor.fifo",
            Attributes={"FifoQueue": "true", "VisibilityTimeout": "1800", "DelaySeconds": "0"},
        )["QueueUrl"]
        queue_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:bench-monitor.fifo"
        topic_arn = aws.client("sns", "runtime").create_topic(Name="bench-alerts")["TopicArn"]
        tables_file = Path(tmp) / "tables.json"
        tables_file.write_text(json.dumps(names), encoding="utf-8")
        common = {
            "MONITOR_QUEUE_URL": queue_url,
            "ALERT_TOPIC_ARN": topic_arn,
            "BACKUP_NAME_PREFIX": PREFIX,
            "RETENTION_DAYS": str(config.retention_days),
            "MIN_BACKUPS_TO_KEEP": str(config.min_keep),
            "KEEP_DAILY": str(config.keep_daily),
            "KEEP_WEEKLY": str(config.keep_weekly),
            "KEEP_MONTHLY": str(config.keep_monthly),
            "KEEP_YEARLY": str(config.keep_yearly),
            "MAX_WAIT_MINUTES": "360",
            "LOG_LEVEL": "WARNING",
            "TABLE_NAMES": "[]",
            "TABLE_NAMES_FILE": str(tables_file),
        }
        overhead_ms = calibrate(aws.client("dynamodb", "runtime"), config.latency)
        log.clear()

        # 1. the scheduler
        clock.set_factor(config.scale_scheduler)
        with Worker(
            scheduler_spec, {**common, **aws.env("scheduler")}, config.scale_scheduler
        ) as worker:
            event = {
                "version": "0",
                "id": str(uuid.uuid4()),
                "detail-type": "Scheduled Event",
                "source": "aws.events",
                "account": ACCOUNT,
                "time": slot.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "region": REGION,
                "resources": [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/bench"],
                "detail": {},
            }
            t0 = clock.now()
            run_started = t0
            worker.invoke(event, config.scheduler_timeout)
            scheduler = phase_result(worker.invocations, [worker.cold_start], clock.now() - t0)

        # 2. the monitor, behind the event source mapping
        clock.set_factor(config.scale_monitor)
        workers = [
            Worker(monitor_spec, {**common, **aws.env("monitor")}, config.scale_monitor)
            for _ in range(config.monitor_concurrency)
        ]
        try:
            esm = EventSourceMapping(
                sqs=aws.client("sqs", "esm"),
                probe=aws.client("sqs", "runtime"),
                queue_url=queue_url,
                queue_arn=queue_arn,
                workers=workers,
                batch_size=config.batch_size,
                timeout=config.monitor_timeout,
            )
            t0 = clock.now()
            esm.run()
            span = clock.now() - t0
        finally:
            for w in workers:
                w.close()
        monitor = phase_result(
            [inv for w in workers for inv in w.invocations], [w.cold_start for w in workers], span
        )
        remove()
        # the runtime's own calls (set-up, the idle probe) are the bench's, not AWS's
        records = [r for r in log.snapshot() if r.principal != "runtime"]
        checks = check_outcome(
            backend=backend,
            names=names,
            slot=slot,
            config=config,
            monitor=monitor,
            failed_records=esm.failed_records,
        )
    summary = summarize_calls(records)
    deletes = [r.at for r in records if r.operation == "DeleteBackup" and not r.throttled]
    return ScenarioResult(
        config=config,
        last_delete_seconds=(max(deletes) - run_started) if deletes else 0.0,
        seeded_backups=seeded,
        scheduler=scheduler,
        monitor=monitor,
        checks=checks,
        real_seconds=time.monotonic() - real0,
        call_overhead_ms=overhead_ms,
        **summary,
    )


def check_outcome(
    *,
    backend: Any,
    names: list[str],
    slot: datetime,
    config: ScenarioConfig,
    monitor: PhaseResult,
    failed_records: int,
) -> dict[str, Any]:
    """Did the cycle do its job? Every table has exactly one backup of this run, no own
    backup older than the retention remains, the previous runs' younger ones all do."""
    run_names = Counter(
        b.name for b in backend.backups.values() if b.name.endswith(f"-{stamp(slot)}")
    )
    started = sum(1 for n in names if run_names.get(f"{PREFIX}-{n}-{stamp(slot)}") == 1)
    limit = datetime.now(UTC) - timedelta(days=config.retention_days)
    own = [b for b in backend.backups.values() if b.name.startswith(f"{PREFIX}-")]
    stale = sum(1 for b in own if b.creation_date_time.replace(tzinfo=UTC) < limit)
    # what every table must have left: this run's backup and what a rule keeps
    keep = expected_after(config.seeded_offsets(slot), config.rules(), slot)
    expected_names = {
        f"{PREFIX}-{n}-{stamp(slot - timedelta(days=day))}" for n in names for day in keep
    }
    left_names = {b.name for b in own}
    expected_left = len(expected_names)
    succeeded = int(monitor.metrics.get("BackupsSucceeded", 0))
    checks: dict[str, Any] = {
        "backups_started": started,
        "backups_confirmed": succeeded,
        "stale_backups_left": stale,
        "own_backups_left": len(own),
        "own_backups_expected": expected_left,
        "own_backups_unexpected": len(left_names - expected_names),
        "own_backups_missing": len(expected_names - left_names),
        "slot": slot.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "failed_records": failed_records,
    }
    checks["ok"] = (
        started == len(names)
        and succeeded == len(names)
        and (stale == 0 or bool(config.retention))  # tiers and min_keep keep older ones
        and left_names == expected_names
        and len(own) == expected_left
        and failed_records == 0
        and monitor.errors == 0
    )
    return checks


def _isolated(conn: Any, config: ScenarioConfig) -> None:  # pragma: no cover - child
    try:
        conn.send(("ok", run_scenario(config).to_json()))
    except BaseException as exc:
        conn.send(("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"))


def run_isolated(config: ScenarioConfig) -> ScenarioResult:
    """Run a scenario in a fresh process: moto's state and memory start from nothing."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    process = ctx.Process(target=_isolated, args=(child, config))
    process.start()
    child.close()
    status, payload = parent.recv()
    process.join()
    if status != "ok":
        raise RuntimeError(f"scenario {config.variant} N={config.tables} failed:\n{payload}")
    return ScenarioResult.from_json(payload)
