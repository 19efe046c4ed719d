"""Retention policies: the module-wide rules, per-table overrides, and what keeps a backup.

Pure: plain data in, plain data out. A backup is kept when any rule keeps it: created less
than `retention_days` days ago; among the newest `min_keep` AVAILABLE own backups; or kept
by a tier (`tiers.py`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from dynamodb_backup.naming import TABLE_RE, to_utc
from dynamodb_backup.tiers import TIER_NAMES, Dated, Tiers, kept_by_tiers, newest_first

MAX_RETENTION_DAYS = 36500
MAX_MIN_KEEP = 10000
MAX_TIER = 10000

# override key -> (minimum, maximum)
OVERRIDE_KEYS: dict[str, tuple[int, int]] = {
    "retention_days": (1, MAX_RETENTION_DAYS),
    "min_backups_to_keep": (1, MAX_MIN_KEEP),
    **{f"keep_{name}": (0, MAX_TIER) for name in TIER_NAMES},
}


def cutoff(now: datetime, retention_days: int) -> datetime:
    """Backups created strictly before this are past the retention."""
    return to_utc(now) - timedelta(days=retention_days)


class PolicyError(ValueError):
    """A retention override that cannot be used; the text says which table and key."""


@dataclass(frozen=True)
class Policy:
    """The retention rules of one table."""

    retention_days: int
    min_keep: int = 1
    tiers: Tiers = field(default_factory=Tiers)

    def needs_full_history(self) -> bool:
        """Whether deciding needs every own backup of the table, not only those past the
        cutoff: the newest `min_keep` (> 1) and the tiers' backups may be of any age."""
        return self.min_keep > 1 or self.tiers.any()

    def cutoff(self, now: datetime) -> datetime:
        """Backups created strictly before this are past `retention_days`."""
        return cutoff(now, self.retention_days)

    def with_overrides(self, values: Mapping[str, int]) -> Policy:
        tiers = self.tiers.counts()
        for name in TIER_NAMES:
            if f"keep_{name}" in values:
                tiers[name] = values[f"keep_{name}"]
        return replace(
            self,
            retention_days=values.get("retention_days", self.retention_days),
            min_keep=values.get("min_backups_to_keep", self.min_keep),
            tiers=Tiers(**tiers),
        )


@dataclass(frozen=True)
class Policies:
    """The module-wide policy and the tables that override parts of it."""

    default: Policy
    overrides: Mapping[str, Policy] = field(default_factory=dict)

    def for_table(self, table: str) -> Policy:
        return self.overrides.get(table, self.default)

    def needs_full_history(self) -> bool:
        return self.default.needs_full_history() or any(
            p.needs_full_history() for p in self.overrides.values()
        )

    def shortest_retention_days(self) -> int:
        return min(
            [self.default.retention_days, *(p.retention_days for p in self.overrides.values())]
        )


def kept(backups: Iterable[Dated], policy: Policy, now: datetime) -> dict[str, tuple[str, ...]]:
    """The ARNs of one table's own AVAILABLE backups that a rule keeps, with the rules."""
    ordered = newest_first(backups)
    reasons: dict[str, list[str]] = {}
    limit = policy.cutoff(now)
    for backup in ordered:
        if to_utc(backup.created) >= limit:
            reasons.setdefault(backup.arn, []).append(f"younger than {policy.retention_days} days")
    for backup in ordered[: policy.min_keep]:
        reasons.setdefault(backup.arn, []).append(f"among the newest {policy.min_keep}")
    for arn, tiers in kept_by_tiers(ordered, policy.tiers).items():
        reasons.setdefault(arn, []).extend(tiers)
    return {arn: tuple(r) for arn, r in reasons.items()}


def parse_overrides(raw: str, default: Policy) -> dict[str, Policy]:
    """`RETENTION_OVERRIDES`: a JSON object table name -> object of override keys."""
    try:
        doc: Any = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise PolicyError(f"expected a JSON object of table name -> overrides: {exc}") from None
    if not isinstance(doc, dict):
        raise PolicyError(
            f"expected a JSON object of table name -> overrides, got {type(doc).__name__}"
        )
    policies: dict[str, Policy] = {}
    for table, values in doc.items():
        if not TABLE_RE.fullmatch(table):
            raise PolicyError(f"not a valid table name (want [a-zA-Z0-9_.-]{{3,255}}): {table!r}")
        if not isinstance(values, dict):
            raise PolicyError(f"table {table!r}: expected an object of overrides")
        checked: dict[str, int] = {}
        for key, value in values.items():
            if key not in OVERRIDE_KEYS:
                allowed = ", ".join(OVERRIDE_KEYS)
                raise PolicyError(f"table {table!r}: unknown key {key!r} (allowed: {allowed})")
            low, high = OVERRIDE_KEYS[key]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise PolicyError(
                    f"table {table!r}: {key} must be a whole number from {low} to {high}, "
                    f"got {value!r}"
                )
            checked[key] = value
        policies[table] = default.with_overrides(checked)
    return policies
