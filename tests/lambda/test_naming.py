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
