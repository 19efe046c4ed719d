"""Queue message format v1: round trips, rejection of unreadable bodies, chunking, ids."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import zlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dynamodb_backup import messages
from dynamodb_backup.fold import Candidate, Position, TableFold, TierState
from dynamodb_backup.messages import (
    ChunkMessage,
    DeleteMessage,
    FinalizeMessage,
    MessageError,
    StartedBackup,
    Window,
    decode,
    delete_messages,
    encode,
    group_id,
    outgoing,
    run_messages,
)
from dynamodb_backup.model import BackupRef

SLOT = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)
T0 = datetime(2026, 11, 28, 4, 0, 1, 400000, tzinfo=UTC)
ARN = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/backup/01766-abc"

CHUNK = ChunkMessage(
    prefix="scheduled",
    slot=SLOT,
    chunk=3,
    attempt=0,
    window=Window(
        start=datetime(2026, 11, 28, 4, 0, 0, tzinfo=UTC),
        end=datetime(2026, 11, 28, 4, 0, 3, tzinfo=UTC),
    ),
    backups=(BackupRef("orders", ARN),),
)
FINAL = FinalizeMessage(
    prefix="scheduled",
    slot=SLOT,
    attempt=2,
    window=CHUNK.window,
    tables=7,
    started=datetime(2026, 11, 28, 3, 59, 59, tzinfo=UTC),
)
DELETE = DeleteMessage(
    prefix="scheduled", slot=SLOT, part=4, attempt=1, backups=(BackupRef("orders", ARN),)
)


@pytest.mark.parametrize("message", [CHUNK, FINAL, DELETE])
def test_round_trip(message: ChunkMessage | FinalizeMessage | DeleteMessage) -> None:
    assert decode(encode(message)) == message


def test_chunk_body_is_the_documented_format() -> None:
    assert json.loads(encode(CHUNK)) == {
        "v": 1,
        "kind": "chunk",
        "prefix": "scheduled",
        "slot": "2026-11-28T04:00:00Z",
        "chunk": 3,
        "attempt": 0,
        "window": {"from": "2026-11-28T04:00:00Z", "to": "2026-11-28T04:00:03Z"},
        "backups": [{"table": "orders", "arn": ARN}],
    }
    assert encode(CHUNK) == encode(replace(CHUNK))
    assert " " not in encode(CHUNK)


def test_group_ids() -> None:
    assert group_id(CHUNK) == "scheduled-20261128T040000Z-c00003"
    assert group_id(FINAL) == "scheduled-20261128T040000Z-final"
    assert group_id(DELETE) == "scheduled-20261128T040000Z-d00004"
    long_prefix = replace(CHUNK, prefix="p" * 64)
    assert len(group_id(long_prefix)) <= 128


def test_dedup_id_is_sha256_of_body_and_changes_with_the_attempt() -> None:
    first = outgoing(CHUNK)
    again = outgoing(replace(CHUNK, attempt=1))
    assert first.dedup_id == hashlib.sha256(first.body.encode()).hexdigest()
    assert again.dedup_id != first.dedup_id
    assert again.group_id == first.group_id


def _doc(**changes: Any) -> str:
    doc = json.loads(encode(CHUNK))
    for key, value in changes.items():
        if value is None:
            doc.pop(key)
        else:
            doc[key] = value
    return json.dumps(doc)


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ("not json", "body is not JSON: Expecting value"),
        ("[1, 2]", 'body is not a JSON object (a list); expected one with "v": 1'),
        (_doc(v=2), """unknown version 2 in field 'v' (this monitor reads "v": 1)"""),
        (_doc(v=True), "unknown version True"),
        (_doc(v=None), """has no version field 'v' (this monitor reads "v": 1)"""),
        (_doc(kind="explode"), "unknown kind 'explode' in field 'kind' (expected chunk, final"),
        # issue 14.2: what escaped decode() as RecursionError and ValueError
        # deeper than any parser's limit: 3.11 stops near 1,000 levels, 3.13 past 5,000
        ("[" * 100_000 + "]" * 100_000, "body is not readable JSON: nested too deeply"),
        ('{"v": ' + "9" * 5000 + "}", "body is not JSON: Exceeds the limit"),
        (_doc(attempt=None), "missing field 'attempt'"),
        (_doc(attempt="1"), "field 'attempt' must be an integer"),
        (_doc(attempt=True), "field 'attempt' must be an integer"),
        (_doc(attempt=-1), "must not be negative"),
        (_doc(chunk=1.5), "field 'chunk' must be an integer"),
        (_doc(prefix="-bad"), "bad prefix"),
        (_doc(prefix=7), "field 'prefix' must be a str"),
        (_doc(slot="2026-11-28 04:00"), "field 'slot' is not"),
        (_doc(window=None), "missing field 'window'"),
        (_doc(window={"from": "2026-11-28T04:00:03Z", "to": "2026-11-28T04:00:00Z"}), "ends"),
        (_doc(window={"from": "2026-11-28T04:00:03Z"}), "missing field 'to'"),
        (_doc(backups=[]), "field 'backups' is empty"),
        (_doc(backups="orders"), "field 'backups' must be a list"),
        (_doc(backups=["orders"]), "must hold objects"),
        (_doc(backups=[{"table": "orders"}]), "missing field 'arn'"),
        (_doc(backups=[{"table": "orders", "arn": "nope"}]), "bad backup entry"),
        (_doc(backups=[{"table": "t", "arn": ARN}] * 101), "more than 100"),
    ],
)
def test_unreadable_bodies_say_why(body: str, why: str) -> None:
    with pytest.raises(MessageError, match=re.escape(why)):
        decode(body)


def test_finalize_without_started_starts_at_its_window() -> None:
    doc = json.loads(encode(FINAL))
    assert doc["started"] == "2026-11-28T03:59:59Z"
    del doc["started"]
    decoded = decode(json.dumps(doc))
    assert isinstance(decoded, FinalizeMessage)
    assert decoded.started == FINAL.window.start
    doc["started"] = "yesterday"
    with pytest.raises(MessageError, match="field 'started' is not"):
        decode(json.dumps(doc))


def test_finalize_needs_its_fields() -> None:
    doc = json.loads(encode(FINAL))
    del doc["tables"]
    with pytest.raises(MessageError, match="missing field 'tables'"):
        decode(json.dumps(doc))


def _started(count: int) -> list[StartedBackup]:
    return [
        StartedBackup(
            table=f"table-{index:04d}",
            arn=f"arn:aws:dynamodb:eu-west-1:1:table/table-{index:04d}/backup/{index}",
            created=T0 + timedelta(milliseconds=700 * index),
        )
        for index in range(count)
    ]


def test_run_messages_are_chunks_of_100_sorted_by_table_then_a_finalizer() -> None:
    started = _started(250)
    messages = run_messages("scheduled", SLOT, list(reversed(started)))
    chunks = [m for m in messages if isinstance(m, ChunkMessage)]
    assert [len(c.backups) for c in chunks] == [100, 100, 50]
    assert [c.chunk for c in chunks] == [0, 1, 2]
    flat = [b.table for c in chunks for b in c.backups]
    assert flat == sorted(b.table for b in started)
    assert isinstance(messages[-1], FinalizeMessage)
    assert messages[-1].tables == 250
    # every message stays far below SQS's 1 MiB (256 KiB per message) limit
    assert max(len(encode(m).encode()) for m in messages) < 64 * 1024
    # each chunk's window covers its own backups, in whole seconds, widened by a second
    for chunk in chunks:
        times = [s.created for s in started if s.arn in {b.arn for b in chunk.backups}]
        assert all(chunk.window.contains(t) for t in times)
        assert chunk.window.start == min(times).replace(microsecond=0) - timedelta(seconds=1)
    assert messages[-1].window.start == datetime(2026, 11, 28, 4, 0, 0, tzinfo=UTC)
    assert messages[-1].started == messages[-1].window.start


def test_window_of_whole_seconds() -> None:
    exact = Window.around([datetime(2026, 1, 1, 0, 0, 5, tzinfo=UTC)])
    assert (exact.start.second, exact.end.second) == (4, 6)
    fraction = Window.around([datetime(2026, 1, 1, 0, 0, 5, 1, tzinfo=UTC)])
    assert (fraction.start.second, fraction.end.second) == (4, 7)
    with pytest.raises(ValueError, match="at least one"):
        Window.around([])


def test_no_backups_no_messages() -> None:
    assert run_messages("scheduled", SLOT, []) == []
    assert delete_messages("scheduled", SLOT, []) == []


def test_delete_messages_split_by_100() -> None:
    refs = [BackupRef("t", f"arn:aws:dynamodb:r:1:table/t/backup/{i}") for i in range(201)]
    parts = delete_messages("scheduled", SLOT, refs)
    assert [len(p.backups) for p in parts if isinstance(p, DeleteMessage)] == [100, 100, 1]
    assert [group_id(p) for p in parts] == [
        "scheduled-20261128T040000Z-d00000",
        "scheduled-20261128T040000Z-d00001",
        "scheduled-20261128T040000Z-d00002",
    ]


TABLES = st.from_regex(r"[a-zA-Z0-9_.-]{3,40}", fullmatch=True)
TIMES = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
)


@settings(max_examples=200)
@given(
    prefix=st.from_regex(r"[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}", fullmatch=True),
    slot=TIMES,
    created=st.lists(TIMES, min_size=1, max_size=5),
    tables=st.lists(TABLES, min_size=1, max_size=100),
    attempt=st.integers(min_value=0, max_value=10_000),
)
def test_every_chunk_survives_the_queue(
    prefix: str, slot: datetime, created: list[datetime], tables: list[str], attempt: int
) -> None:
    message = ChunkMessage(
        prefix=prefix,
        slot=slot.replace(microsecond=0),
        chunk=7,
        attempt=attempt,
        window=Window.around(created),
        backups=tuple(
            BackupRef(t, f"arn:aws:dynamodb:r:1:table/{t}/backup/{i}") for i, t in enumerate(tables)
        ),
    )
    assert decode(encode(message)) == message
    assert all(message.window.contains(t) for t in created)


# --- the finalizer's continuation (`listing`) ------------------------------------------

LISTING_NOW = datetime(2026, 11, 28, 4, 10, tzinfo=UTC)


def _continuation(**position: Any) -> FinalizeMessage:
    window = Window.around([LISTING_NOW])
    tables = {
        "orders": TableFold(
            min_left=0,
            tiers={"monthly": TierState(3, (2026, 10)), "yearly": TierState(0, (2026,))},
            pending=Candidate(
                "arn:aws:dynamodb:eu-west-1:1:table/orders/backup/01-a", LISTING_NOW, 9
            ),
        ),
        "users": TableFold(min_left=0),
    }
    values: dict[str, Any] = {
        "now": LISTING_NOW,
        "upper": LISTING_NOW - timedelta(days=40),
        "window_seconds": 86_400,
        "storage": 1234,
        "tables": tables,
    } | position
    return FinalizeMessage(
        prefix="scheduled",
        slot=LISTING_NOW,
        attempt=0,
        window=window,
        tables=2,
        started=window.start,
        listing=Position(**values),
    )


def test_a_continuation_round_trips() -> None:
    message = _continuation()
    back = decode(encode(message))
    assert isinstance(back, FinalizeMessage)
    assert back.listing is not None
    assert encode(back) == encode(message)
    assert back.listing.upper == LISTING_NOW - timedelta(days=40)
    assert back.listing.storage == 1234
    assert back.listing.tables["users"].settled()
    orders = back.listing.tables["orders"]
    assert orders.pending is not None
    assert (orders.pending.arn, orders.pending.size) == (
        "arn:aws:dynamodb:eu-west-1:1:table/orders/backup/01-a",
        9,
    )
    assert orders.tiers["monthly"] == TierState(3, (2026, 10))


def test_a_finalizer_without_listing_starts_the_listing() -> None:
    """Messages already in queues (before continuations existed) still decode."""
    window = Window.around([LISTING_NOW])
    old = FinalizeMessage("scheduled", LISTING_NOW, 0, window, 2, window.start)
    doc = json.loads(encode(old))
    assert "listing" not in doc
    back = decode(json.dumps(doc))
    assert isinstance(back, FinalizeMessage)
    assert back.listing is None


def _packed(doc: Any) -> str:
    return base64.b64encode(zlib.compress(json.dumps(doc).encode())).decode()


def _with_listing(listing: Any) -> str:
    doc = json.loads(encode(_continuation()))
    doc["listing"] = listing
    return json.dumps(doc)


GOOD = messages.position_to_dict(_continuation().listing)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("listing", "why"),
    [
        (5, "must be a str"),
        ("%%%", "not readable"),
        (_packed(GOOD | {"storage": -1}), "storage"),
        (_packed(GOOD | {"storage": True}), "storage"),
        (_packed(GOOD | {"window": 0}), "at least 1 second"),
        (_packed(GOOD | {"now": "yesterday"}), "'now'"),
        (_packed(GOOD | {"tables": {"settled": [], "active": {"a": [1]}}}), "listing.tables"),
        (_packed({k: v for k, v in GOOD.items() if k != "upper"}), "must hold"),
        (_packed(GOOD) + "AAAA", "not readable"),
        (base64.b64encode(zlib.compress(b"\xff\xfe")).decode(), "not readable"),
        (base64.b64encode(zlib.compress(json.dumps(GOOD).encode()) + b"x").decode(), "trailing"),
    ],
)
def test_a_malformed_listing_is_unreadable(listing: Any, why: str) -> None:
    with pytest.raises(MessageError, match=re.escape(why)):
        decode(_with_listing(listing))
