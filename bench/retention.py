"""Retention scenarios of the benchmark (issue 10): what history to seed, what must be left.

Pure day arithmetic, independent of the handlers' `retention`/`tiers`: a table's backups
are named by their day offset before the run (0 is this run's, 1 yesterday's, ...), one a
day. `seed_offsets` plays a daily history under the scenario's rules (one step a day, the
oracle's reference tiers) and returns what is left before this run; `expected_after` what
this run must leave. Both use `localrun.cycle.reference_tier_keeps` (sets of periods), not
the handlers' walk.

`SCENARIOS` are the rows of `make bench ARGS=--retention`; `listing_pages` is the model
of the listing cost behind the "N x history -> pages" table.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from localrun.cycle import RetentionRules, reference_tier_keeps

LIST_PAGE = 100  # ListBackups' largest page
LIST_RATE = 5.0  # ListBackups calls per second (AWS's published rate)
BUDGET_FRACTION = 0.75  # the monitor stops taking up work with 25% of its time left


@dataclass(frozen=True)
class RetentionScenario:
    """One row of the retention benchmark."""

    key: str
    title: str
    tables: int
    history_days: int  # daily runs before this one
    seeded_rules: RetentionRules  # the rules the history ran under
    rules: RetentionRules  # the rules of this run
    scale_scheduler: float = 2.0
    scale_monitor: float = 5.0


TIERS_7_4_12_1 = RetentionRules(
    retention_days=3, keep_daily=7, keep_weekly=4, keep_monthly=12, keep_yearly=1
)

SCENARIOS: tuple[RetentionScenario, ...] = (
    RetentionScenario(
        key="tiers-year",
        title="7/4/12/1 tiers after a year of daily runs",
        tables=10_000,
        history_days=365,
        seeded_rules=TIERS_7_4_12_1,
        rules=TIERS_7_4_12_1,
    ),
    RetentionScenario(
        key="backlog",
        title="backlog: retention_days lowered 45 -> 3",
        tables=300,
        history_days=47,  # 45 of them past the new cutoff
        seeded_rules=RetentionRules(retention_days=48),
        rules=RetentionRules(retention_days=3),
        scale_scheduler=1.0,
        scale_monitor=5.0,
    ),
    RetentionScenario(
        key="min-keep",
        title="min_backups_to_keep 2, retention_days 35",
        tables=2_500,
        history_days=35,
        seeded_rules=RetentionRules(retention_days=36, min_backups_to_keep=2),
        rules=RetentionRules(retention_days=35, min_backups_to_keep=2),
    ),
)


def by_key(key: str) -> RetentionScenario:
    for scenario in SCENARIOS:
        if scenario.key == key:
            return scenario
    raise KeyError(f"no retention scenario {key!r}; known: {', '.join(s.key for s in SCENARIOS)}")


def _kept(offsets: Iterable[int], rules: RetentionRules, run: datetime) -> set[int]:
    """What one run (on `run`, its own backup is offset 0) leaves of the backups `offsets`:
    the last `retention_days` runs, the newest `min_backups_to_keep`, and the tiers'."""
    present = sorted(set(offsets))  # newest (smallest offset) first
    kept = {o for o in present if o < rules.retention_days}
    kept |= set(present[: rules.min_backups_to_keep])
    created = {str(o): run - timedelta(days=o) for o in present}
    for arns in reference_tier_keeps(created, rules).values():
        kept |= {int(a) for a in arns}
    return kept


def seed_offsets(scenario: RetentionScenario, slot: datetime) -> list[int]:
    """The day offsets (1 = yesterday) a table has before this run: `history_days` daily
    runs under `seeded_rules`, each deciding retention after its own backup."""
    first = slot - timedelta(days=scenario.history_days)
    present: set[int] = set()  # offsets relative to the day being played
    for day in range(scenario.history_days):
        run = first + timedelta(days=day)
        present = {o + 1 for o in present} | {0}
        present = _kept(present, scenario.seeded_rules, run)
    return sorted(o + 1 for o in present)  # relative to this run (its slot is a day later)


def expected_after(offsets: Iterable[int], rules: RetentionRules, slot: datetime) -> set[int]:
    """The offsets this run (on `slot`) must leave: its own backup (0) and the seeded ones
    that a rule keeps."""
    return _kept({0, *offsets}, rules, slot)


@dataclass(frozen=True)
class ListingCost:
    """What listing the backups retention needs costs, in the model."""

    tables: int
    backups_per_table: int
    full_history: bool
    pages: int
    seconds: float  # at 5 calls/s
    invocations: int  # monitor invocations of `timeout` seconds it spans, 75% usable


def listing_pages(
    tables: int,
    backups_per_table: int,
    *,
    full_history: bool,
    past_cutoff_per_table: int = 1,
    timeout: float = 180.0,
) -> ListingCost:
    """The ListBackups pages of one run's retention listing. With the default
    `min_backups_to_keep` 1 and no tier the monitor lists only the backups past the cutoff
    and this run's (two time ranges); with a tier (or min_keep > 1) every backup of the
    account, each range paged at 100."""
    if full_history:
        pages = math.ceil((tables * (backups_per_table + 1)) / LIST_PAGE)
    else:
        pages = math.ceil(tables * past_cutoff_per_table / LIST_PAGE) + math.ceil(
            tables / LIST_PAGE
        )
    seconds = pages / LIST_RATE
    return ListingCost(
        tables=tables,
        backups_per_table=backups_per_table,
        full_history=full_history,
        pages=pages,
        seconds=seconds,
        invocations=max(1, math.ceil(seconds / (timeout * BUDGET_FRACTION))),
    )


def steady_backups(rules: RetentionRules, years: int = 1) -> int:
    """Backups per table after `years` of daily runs under `rules` (the model's history)."""
    slot = datetime(2026, 1, 1, 3, tzinfo=UTC) + timedelta(days=365 * years)
    scenario = RetentionScenario("x", "x", 1, 365 * years, rules, rules)
    return len(seed_offsets(scenario, slot))
