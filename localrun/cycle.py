"""A deployment of the module, played locally, and its daily backup cycle.

`LocalDeployment` creates what the Terraform module creates (the FIFO monitoring queue
and its dead-letter queue, the alert topic, the scheduler's failure queue, the two
functions with the module's environment) on a `LocalAws`, plus an inbox queue subscribed
to the topic, where alerts arrive as an e-mail subscriber would see them. `run_day(slot)`
plays one scheduled run: the schedule invokes the scheduler (asynchronously: retried
twice, then its failure destination), the event source mapping drains the queue while
the clock moves over the queue delay, and the day's `DayReport` says what was created,
what retention deleted, what was alerted, and which expectations failed (`problems`).
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.table import Backup
from moto.sqs.models import sqs_backends

from localrun.aws_like import AwsSemantics, BackupDuration, install_aws_semantics
from localrun.clock import VirtualClock, iso_z
from localrun.esm import SqsEventSourceMapping, bodies
from localrun.functions import CrashRule, Invocation, LocalFunction
from localrun.iam import PolicyInputs
from localrun.server import LocalAws

if TYPE_CHECKING:
    from localrun.drill import LocalDrill

TABLE_NAMES_ENV_MAX_CHARS = 2000  # the module's table_names_env_max_chars
ASYNC_RETRY_DELAYS = (60, 120)  # Lambda's waits before its asynchronous retries


@dataclass(frozen=True)
class Settings:
    """The module's inputs that matter locally, with the module's defaults."""

    name: str = "dynamodb-backup"
    prefix: str = "scheduled"
    table_names: tuple[str, ...] = ()
    table_tags: Mapping[str, str] = field(default_factory=dict)
    retention_days: int = 3
    min_backups_to_keep: int = 1
    keep_daily: int = 0
    keep_weekly: int = 0
    keep_monthly: int = 0
    keep_yearly: int = 0
    # table -> any of retention_days, min_backups_to_keep, keep_daily, ... (the module's
    # retention_overrides); a missing key falls back to the module-wide value above
    retention_overrides: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    max_wait_minutes: int = 360
    log_level: str = "INFO"
    metrics_namespace: str = "DynamoDBBackup"
    scheduler_timeout: int = 900
    monitor_timeout: int = 180
    queue_delay: int = 300
    queue_retention: int = 3660
    max_receive_count: int = 3  # the module's default (queue_max_receive_count)
    scheduler_retries: int = 2  # scheduler_maximum_retry_attempts
    # scheduler_reserved_concurrent_executions: 1, so deliveries of one slot never overlap
    scheduler_reserved_concurrency: int | None = 1
    batch_size: int = 10
    unprotected_tables_exclude: tuple[str, ...] = ()
    alert_unprotected_tables: bool = False

    @property
    def visibility_timeout(self) -> int:
        return 6 * self.monitor_timeout

    def rules_for(self, table: str) -> RetentionRules:
        """The retention rules of `table`: the module-wide values, overridden per table."""
        override = self.retention_overrides.get(table, {})
        return RetentionRules(
            **{
                name: int(override.get(name, getattr(self, name)))
                for name in RetentionRules.__dataclass_fields__
            }
        )


@dataclass(frozen=True)
class RetentionRules:
    """One table's retention inputs, as the oracle and the demo's summary read them."""

    retention_days: int = 3
    min_backups_to_keep: int = 1
    keep_daily: int = 0
    keep_weekly: int = 0
    keep_monthly: int = 0
    keep_yearly: int = 0

    @property
    def tiered(self) -> bool:
        return any((self.keep_daily, self.keep_weekly, self.keep_monthly, self.keep_yearly))


TIER_PERIODS: dict[str, Callable[[datetime], tuple[int, ...]]] = {
    "keep_daily": lambda t: (t.year, t.month, t.day),
    "keep_weekly": lambda t: tuple(t.isocalendar())[:2],
    "keep_monthly": lambda t: (t.year, t.month),
    "keep_yearly": lambda t: (t.year,),
}


def reference_tier_keeps(
    created: Mapping[str, datetime], rules: RetentionRules
) -> dict[str, set[str]]:
    """Which of a table's own AVAILABLE backups (ARN -> creation time) each tier keeps,
    written independently of the handlers' `tiers` (a walk with counters there, sets
    here): group the backups by period (UTC), take the newest of each of the n newest
    periods; a tier with fewer periods than n also keeps the oldest backup."""
    order = sorted(created, key=lambda arn: (created[arn].astimezone(UTC), arn))
    kept: dict[str, set[str]] = {}
    for tier, period_of in TIER_PERIODS.items():
        count = getattr(rules, tier)
        newest_per_period: dict[tuple[int, ...], str] = {}
        for arn in order:  # oldest first: a later one of the same period replaces it
            newest_per_period[period_of(created[arn].astimezone(UTC))] = arn
        periods = sorted(newest_per_period, reverse=True)[:count]
        kept[tier] = {newest_per_period[p] for p in periods}
        if 0 < len(newest_per_period) < count and order:
            kept[tier].add(order[0])
    return kept


def expected_backup_name(prefix: str, table: str, slot: datetime) -> str:
    """The contract's backup name, written independently of the handlers' `naming`."""
    stamp = slot.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    name = f"{prefix}-{table}-{stamp}"
    if len(name) <= 255:
        return name
    digest = hashlib.sha256(table.encode()).hexdigest()[:8]
    keep = 255 - len(f"{prefix}--{digest}-{stamp}")
    return f"{prefix}-{table[:keep]}-{digest}-{stamp}"


@dataclass(frozen=True)
class BackupState:
    arn: str
    name: str
    table: str
    status: str
    type: str
    created: datetime

    def own(self, prefix: str) -> bool:
        """The contract's exact ownership (behaviour 9), written independently of the
        handlers: the name is the one `prefix` gives this table for the slot of its stamp."""
        if self.type != "USER":
            return False
        try:
            slot = datetime.strptime(self.name[-16:], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        except ValueError:
            return False
        return self.name == expected_backup_name(prefix, self.table, slot)


@dataclass(frozen=True)
class Alert:
    subject: str
    message: str


@dataclass
class DayReport:
    slot: datetime
    selected: list[str]
    created: dict[str, BackupState]  # table -> this run's backup
    deleted: list[BackupState]
    alerts: list[Alert]
    scheduler: list[Invocation]
    monitor: list[Invocation]
    batches: int
    dead_letters: list[str]
    expired: list[str]
    duplicates_dropped: int
    finished: datetime
    problems: list[str] = field(default_factory=list)

    @property
    def monitor_errors(self) -> int:
        return sum(1 for i in self.monitor if i.failed)


def scheduled_event(slot: datetime, region: str, account: str, rule: str) -> dict[str, Any]:
    """The EventBridge "Scheduled Event" for `slot`."""
    return {
        "version": "0",
        "id": str(uuid.UUID(int=int(slot.timestamp()))),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": iso_z(slot),
        "region": region,
        "resources": [f"arn:aws:events:{region}:{account}:rule/{rule}"],
        "detail": {},
    }


def _backend(aws: LocalAws) -> Any:
    return dynamodb_backends[aws.account][aws.region]


class LocalDeployment:
    def __init__(
        self,
        aws: LocalAws,
        clock: VirtualClock,
        settings: Settings,
        backup_duration: BackupDuration = lambda _table: 120.0,
        workdir: Path | None = None,
        *,
        semantics: AwsSemantics | None = None,
        principals: tuple[str, str] = ("scheduler", "monitor"),
    ) -> None:
        """A second instance in the same account (another `settings.name`) shares the
        first's `semantics` (installed once per account) and needs its own `principals`
        (the access key ids of its scheduler and monitor roles)."""
        self.aws = aws
        self.clock = clock
        self.settings = settings
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="localrun-"))
        self.semantics: AwsSemantics = semantics or install_aws_semantics(
            aws, clock, backup_duration
        )
        self.table_tags: dict[str, dict[str, str]] = {}  # table ARN -> tags at creation
        self.ddb = aws.client("dynamodb")
        self.sqs = aws.client("sqs")
        self.sns = aws.client("sns")
        self._create_messaging()
        self.scheduler = LocalFunction(
            name=f"{settings.name}-scheduler",
            handler="dynamodb_backup.scheduler.handler",
            principal=principals[0],
            environment=self._scheduler_env(),
            timeout_seconds=settings.scheduler_timeout,
            aws=aws,
            clock=clock,
            reserved_concurrency=settings.scheduler_reserved_concurrency,
        )
        self.monitor = LocalFunction(
            name=f"{settings.name}-monitor",
            handler="dynamodb_backup.monitor.handler",
            principal=principals[1],
            environment=self._common_env()
            | {
                "RETENTION_DAYS": str(settings.retention_days),
                "MIN_BACKUPS_TO_KEEP": str(settings.min_backups_to_keep),
                "KEEP_DAILY": str(settings.keep_daily),
                "KEEP_WEEKLY": str(settings.keep_weekly),
                "KEEP_MONTHLY": str(settings.keep_monthly),
                "KEEP_YEARLY": str(settings.keep_yearly),
                "RETENTION_OVERRIDES": json.dumps(
                    {t: dict(o) for t, o in settings.retention_overrides.items()}
                ),
                "MAX_WAIT_MINUTES": str(settings.max_wait_minutes),
            },
            timeout_seconds=settings.monitor_timeout,
            aws=aws,
            clock=clock,
        )
        self.esm = SqsEventSourceMapping(
            aws, clock, self.monitor, self.queue_url, batch_size=settings.batch_size
        )
        self.drill: LocalDrill | None = None  # set by localrun.drill.LocalDrill

    # resources ------------------------------------------------------------------------
    def _arn(self, url: str) -> str:
        return str(
            self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
        )

    def _create_messaging(self) -> None:
        s = self.settings
        self.dlq_url = self.sqs.create_queue(
            QueueName=f"{s.name}-monitor-dlq.fifo",
            Attributes={
                "FifoQueue": "true",
                "ContentBasedDeduplication": "true",
                "MessageRetentionPeriod": "1209600",
            },
        )["QueueUrl"]
        self.dlq_arn = self._arn(self.dlq_url)
        self.queue_url = self.sqs.create_queue(
            QueueName=f"{s.name}-monitor.fifo",
            Attributes={
                "FifoQueue": "true",
                "ContentBasedDeduplication": "true",
                "DeduplicationScope": "messageGroup",
                "FifoThroughputLimit": "perMessageGroupId",
                "DelaySeconds": str(s.queue_delay),
                "MessageRetentionPeriod": str(s.queue_retention),
                "VisibilityTimeout": str(s.visibility_timeout),
                "RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": self.dlq_arn, "maxReceiveCount": s.max_receive_count}
                ),
            },
        )["QueueUrl"]
        self.queue_arn = self._arn(self.queue_url)
        self.failure_url = self.sqs.create_queue(
            QueueName=f"{s.name}-scheduler-dlq",
            Attributes={"MessageRetentionPeriod": "1209600"},
        )["QueueUrl"]
        self.failure_arn = self._arn(self.failure_url)
        self.topic_arn = self.sns.create_topic(Name=f"{s.name}-alerts")["TopicArn"]
        self.inbox_url = self.sqs.create_queue(QueueName=f"{s.name}-alerts-inbox")["QueueUrl"]
        self.sns.subscribe(
            TopicArn=self.topic_arn, Protocol="sqs", Endpoint=self._arn(self.inbox_url)
        )

    def _common_env(self) -> dict[str, str]:
        s = self.settings
        return {
            "BACKUP_NAME_PREFIX": s.prefix,
            "MONITOR_QUEUE_URL": self.queue_url,
            "ALERT_TOPIC_ARN": self.topic_arn,
            "LOG_LEVEL": s.log_level,
            "METRICS_NAMESPACE": s.metrics_namespace,
        }

    def _scheduler_env(self) -> dict[str, str]:
        s = self.settings
        env = self._common_env() | {
            "TABLE_TAGS": json.dumps(dict(s.table_tags)),
            "UNPROTECTED_TABLES_EXCLUDE": json.dumps(list(s.unprotected_tables_exclude)),
            "ALERT_UNPROTECTED_TABLES": "true" if s.alert_unprotected_tables else "false",
        }
        names = json.dumps(list(s.table_names))
        if len(names) > TABLE_NAMES_ENV_MAX_CHARS:
            path = self.workdir / "dynamodb_backup_tables.json"
            path.write_text(names)
            env["TABLE_NAMES_FILE"] = str(path)  # the module ships it in the zip
        else:
            env["TABLE_NAMES"] = names
        return env

    def policy_inputs(self) -> PolicyInputs:
        """The iam-policies module's inputs for this deployment (the ARNs it created)."""
        inputs = self._policy_inputs()
        return inputs if self.drill is None else self.drill.policy_inputs(inputs)

    def _policy_inputs(self) -> PolicyInputs:
        return PolicyInputs(
            partition="aws",
            region=self.aws.region,
            account_id=self.aws.account,
            table_names=tuple(self.settings.table_names),
            table_tags=dict(self.settings.table_tags),
            queue_arn=self.queue_arn,
            topic_arn=self.topic_arn,
            scheduler_log_group_arn=self.scheduler.log_group_arn,
            monitor_log_group_arn=self.monitor.log_group_arn,
            scheduler_failure_destination_arn=self.failure_arn,
        )

    # tables -----------------------------------------------------------------------------
    def create_tables(
        self, names: Iterable[str], items: int = 3, tags: Mapping[str, str] | None = None
    ) -> None:
        for name in names:
            description = self.ddb.create_table(
                TableName=name,
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
                Tags=[{"Key": k, "Value": v} for k, v in (tags or {}).items()],
            )["TableDescription"]
            self.table_tags[description["TableArn"]] = dict(tags or {})
            for i in range(items):
                self.ddb.put_item(TableName=name, Item={"pk": {"S": f"item-{i}"}})

    def delete_table(self, name: str) -> None:
        self.ddb.delete_table(TableName=name)

    def existing_tables(self) -> set[str]:
        return set(_backend(self.aws).tables)

    def backups(self) -> dict[str, BackupState]:
        """Every backup moto holds, as the API would describe it now."""
        self.semantics.lifecycle.promote()
        found: dict[str, BackupState] = {}
        for arn, backup in list(_backend(self.aws).backups.items()):
            found[arn] = BackupState(
                arn=arn,
                name=backup.name,
                table=backup.table.name,
                status=backup.status,
                type=backup.type,
                created=backup.creation_date_time.replace(tzinfo=UTC),
            )
        return found

    def add_backup(
        self, table: str, name: str, created: datetime, kind: str = "USER"
    ) -> BackupState:
        """A backup made outside the cycle (by a person, AWS Backup, an earlier run)."""
        backend = _backend(self.aws)
        backup = Backup(
            self.aws.account, self.aws.region, name, backend.get_table(table), type_=kind
        )
        backup.creation_date_time = created.astimezone(UTC).replace(tzinfo=None)
        backup.identifier = backup._make_identifier()
        backend.backups[backup.arn] = backup
        return self.backups()[backup.arn]

    # alerts -----------------------------------------------------------------------------
    def read_alerts(self) -> list[Alert]:
        alerts: list[Alert] = []
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=self.inbox_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not messages:
                return alerts
            for message in messages:
                envelope = json.loads(message["Body"])
                alerts.append(Alert(envelope.get("Subject") or "", envelope["Message"]))
                self.sqs.delete_message(
                    QueueUrl=self.inbox_url, ReceiptHandle=message["ReceiptHandle"]
                )

    def dead_letters(self) -> list[str]:
        queue = sqs_backends[self.aws.account][self.aws.region].queues[
            self.dlq_url.rsplit("/", 1)[-1]
        ]
        return [m.body for m in queue._messages]

    # the cycle --------------------------------------------------------------------------
    def invoke_scheduler(self, slot: datetime) -> list[Invocation]:
        """One asynchronous delivery of the schedule: retries, then the failure queue."""
        event = scheduled_event(slot, self.aws.region, self.aws.account, self.settings.name)
        attempts = [self.scheduler.invoke(event)]
        for delay in ASYNC_RETRY_DELAYS[: self.settings.scheduler_retries]:
            if not attempts[-1].failed:
                return attempts
            self.clock.advance(delay)
            attempts.append(self.scheduler.invoke(event))
        if attempts[-1].failed:
            error = attempts[-1].error
            failure_sqs = self.aws.client("sqs", self.scheduler.principal)
            failure_sqs.send_message(
                QueueUrl=self.failure_url,
                MessageBody=json.dumps(event),
                MessageAttributes={
                    "ErrorMessage": {"DataType": "String", "StringValue": repr(error)[:256]},
                    "RequestID": {"DataType": "String", "StringValue": str(uuid.uuid4())},
                },
            )
        return attempts

    def run_day(
        self,
        slot: datetime,
        deliveries: int = 1,
        crash_after: CrashRule | None = None,
        before_drain: Callable[[], None] | None = None,
        expected_failures: Sequence[str] = (),
    ) -> DayReport:
        if self.clock.now() < slot:
            self.clock.move_to(slot)
        before = self.backups()
        selected = self.selected_tables()
        existing = self.existing_tables()
        first_batch = len(self.esm.outcomes)
        first_monitor = len(self.monitor.invocations)
        expired_before = len(self.esm.expired)
        dropped_before = len(self.semantics.dedup.dropped)
        scheduler: list[Invocation] = []
        for _ in range(deliveries):
            scheduler += self.invoke_scheduler(slot)
        if before_drain is not None:
            before_drain()
        self.esm.crash_after = crash_after
        try:
            self.esm.drain()
        finally:
            self.esm.crash_after = None
        after = self.backups()
        created: dict[str, BackupState] = {}
        for table in selected:
            name = expected_backup_name(self.settings.prefix, table, slot)
            for state in after.values():
                if state.table == table and state.name == name:
                    created[table] = state
        deleted = [b for arn, b in before.items() if arn not in after]
        report = DayReport(
            slot=slot,
            selected=sorted(selected),
            created=created,
            deleted=sorted(deleted, key=lambda b: (b.table, b.created)),
            alerts=self.read_alerts(),
            scheduler=scheduler,
            monitor=self.monitor.invocations[first_monitor:],
            batches=len(self.esm.outcomes) - first_batch,
            dead_letters=self.dead_letters(),
            expired=[str(e["body"]) for e in self.esm.expired[expired_before:]],
            duplicates_dropped=len(self.semantics.dedup.dropped) - dropped_before,
            finished=self.clock.now(),
        )
        report.problems = self.check(
            report, before, after, existing, first_batch, expected_failures
        )
        return report

    def selected_tables(self) -> set[str]:
        s = self.settings
        chosen = set(s.table_names)
        if s.table_tags:
            backend = _backend(self.aws)
            for name, table in backend.tables.items():
                tags = {
                    t["Key"]: t["Value"] for t in backend.list_tags_of_resource(table.table_arn)
                }
                if all(tags.get(k) == v for k, v in s.table_tags.items()):
                    chosen.add(name)
        return chosen

    # the oracle -------------------------------------------------------------------------
    def _finalize_window(self, slot: datetime, first_batch: int) -> tuple[datetime, datetime]:
        """When this run's retention could have been decided (finalizer handled)."""
        times: list[tuple[datetime, datetime]] = []
        for outcome in self.esm.outcomes[first_batch:]:
            for body in bodies(outcome):
                if (
                    isinstance(body, dict)
                    and body.get("kind") == "finalize"
                    and body.get("slot") == iso_z(slot)
                ):
                    times.append((outcome.invocation.started, outcome.invocation.ended))
        if not times:
            return (slot, self.clock.now())
        return (min(t[0] for t in times), max(t[1] for t in times))

    def check(  # noqa: PLR0912, PLR0917
        self,
        report: DayReport,
        before: Mapping[str, BackupState],
        after: Mapping[str, BackupState],
        existing: set[str],
        first_batch: int,
        expected_failures: Sequence[str],
    ) -> list[str]:
        s = self.settings
        problems: list[str] = []
        alert_text = "\n".join(a.message for a in report.alerts)
        failed_tables: set[str] = set()
        for table in report.selected:
            backup = report.created.get(table)
            if backup is not None and backup.status == "AVAILABLE":
                copies = [b for b in after.values() if b.table == table and b.name == backup.name]
                if len(copies) != 1:
                    problems.append(f"{table}: {len(copies)} backups of this run, expected 1")
                continue
            failed_tables.add(table)
            if table in existing and table not in expected_failures:
                problems.append(f"{table}: no AVAILABLE backup of this run")
            if f"table: {table}\n" not in alert_text + "\n":
                problems.append(f"{table}: no backup of this run, and no alert names it")
        # retention: nothing lost, nothing overdue kept
        start, end = self._finalize_window(report.slot, first_batch)
        everything = {**before, **after}
        for table in {b.table for b in everything.values()}:
            own = sorted(
                (
                    b
                    for b in everything.values()
                    if b.table == table
                    and b.own(s.prefix)
                    and (b.status == "AVAILABLE" or b.arn in {d.arn for d in report.deleted})
                ),
                key=lambda b: (b.created, b.arn),
                reverse=True,
            )
            rules = s.rules_for(table)
            protected = {b.arn for b in own[: rules.min_backups_to_keep]}
            for arns in reference_tier_keeps({b.arn: b.created for b in own}, rules).values():
                protected |= arns
            succeeded = table not in failed_tables and table in report.selected
            for b in own:
                gone = b.arn not in after
                limit_late = end - timedelta(days=rules.retention_days)
                limit_early = start - timedelta(days=rules.retention_days)
                may = succeeded and b.arn not in protected and b.created < limit_late
                must = succeeded and b.arn not in protected and b.created < limit_early
                if gone and not may:
                    problems.append(f"{table}: backup {b.name} deleted but should be kept")
                if not gone and must:
                    problems.append(f"{table}: backup {b.name} kept past retention")
        for b in report.deleted:
            if not b.own(s.prefix):
                problems.append(f"{b.table}: foreign backup {b.name} deleted")
        if report.expired:
            problems.append(f"{len(report.expired)} queue message(s) expired unhandled")
        for invocation in report.scheduler:
            if invocation.failed and not report.alerts:
                problems.append(f"scheduler failed without an alert: {invocation.error!r}")
        return problems
