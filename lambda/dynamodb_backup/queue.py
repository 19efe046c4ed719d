"""Sending messages to the FIFO queue with SendMessageBatch."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING

from dynamodb_backup.aws import backoff_delay, call_with_retries
from dynamodb_backup.logs import log_event
from dynamodb_backup.messages import Outgoing

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef

LOG = logging.getLogger(__name__)
MAX_ENTRIES = 10
MAX_BATCH_BYTES = 200_000
SEND_ATTEMPTS = 5


class QueueSendError(RuntimeError):
    """Some messages could not be sent after the retries."""


def batches(
    messages: Sequence[Outgoing],
    max_entries: int = MAX_ENTRIES,
    max_bytes: int = MAX_BATCH_BYTES,
) -> list[list[Outgoing]]:
    """Consecutive batches of at most `max_entries` messages and `max_bytes` of bodies."""
    result: list[list[Outgoing]] = []
    current: list[Outgoing] = []
    size = 0
    for message in messages:
        body_size = len(message.body.encode("utf-8"))
        if body_size > max_bytes:
            raise QueueSendError(f"message of {body_size} bytes exceeds {max_bytes}")
        if current and (len(current) >= max_entries or size + body_size > max_bytes):
            result.append(current)
            current, size = [], 0
        current.append(message)
        size += body_size
    if current:
        result.append(current)
    return result


def send(
    sqs: SQSClient,
    queue_url: str,
    messages: Sequence[Outgoing],
    *,
    sleep: Callable[[float], None],
    rand: Callable[[], float],
    attempts: int = SEND_ATTEMPTS,
) -> int:
    """Send every message (in order); retry failed entries; raise when some never go."""
    for batch in batches(messages):
        pending = list(batch)
        for attempt in range(attempts):
            entries: list[SendMessageBatchRequestEntryTypeDef] = [
                {
                    "Id": str(index),
                    "MessageBody": message.body,
                    "MessageGroupId": message.group_id,
                    "MessageDeduplicationId": message.dedup_id,
                }
                for index, message in enumerate(pending)
            ]
            response = call_with_retries(
                partial(sqs.send_message_batch, QueueUrl=queue_url, Entries=entries),
                sleep=sleep,
                rand=rand,
            )
            failed = response.get("Failed", [])
            if not failed:
                break
            failed_ids = {int(f["Id"]) for f in failed}
            reasons = sorted({f"{f.get('Code')}: {f.get('Message', '')}" for f in failed})
            log_event(LOG, logging.WARNING, "send retry", failed=len(failed), reasons=reasons)
            sender_fault = any(f.get("SenderFault") for f in failed)
            pending = [m for i, m in enumerate(pending) if i in failed_ids]
            if sender_fault or attempt == attempts - 1:
                raise QueueSendError(
                    f"{len(pending)} message(s) not sent to {queue_url}: {'; '.join(reasons)}"
                )
            sleep(backoff_delay(attempt, rand))
    return len(messages)
