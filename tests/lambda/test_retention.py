"""The retention decision, by example and as a property over many generated histories."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from dynamodb_backup.fold import Candidate, TableFold, feed, finish
from dynamodb_backup.model import AVAILABLE, BackupSummary
from dynamodb_backup.naming import backup_name, slot_of
from dynamodb_backup.policy import Policy
from dynamodb_backup.retention import is_own, listing_start

NOW = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)
PREFIX = "scheduled"


def decide(
    backups: list[BackupSummary],
    *,
    now: datetime,
    retention_days: int,
    min_keep: int,
    prefix: str,
    run_succeeded: bool,
) -> list[str]:
    """What the finalizer deletes from one table's listing: its own AVAILABLE backups
    (`is_own`, as the finalizer filters them) folded in one window, when its run succeeded."""
    if not run_succeeded:
        return []
    policy = Policy(retention_days=retention_days, min_keep=min_keep)
    state = TableFold.start(policy)
    own = [
        Candidate(b.arn, b.created) for b in backups if is_own(b, prefix) and b.status == AVAILABLE
    ]
    step = feed(state, own, policy, now)
    finish(state)
    return [c.arn for c in step.doomed]


def backup(
    days_ago: float,
    name: str | None = None,
    status: str = "AVAILABLE",
    type_: str = "USER",
    arn: str | None = None,
) -> BackupSummary:
    created = NOW - timedelta(days=days_ago)
    return BackupSummary(
        table="orders",
        name=name or f"{PREFIX}-orders-{created:%Y%m%dT%H%M%SZ}",
        arn=arn or f"arn:aws:dynamodb:eu-west-1:1:table/orders/backup/{days_ago:09.4f}",
        created=created,
        status=status,
        type=type_,
    )


def test_deletes_own_backups_older_than_the_retention() -> None:
    history = [backup(d) for d in (0, 1, 2, 3.5, 4, 10)]
    deleted = decide(
        history, now=NOW, retention_days=3, min_keep=1, prefix=PREFIX, run_succeeded=True
    )
    assert sorted(deleted) == sorted(b.arn for b in history if b.created < NOW - timedelta(days=3))
    assert len(deleted) == 3


def test_exactly_at_the_boundary_is_kept() -> None:
    at_boundary = backup(3)
    just_past = backup(3.0001)
    deleted = decide(
        [backup(0), at_boundary, just_past],
        now=NOW,
        retention_days=3,
        min_keep=1,
        prefix=PREFIX,
        run_succeeded=True,
    )
    assert deleted == [just_past.arn]


def test_min_keep_protects_the_newest_even_when_old() -> None:
    history = [backup(d) for d in (10, 11, 12, 13)]
    deleted = decide(
        history, now=NOW, retention_days=3, min_keep=2, prefix=PREFIX, run_succeeded=True
    )
    assert sorted(deleted) == sorted([history[2].arn, history[3].arn])


def test_min_keep_counts_only_available_backups() -> None:
    failed_newer = backup(5, status="DELETED")
    creating_newer = backup(4.5, status="CREATING")
    only_available = backup(6)
    deleted = decide(
        [failed_newer, creating_newer, only_available],
        now=NOW,
        retention_days=3,
        min_keep=1,
        prefix=PREFIX,
        run_succeeded=True,
    )
    assert deleted == []


def test_foreign_and_system_backups_are_never_touched() -> None:
    history = [
        backup(0),
        backup(30, name="manual-before-migration"),
        backup(30, name="scheduledx-orders-20260101T000000Z"),
        backup(30, name=f"{PREFIX}-weekly-orders-20260101T000000Z"),
        backup(30, name=f"{PREFIX}-orders-before-migration"),
        backup(30, name=f"{PREFIX}-orders-old", type_="SYSTEM"),
        backup(30, name=f"{PREFIX}-orders-old2", type_="AWS_BACKUP"),
    ]
    assert (
        decide(history, now=NOW, retention_days=3, min_keep=1, prefix=PREFIX, run_succeeded=True)
        == []
    )


def test_failed_run_keeps_everything() -> None:
    history = [backup(d) for d in (0, 5, 10, 20)]
    assert (
        decide(history, now=NOW, retention_days=3, min_keep=1, prefix=PREFIX, run_succeeded=False)
        == []
    )


# --- property ---------------------------------------------------------------------------

STAMP = "20261101T040000Z"
NAMES = st.sampled_from(
    [
        f"{PREFIX}-orders-{STAMP}",  # own: exactly backup_name(PREFIX, "orders", slot)
        f"{PREFIX}-orders-20261120T040000Z",  # own
        f"{PREFIX}-orders-x",  # look-alikes from here on: not own
        f"{PREFIX}-weekly-orders-{STAMP}",  # another instance whose prefix extends ours
        f"{PREFIX}-users-{STAMP}",  # our name for another table
        f"{PREFIX}x-orders-{STAMP}",
        f"{PREFIX}-orders-{STAMP}x",
        PREFIX,
        f"Scheduled-orders-{STAMP}",
        "manual-orders",
        f"other-{PREFIX}-orders-{STAMP}",
    ]
)
OWN_NAMES = {f"{PREFIX}-orders-{STAMP}", f"{PREFIX}-orders-20261120T040000Z"}


@st.composite
def histories(draw: st.DrawFn) -> list[BackupSummary]:
    count = draw(st.integers(min_value=0, max_value=14))
    result = []
    for index in range(count):
        minutes = draw(st.integers(min_value=0, max_value=20 * 24 * 60))
        result.append(
            BackupSummary(
                table="orders",
                name=draw(NAMES),
                arn=f"arn:aws:dynamodb:eu-west-1:1:table/orders/backup/{index:04d}",
                created=NOW - timedelta(minutes=minutes),
                status=draw(st.sampled_from(["AVAILABLE", "AVAILABLE", "CREATING", "DELETED"])),
                type=draw(st.sampled_from(["USER", "USER", "USER", "SYSTEM", "AWS_BACKUP"])),
            )
        )
    return result


@settings(max_examples=1000, deadline=None)
@given(
    history=histories(),
    retention_days=st.integers(min_value=0, max_value=15),
    min_keep=st.integers(min_value=0, max_value=5),
    run_succeeded=st.booleans(),
)
def test_retention_property(
    history: list[BackupSummary], retention_days: int, min_keep: int, run_succeeded: bool
) -> None:
    deleted = set(
        decide(
            history,
            now=NOW,
            retention_days=retention_days,
            min_keep=min_keep,
            prefix=PREFIX,
            run_succeeded=run_succeeded,
        )
    )
    cutoff = NOW - timedelta(days=retention_days)
    own_available = [
        b for b in history if b.type == "USER" and b.name in OWN_NAMES and b.status == "AVAILABLE"
    ]
    assert all(is_own(b, PREFIX) == (b.type == "USER" and b.name in OWN_NAMES) for b in history)

    def newer_own_available(b: BackupSummary) -> int:
        return sum(1 for c in own_available if (c.created, c.arn) > (b.created, b.arn))

    newest = {b.arn for b in own_available if newer_own_available(b) < min_keep}
    by_arn = {b.arn: b for b in history}

    assert deleted <= by_arn.keys()
    if not run_succeeded:
        assert deleted == set()
    assert not deleted & newest, "deleted one of the newest MIN_BACKUPS_TO_KEEP"
    for arn in deleted:
        b = by_arn[arn]
        assert slot_of(PREFIX, b.table, b.name) is not None, "deleted a backup not its own"
        assert b.type == "USER", "deleted a SYSTEM/AWS_BACKUP backup"
        assert b.created < cutoff, "deleted a backup inside the retention window"
        assert b.status == "AVAILABLE"
    if run_succeeded:
        expected = {b.arn for b in own_available if b.created < cutoff and b.arn not in newest}
        assert deleted == expected, "kept an own backup that is old enough"
    assert len(own_available) - len(deleted & {b.arn for b in own_available}) >= min(
        min_keep, len(own_available)
    )


@settings(max_examples=1000, deadline=None)
@given(
    history=histories(),
    run_minutes_ago=st.integers(min_value=0, max_value=20 * 24 * 60),
    retention_days=st.integers(min_value=1, max_value=15),
    min_keep=st.integers(min_value=0, max_value=3),
)
def test_the_narrow_listing_decides_as_the_full_one(
    history: list[BackupSummary], run_minutes_ago: int, retention_days: int, min_keep: int
) -> None:
    """The finalizer lists the run's range and then backward from `listing_start`: for a
    table whose run backup (created at or after the run's start) is AVAILABLE, deciding
    from those backups deletes exactly what deciding from all of them would."""
    started = NOW - timedelta(minutes=run_minutes_ago)
    run = BackupSummary(
        table="orders",
        name=backup_name(PREFIX, "orders", started),
        arn="arn:aws:dynamodb:eu-west-1:1:table/orders/backup/run",
        created=started,
        status="AVAILABLE",
        type="USER",
    )
    everything = [*history, run]
    upper = listing_start(
        now=NOW, retention_days=retention_days, run_started=started, full_history=min_keep > 1
    )
    listed = [b for b in everything if b.created >= started or b.created < upper]

    def deleted(backups: list[BackupSummary]) -> list[str]:
        return sorted(
            decide(
                backups,
                now=NOW,
                retention_days=retention_days,
                min_keep=min_keep,
                prefix=PREFIX,
                run_succeeded=True,
            )
        )

    assert deleted(listed) == deleted(everything)


def test_the_narrow_listing_skips_what_the_retention_keeps() -> None:
    started = NOW - timedelta(minutes=5)
    start = listing_start(now=NOW, retention_days=35, run_started=started, full_history=False)
    assert start == NOW - timedelta(days=35)
    assert (
        listing_start(now=NOW, retention_days=35, run_started=started, full_history=True) == started
    )
