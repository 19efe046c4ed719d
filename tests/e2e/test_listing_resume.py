"""End to end on the local runtime: a retention listing too long for one monitor
invocation resumes across invocations, survives a crash in the middle of one, and ends
with exactly the expected survivors; no queue message expires (issue 10 "At scale",
issue 14.6)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from localrun.cycle import Settings, expected_backup_name
from localrun.functions import SimulatedCrash

from .conftest import Deploy

DAY = timedelta(days=1)
SLOT = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)
TABLES = [f"table-{n:02d}" for n in range(20)]
HISTORY_DAYS = 200
MIN_KEEP = 150  # above 1: the finalizer needs every own backup of the account


def continuations_sent(calls: list[Any]) -> int:
    sent = 0
    for recorded in calls:
        call = recorded.call
        if call.operation == "SendMessageBatch" and call.principal.endswith("monitor"):
            for entry in call.params.get("Entries", []):
                body = json.loads(str(entry["MessageBody"]))
                sent += body.get("kind") == "finalize" and "listing" in body
    return sent


def test_a_listing_spans_several_invocations_and_a_crash_in_one(deploy: Deploy) -> None:
    # a short monitor timeout: its budget (75%) holds about 20 ListBackups pages at 4.5/s
    settings = Settings(
        table_names=tuple(TABLES), retention_days=3, min_backups_to_keep=MIN_KEEP, monitor_timeout=6
    )
    d = deploy(settings)
    d.create_tables(TABLES, items=1)
    for table in TABLES:
        for day in range(1, HISTORY_DAYS + 1):
            at = SLOT - day * DAY
            d.add_backup(table, expected_backup_name(settings.prefix, table, at), at)
        d.add_backup(table, f"manual-{table}", SLOT - 300 * DAY)
    lists = Counter[str]()

    def crash_in_the_second_listing_invocation(operation: str, params: Any) -> bool:
        if operation != "ListBackups":
            return False
        lists["calls"] += 1
        return lists["calls"] == 30  # the first invocation lists about 20 pages

    first_call = len(d.aws.calls)
    report = d.run_day(SLOT, crash_after=crash_in_the_second_listing_invocation)

    assert lists["calls"] > 30
    assert any(isinstance(i.error, SimulatedCrash) for i in report.monitor)
    assert report.problems == []  # the oracle: nothing lost, nothing overdue, none expired
    assert report.expired == []
    assert report.dead_letters == []
    assert continuations_sent(d.aws.calls[first_call:]) >= 2
    for table in TABLES:
        own = sorted(
            (b for b in d.backups().values() if b.table == table and b.own(settings.prefix)),
            key=lambda b: b.created,
            reverse=True,
        )
        # the run's backup and the newest MIN_KEEP - 1 of the history, nothing else
        assert own[0].name == expected_backup_name(settings.prefix, table, SLOT)
        assert [b.name for b in own[1:]] == [
            expected_backup_name(settings.prefix, table, SLOT - day * DAY)
            for day in range(1, MIN_KEEP)
        ]
        assert f"manual-{table}" in {b.name for b in d.backups().values() if b.table == table}
    assert len(report.deleted) == len(TABLES) * (HISTORY_DAYS + 1 - MIN_KEEP)
