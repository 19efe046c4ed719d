"""The SQS event source mapping, played locally against moto's FIFO queue.

Like Lambda's poller it receives up to `batch_size` messages (with the function's role),
builds a standard SQS event, invokes the function, deletes the records that succeeded
and leaves the rest to reappear when their visibility timeout ends:
- a returned `batchItemFailures` (ReportBatchItemFailures) keeps the listed records;
  a malformed one (an identifier not in the batch, a missing identifier) fails the batch;
- an invocation error or timeout keeps the whole batch.
Redrive to the dead-letter queue after `maxReceiveCount` receives is moto's (it moves
the message on the receive after the last allowed one); what moto lacks is done here:
messages older than the queue's retention period are deleted, as SQS does (and counted
in `expired`: a message lost that way is a finding), and `drain` moves the virtual clock
to the moment the next message becomes visible (queue delay, visibility timeout).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from moto.sqs.models import sqs_backends

from localrun.clock import VirtualClock
from localrun.functions import CrashRule, Invocation, LocalFunction
from localrun.server import LocalAws, queue_arn_from_url


@dataclass
class BatchOutcome:
    at: datetime
    records: list[dict[str, Any]]
    invocation: Invocation
    deleted: list[str]
    kept: list[str]
    whole_batch_failed: bool


@dataclass
class QueueState:
    visible: int
    waiting: int  # delayed or in flight
    next_visible: datetime | None


def _queue_name(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def _from_ms(value: float) -> datetime:
    return datetime.fromtimestamp(value / 1000.0, tz=UTC)


@dataclass
class SqsEventSourceMapping:
    aws: LocalAws
    clock: VirtualClock
    function: LocalFunction
    queue_url: str
    batch_size: int = 10
    outcomes: list[BatchOutcome] = field(default_factory=list)
    expired: list[dict[str, Any]] = field(default_factory=list)
    crash_after: CrashRule | None = None
    before_invoke: Callable[[list[dict[str, Any]]], None] | None = None

    def __post_init__(self) -> None:
        self.sqs = self.aws.client("sqs", self.function.principal)
        self.queue_arn = queue_arn_from_url(self.queue_url, self.aws.region, self.aws.account)
        attributes = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["All"])[
            "Attributes"
        ]
        self.retention = int(attributes["MessageRetentionPeriod"])

    # the queue as SQS holds it --------------------------------------------------------
    def _moto_queue(self) -> Any:
        return sqs_backends[self.aws.account][self.aws.region].queues[_queue_name(self.queue_url)]

    def expire_old_messages(self) -> None:
        queue = self._moto_queue()
        limit_ms = (self.clock.now().timestamp() - self.retention) * 1000.0
        for message in list(queue._messages):
            if message.sent_timestamp <= limit_ms:
                queue._messages.remove(message)
                queue.pending_messages.discard(message)
                self.expired.append({"body": message.body, "group": message.group_id})

    def state(self) -> QueueState:
        queue = self._moto_queue()
        now_ms = self.clock.now().timestamp() * 1000.0
        visible = 0
        times: list[float] = []
        for message in queue._messages:
            ready = max(float(message.visible_at), float(message.delayed_until))
            if ready < now_ms:
                visible += 1
            else:
                times.append(ready)
        return QueueState(
            visible=visible,
            waiting=len(times),
            next_visible=_from_ms(min(times) + 1) if times else None,
        )

    # one poll ---------------------------------------------------------------------------
    def _record(self, message: Mapping[str, Any]) -> dict[str, Any]:
        attributes = dict(message.get("Attributes", {}))
        attributes.setdefault("SequenceNumber", "0")
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": attributes,
            "messageAttributes": {},
            "md5OfBody": message["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": self.aws.region,
        }

    def poll(self) -> BatchOutcome | None:
        self.expire_old_messages()
        received = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            WaitTimeSeconds=0,
            MessageSystemAttributeNames=["All"],
        ).get("Messages", [])
        if not received:
            return None
        records = [self._record(m) for m in received]
        if self.before_invoke is not None:
            self.before_invoke(records)
        invocation = self.function.invoke({"Records": records}, crash_after=self.crash_after)
        ids = [r["messageId"] for r in records]
        kept = self._kept(invocation, ids)
        whole = kept == ids and (invocation.failed or not self._lists_all(invocation, ids))
        done = [r for r in records if r["messageId"] not in kept]
        for start in range(0, len(done), 10):
            part = done[start : start + 10]
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": r["receiptHandle"]} for i, r in enumerate(part)
                ],
            )
        outcome = BatchOutcome(
            at=invocation.started,
            records=records,
            invocation=invocation,
            deleted=[r["messageId"] for r in done],
            kept=kept,
            whole_batch_failed=whole,
        )
        self.outcomes.append(outcome)
        return outcome

    @staticmethod
    def _lists_all(invocation: Invocation, ids: list[str]) -> bool:
        result = invocation.result
        if not isinstance(result, dict):
            return False
        failures = result.get("batchItemFailures") or []
        return {f.get("itemIdentifier") for f in failures if isinstance(f, dict)} == set(ids)

    @staticmethod
    def _kept(invocation: Invocation, ids: list[str]) -> list[str]:  # noqa: PLR0911
        """The records Lambda leaves in the queue after this invocation."""
        if invocation.failed:
            return list(ids)
        result = invocation.result
        if result is None:
            return []
        if not isinstance(result, dict):
            return []  # any other return value: the whole batch succeeded
        failures = result.get("batchItemFailures")
        if failures is None:
            return []
        if not isinstance(failures, list):
            return list(ids)
        listed: list[str] = []
        for failure in failures:
            ident = failure.get("itemIdentifier") if isinstance(failure, dict) else None
            if not isinstance(ident, str) or ident not in ids:
                return list(ids)  # Lambda treats a malformed response as a failed batch
            listed.append(ident)
        return [i for i in ids if i in listed]

    # until nothing is left ---------------------------------------------------------------
    def drain(self, max_batches: int = 20_000, horizon: timedelta = timedelta(days=1)) -> int:
        """Poll until the queue is empty, moving the clock over delays; returns batches."""
        end = self.clock.now() + horizon
        batches = 0
        while batches < max_batches:
            if self.poll() is not None:
                batches += 1
                continue
            self.expire_old_messages()
            state = self.state()
            if state.next_visible is None:
                if state.visible:
                    raise RuntimeError(f"visible messages are never delivered: {state}")
                return batches
            if state.next_visible > end:
                raise RuntimeError(f"queue not drained within {horizon}: {state}")
            self.clock.sleep_until(state.next_visible)
        raise RuntimeError(f"queue not drained after {max_batches} batches")


def bodies(outcome: BatchOutcome) -> list[Any]:
    """The decoded bodies of a batch (None where the body is not JSON)."""
    decoded: list[Any] = []
    for record in outcome.records:
        try:
            decoded.append(json.loads(record["body"]))
        except ValueError:
            decoded.append(None)
    return decoded
