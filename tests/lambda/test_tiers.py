"""Tiered retention (`tiers.py`) against restic's documented examples and a plain reference."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dynamodb_backup.tiers import (
    PERIODS,
    TIER_NAMES,
    Dated,
    Tiers,
    kept_by_tiers,
    newest_first,
    week_of,
)


def dated(moment: datetime, arn: str | None = None) -> Dated:
    return Dated(arn=arn or f"arn:{moment.isoformat()}", created=moment)


def reference(backups: list[Dated], tiers: Tiers) -> set[str]:
    """The rules in words: per tier, the newest backup of each of the n most recent periods
    that have one; the oldest backup too when there are fewer than n such periods."""
    kept: set[str] = set()
    ordered = newest_first(backups)
    for name, count in tiers.counts().items():
        if count == 0 or not ordered:
            continue
        by_period: dict[tuple[int, ...], list[Dated]] = defaultdict(list)
        for backup in ordered:
            by_period[PERIODS[name](backup.created)].append(backup)
        periods = sorted(by_period, reverse=True)
        for period in periods[:count]:
            kept.add(by_period[period][0].arn)  # the newest of that period
        if len(periods) < count:
            kept.add(ordered[-1].arn)
    return kept


# -- restic's documentation of `forget`, worked examples ----------------------------------


def test_restic_example_twelve_sundays_keep_daily_4_keeps_the_last_four() -> None:
    sundays = [datetime(2019, 9, 1, 11, tzinfo=UTC) + timedelta(weeks=w) for w in range(12)]
    kept = kept_by_tiers([dated(s) for s in sundays], Tiers(daily=4))
    assert sorted(b for b in kept) == sorted(dated(s).arn for s in sundays[-4:])
    assert all(reasons == ("daily",) for reasons in kept.values())


def test_restic_example_daily_for_a_century_with_7_5_12_75() -> None:
    """'would keep the most recent 7 daily snapshots and 4 last-day-of-the-week ones (since
    the 7 dailies already include 1 weekly). Additionally, 12 or 11 last-day-of-the-month
    snapshots ... And finally 75 or 74 last-day-of-the-year snapshots'. The history ends on
    a Sunday, as in restic's example: the 7 dailies then lie in one ISO week."""
    last = datetime(2026, 11, 29, 11, tzinfo=UTC)  # a Sunday
    assert last.isoweekday() == 7
    days = [last - timedelta(days=d) for d in range(36525)]
    backups = [dated(d) for d in days]
    kept = kept_by_tiers(backups, Tiers(daily=7, weekly=5, monthly=12, yearly=75))
    only: dict[str, int] = defaultdict(int)
    for reasons in kept.values():
        only[reasons[0]] += 1  # the first tier (daily, weekly, ...) that kept it
    # every tier keeps exactly its count (a century is longer than any of them) ...
    per_tier = {name: sum(name in r for r in kept.values()) for name in TIER_NAMES}
    assert per_tier == {"daily": 7, "weekly": 5, "monthly": 12, "yearly": 75}
    # ... and adds what the earlier tiers did not keep already
    assert only["daily"] == 7
    assert only["weekly"] == 4  # the 7 dailies include this week's weekly
    assert only["monthly"] == 11  # this month's newest is a daily
    # this year's newest is a daily and last year's December backup is a monthly: restic's
    # "75 or 74" counts one overlap; ending in November, there are two
    assert only["yearly"] == 73
    assert len(kept) == 7 + 4 + 11 + 73
    assert set(kept) == reference(backups, Tiers(daily=7, weekly=5, monthly=12, yearly=75))


def test_a_tier_with_count_left_keeps_the_oldest_backup_too() -> None:
    # three backups on one day: keep_daily 3 has count left after that day
    base = datetime(2026, 11, 28, 4, tzinfo=UTC)
    backups = [dated(base + timedelta(hours=h)) for h in range(3)]
    kept = kept_by_tiers(backups, Tiers(daily=3))
    assert set(kept) == {backups[2].arn, backups[0].arn}  # newest of the day, and the oldest


def test_days_without_a_backup_are_skipped_not_counted() -> None:
    base = datetime(2026, 11, 1, 4, tzinfo=UTC)
    backups = [dated(base + timedelta(days=d)) for d in (0, 1, 10, 20)]
    kept = kept_by_tiers(backups, Tiers(daily=3))
    assert set(kept) == {backups[3].arn, backups[2].arn, backups[1].arn}


def test_weeks_are_iso_weeks_across_the_year_boundary() -> None:
    # 2026-12-31 (Thursday) and 2027-01-03 (Sunday) are both in ISO week 53 of 2026
    assert week_of(datetime(2026, 12, 31, tzinfo=UTC)) == (2026, 53)
    assert week_of(datetime(2027, 1, 3, tzinfo=UTC)) == (2026, 53)
    assert week_of(datetime(2027, 1, 4, tzinfo=UTC)) == (2027, 1)
    backups = [
        dated(datetime(2026, 12, 31, 4, tzinfo=UTC)),
        dated(datetime(2027, 1, 3, 4, tzinfo=UTC)),
    ]
    kept = kept_by_tiers(backups, Tiers(weekly=1))
    assert set(kept) == {backups[1].arn}


def test_timestamps_are_read_in_utc() -> None:
    # 23:30 at UTC-2 on the 1st is 01:30 UTC on the 2nd: the same UTC day as 00:30 UTC
    # on the 2nd, so one daily keeps only the later of the two
    minus_two = datetime(2026, 11, 1, 23, 30, tzinfo=timezone(timedelta(hours=-2)))
    first = dated(datetime(2026, 11, 2, 0, 30, tzinfo=UTC), "arn:first")
    second = dated(minus_two, "arn:second")
    assert set(kept_by_tiers([first, second], Tiers(daily=1))) == {"arn:second"}


def test_no_tiers_keep_nothing_and_negative_counts_are_refused() -> None:
    backups = [dated(datetime(2026, 11, 1, tzinfo=UTC))]
    assert kept_by_tiers(backups, Tiers()) == {}
    assert not Tiers().any()
    assert Tiers(yearly=1).any()
    with pytest.raises(ValueError, match="keep_weekly"):
        Tiers(weekly=-1)


# -- random histories against the reference -------------------------------------------------

# Around year ends (ISO week 53 years 2020 and 2026 included), with gaps and several a day.
moments = st.one_of(
    st.datetimes(min_value=datetime(2019, 12, 20), max_value=datetime(2021, 1, 10)),
    st.datetimes(min_value=datetime(2026, 12, 20), max_value=datetime(2027, 1, 10)),
    st.datetimes(min_value=datetime(2022, 1, 1), max_value=datetime(2026, 1, 1)),
).map(lambda m: m.replace(tzinfo=UTC))
histories = st.lists(moments, min_size=0, max_size=60).map(
    lambda ms: [dated(m, f"arn:{i:03d}") for i, m in enumerate(ms)]
)
tier_sets = st.builds(
    Tiers,
    daily=st.integers(0, 10),
    weekly=st.integers(0, 6),
    monthly=st.integers(0, 14),
    yearly=st.integers(0, 4),
)


@settings(max_examples=500, deadline=None)
@given(histories, tier_sets)
def test_tiers_keep_exactly_what_the_rules_say(backups: list[Dated], tiers: Tiers) -> None:
    assert set(kept_by_tiers(backups, tiers)) == reference(backups, tiers)


@settings(max_examples=300, deadline=None)
@given(histories, tier_sets, st.sampled_from(TIER_NAMES), st.integers(1, 5))
def test_adding_to_a_tier_never_keeps_less(
    backups: list[Dated], tiers: Tiers, name: str, more: int
) -> None:
    bigger = Tiers(**{**tiers.counts(), name: tiers.counts()[name] + more})
    assert set(kept_by_tiers(backups, tiers)) <= set(kept_by_tiers(backups, bigger))


@settings(max_examples=300, deadline=None)
@given(histories, tier_sets)
def test_applying_the_tiers_again_to_the_survivors_keeps_them_all(
    backups: list[Dated], tiers: Tiers
) -> None:
    kept = set(kept_by_tiers(backups, tiers))
    survivors = [b for b in backups if b.arn in kept]
    assert set(kept_by_tiers(survivors, tiers)) == kept


@settings(max_examples=200, deadline=None)
@given(histories, tier_sets)
def test_any_tier_keeps_the_newest_backup(backups: list[Dated], tiers: Tiers) -> None:
    kept = kept_by_tiers(backups, tiers)
    if backups and tiers.any():
        assert newest_first(backups)[0].arn in kept
