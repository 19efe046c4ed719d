"""Shared fixtures of the Lambda tests: fake credentials, a fixed region, no real endpoint."""

from __future__ import annotations

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
