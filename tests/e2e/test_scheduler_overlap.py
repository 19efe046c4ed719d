"""Two deliveries of one scheduled event that run at the same time (issue 14 item 7).

Lambda delivers an asynchronous event at least once, and a duplicate may run while the
first is still running. Each delivery lists the slot's existing backups before it creates
any, so two that overlap both find none and both create: a second backup of every table.
The module refuses the configurations that allow it (reserved concurrency other than 1):
with one execution at a time, the duplicate is throttled, waits in Lambda's queue, and
runs after the first, when the first's backups are listed. Played here with real threads
that meet at a barrier once each has listed the slot's backups (before any CreateBackup),
so the overlap is certain when nothing serialises them.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.client import BaseClient

from localrun.cycle import LocalDeployment, Settings, scheduled_event
from localrun.functions import Invocation, LocalFunction
from tools import tfeval

from .conftest import Deploy

SLOT = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)
TABLES = ("orders", "users", "carts", "stock", "prices")


@dataclass
class Meeting:
    """Where a delivery waits once it has listed the slot's backups (the scheduler lists
    them in its own thread before its pool creates any): until the other delivery has
    listed too, or the other was throttled (then nobody comes). Two deliveries that run
    at the same time have thus both listed before either creates. No timed waits:
    libfaketime (make test-clock) breaks timeouts of condition waits."""

    function: LocalFunction | None = None
    listed: int = 0
    at_release: list[int] = field(default_factory=list)  # listings done when each went on

    @property
    def overlapped(self) -> bool:
        """The first delivery went on only once the second had listed too."""
        return self.at_release[:1] == [2]


@pytest.fixture
def meet_before_create() -> Iterator[Meeting]:
    meeting = Meeting()
    seen: set[int] = set()
    original = getattr(BaseClient, "_make_api_call")  # noqa: B009

    def wrapped(self: Any, operation_name: str, api_params: Mapping[str, Any]) -> Any:
        result = original(self, operation_name, api_params)
        last_page = "LastEvaluatedBackupArn" not in result
        if operation_name == "ListBackups" and last_page and threading.get_ident() not in seen:
            seen.add(threading.get_ident())
            function = meeting.function
            assert function is not None
            with function.changed:
                meeting.listed += 1
                function.changed.notify_all()
                function.changed.wait_for(lambda: meeting.listed == 2 or function.throttles > 0)
                meeting.at_release.append(meeting.listed)
        return result

    setattr(BaseClient, "_make_api_call", wrapped)  # noqa: B010
    try:
        yield meeting
    finally:
        setattr(BaseClient, "_make_api_call", original)  # noqa: B010


def deliver_twice_at_once(d: LocalDeployment) -> list[Invocation]:
    event = scheduled_event(SLOT, d.aws.region, d.aws.account, d.settings.name)
    results: list[Invocation] = []
    errors: list[BaseException] = []

    def deliver() -> None:
        try:
            results.append(d.scheduler.invoke_async(event))
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(results) == 2
    return results


def backups_per_table(d: LocalDeployment) -> Counter[str]:
    return Counter(b.table for b in d.backups().values())


def test_unserialised_overlapping_deliveries_create_a_second_backup_of_every_table(
    deploy: Deploy, meet_before_create: Meeting
) -> None:
    """Why the module refuses reserved concurrency other than 1: the failure it prevents."""
    d = deploy(Settings(table_names=TABLES, scheduler_reserved_concurrency=None))
    meet_before_create.function = d.scheduler
    d.create_tables(list(TABLES))
    d.clock.sleep_until(SLOT)

    runs = deliver_twice_at_once(d)

    assert meet_before_create.overlapped
    assert [run.error for run in runs] == [None, None]
    assert backups_per_table(d) == {table: 2 for table in TABLES}


def test_with_the_modules_reserved_concurrency_overlapping_deliveries_make_one_backup_each(
    deploy: Deploy, meet_before_create: Meeting
) -> None:
    d = deploy(Settings(table_names=TABLES))
    meet_before_create.function = d.scheduler
    assert d.scheduler.reserved_concurrency == 1
    d.create_tables(list(TABLES))
    d.clock.sleep_until(SLOT)

    runs = deliver_twice_at_once(d)

    assert all(not run.failed for run in runs)
    assert d.scheduler.throttles >= 1  # the duplicate waited for the first
    assert not meet_before_create.overlapped  # the duplicate waited for the first
    assert backups_per_table(d) == {table: 1 for table in TABLES}


def test_the_module_sets_the_reserved_concurrency_the_local_runtime_plays(
    tmp_path: Any,
) -> None:
    rendered = tfeval.evaluate_module(tfeval.REPO, {"m": {"table_names": ["orders"]}}, tmp_path)
    function = tfeval.find(rendered, 'module.m.aws_lambda_function.this["scheduler"]')
    assert function["reserved_concurrent_executions"] == Settings().scheduler_reserved_concurrency
