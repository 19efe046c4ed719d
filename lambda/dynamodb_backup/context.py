"""What the monitor's handling of one record needs, injected: configuration, clients,
clock, budget, rate limits, and the counters behind its metrics."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from dynamodb_backup import alerts, queue
from dynamodb_backup.alerts import Unreadable
from dynamodb_backup.aws import Clients
from dynamodb_backup.budget import Budget
from dynamodb_backup.config import MonitorConfig
from dynamodb_backup.logs import log_event
from dynamodb_backup.messages import Outgoing
from dynamodb_backup.model import Failure
from dynamodb_backup.ratelimit import RateLimiter

LOG = logging.getLogger("dynamodb_backup.monitor")


@dataclass
class Counters:
    succeeded: int = 0
    failed: int = 0
    pending: int = 0
    deleted: int = 0
    unreadable: int = 0
    storage_bytes: int | None = None  # own AVAILABLE backups after retention, when all listed
    drill_succeeded: int = 0
    drill_failed: int = 0
    drill_seconds: list[int] = field(default_factory=list)  # restore start to ACTIVE, each


@dataclass
class Context:
    """Everything a record's handling needs, injected."""

    config: MonitorConfig
    clients: Clients
    now: Callable[[], datetime]
    sleep: Callable[[float], None]
    rand: Callable[[], float]
    budget: Budget
    delete_limiter: RateLimiter
    list_limiter: RateLimiter
    scan_limiter: RateLimiter  # restore drills' Scan pages (restore_check.SCAN_PAGES_PER_SECOND)
    counters: Counters = field(default_factory=Counters)

    def send(self, messages: Sequence[Outgoing]) -> None:
        queue.send(
            self.clients.sqs,
            self.config.common.queue_url,
            messages,
            sleep=self.sleep,
            rand=self.rand,
        )

    def alert(self, slot: str, failures: Sequence[Failure]) -> None:
        if failures:
            alerts.publish(
                self.clients.sns,
                self.config.common.topic_arn,
                slot,
                self.config.common.prefix,
                failures,
                sleep=self.sleep,
                rand=self.rand,
            )

    def unreadable(self, item: Unreadable) -> None:
        """Count, log and alert a message (or event) that cannot be read."""
        if item.position is not None or item.message_id is not None:
            self.counters.unreadable += 1
        log_event(
            LOG,
            logging.ERROR,
            "unreadable message",
            message_id=item.message_id or "-",
            group=item.group or "-",
            why=item.problem,
        )
        alerts.publish_unreadable(
            self.clients.sns,
            self.config.common.topic_arn,
            self.config.common.prefix,
            item,
            sleep=self.sleep,
            rand=self.rand,
        )
