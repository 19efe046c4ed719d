"""Plain data shared by the pure modules (no AWS here)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

AVAILABLE = "AVAILABLE"
CREATING = "CREATING"
DELETED = "DELETED"
USER = "USER"


@dataclass(frozen=True)
class BackupSummary:
    """One backup as ListBackups/DescribeBackup report it."""

    table: str
    name: str
    arn: str
    created: datetime
    status: str
    type: str
    size_bytes: int | None = None  # BackupSizeBytes, when the listing gave it


@dataclass(frozen=True)
class BackupRef:
    """A backup the queue messages carry: its table and ARN."""

    table: str
    arn: str


@dataclass(frozen=True)
class Failure:
    """One failure for an alert: table (`-` when none), backup ARN (if any), reason."""

    table: str
    arn: str | None
    reason: str
