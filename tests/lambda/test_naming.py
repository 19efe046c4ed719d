"""Backup names and schedule slots."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dynamodb_backup.naming import (
    SlotError,
    backup_name,
    iso,
    parse_iso,
    parse_slot,
    slot_of,
    stamp,
    table_from_arn,
)

SLOT = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 28, 4, 0, 7, 123456, tzinfo=UTC)
NAME_RE = re.compile(r"[a-zA-Z0-9_.-]{3,255}")


def test_short_names_are_prefix_table_stamp() -> None:
    assert backup_name("scheduled", "orders", SLOT) == "scheduled-orders-20261128T040000Z"


def test_long_names_are_cut_to_255_with_a_hash_of_the_table() -> None:
    table = "t" * 200 + "x" * 55
    name = backup_name("scheduled", table, SLOT)
    digest = hashlib.sha256(table.encode()).hexdigest()[:8]
    assert len(name) == 255
    assert name.startswith("scheduled-ttt")
    assert name.endswith(f"-{digest}-20261128T040000Z")
    assert NAME_RE.fullmatch(name)


def test_names_exactly_at_the_limit_are_not_shortened() -> None:
    table = "a" * (255 - len("scheduled--20261128T040000Z"))
    name = backup_name("scheduled", table, SLOT)
    assert len(name) == 255
    assert name == f"scheduled-{table}-20261128T040000Z"


def test_long_tables_sharing_a_start_get_different_names() -> None:
    first = backup_name("p", "a" * 250 + "one", SLOT)
    second = backup_name("p", "a" * 250 + "two", SLOT)
    assert first != second
    assert len(first) == len(second) == 255


@settings(max_examples=300)
@given(
    prefix=st.from_regex(r"[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}", fullmatch=True),
    table=st.from_regex(r"[a-zA-Z0-9_.-]{3,255}", fullmatch=True),
)
def test_every_name_is_valid_and_deterministic(prefix: str, table: str) -> None:
    name = backup_name(prefix, table, SLOT)
    assert NAME_RE.fullmatch(name)
    assert name == backup_name(prefix, table, SLOT)
    assert name.startswith(f"{prefix}-")
    assert name.endswith("-20261128T040000Z")


def test_slot_from_eventbridge_time() -> None:
    assert parse_slot("2026-11-28T04:00:00Z", NOW) == SLOT
    assert parse_slot("2026-11-28T05:00:00.900+01:00", NOW) == SLOT


def test_missing_time_means_now_truncated() -> None:
    assert parse_slot(None, NOW) == datetime(2026, 11, 28, 4, 0, 7, tzinfo=UTC)


@pytest.mark.parametrize("value", ["", "yesterday", 12, "2026-13-01T00:00:00Z"])
def test_unreadable_time_is_an_error_naming_time(value: object) -> None:
    with pytest.raises(SlotError, match=r"^time: "):
        parse_slot(value, NOW)


def test_iso_round_trip_and_stamp() -> None:
    local = datetime(2026, 11, 28, 5, 0, tzinfo=timezone(timedelta(hours=1)))
    assert iso(local) == "2026-11-28T04:00:00Z"
    assert parse_iso("2026-11-28T04:00:00Z") == SLOT
    assert stamp(SLOT) == "20261128T040000Z"
    assert iso(datetime(2026, 11, 28, 4, 0)) == "2026-11-28T04:00:00Z"  # naive is UTC


def test_table_from_arn() -> None:
    assert table_from_arn("arn:aws:dynamodb:eu-west-1:1:table/orders") == "orders"
    assert table_from_arn("arn:aws:dynamodb:eu-west-1:1:table/orders/stream/x") == "orders"
    assert table_from_arn("arn:aws:s3:::bucket") is None
    assert table_from_arn("table/orders") is None


# --- exact ownership (`slot_of`) ----------------------------------------------------------

PREFIXES = st.from_regex(r"[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}", fullmatch=True)
TABLES = st.from_regex(r"[a-zA-Z0-9_.-]{3,255}", fullmatch=True)
SLOTS = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)
).map(lambda moment: moment.replace(microsecond=0))


@settings(max_examples=500)
@given(prefix=PREFIXES, table=TABLES, slot=SLOTS)
def test_own_names_give_back_their_slot(prefix: str, table: str, slot: datetime) -> None:
    """Every name the instance gives, short or shortened, is its own, for that slot."""
    assert slot_of(prefix, table, backup_name(prefix, table, slot)) == slot


@settings(max_examples=500)
@given(
    prefix=PREFIXES,
    extension=st.from_regex(r"[a-zA-Z0-9_.-]{1,20}", fullmatch=True),
    table=TABLES,
    other_table=TABLES,
    slot=SLOTS,
)
def test_look_alike_names_are_not_own(
    prefix: str, extension: str, table: str, other_table: str, slot: datetime
) -> None:
    """Another prefix that extends this one, another table's name, a changed stamp or a
    hand-made `<prefix>-<table>-...` name: never this instance's backup of `table`."""
    longer = (prefix + extension)[:64]
    if longer != prefix:
        assert slot_of(prefix, table, backup_name(longer, table, slot)) is None
        assert slot_of(longer, table, backup_name(prefix, table, slot)) is None
    if other_table != table:
        assert slot_of(prefix, table, backup_name(prefix, other_table, slot)) is None
    name = backup_name(prefix, table, slot)
    assert slot_of(prefix, table, name + "x") is None
    assert slot_of(prefix, table, "x" + name) is None
    assert slot_of(prefix, table, name[:-1]) is None
    assert slot_of(prefix, table, f"{prefix}-{table}-old") is None
    assert slot_of(prefix, table, f"{prefix}-{table}-{slot:%Y%m%dT%H%M%S}x") is None


def test_ownership_by_example() -> None:
    table = "orders"
    assert slot_of("prod", table, "prod-orders-20261128T040000Z") == SLOT
    assert slot_of("prod", table, "prod-weekly-orders-20261128T040000Z") is None
    assert slot_of("prod-weekly", table, "prod-weekly-orders-20261128T040000Z") == SLOT
    assert slot_of("prod", "weekly-orders", "prod-weekly-orders-20261128T040000Z") == SLOT
    assert slot_of("prod", table, "prod-orders-20261328T040000Z") is None  # month 13
    assert slot_of("prod", table, "prod-orders-2026112xT040000Z") is None
    long_table = "t" * 250
    shortened = backup_name("prod", long_table, SLOT)
    assert len(shortened) == 255
    assert slot_of("prod", long_table, shortened) == SLOT
    # the shortened form of another long table that shares the first 200 characters
    assert slot_of("prod", long_table + "x", shortened) is None
    # the unshortened form of a name too long to be given
    assert slot_of("prod", long_table, f"prod-{long_table}-20261128T040000Z") is None
