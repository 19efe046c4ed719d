"""The simulated AWS in front of moto: rate limits, latency, and AWS-shaped ListBackups pages.

`SimulatedAws.decide` is the whole policy, independent of the transport: given one API call
it says whether AWS would throttle it, answer it from our own ListBackups pager, or let moto
answer. The adapter in `bench.intercept` plugs it into the local runtime's interceptor API.
"""

from __future__ import annotations

import bisect
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bench.clock import Clock
from bench.limiter import LIST_BACKUPS_PAGE, RateLimits

THROTTLE_CODE = "ThrottlingException"
THROTTLE_MESSAGE = "Rate of requests exceeds the allowed throughput."


@dataclass(frozen=True)
class BackupRow:
    """One backup as ListBackups reports it (creation time in epoch seconds)."""

    table_name: str
    table_arn: str
    arn: str
    name: str
    created: float
    status: str
    type: str

    def summary(self) -> dict[str, Any]:
        return {
            "TableName": self.table_name,
            "TableArn": self.table_arn,
            "BackupArn": self.arn,
            "BackupName": self.name,
            "BackupCreationDateTime": self.created,
            "BackupStatus": self.status,
            "BackupType": self.type,
            "BackupSizeBytes": 123,
        }


def order_key(arn: str) -> str:
    """Listing order. A DynamoDB backup id starts with its creation time in milliseconds
    (`01766...-1a2b3c4d`), so the position of an ARN is known even after the backup is gone,
    and `ExclusiveStartBackupArn` keeps working when backups are deleted between pages."""
    return arn.rpartition("/backup/")[2] + "|" + arn


def time_key(epoch_seconds: float) -> str:
    """The smallest `order_key` of a backup created at or after `epoch_seconds` (moto's id
    format: "0" followed by the creation time in milliseconds)."""
    return str("0" + str(int(epoch_seconds * 1000)))[-16:16]


def _type_matches(row_type: str, wanted: str) -> bool:
    if wanted == "ALL":
        return row_type in ("USER", "SYSTEM")
    return row_type == wanted


class BackupIndex:
    """The account's backups in listing order, with a per-table view, kept in step with
    moto's backend by `add`/`remove` (thread safe). Serves ListBackups pages in
    O(log n + page) so that 10,000 per-table listings stay cheap."""

    def __init__(self, rows: Iterable[BackupRow] = ()) -> None:
        self._lock = threading.Lock()
        self._rows: dict[str, BackupRow] = {}
        self._order: list[str] = []
        self._by_table: dict[str, list[str]] = {}
        for row in rows:
            self.add(row)

    def __len__(self) -> int:
        return len(self._rows)

    def add(self, row: BackupRow) -> None:
        key = order_key(row.arn)
        with self._lock:
            if row.arn in self._rows:
                self._rows[row.arn] = row
                return
            self._rows[row.arn] = row
            bisect.insort(self._order, key)
            bisect.insort(self._by_table.setdefault(row.table_name, []), key)

    def remove(self, arn: str) -> None:
        key = order_key(arn)
        with self._lock:
            row = self._rows.pop(arn, None)
            if row is None:
                return
            for keys in (self._order, self._by_table.get(row.table_name, [])):
                i = bisect.bisect_left(keys, key)
                if i < len(keys) and keys[i] == key:
                    del keys[i]

    def rows(self) -> list[BackupRow]:
        with self._lock:
            return [self._rows[k.rpartition("|")[2]] for k in self._order]

    def page(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """One ListBackups page as AWS computes it: filter by TableName (name or ARN),
        BackupType (default USER), creation time in [TimeRangeLowerBound,
        TimeRangeUpperBound); order by creation; start after ExclusiveStartBackupArn; at most
        min(Limit, 100) summaries; LastEvaluatedBackupArn when more remain."""
        table = params.get("TableName")
        wanted = str(params.get("BackupType", "USER"))
        lower = params.get("TimeRangeLowerBound")
        upper = params.get("TimeRangeUpperBound")
        limit = min(int(params.get("Limit", LIST_BACKUPS_PAGE)), LIST_BACKUPS_PAGE)
        after = params.get("ExclusiveStartBackupArn")
        page: list[BackupRow] = []
        more = False
        with self._lock:
            if table is None:
                keys = self._order
            else:
                name = str(table)
                if name.startswith("arn:"):
                    name = name.rpartition("table/")[2]
                keys = self._by_table.get(name, [])
            start = 0
            if lower is not None:
                start = bisect.bisect_left(keys, time_key(float(lower)))
            if after is not None:
                start = max(start, bisect.bisect_right(keys, order_key(str(after))))
            stop = None if upper is None else time_key(float(upper)) + "~"
            for i in range(start, len(keys)):
                key = keys[i]
                row = self._rows[key.rpartition("|")[2]]
                if upper is not None and row.created >= float(upper):
                    if stop is not None and key > stop:
                        break
                    continue
                if lower is not None and row.created < float(lower):
                    continue
                if not _type_matches(row.type, wanted):
                    continue
                if len(page) == limit:
                    more = True
                    break
                page.append(row)
        body: dict[str, Any] = {"BackupSummaries": [r.summary() for r in page]}
        if more:
            body["LastEvaluatedBackupArn"] = page[-1].arn
        return body


def list_backups_page(rows: Iterable[BackupRow], params: Mapping[str, Any]) -> dict[str, Any]:
    """`BackupIndex.page` over a plain collection of rows (for tests and one-off use)."""
    return BackupIndex(rows).page(params)


def table_of(params: Mapping[str, Any]) -> str | None:
    """The table a DynamoDB call is about, from TableName or the backup ARN."""
    name = params.get("TableName")
    if isinstance(name, str):
        return name.rpartition("table/")[2] if name.startswith("arn:") else name
    arn = params.get("BackupArn")
    if isinstance(arn, str) and "/backup/" in arn:
        return arn.split(":table/", 1)[-1].split("/backup/", 1)[0]
    return None


def detail(operation: str, params: Mapping[str, Any]) -> str:
    """What kind of ListBackups a call is: of one table, of a time window, or of all."""
    if operation != "ListBackups":
        return ""
    if "TableName" in params:
        return "table"
    if "TimeRangeLowerBound" in params or "TimeRangeUpperBound" in params:
        return "window"
    return "all"


@dataclass(frozen=True)
class Throttle:
    code: str = THROTTLE_CODE
    message: str = THROTTLE_MESSAGE


@dataclass(frozen=True)
class Respond:
    body: dict[str, Any]


@dataclass(frozen=True)
class PassThrough:
    pass


Decision = Throttle | Respond | PassThrough


@dataclass(frozen=True)
class CallRecord:
    """One API call as the benchmark counts it."""

    service: str
    operation: str
    principal: str
    table: str | None
    throttled: bool
    at: float
    detail: str = ""


@dataclass
class CallLog:
    """Every call the simulated AWS saw, thread safe."""

    records: list[CallRecord] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, record: CallRecord) -> None:
        with self._lock:
            self.records.append(record)

    def snapshot(self) -> list[CallRecord]:
        with self._lock:
            return list(self.records)

    def clear(self) -> None:
        with self._lock:
            self.records.clear()


class SimulatedAws:
    """Policy of the simulated AWS. `backups` mirrors moto's backups (for ListBackups)."""

    def __init__(
        self,
        clock: Clock,
        limits: RateLimits,
        backups: BackupIndex,
        latency: float = 0.030,
        log: CallLog | None = None,
    ) -> None:
        self.clock = clock
        self.limits = limits
        self.backups = backups
        self.latency = latency
        self.log = log if log is not None else CallLog()

    def decide(
        self, service: str, operation: str, params: Mapping[str, Any], principal: str
    ) -> Decision:
        """Account for the call, apply the per-call latency, and decide how it is answered."""
        self.clock.sleep(self.latency)
        now = self.clock.now()
        admitted = self.limits.admit(service, operation, now)
        table = table_of(params) if service == "dynamodb" else None
        kind = detail(operation, params)
        self.log.add(CallRecord(service, operation, principal, table, not admitted, now, kind))
        if not admitted:
            return Throttle()
        if service == "dynamodb" and operation == "ListBackups":
            return Respond(self.backups.page(params))
        return PassThrough()


def count_by(records: Iterable[CallRecord], *keys: str) -> Counter[tuple[str, ...]]:
    """Count records by the given attributes, e.g. `count_by(r, "principal", "operation")`."""
    return Counter(tuple(str(getattr(r, k)) for k in keys) for r in records)
