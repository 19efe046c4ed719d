"""Coverage (contract behaviour 11): the tables of the account and region that nothing
selects and no exclusion pattern excuses. Pure."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from fnmatch import fnmatchcase

from dynamodb_backup.naming import drill_slot_of


def excused(table: str, patterns: Sequence[str]) -> bool:
    """Whether a shell-style pattern (fnmatch, case-sensitive like table names) matches."""
    return any(fnmatchcase(table, pattern) for pattern in patterns)


def unprotected(
    tables: Iterable[str],
    selected: Collection[str],
    exclude: Sequence[str],
    prefix: str | None = None,
) -> list[str]:
    """The tables (sorted, once each) that are not selected and not excused. With `prefix`,
    this instance's restore drill tables (`naming.drill_slot_of`) need no backup either:
    they exist only for the minutes or hours of a drill."""
    return sorted(
        {
            t
            for t in tables
            if t not in selected
            and not excused(t, exclude)
            and (prefix is None or drill_slot_of(prefix, t) is None)
        }
    )
