"""The restore drill, played locally: its function, its schedule and restores that take time.

`RestoresLikeAws` makes moto's restores behave as DynamoDB's do where the drill depends
on it: moto's `RestoreTableFromBackup` copies the backup's items into a table that is
ACTIVE at once; a DynamoDB restore takes minutes to hours (`duration(source table)`
seconds here; `None`: never finishes), during which DescribeTable shows CREATING with
`RestoreSummary.RestoreInProgress`, DeleteTable is refused (ResourceInUseException) and
reads find no table (ResourceNotFoundException). `empty` names source tables whose
restores come back without their items (a broken backup, simulated). DescribeBackup gets
`SourceTableFeatureDetails` (the indexes) as AWS reports it, and `sizes` can make a
table's backups larger than moto's fixed 123 bytes.

`LocalDrill` adds what the module deploys for the drill to a `LocalDeployment`: the
function `<name>-drill` with its environment, its dead-letter queue `<name>-drill-dlq`,
`DRILL_MAX_WAIT_MINUTES` on the monitor, and the drill's IAM inputs. `run(slot)` plays
one scheduled drill (asynchronous invocation: retried twice, then the dead-letter queue)
and drains the monitoring queue; its `DrillReport` says what was restored, alerted,
measured and left over.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from moto.dynamodb.models import dynamodb_backends

from localrun.clock import VirtualClock, iso_z
from localrun.cycle import ASYNC_RETRY_DELAYS, Alert, LocalDeployment
from localrun.functions import CrashRule, Invocation, LocalFunction
from localrun.iam import PolicyInputs
from localrun.server import ApiCall, AwsResponse, Forward, LocalAws, aws_error, json_response

RestoreDuration = Callable[[str], float | None]
DRILL_MARK = "-drill-"


def _backend(aws: LocalAws) -> Any:
    return dynamodb_backends[aws.account][aws.region]


@dataclass
class RestoresLikeAws:
    """Restores that take time, can come back empty, and the backup's details (module doc)."""

    aws: LocalAws
    clock: VirtualClock
    duration: RestoreDuration = lambda _table: 600.0
    empty: set[str] = field(default_factory=set)
    sizes: dict[str, int] = field(default_factory=dict)
    ready_at: dict[str, datetime | None] = field(default_factory=dict)  # target -> when
    restores: list[Mapping[str, Any]] = field(default_factory=list)  # the requests' params
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def promote(self) -> None:
        now = self.clock.now()
        with self._lock:
            for name, when in list(self.ready_at.items()):
                if when is not None and when <= now:
                    del self.ready_at[name]

    def creating(self, name: str) -> bool:
        with self._lock:
            return name in self.ready_at

    def __call__(self, call: ApiCall, forward: Forward) -> AwsResponse:  # noqa: PLR0911
        if call.service != "dynamodb":
            return forward(call)
        self.promote()
        operation = call.operation
        name = str(call.params.get("TableName", ""))
        if operation == "RestoreTableFromBackup":
            return self._restore(call, forward)
        if operation == "DescribeBackup":
            return self._describe_backup(call, forward)
        if operation in ("Scan", "Query", "GetItem") and self.creating(name):
            return aws_error(call, "ResourceNotFoundException", f"Table not ready: {name}")
        if operation == "DeleteTable" and self.creating(name):
            return aws_error(
                call, "ResourceInUseException", f"Table is being restored (CREATING): {name}"
            )
        response = forward(call)
        if operation == "DeleteTable" and response.status == 200:
            with self._lock:
                self.ready_at.pop(name, None)
        if operation == "DescribeTable" and response.status == 200 and self.creating(name):
            body = response.json()
            body["Table"]["TableStatus"] = "CREATING"
            body["Table"].setdefault("RestoreSummary", {})["RestoreInProgress"] = True
            return json_response(body)
        return response

    def _restore(self, call: ApiCall, forward: Forward) -> AwsResponse:
        response = forward(call)
        if response.status != 200:
            return response
        target = str(call.params["TargetTableName"])
        backup = _backend(self.aws).backups.get(str(call.params["BackupArn"]))
        source = backup.table.name if backup is not None else ""
        self.restores.append(dict(call.params))
        if source in self.empty:
            _backend(self.aws).tables[target].items.clear()  # comes back without its items
        seconds = self.duration(source)
        body = response.json()
        if seconds is None or seconds > 0:
            with self._lock:
                self.ready_at[target] = (
                    None if seconds is None else self.clock.now() + timedelta(seconds=seconds)
                )
            body["TableDescription"]["TableStatus"] = "CREATING"
        return json_response(body)

    def _describe_backup(self, call: ApiCall, forward: Forward) -> AwsResponse:
        response = forward(call)
        if response.status != 200:
            return response
        backup = _backend(self.aws).backups.get(str(call.params.get("BackupArn", "")))
        if backup is None:
            return response
        body = response.json()
        description = body["BackupDescription"]
        features: dict[str, Any] = {}
        if backup.table.global_indexes:
            features["GlobalSecondaryIndexes"] = [
                {"IndexName": index.name} for index in backup.table.global_indexes
            ]
        if backup.table.indexes:
            features["LocalSecondaryIndexes"] = [
                {"IndexName": index.name} for index in backup.table.indexes
            ]
        description["SourceTableFeatureDetails"] = features
        if backup.table.name in self.sizes:
            description["BackupDetails"]["BackupSizeBytes"] = self.sizes[backup.table.name]
        return json_response(body)


@dataclass(frozen=True)
class DrillSettings:
    """The module's `restore_drill` inputs that matter locally, with its defaults."""

    tables: tuple[str, ...] = ()
    max_backup_bytes: int = 10 * 1024**3
    max_wait_minutes: int = 720
    period_seconds: int = 7 * 24 * 3600
    timeout: int = 300


@dataclass
class DrillReport:
    slot: datetime
    invocations: list[Invocation]
    result: Any
    alerts: list[Alert]
    metrics: dict[str, list[int]]  # drill and monitor: RestoreDrill* values, in order
    restored: list[str]  # drill tables restored during this drill
    left_over: list[str]  # drill tables of this instance that still exist afterwards
    dead_letters: list[str]  # the drill's failed invocations (its DLQ)
    finished: datetime


DRILL_METRICS = ("RestoreDrillSucceeded", "RestoreDrillFailed", "RestoreDrillSeconds")


class LocalDrill:
    def __init__(
        self,
        deployment: LocalDeployment,
        settings: DrillSettings | None = None,
        restore_duration: RestoreDuration = lambda _table: 600.0,
        principal: str = "drill",
    ) -> None:
        self.deployment = deployment
        self.settings = settings or DrillSettings()
        aws, clock = deployment.aws, deployment.clock
        self.restores = RestoresLikeAws(aws, clock, restore_duration)
        aws.intercept(self.restores)
        name = deployment.settings.name
        sqs = deployment.sqs
        self.dlq_url = str(
            sqs.create_queue(
                QueueName=f"{name}-drill-dlq", Attributes={"MessageRetentionPeriod": "1209600"}
            )["QueueUrl"]
        )
        self.dlq_arn = str(
            sqs.get_queue_attributes(QueueUrl=self.dlq_url, AttributeNames=["QueueArn"])[
                "Attributes"
            ]["QueueArn"]
        )
        self.function = LocalFunction(
            name=f"{name}-drill",
            handler="dynamodb_backup.drill.handler",
            principal=principal,
            environment=self.environment(),
            timeout_seconds=self.settings.timeout,
            aws=aws,
            clock=clock,
        )
        deployment.monitor.environment["DRILL_MAX_WAIT_MINUTES"] = str(
            self.settings.max_wait_minutes
        )
        deployment.drill = self

    def environment(self) -> dict[str, str]:
        """The scheduler's selection and common variables, and the DRILL_* ones."""
        selection = {
            k: v
            for k, v in self.deployment._scheduler_env().items()
            if k not in ("UNPROTECTED_TABLES_EXCLUDE", "ALERT_UNPROTECTED_TABLES")
        }
        s = self.settings
        return selection | {
            "DRILL_TABLES": json.dumps(list(s.tables)),
            "DRILL_MAX_BACKUP_BYTES": str(s.max_backup_bytes),
            "DRILL_MAX_WAIT_MINUTES": str(s.max_wait_minutes),
        }

    def policy_inputs(self, inputs: PolicyInputs) -> PolicyInputs:
        return replace(
            inputs,
            backup_name_prefix=self.deployment.settings.prefix,
            drill_enabled=True,
            drill_log_group_arn=self.function.log_group_arn,
            drill_failure_destination_arn=self.dlq_arn,
        )

    def event(self, slot: datetime) -> dict[str, Any]:
        """What the module's input transformer makes of the drill schedule's event."""
        aws = self.deployment.aws
        rule = f"{self.deployment.settings.name}-drill-schedule"
        return {
            "version": "0",
            "id": str(uuid.UUID(int=int(slot.timestamp()) + 1)),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": aws.account,
            "time": iso_z(slot),
            "region": aws.region,
            "resources": [f"arn:aws:events:{aws.region}:{aws.account}:rule/{rule}"],
            "detail": {"drill_period_seconds": self.settings.period_seconds},
        }

    def drill_tables(self) -> list[str]:
        head = f"{self.deployment.settings.prefix}{DRILL_MARK}"
        return sorted(t for t in _backend(self.deployment.aws).tables if t.startswith(head))

    def dead_letters(self) -> list[str]:
        sqs = self.deployment.sqs
        found: list[str] = []
        while True:
            got = sqs.receive_message(QueueUrl=self.dlq_url, MaxNumberOfMessages=10)
            if not got.get("Messages"):
                return found
            for message in got["Messages"]:
                found.append(str(message["Body"]))
                sqs.delete_message(QueueUrl=self.dlq_url, ReceiptHandle=message["ReceiptHandle"])

    def invoke(self, slot: datetime, crash_after: CrashRule | None = None) -> list[Invocation]:
        """One asynchronous delivery: retried twice, then the drill's dead-letter queue."""
        event = self.event(slot)
        attempts = [self.function.invoke(event, crash_after=crash_after)]
        for delay in ASYNC_RETRY_DELAYS:
            if not attempts[-1].failed:
                return attempts
            self.deployment.clock.advance(delay)
            attempts.append(self.function.invoke(event, crash_after=crash_after))
        if attempts[-1].failed:
            dlq = self.deployment.aws.client("sqs", self.function.principal)
            dlq.send_message(
                QueueUrl=self.dlq_url,
                MessageBody=json.dumps(event),
                MessageAttributes={
                    "ErrorMessage": {
                        "DataType": "String",
                        "StringValue": repr(attempts[-1].error)[:256],
                    }
                },
            )
        return attempts

    def run(
        self,
        slot: datetime,
        crash_after: CrashRule | None = None,
        monitor_crash_after: CrashRule | None = None,
    ) -> DrillReport:
        deployment = self.deployment
        if deployment.clock.now() < slot:
            deployment.clock.move_to(slot)
        first_monitor = len(deployment.monitor.invocations)
        restores_before = len(self.restores.restores)
        invocations = self.invoke(slot, crash_after)
        deployment.esm.crash_after = monitor_crash_after
        try:
            deployment.esm.drain()
        finally:
            deployment.esm.crash_after = None
        metrics: dict[str, list[int]] = {}
        for invocation in invocations + deployment.monitor.invocations[first_monitor:]:
            for doc in invocation.metrics:
                for name in DRILL_METRICS:
                    if name in doc:
                        metrics.setdefault(name, []).append(int(doc[name]))
        return DrillReport(
            slot=slot,
            invocations=invocations,
            result=invocations[-1].result,
            alerts=deployment.read_alerts(),
            metrics=metrics,
            restored=[str(p["TargetTableName"]) for p in self.restores.restores[restores_before:]],
            left_over=self.drill_tables(),
            dead_letters=self.dead_letters(),
            finished=deployment.clock.now(),
        )


def drill_data(report: DrillReport, prefix: str) -> dict[str, Any]:
    """The demo's view of one drill: what was drilled, its metrics, alerts and problems."""
    problems: list[str] = []
    if report.left_over:
        problems.append(f"drill tables left over: {report.left_over}")
    if report.metrics.get("RestoreDrillSucceeded", []) != [1] or report.alerts:
        problems.append("the drill did not succeed")
    seconds = report.metrics.get("RestoreDrillSeconds", [])
    return {
        "slot": iso_z(report.slot),
        "tables": list(report.result.get("tables", [])) if isinstance(report.result, dict) else [],
        "restored": report.restored,
        "restore_seconds": seconds[0] if seconds else None,
        "succeeded": sum(report.metrics.get("RestoreDrillSucceeded", [])),
        "failed": sum(report.metrics.get("RestoreDrillFailed", [])),
        "alerts": [a.message for a in report.alerts],
        "left_over": report.left_over,
        "prefix": prefix,
        "problems": problems,
    }


def format_drill(data: Mapping[str, Any]) -> str:
    lines = [f"Restore drill {data['slot']}: tables {', '.join(data['tables']) or '-'}"]
    outcome = "verified" if data["succeeded"] and not data["failed"] else "NOT verified"
    for target in data["restored"]:
        gone = "deleted" if target not in data["left_over"] else "NOT deleted"
        lines.append(f"  restored into {target} (on demand), {outcome}, {gone}")
    if data["restore_seconds"] is not None:
        lines.append(f"  RestoreDrillSeconds: {data['restore_seconds']} (restore start to ACTIVE)")
    lines.append(
        f"  RestoreDrillSucceeded: {data['succeeded']}, RestoreDrillFailed: {data['failed']}"
    )
    lines.append(f"  drill tables left: {len(data['left_over'])}")
    lines += [f"  ALERT: {' '.join(text.split())[:300]}" for text in data["alerts"]]
    lines += [f"  PROBLEM: {problem}" for problem in data["problems"]]
    return "\n".join(lines)
