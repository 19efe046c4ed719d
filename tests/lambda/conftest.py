"""Shared fixtures of the Lambda tests: fake credentials, a fixed region, no real endpoint."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs against fake credentials in eu-west-1 and never a real endpoint."""
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name in (
        "TABLE_NAMES",
        "TABLE_TAGS",
        "TABLE_NAMES_FILE",
        "BACKUP_NAME_PREFIX",
        "MONITOR_QUEUE_URL",
        "ALERT_TOPIC_ARN",
        "RETENTION_DAYS",
        "MIN_BACKUPS_TO_KEEP",
        "KEEP_DAILY",
        "KEEP_WEEKLY",
        "KEEP_MONTHLY",
        "KEEP_YEARLY",
        "RETENTION_OVERRIDES",
        "RETENTION_OVERRIDES_FILE",
        "MAX_WAIT_MINUTES",
        "LOG_LEVEL",
        "METRICS_NAMESPACE",
        "UNPROTECTED_TABLES_EXCLUDE",
        "ALERT_UNPROTECTED_TABLES",
        "DRILL_TABLES",
        "DRILL_MAX_BACKUP_BYTES",
        "DRILL_MAX_WAIT_MINUTES",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


class CrashError(Exception):
    """The invocation dies here (a Lambda timeout or out of memory, as a test sees it)."""


class ListBackupsLikeAws:
    """A DynamoDB client (moto's) whose ListBackups answers as AWS does.

    moto ignores `TimeRangeLowerBound`/`UpperBound`, `BackupType`, `Limit` and
    `ExclusiveStartBackupArn`. AWS filters by creation time (lower bound inclusive, upper
    bound exclusive) and type (default `USER`), and pages: at most `Limit` (1 to 100)
    summaries, with `LastEvaluatedBackupArn` when more follow. Every other call goes to the
    wrapped client. `fail_on = n` makes the n-th ListBackups call (1-based) raise `CrashError`;
    `calls` counts them.
    """

    def __init__(self, client: Any, fail_on: int | None = None) -> None:
        self._client = client
        self.fail_on = fail_on
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def list_backups(self, **params: Any) -> dict[str, Any]:
        self.calls += 1
        if self.fail_on is not None and self.calls == self.fail_on:
            raise CrashError(f"crashed at ListBackups call {self.calls}")
        limit = int(params.get("Limit", 100))
        if not 1 <= limit <= 100:
            raise ValueError(f"Limit {limit} is not in [1, 100]")
        summaries: list[dict[str, Any]] = []
        request: dict[str, Any] = {"BackupType": "ALL"}
        while True:  # moto's own answer, every page of it
            page = self._client.list_backups(**request)
            summaries.extend(page.get("BackupSummaries", []))
            if not page.get("LastEvaluatedBackupArn"):
                break
            request["ExclusiveStartBackupArn"] = page["LastEvaluatedBackupArn"]
        lower, upper = params.get("TimeRangeLowerBound"), params.get("TimeRangeUpperBound")
        kind = params.get("BackupType", "USER")

        def key(s: dict[str, Any]) -> tuple[datetime, str]:
            return (_utc(s["BackupCreationDateTime"]), s["BackupArn"])

        selected = sorted(
            (
                s
                for s in summaries
                if (lower is None or _utc(s["BackupCreationDateTime"]) >= _utc(lower))
                and (upper is None or _utc(s["BackupCreationDateTime"]) < _utc(upper))
                and (kind == "ALL" or s.get("BackupType", "USER") == kind)
            ),
            key=key,
        )
        start = params.get("ExclusiveStartBackupArn")
        if start is not None:
            at = next((i for i, s in enumerate(selected) if s["BackupArn"] == start), None)
            if at is None:
                raise ValueError(f"ExclusiveStartBackupArn {start} is not in this listing")
            selected = selected[at + 1 :]
        body: dict[str, Any] = {"BackupSummaries": selected[:limit]}
        if len(selected) > limit:
            body["LastEvaluatedBackupArn"] = selected[limit - 1]["BackupArn"]
        return body


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


class StaticBackups:
    """A client whose ListBackups answers these summaries, ignoring every parameter (as
    moto does); wrap it in `ListBackupsLikeAws`."""

    def __init__(self, summaries: list[dict[str, Any]]) -> None:
        self.summaries = summaries

    def list_backups(self, **_params: Any) -> dict[str, Any]:
        return {"BackupSummaries": list(self.summaries)}


@pytest.fixture
def aws_like() -> type[ListBackupsLikeAws]:
    """`ListBackupsLikeAws`, for tests (a conftest cannot be imported by name)."""
    return ListBackupsLikeAws


@pytest.fixture
def static_backups() -> type[StaticBackups]:
    return StaticBackups
