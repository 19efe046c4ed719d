"""The retention scenarios (issue 10) at tiny N: the seeded history, what must be left,
the listing model, the report section and where it is written."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bench.retention import (
    SCENARIOS,
    TIERS_7_4_12_1,
    RetentionScenario,
    by_key,
    expected_after,
    listing_pages,
    seed_offsets,
)
from bench.retention_run import (
    BEGIN,
    END,
    RetentionRow,
    config_for,
    existing_section,
    is_full_retention_run,
    section,
    splice,
)
from bench.scenario import ScenarioResult, run_isolated
from localrun.cycle import RetentionRules

SLOT = datetime(2027, 1, 1, 3, 0, tzinfo=UTC)
RUN = {"date": "d", "machine": "m", "commit": "c", "command": "x", "real_seconds": 1.0}


def scenario(
    history: int, rules: RetentionRules, seeded: RetentionRules | None = None
) -> RetentionScenario:
    return RetentionScenario("t", "t", 1, history, seeded or rules, rules)


def test_steady_history_is_the_last_runs_and_the_run_deletes_the_oldest() -> None:
    three = RetentionRules(retention_days=3)
    seeded = seed_offsets(scenario(10, three), SLOT)
    assert seeded == [1, 2, 3]  # yesterday's run kept its own and the two before
    assert expected_after(seeded, three, SLOT) == {0, 1, 2}


def test_backlog_scenario_has_13500_backups_past_the_new_cutoff() -> None:
    backlog = by_key("backlog")
    seeded = seed_offsets(backlog, SLOT)
    assert seeded == list(range(1, 48))
    left = expected_after(seeded, backlog.rules, SLOT)
    assert left == {0, 1, 2}
    assert backlog.tables * (len(seeded) + 1 - len(left)) == 13_500


def test_min_keep_scenario_lists_90000_backups_and_deletes_one_per_table() -> None:
    min_keep = by_key("min-keep")
    seeded = seed_offsets(min_keep, SLOT)
    assert min_keep.tables * (len(seeded) + 1) == 90_000
    assert len(seeded) + 1 - len(expected_after(seeded, min_keep.rules, SLOT)) == 1


def test_a_year_of_tiers_seeded_day_by_day_equals_the_tiers_over_the_whole_year() -> None:
    """Two computations agree: 365 daily steps, and one decision over every day's backup
    (tiers keep a daily stream's survivors stable)."""
    year = by_key("tiers-year")
    seeded = seed_offsets(year, SLOT)
    at_once = expected_after(range(1, 365), TIERS_7_4_12_1, SLOT - timedelta(days=1))
    assert seeded == sorted(o + 1 for o in at_once)
    # by hand for the run of 2026-12-31: Dec 25..31; Sundays Dec 20 and 13 (ISO weeks 51,
    # 50); the last day of Jan..Nov; the year's newest is Dec 31
    days = {(SLOT - timedelta(days=o)).date().isoformat() for o in seeded}
    expected = {f"2026-12-{d:02d}" for d in (13, 20, 25, 26, 27, 28, 29, 30, 31)}
    for month in range(1, 12):
        last = datetime(2026, month + 1, 1, tzinfo=UTC) - timedelta(days=1)
        expected.add(last.date().isoformat())
    assert days == expected


def test_scenarios_are_the_briefs_rows() -> None:
    assert [(s.key, s.tables) for s in SCENARIOS] == [
        ("tiers-year", 10_000),
        ("backlog", 300),
        ("min-keep", 2_500),
    ]
    year = config_for(by_key("tiers-year"), 0.03)
    assert (year.keep_daily, year.keep_weekly, year.keep_monthly, year.keep_yearly) == (7, 4, 12, 1)
    assert config_for(by_key("backlog"), 0.03, tables=5).tables == 5


def test_listing_grows_with_tables_times_history_only_with_full_history() -> None:
    small = listing_pages(1_000, 20, full_history=True)
    assert listing_pages(10_000, 20, full_history=True).pages == 10 * small.pages
    assert listing_pages(1_000, 40, full_history=True).pages > small.pages
    assert (
        listing_pages(1_000, 3, full_history=False).pages
        == listing_pages(1_000, 300, full_history=False).pages
    )  # past the cutoff and the run's range only: history does not count
    year = listing_pages(10_000, 20, full_history=True)
    assert year.pages == 2_100
    assert year.seconds == pytest.approx(420.0)
    assert year.invocations == 4  # 135 s usable of each 180 s invocation


def test_tiers_year_at_three_tables_leaves_exactly_the_rules() -> None:
    config = replace(
        config_for(by_key("tiers-year"), 0.0, tables=3), scale_scheduler=20.0, scale_monitor=20.0
    )
    result = run_isolated(config)  # its own process: moto state starts empty
    assert result.checks["ok"] is True, result.checks
    # the run's slot is the real time of the run: its history depends on that day
    slot = datetime.strptime(result.checks["slot"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert result.seeded_backups == 3 * len(seed_offsets(by_key("tiers-year"), slot))
    assert result.checks["own_backups_unexpected"] == 0
    assert result.checks["own_backups_missing"] == 0
    assert result.calls_by_operation["dynamodb:DeleteBackup"] >= 1
    assert result.last_delete_seconds > 0
    # the rendered section says what was measured, and flags a missed target
    text = section([RetentionRow(by_key("tiers-year"), result)], RUN)
    assert text.startswith(BEGIN)
    assert text.rstrip().endswith(END)
    assert f"| {result.calls_per_table:.3f} (" in text
    verdict = "pass" if result.calls_per_table <= 2.3 else "FAIL"
    assert "calls per table per day <= 2.3 (listing pages included) | " in text
    assert f"ListBackups) | {verdict} |" in text
    busy = ScenarioResult.from_json(result.to_json())
    busy.monitor.max_invocation_seconds = 400.0
    assert "400 s = 222% | FAIL |" in section([RetentionRow(by_key("tiers-year"), busy)], RUN)


def test_the_section_is_replaced_in_place_and_kept_by_the_scale_run() -> None:
    old = f"# Benchmarks\n\nscale figures\n\n{BEGIN}\nold retention\n{END}\n\ntail\n"
    new_block = f"{BEGIN}\nnew retention\n{END}\n"
    spliced = splice(old, new_block)
    assert "new retention" in spliced
    assert "old retention" not in spliced
    assert spliced.startswith("# Benchmarks\n\nscale figures")
    assert spliced.endswith("tail\n")
    # the scale run writes a fresh file, then puts the old section back
    kept = existing_section(old)
    assert kept is not None
    assert "old retention" in splice("# Benchmarks\n\nnew scale figures\n", kept)
    assert splice("# Benchmarks\n", new_block) == f"# Benchmarks\n\n{new_block}"


def test_only_the_full_set_at_its_own_n_replaces_the_committed_figures() -> None:
    keys = [s.key for s in SCENARIOS]
    assert is_full_retention_run(None, keys, 0.030)
    assert not is_full_retention_run(20, keys, 0.030)
    assert not is_full_retention_run(None, keys[:1], 0.030)
    assert not is_full_retention_run(None, keys, 0.0)
