"""Backup names, schedule slots and time formats (pure)."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

MAX_NAME = 255
STAMP_FORMAT = "%Y%m%dT%H%M%SZ"
ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
PREFIX_RE = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}")
TABLE_RE = re.compile(r"[a-zA-Z0-9_.-]{3,255}")
NAME_RE = re.compile(r"[a-zA-Z0-9_.-]{3,255}")


class SlotError(ValueError):
    """The event's `time` cannot be read as a schedule slot."""


def to_utc(value: datetime) -> datetime:
    """`value` in UTC; naive datetimes are taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def iso(value: datetime) -> str:
    """ISO 8601 UTC string with `Z`, whole seconds (`2026-11-28T04:00:00Z`)."""
    return to_utc(value).strftime(ISO_FORMAT)


def parse_iso(text: str) -> datetime:
    """Inverse of `iso`: strict `YYYY-MM-DDTHH:MM:SSZ`, returned timezone-aware."""
    return datetime.strptime(text, ISO_FORMAT).replace(tzinfo=UTC)


def parse_slot(value: object, now: datetime) -> datetime:
    """The schedule slot of an event `time` field.

    EventBridge sends `2026-11-28T04:00:00Z`; fractional seconds and offsets are accepted
    and the slot is truncated to the second. `None` (field missing) means `now`, truncated.
    """
    if value is None:
        return to_utc(now).replace(microsecond=0)
    if not isinstance(value, str) or not value.strip():
        raise SlotError(
            "time: expected an ISO 8601 timestamp string like '2026-11-28T04:00:00Z', "
            f"got {value!r}"
        )
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise SlotError(
            f"time: not an ISO 8601 timestamp like '2026-11-28T04:00:00Z': {value!r}"
        ) from None
    return to_utc(parsed).replace(microsecond=0)


def stamp(slot: datetime) -> str:
    """The slot stamp used in names and group ids (`20261128T040000Z`)."""
    return to_utc(slot).strftime(STAMP_FORMAT)


def backup_name(prefix: str, table: str, slot: datetime) -> str:
    """`<prefix>-<table>-<stamp>`, shortened deterministically to 255 characters.

    When too long, the table part becomes `<table[:k]>-<first 8 hex of sha256(table)>`
    with `k` chosen so that the whole name is exactly 255 characters.
    """
    slot_stamp = stamp(slot)
    name = f"{prefix}-{table}-{slot_stamp}"
    if len(name) <= MAX_NAME:
        return name
    digest = hashlib.sha256(table.encode("utf-8")).hexdigest()[:8]
    keep = MAX_NAME - len(prefix) - len(slot_stamp) - len(digest) - 3
    return f"{prefix}-{table[:keep]}-{digest}-{slot_stamp}"


STAMP_RE = re.compile(r"[0-9]{8}T[0-9]{6}Z")


def slot_of(prefix: str, table: str, name: str) -> datetime | None:
    """The slot whose backup of `table` this instance names `name`, else None.

    Exact ownership: `name` must equal `backup_name(prefix, table, slot)` for the slot its
    stamp (the last 16 characters) gives, the full or the shortened form. Another
    instance's `<prefix>-weekly-...`, a hand-made `<prefix>-orders-old` and a backup of
    another table are not this instance's.
    """
    if not name.startswith(f"{prefix}-"):  # the cheap test first: most foreign names fail it
        return None
    text = name[-len("20261128T040000Z") :]
    if not STAMP_RE.fullmatch(text):
        return None
    try:
        slot = datetime.strptime(text, STAMP_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None
    return slot if backup_name(prefix, table, slot) == name else None


def table_from_arn(arn: str) -> str | None:
    """The table name of a DynamoDB table ARN (`arn:aws:dynamodb:r:a:table/name`)."""
    _, sep, resource = arn.partition(":table/")
    if not sep or not arn.startswith("arn:"):
        return None
    name = resource.split("/", 1)[0]
    return name if TABLE_RE.fullmatch(name) else None


DRILL_MARK = "drill"


def drill_table_name(prefix: str, table: str, slot: datetime) -> str:
    """The restore drill's table for `table` at `slot`: `<prefix>-drill-<table>-<stamp>`.

    Always starts with `<prefix>-drill-` (the drill's and the monitor's IAM grants are
    scoped to that), distinct per (table, slot), and shortened like `backup_name` when
    longer than 255 characters: the table part becomes `<table[:k]>-<first 8 hex of
    sha256(table)>` with `k` chosen so that the whole name is exactly 255 characters.
    """
    slot_stamp = stamp(slot)
    head = f"{prefix}-{DRILL_MARK}-"
    name = f"{head}{table}-{slot_stamp}"
    if len(name) <= MAX_NAME:
        return name
    digest = hashlib.sha256(table.encode("utf-8")).hexdigest()[:8]
    keep = MAX_NAME - len(head) - len(slot_stamp) - len(digest) - 2
    return f"{head}{table[:keep]}-{digest}-{slot_stamp}"


_DIGEST_RE = re.compile(r"[0-9a-f]{8}")
_PART_RE = re.compile(r"[a-zA-Z0-9_.-]+")


def drill_slot_of(prefix: str, name: str) -> datetime | None:
    """The slot of this instance's drill table `name` (see `drill_table_name`), else None.

    Exact: the full form must re-create `name` from the table part it holds; the shortened
    form (exactly 255 characters) must end in `-<8 hex>-<stamp>` after a non-empty table
    part. Any other table, `<prefix>-drillx-...` and another prefix's drill tables are not
    this instance's.
    """
    head = f"{prefix}-{DRILL_MARK}-"
    stamp_len = len("20261128T040000Z")
    if not name.startswith(head) or len(name) < len(head) + 3 + 1 + stamp_len:
        return None
    text = name[-stamp_len:]
    if not STAMP_RE.fullmatch(text) or name[-stamp_len - 1] != "-":
        return None
    try:
        slot = datetime.strptime(text, STAMP_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None
    middle = name[len(head) : -stamp_len - 1]
    if TABLE_RE.fullmatch(middle) and drill_table_name(prefix, middle, slot) == name:
        return slot
    if len(name) == MAX_NAME:
        table_part, _, digest = middle.rpartition("-")
        if _PART_RE.fullmatch(table_part) and _DIGEST_RE.fullmatch(digest):
            return slot
    return None
