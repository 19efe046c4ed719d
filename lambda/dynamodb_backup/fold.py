"""Retention as a streaming fold (pure): one table's own AVAILABLE backups, newest first,
consumed window by window, with a small state carried between windows (and invocations).

The decisions are those of `policy.kept` over the table's whole history. A backup is kept
when it is younger than `retention_days`, among the newest `min_keep`, or the first one of
a new period of a tier that has count left. Whatever else is deleted, except that a tier
with count left keeps the oldest backup of all: so the last backup seen, when no rule
keeps it and some tier still has count left, stays *pending* until the next (older) one
arrives (then it is deleted) or the listing ends (then it is kept). A deletion is decided
only when nothing that comes later in the listing can change it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from dynamodb_backup.naming import to_utc
from dynamodb_backup.policy import Policy, cutoff
from dynamodb_backup.tiers import PERIODS, TIER_NAMES, Dated, Period, newest_first


class StateError(ValueError):
    """A carried fold state that cannot be read; the text says why."""


@dataclass(frozen=True)
class Candidate:
    """An own AVAILABLE backup as the fold sees it."""

    arn: str
    created: datetime
    size: int = 0


@dataclass
class TierState:
    left: int
    last: Period | None = None


@dataclass
class TableFold:
    """What the fold carries for one table between windows."""

    min_left: int
    tiers: dict[str, TierState] = field(default_factory=dict)
    pending: Candidate | None = None  # the last one seen: kept only if it is the oldest

    @classmethod
    def start(cls, policy: Policy) -> TableFold:
        return cls(
            min_left=policy.min_keep,
            tiers={
                name: TierState(count) for name, count in policy.tiers.counts().items() if count > 0
            },
        )

    def tiers_left(self) -> bool:
        return any(tier.left > 0 for tier in self.tiers.values())

    def settled(self) -> bool:
        """Nothing older can be kept any more except by age."""
        return self.min_left <= 0 and not self.tiers_left() and self.pending is None


@dataclass
class Step:
    """What one window decided: backups to delete (final), and the bytes of those kept."""

    doomed: list[Candidate] = field(default_factory=list)
    kept_bytes: int = 0


def feed(
    state: TableFold,
    backups: Iterable[Candidate],
    policy: Policy,
    now: datetime,
    into: Step | None = None,
) -> Step:
    """Fold one window of a table's backups (all of them older than any fed before)."""
    step = into if into is not None else Step()
    limit = cutoff(now, policy.retention_days)
    by_arn = {b.arn: b for b in backups}
    for dated in newest_first(Dated(b.arn, b.created) for b in by_arn.values()):
        backup = by_arn[dated.arn]
        if state.pending is not None:  # an older one exists: the pending one is not oldest
            step.doomed.append(state.pending)
            state.pending = None
        keep = to_utc(backup.created) >= limit
        if state.min_left > 0:
            keep = True
            state.min_left -= 1
        for name, tier in state.tiers.items():
            if tier.left <= 0:
                continue
            period = PERIODS[name](backup.created)
            if period != tier.last:
                keep = True
                tier.last = period
                tier.left -= 1
        if keep:
            step.kept_bytes += backup.size
        elif state.tiers_left():
            state.pending = backup
        else:
            step.doomed.append(backup)
    return step


def finish(state: TableFold) -> int:
    """The listing reached the oldest backup: a pending one is kept; returns its bytes."""
    pending, state.pending = state.pending, None
    return pending.size if pending is not None else 0


# --- the listing's position, carried in a continuation message --------------------------


@dataclass
class Position:
    """Where a resumable retention listing stands.

    `now` fixes the cutoffs for the whole listing; the next window is `[upper - window
    seconds, upper)` (unbounded below once that passes the floor); `storage` is the bytes of
    own AVAILABLE backups kept so far (`None`: the listing does not cover every backup, so
    no `BackupStorageBytes`); `tables` the fold state of every table whose run backup is
    AVAILABLE (the only ones retention deletes from)."""

    now: datetime
    upper: datetime
    window_seconds: int
    storage: int | None
    tables: dict[str, TableFold]


def _period_json(period: Period | None) -> list[int] | None:
    return None if period is None else list(period)


def state_to_json(state: TableFold) -> list[Any]:
    """Compact: [min_left, {tier: [left, last period]} (tiers with count left), [pending
    arn, size] or null]."""
    pending = None if state.pending is None else [state.pending.arn, state.pending.size]
    # an exhausted tier keeps nothing more: it is left out
    tiers = {name: [t.left, _period_json(t.last)] for name, t in state.tiers.items() if t.left > 0}
    return [state.min_left, tiers, pending]


def _int(value: Any, what: str, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise StateError(f"{what} must be a whole number >= {low}, got {value!r}")
    return value


_PERIOD_LENGTHS = {"daily": 3, "weekly": 2, "monthly": 2, "yearly": 1}


def state_from_json(raw: Any) -> TableFold:
    """The inverse of `state_to_json`; `StateError` saying why on anything else."""
    if not isinstance(raw, list) or len(raw) != 3:
        raise StateError("a table's fold state must be [min_left, tiers, pending]")
    min_left = _int(raw[0], "min_left")
    if not isinstance(raw[1], dict):
        raise StateError("a table's tiers must be an object")
    tiers: dict[str, TierState] = {}
    for name, value in raw[1].items():
        if name not in TIER_NAMES:
            raise StateError(f"unknown tier {name!r}")
        if not isinstance(value, list) or len(value) != 2:
            raise StateError(f"tier {name!r} must be [left, last period]")
        last = value[1]
        period: Period | None = None
        if last is not None:
            if not isinstance(last, list) or len(last) != _PERIOD_LENGTHS[name]:
                raise StateError(f"tier {name!r}: bad period {last!r}")
            period = tuple(_int(part, f"tier {name!r} period", 1) for part in last)
        tiers[name] = TierState(_int(value[0], f"tier {name!r} left"), period)
    pending: Candidate | None = None
    if raw[2] is not None:
        item = raw[2]
        if not isinstance(item, list) or len(item) != 2 or not isinstance(item[0], str):
            raise StateError("pending must be [arn, size]")
        if not item[0].startswith("arn:"):
            raise StateError(f"pending is not an ARN: {item[0][:80]!r}")
        # its creation time no longer matters: only whether an older one comes
        pending = Candidate(
            item[0], datetime.min.replace(tzinfo=UTC), _int(item[1], "pending size")
        )
    return TableFold(min_left=min_left, tiers=tiers, pending=pending)


def states_to_json(tables: Mapping[str, TableFold]) -> dict[str, Any]:
    """Settled tables only by name (most of them, deep into a listing)."""
    settled = sorted(t for t, s in tables.items() if s.settled())
    active = {t: state_to_json(s) for t, s in sorted(tables.items()) if not s.settled()}
    return {"settled": settled, "active": active}


def states_from_json(raw: Any) -> dict[str, TableFold]:
    if not isinstance(raw, dict) or set(raw) != {"settled", "active"}:
        raise StateError("tables must be an object with 'settled' and 'active'")
    settled, active = raw["settled"], raw["active"]
    if not isinstance(settled, list) or not all(isinstance(t, str) and t for t in settled):
        raise StateError("'settled' must be a list of table names")
    if not isinstance(active, dict):
        raise StateError("'active' must be an object of table -> fold state")
    tables = {t: TableFold(min_left=0) for t in settled}
    for table, state in active.items():
        if table in tables:
            raise StateError(f"table {table!r} is both settled and active")
        tables[table] = state_from_json(state)
    return tables
