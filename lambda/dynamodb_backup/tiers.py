"""Tiered retention: daily, weekly, monthly and yearly backups kept from one stream (pure).

The semantics are those of restic's `forget --keep-daily/weekly/monthly/yearly` (and
borg's `prune`), per table over its own AVAILABLE backups, in UTC:

- the backups are walked newest first (creation time, then ARN);
- `daily = n` keeps the newest backup of each of the n most recent calendar days that
  have a backup; `weekly` the same per ISO week (ISO year and week number), `monthly` per
  calendar month, `yearly` per calendar year. Periods without a backup are skipped, not
  counted;
- a tier that still has count left when the walk reaches the oldest backup keeps that
  oldest backup too (restic: "the oldest snapshot is kept additionally");
- a backup is kept when any tier keeps it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from dynamodb_backup.naming import to_utc

Period = tuple[int, ...]

TIER_NAMES = ("daily", "weekly", "monthly", "yearly")


def day_of(moment: datetime) -> Period:
    utc = to_utc(moment)
    return (utc.year, utc.month, utc.day)


def week_of(moment: datetime) -> Period:
    iso = to_utc(moment).isocalendar()
    return (iso.year, iso.week)


def month_of(moment: datetime) -> Period:
    utc = to_utc(moment)
    return (utc.year, utc.month)


def year_of(moment: datetime) -> Period:
    return (to_utc(moment).year,)


PERIODS: dict[str, Callable[[datetime], Period]] = {
    "daily": day_of,
    "weekly": week_of,
    "monthly": month_of,
    "yearly": year_of,
}


@dataclass(frozen=True)
class Tiers:
    """How many periods each tier keeps; 0 turns a tier off."""

    daily: int = 0
    weekly: int = 0
    monthly: int = 0
    yearly: int = 0

    def __post_init__(self) -> None:
        for name in TIER_NAMES:
            if getattr(self, name) < 0:
                raise ValueError(f"keep_{name} must not be negative")

    def counts(self) -> dict[str, int]:
        return {name: int(getattr(self, name)) for name in TIER_NAMES}

    def any(self) -> bool:
        return any(self.counts().values())


@dataclass(frozen=True)
class Dated:
    """A backup as the tiers see it: its ARN and creation time."""

    arn: str
    created: datetime


def newest_first(backups: Iterable[Dated]) -> list[Dated]:
    """Newest first by creation time, then ARN (the order every retention rule uses)."""
    return sorted(backups, key=lambda b: (to_utc(b.created), b.arn), reverse=True)


def kept_by_tiers(backups: Iterable[Dated], tiers: Tiers) -> dict[str, tuple[str, ...]]:
    """The ARNs the tiers keep, each with the tiers that keep it (`daily`, `weekly`, ...)."""
    ordered = newest_first(backups)
    reasons: dict[str, list[str]] = {}
    for name, count in tiers.counts().items():
        left = count
        last: Period | None = None
        period_of = PERIODS[name]
        for index, backup in enumerate(ordered):
            if left <= 0:
                break
            period = period_of(backup.created)
            oldest = index == len(ordered) - 1
            if period != last or oldest:
                reasons.setdefault(backup.arn, []).append(name)
                last = period
                left -= 1
    return {arn: tuple(names) for arn, names in reasons.items()}
