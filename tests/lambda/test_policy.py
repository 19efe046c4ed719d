"""Retention policies: which rule keeps a backup, and per-table overrides."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dynamodb_backup.policy import Policies, Policy, PolicyError, kept, parse_overrides
from dynamodb_backup.tiers import Dated, Tiers, kept_by_tiers

NOW = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)


def daily(days: int) -> list[Dated]:
    return [Dated(f"arn:{d:04d}", NOW - timedelta(days=d)) for d in range(days)]


def test_a_backup_is_kept_by_any_rule_and_says_which() -> None:
    history = daily(40)
    reasons = kept(history, Policy(retention_days=3, min_keep=5, tiers=Tiers(weekly=2)), NOW)
    assert reasons["arn:0000"] == ("younger than 3 days", "among the newest 5", "weekly")
    assert reasons["arn:0004"] == ("among the newest 5",)
    assert "arn:0039" not in reasons
    # weekly 2: this week's newest and the previous ISO week's newest (a Sunday)
    sunday = next(b for b in history if b.created.isoweekday() == 7 and b.arn != "arn:0000")
    assert reasons[sunday.arn] == ("weekly",)


def test_the_retention_boundary_itself_is_kept() -> None:
    at = Dated("arn:at", NOW - timedelta(days=3))
    past = Dated("arn:past", NOW - timedelta(days=3, seconds=1))
    newest = Dated("arn:new", NOW)
    assert set(kept([newest, at, past], Policy(retention_days=3), NOW)) == {"arn:new", "arn:at"}


ages = st.lists(st.floats(min_value=0, max_value=400, allow_nan=False), max_size=40)


@settings(max_examples=300, deadline=None)
@given(
    ages,
    st.integers(1, 60),
    st.integers(1, 5),
    st.builds(Tiers, daily=st.integers(0, 8), weekly=st.integers(0, 5), monthly=st.integers(0, 13)),
)
def test_kept_is_the_union_of_the_three_rules(
    days: list[float], retention: int, min_keep: int, tiers: Tiers
) -> None:
    history = [Dated(f"arn:{i:03d}", NOW - timedelta(days=d)) for i, d in enumerate(days)]
    policy = Policy(retention_days=retention, min_keep=min_keep, tiers=tiers)
    by_age = {b.arn for b in history if b.created >= NOW - timedelta(days=retention)}
    newest = {
        b.arn for b in sorted(history, key=lambda b: (b.created, b.arn), reverse=True)[:min_keep]
    }
    assert set(kept(history, policy, NOW)) == by_age | newest | set(kept_by_tiers(history, tiers))


def test_overrides_fall_back_to_the_module_wide_values() -> None:
    default = Policy(retention_days=7, min_keep=1, tiers=Tiers(daily=7))
    overrides = parse_overrides(json.dumps({"orders": {"keep_monthly": 12}}), default)
    policies = Policies(default, overrides)
    assert policies.for_table("orders") == Policy(7, 1, Tiers(daily=7, monthly=12))
    assert policies.for_table("customers") == default
    assert policies.needs_full_history()
    assert not Policies(Policy(3)).needs_full_history()
    assert Policies(Policy(3), {"a-table": Policy(3, min_keep=2)}).needs_full_history()
    assert Policies(Policy(9), {"a-table": Policy(2)}).shortest_retention_days() == 2


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("[]", "expected a JSON object of table name -> overrides, got list"),
        ("{", "expected a JSON object"),
        ('{"x": {}}', "not a valid table name"),
        ('{"orders": 3}', "table 'orders': expected an object of overrides"),
        ('{"orders": {"keep_hourly": 1}}', "unknown key 'keep_hourly' (allowed: retention_days"),
        ('{"orders": {"retention_days": 0}}', "retention_days must be a whole number from 1"),
        ('{"orders": {"keep_weekly": -1}}', "keep_weekly must be a whole number from 0 to 10000"),
        ('{"orders": {"keep_weekly": true}}', "got True"),
        ('{"orders": {"min_backups_to_keep": 1.5}}', "got 1.5"),
    ],
)
def test_bad_overrides_are_refused_naming_table_and_key(raw: str, message: str) -> None:
    with pytest.raises(PolicyError) as caught:
        parse_overrides(raw, Policy(3))
    assert message in str(caught.value)
