"""A year of daily runs with tiered retention (issue 10), end to end on the local runtime.

Two tables under `keep_daily = 7, keep_weekly = 4, keep_monthly = 12, keep_yearly = 1`,
one of them (`ledger`) overridden with `keep_yearly = 3, keep_monthly = 6`. After 365 daily
runs each table holds exactly the backups an independent reference keeps: the one below,
written as plain calendar arithmetic over the slots (no backups, no ARNs, no grouping
code shared with the handlers or the oracle), and the runtime's oracle checks every single
day on the way (nothing kept past its rules, nothing deleted that a rule keeps).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from localrun.cycle import Settings

from .conftest import Deploy

FIRST = datetime(2027, 1, 1, 3, 0, tzinfo=UTC)  # after the fixtures' clock start; a Friday
DAYS = 365
RETENTION_DAYS = 1  # a day's backup is past retention by the next run: only tiers keep it


def expected_survivors(
    last: date, *, days: int, daily: int, weekly: int, monthly: int, yearly: int
) -> set[date]:
    """The run days whose backup a year of daily runs ending on `last` leaves, by hand:
    one backup per day, so the newest of a period is its last day that had a run."""
    first = last - timedelta(days=days - 1)
    runs = [first + timedelta(days=i) for i in range(days)]
    keep: set[date] = set(runs[-daily:])  # the newest `daily` days
    # weeks: the last run day of each of the `weekly` newest ISO weeks
    last_of_week: dict[tuple[int, int], date] = {}
    last_of_month: dict[tuple[int, int], date] = {}
    last_of_year: dict[int, date] = {}
    for day in runs:
        iso = day.isocalendar()
        last_of_week[(iso[0], iso[1])] = day
        last_of_month[(day.year, day.month)] = day
        last_of_year[day.year] = day
    for periods, count in (
        (last_of_week, weekly),
        (last_of_month, monthly),
        (last_of_year, yearly),
    ):
        newest = sorted(periods.values(), reverse=True)
        keep |= set(newest[:count])
        if len(newest) < count:  # count left at the oldest backup: it is kept too
            keep.add(runs[0])
    return keep


def test_a_year_of_daily_runs_leaves_exactly_the_tiers(deploy: Deploy) -> None:
    settings = Settings(
        table_names=("orders", "ledger"),
        retention_days=RETENTION_DAYS,
        keep_daily=7,
        keep_weekly=4,
        keep_monthly=12,
        keep_yearly=1,
        retention_overrides={"ledger": {"keep_yearly": 3, "keep_monthly": 6}},
        log_level="WARNING",
    )
    d = deploy(settings, lambda _table: 60.0)
    d.create_tables(["orders", "ledger"], items=1)
    problems: list[str] = []
    deleted = 0
    for day in range(DAYS):
        report = d.run_day(FIRST + timedelta(days=day))
        problems += [f"day {day + 1}: {p}" for p in report.problems]
        deleted += len(report.deleted)
    assert problems == []

    last = (FIRST + timedelta(days=DAYS - 1)).date()
    survivors: dict[str, set[date]] = {"orders": set(), "ledger": set()}
    for backup in d.backups().values():
        assert backup.status == "AVAILABLE"
        stamp = backup.name[-16:-8]  # the run's slot, YYYYMMDD
        survivors[backup.table].add(date(int(stamp[:4]), int(stamp[4:6]), int(stamp[6:])))
    orders = expected_survivors(last, days=DAYS, daily=7, weekly=4, monthly=12, yearly=1)
    ledger = expected_survivors(last, days=DAYS, daily=7, weekly=4, monthly=6, yearly=3)
    assert survivors == {"orders": orders, "ledger": ledger}
    # what that is, in words: December's last 7 days and the last day of the 4 newest
    # weeks and of every month; the ledger keeps 6 months but its 3 yearlies reach back
    # to the first run (fewer years than asked), which is also January 1st
    assert date(2027, 1, 1) in ledger
    assert date(2027, 1, 31) not in ledger
    assert date(2027, 1, 31) in orders
    assert date(2027, 1, 1) not in orders
    assert deleted == 2 * DAYS - len(orders) - len(ledger)
