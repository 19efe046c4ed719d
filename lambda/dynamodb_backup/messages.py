"""Queue messages, format v1: encode, decode, chunking and FIFO ids (pure)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from dynamodb_backup.fold import Position, states_from_json, states_to_json
from dynamodb_backup.model import BackupRef
from dynamodb_backup.naming import PREFIX_RE, drill_slot_of, iso, parse_iso, stamp, to_utc

VERSION = 1
CHUNK_SIZE = 100
MAX_GROUP_ID = 128


class MessageError(ValueError):
    """A queue message that cannot be read; the text says why."""


@dataclass(frozen=True)
class Window:
    """A creation-time window: lower bound inclusive, upper bound exclusive."""

    start: datetime
    end: datetime

    @classmethod
    def around(cls, times: Iterable[datetime]) -> Window:
        """Min and max of `times` in whole seconds, widened by one second each side."""
        values = [to_utc(t) for t in times]
        if not values:
            raise ValueError("a window needs at least one time")
        low = min(values).replace(microsecond=0) - timedelta(seconds=1)
        high = max(values)
        high_whole = high.replace(microsecond=0)
        if high_whole != high:
            high_whole += timedelta(seconds=1)
        return cls(start=low, end=high_whole + timedelta(seconds=1))

    def contains(self, moment: datetime) -> bool:
        return self.start <= to_utc(moment) < self.end


@dataclass(frozen=True)
class ChunkMessage:
    prefix: str
    slot: datetime
    chunk: int
    attempt: int
    window: Window
    backups: tuple[BackupRef, ...]


@dataclass(frozen=True)
class FinalizeMessage:
    """The run's finalizer. `window` is where run backups may still be CREATING: the whole
    run at first, narrowed on each re-enqueue; `started` (the first window's start) stays.
    `listing`, when set, is where a retention listing cut short by the time budget goes on
    (a continuation); without it the listing starts from the run's range."""

    prefix: str
    slot: datetime
    attempt: int
    window: Window
    tables: int
    started: datetime
    listing: Position | None = None


@dataclass(frozen=True)
class DeleteMessage:
    prefix: str
    slot: datetime
    part: int
    attempt: int
    backups: tuple[BackupRef, ...]


@dataclass(frozen=True)
class RestoreCheckMessage:
    """A restore drill in progress (`restore_check.py`): wait for the drill table `target`
    to be ACTIVE, verify it against what DescribeBackup recorded (`key_schema`, `indexes`,
    `item_count`), count its items (`counted` so far, resuming at `position`, a Scan's
    LastEvaluatedKey), delete it. `verdict` is the failure found (None: none yet), and
    `reported` says whether the outcome was already counted and alerted."""

    prefix: str
    slot: datetime
    attempt: int
    table: str
    backup_arn: str
    target: str
    started: datetime
    key_schema: tuple[tuple[str, str], ...]
    indexes: tuple[str, ...]
    item_count: int
    phase: str = "wait"  # wait -> scan -> delete
    counted: int = 0
    position: dict[str, Any] | None = None
    verdict: str | None = None
    reported: bool = False
    delete_failures: int = 0


RESTORE_PHASES = ("wait", "scan", "delete")

Message = ChunkMessage | FinalizeMessage | DeleteMessage | RestoreCheckMessage


@dataclass(frozen=True)
class Outgoing:
    """A message ready for SendMessageBatch."""

    body: str
    group_id: str
    dedup_id: str


def _refs(backups: Sequence[BackupRef]) -> list[dict[str, str]]:
    return [{"table": b.table, "arn": b.arn} for b in backups]


def _window(window: Window) -> dict[str, str]:
    return {"from": iso(window.start), "to": iso(window.end)}


def to_dict(message: Message) -> dict[str, Any]:
    """The JSON document of a message."""
    base: dict[str, Any] = {"v": VERSION, "prefix": message.prefix, "slot": iso(message.slot)}
    if isinstance(message, ChunkMessage):
        base |= {
            "kind": "chunk",
            "chunk": message.chunk,
            "attempt": message.attempt,
            "window": _window(message.window),
            "backups": _refs(message.backups),
        }
    elif isinstance(message, FinalizeMessage):
        base |= {
            "kind": "finalize",
            "attempt": message.attempt,
            "window": _window(message.window),
            "tables": message.tables,
            "started": iso(message.started),
        }
        if message.listing is not None:
            base["listing"] = encode_position(message.listing)
    elif isinstance(message, RestoreCheckMessage):
        base |= {
            "kind": "restore",
            "attempt": message.attempt,
            "table": message.table,
            "backup": message.backup_arn,
            "target": message.target,
            "started": iso(message.started),
            "key_schema": [list(k) for k in message.key_schema],
            "indexes": list(message.indexes),
            "item_count": message.item_count,
            "phase": message.phase,
            "counted": message.counted,
            "position": message.position,
            "verdict": message.verdict,
            "reported": message.reported,
            "delete_failures": message.delete_failures,
        }
    else:
        base |= {
            "kind": "delete",
            "part": message.part,
            "attempt": message.attempt,
            "backups": _refs(message.backups),
        }
    return base


def encode(message: Message) -> str:
    """Deterministic body: sorted keys, compact separators."""
    return json.dumps(to_dict(message), sort_keys=True, separators=(",", ":"))


def group_id(message: Message) -> str:
    slot_stamp = stamp(message.slot)
    if isinstance(message, ChunkMessage):
        suffix = f"c{message.chunk:05d}"
    elif isinstance(message, FinalizeMessage):
        suffix = "final"
    elif isinstance(message, RestoreCheckMessage):  # one group per drill table
        suffix = "r" + hashlib.sha256(message.target.encode("utf-8")).hexdigest()[:12]
    else:
        suffix = f"d{message.part:05d}"
    return f"{message.prefix}-{slot_stamp}-{suffix}"[:MAX_GROUP_ID]


def dedup_id(body: str, salt: str = "") -> str:
    return hashlib.sha256((body + salt).encode("utf-8")).hexdigest()


def outgoing(message: Message) -> Outgoing:
    body = encode(message)
    return Outgoing(body=body, group_id=group_id(message), dedup_id=dedup_id(body))


# --- decoding -------------------------------------------------------------------------


def _field(doc: dict[str, Any], name: str, kind: type) -> Any:
    if name not in doc:
        raise MessageError(f"missing field {name!r} (a {kind.__name__})")
    value = doc[name]
    if kind is int and (not isinstance(value, int) or isinstance(value, bool)):
        raise MessageError(f"field {name!r} must be an integer, got {value!r}")
    if not isinstance(value, kind):
        raise MessageError(f"field {name!r} must be a {kind.__name__}")
    return value


def _count(doc: dict[str, Any], name: str) -> int:
    value: int = _field(doc, name, int)
    if value < 0:
        raise MessageError(f"field {name!r} must not be negative, got {value}")
    return value


def _time(doc: dict[str, Any], name: str) -> datetime:
    text: str = _field(doc, name, str)
    try:
        return parse_iso(text)
    except ValueError:
        raise MessageError(f"field {name!r} is not a YYYY-MM-DDTHH:MM:SSZ time: {text!r}") from None


def _decode_window(doc: dict[str, Any]) -> Window:
    raw: dict[str, Any] = _field(doc, "window", dict)
    window = Window(start=_time(raw, "from"), end=_time(raw, "to"))
    if window.end <= window.start:
        raise MessageError("field 'window' ends before it starts")
    return window


def _decode_refs(doc: dict[str, Any]) -> tuple[BackupRef, ...]:
    raw: list[Any] = _field(doc, "backups", list)
    refs: list[BackupRef] = []
    for item in raw:
        if not isinstance(item, dict):
            raise MessageError("field 'backups' must hold objects")
        table: str = _field(item, "table", str)
        arn: str = _field(item, "arn", str)
        if not table or not arn.startswith("arn:"):
            raise MessageError(f"bad backup entry {item!r}")
        refs.append(BackupRef(table=table, arn=arn))
    if not refs:
        raise MessageError("field 'backups' is empty")
    if len(refs) > CHUNK_SIZE:
        raise MessageError(f"field 'backups' holds {len(refs)} entries, more than {CHUNK_SIZE}")
    return tuple(refs)


def decode(body: str) -> Message:
    """Parse a body; raise MessageError saying why when it cannot be read."""
    try:
        doc = json.loads(body)
    except RecursionError:
        raise MessageError("body is not readable JSON: nested too deeply") from None
    except (ValueError, TypeError) as exc:  # JSONDecodeError; a number of > 4,300 digits
        raise MessageError(f"body is not JSON: {_short(str(exc))}") from None
    if not isinstance(doc, dict):
        raise MessageError(
            f'body is not a JSON object (a {type(doc).__name__}); expected one with "v": 1'
        )
    if "v" not in doc:
        raise MessageError(f"has no version field 'v' (this monitor reads \"v\": {VERSION})")
    if doc["v"] != VERSION or isinstance(doc["v"], bool):
        raise MessageError(
            f"unknown version {_short(repr(doc['v']))} in field 'v' "
            f'(this monitor reads "v": {VERSION})'
        )
    prefix: str = _field(doc, "prefix", str)
    if not PREFIX_RE.fullmatch(prefix):
        raise MessageError(f"bad prefix {prefix!r}")
    slot = _time(doc, "slot")
    attempt = _count(doc, "attempt")
    kind = doc.get("kind")
    if kind == "chunk":
        return ChunkMessage(
            prefix=prefix,
            slot=slot,
            chunk=_count(doc, "chunk"),
            attempt=attempt,
            window=_decode_window(doc),
            backups=_decode_refs(doc),
        )
    if kind == "finalize":
        window = _decode_window(doc)
        return FinalizeMessage(
            prefix=prefix,
            slot=slot,
            attempt=attempt,
            window=window,
            tables=_count(doc, "tables"),
            started=_time(doc, "started") if "started" in doc else window.start,
            listing=decode_position(_field(doc, "listing", str)) if "listing" in doc else None,
        )
    if kind == "delete":
        return DeleteMessage(
            prefix=prefix,
            slot=slot,
            part=_count(doc, "part"),
            attempt=attempt,
            backups=_decode_refs(doc),
        )
    if kind == "restore":
        return _decode_restore(doc, prefix, slot, attempt)
    raise MessageError(
        f"unknown kind {_short(repr(kind))} in field 'kind' "
        "(expected chunk, finalize, delete or restore)"
    )


def _decode_restore(
    doc: dict[str, Any], prefix: str, slot: datetime, attempt: int
) -> RestoreCheckMessage:
    raw_schema: list[Any] = _field(doc, "key_schema", list)
    schema: list[tuple[str, str]] = []
    for item in raw_schema:
        if (
            not isinstance(item, list)
            or len(item) != 2
            or not all(isinstance(v, str) and v for v in item)
        ):
            raise MessageError("field 'key_schema' must hold [attribute, key type] pairs")
        schema.append((item[0], item[1]))
    raw_indexes: list[Any] = _field(doc, "indexes", list)
    if not all(isinstance(i, str) and i for i in raw_indexes):
        raise MessageError("field 'indexes' must hold index names")
    phase: str = _field(doc, "phase", str)
    if phase not in RESTORE_PHASES:
        raise MessageError(f"field 'phase' must be one of {', '.join(RESTORE_PHASES)}")
    position = doc.get("position")
    if position is not None and not isinstance(position, dict):
        raise MessageError("field 'position' must be an object or null")
    verdict = doc.get("verdict")
    if verdict is not None and not isinstance(verdict, str):
        raise MessageError("field 'verdict' must be text or null")
    reported = doc.get("reported", False)
    if not isinstance(reported, bool):
        raise MessageError("field 'reported' must be true or false")
    backup: str = _field(doc, "backup", str)
    if not backup.startswith("arn:"):
        raise MessageError(f"field 'backup' is not an ARN: {_short(backup)!r}")
    target: str = _field(doc, "target", str)
    if drill_slot_of(prefix, target) is None:  # the monitor deletes it: only drill tables
        raise MessageError(f"field 'target' is not a drill table of prefix {prefix!r}")
    return RestoreCheckMessage(
        prefix=prefix,
        slot=slot,
        attempt=attempt,
        table=_field(doc, "table", str),
        backup_arn=backup,
        target=target,
        started=_time(doc, "started"),
        key_schema=tuple(schema),
        indexes=tuple(raw_indexes),
        item_count=_count(doc, "item_count"),
        phase=phase,
        counted=_count(doc, "counted"),
        position=position,
        verdict=verdict,
        reported=reported,
        delete_failures=_count(doc, "delete_failures"),
    )


# --- a continuation's position: zlib-compressed JSON in base64 ----------------------------

MAX_POSITION_BYTES = 16 * 1024 * 1024  # decompressed; far above any real state


def position_to_dict(position: Position) -> dict[str, Any]:
    return {
        "now": iso(position.now),
        "upper": iso(position.upper),
        "window": position.window_seconds,
        "storage": position.storage,
        "tables": states_to_json(position.tables),
    }


def encode_position(position: Position) -> str:
    text = json.dumps(position_to_dict(position), sort_keys=True, separators=(",", ":"))
    return base64.b64encode(zlib.compress(text.encode("utf-8"), 9)).decode("ascii")


def decode_position(text: str) -> Position:
    """Strict: anything but what `encode_position` makes is a MessageError."""
    try:
        packed = base64.b64decode(text.encode("ascii"), validate=True)
        inflater = zlib.decompressobj()
        raw = inflater.decompress(packed, MAX_POSITION_BYTES)
    except (ValueError, UnicodeError, binascii.Error, zlib.error) as exc:
        raise MessageError(f"field 'listing' is not readable: {_short(str(exc))}") from None
    if inflater.unconsumed_tail or not inflater.eof or inflater.unused_data:
        raise MessageError("field 'listing' is truncated, oversized or has trailing data")
    try:
        doc = json.loads(raw.decode("utf-8"))
    except RecursionError:
        raise MessageError("field 'listing' is nested too deeply") from None
    except (ValueError, TypeError, UnicodeError) as exc:
        raise MessageError(f"field 'listing' is not readable: {_short(str(exc))}") from None
    if not isinstance(doc, dict) or set(doc) != {"now", "upper", "window", "storage", "tables"}:
        raise MessageError("field 'listing' must hold now, upper, window, storage and tables")
    storage = doc["storage"]
    if storage is not None and (
        isinstance(storage, bool) or not isinstance(storage, int) or storage < 0
    ):
        raise MessageError(f"field 'listing.storage' must be null or bytes, got {storage!r}")
    window = _count(doc, "window")
    if window < 1:
        raise MessageError("field 'listing.window' must be at least 1 second")
    try:
        tables = states_from_json(doc["tables"])
    except (ValueError, TypeError) as exc:
        raise MessageError(f"field 'listing.tables': {_short(str(exc))}") from None
    return Position(
        now=_time(doc, "now"),
        upper=_time(doc, "upper"),
        window_seconds=window,
        storage=storage,
        tables=tables,
    )


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


# --- building a run's messages ----------------------------------------------------------


@dataclass(frozen=True)
class StartedBackup:
    """A backup of this run: its table, ARN and creation time."""

    table: str
    arn: str
    created: datetime


def run_messages(
    prefix: str, slot: datetime, started: Sequence[StartedBackup], size: int = CHUNK_SIZE
) -> list[Message]:
    """The chunk messages (sorted by table, `size` each) and the finalizer of a run."""
    if not started:
        return []
    ordered = sorted(started, key=lambda b: (b.table, b.arn))
    messages: list[Message] = []
    for index in range(math.ceil(len(ordered) / size)):
        part = ordered[index * size : (index + 1) * size]
        messages.append(
            ChunkMessage(
                prefix=prefix,
                slot=slot,
                chunk=index,
                attempt=0,
                window=Window.around(b.created for b in part),
                backups=tuple(BackupRef(b.table, b.arn) for b in part),
            )
        )
    whole = Window.around(b.created for b in ordered)
    messages.append(
        FinalizeMessage(
            prefix=prefix,
            slot=slot,
            attempt=0,
            window=whole,
            tables=len(ordered),
            started=whole.start,
        )
    )
    return messages


def delete_messages(
    prefix: str, slot: datetime, refs: Sequence[BackupRef], size: int = CHUNK_SIZE
) -> list[Message]:
    """Deletions cut into `delete` messages of at most `size` backups."""
    return [
        DeleteMessage(
            prefix=prefix,
            slot=slot,
            part=index,
            attempt=0,
            backups=tuple(refs[index * size : (index + 1) * size]),
        )
        for index in range(math.ceil(len(refs) / size))
    ]
