"""Retries, the ListBackups helper, lazy clients, batch sending and the rate limiter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import ANY, Stubber

from dynamodb_backup import aws, queue
from dynamodb_backup.aws import Clients, backoff_delay, call_with_retries, describe_backup
from dynamodb_backup.messages import Outgoing
from dynamodb_backup.ratelimit import RateLimiter

T0 = datetime(2026, 11, 28, 4, 0, 5, tzinfo=UTC)
PAGE_ARN = "arn:aws:dynamodb:eu-west-1:1:table/tbl9/backup/00009"
QUEUE = "https://sqs.eu-west-1.amazonaws.com/123456789012/backup-monitor.fifo"


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def summary(n: int, created: datetime, type_: str = "USER", status: str = "AVAILABLE") -> Any:
    return {
        "TableName": f"tbl{n}",
        "TableArn": f"arn:aws:dynamodb:eu-west-1:1:table/tbl{n}",
        "BackupArn": f"arn:aws:dynamodb:eu-west-1:1:table/tbl{n}/backup/{n:05d}",
        "BackupName": f"scheduled-tbl{n}-20261128T040000Z",
        "BackupCreationDateTime": created,
        "BackupStatus": status,
        "BackupType": type_,
    }


def throttled(code: str = "ThrottlingException") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "slow down"}}, "CreateBackup")


def test_retries_retryable_errors_with_capped_full_jitter_backoff() -> None:
    sleeps = Sleeps()
    outcomes: list[Exception | str] = [throttled(), throttled("LimitExceededException"), "ok"]

    def call() -> str:
        item = outcomes.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    assert call_with_retries(call, sleep=sleeps, rand=lambda: 1.0) == "ok"
    assert sleeps.calls == [0.25, 0.5]


def test_gives_up_after_six_attempts_and_caps_the_delay() -> None:
    sleeps = Sleeps()
    calls = 0

    def call() -> str:
        nonlocal calls
        calls += 1
        raise throttled("BackupInUseException")

    with pytest.raises(ClientError, match="BackupInUseException"):
        call_with_retries(call, sleep=sleeps, rand=lambda: 1.0)
    assert calls == 6
    assert sleeps.calls == [0.25, 0.5, 1.0, 2.0, 4.0]
    assert backoff_delay(10, lambda: 1.0) == 8.0
    assert backoff_delay(3, lambda: 0.5) == 1.0


def test_non_retryable_errors_fail_at_once() -> None:
    sleeps = Sleeps()
    calls = 0

    def call() -> str:
        nonlocal calls
        calls += 1
        raise throttled("TableNotFoundException")

    with pytest.raises(ClientError):
        call_with_retries(call, sleep=sleeps, rand=lambda: 1.0)
    assert calls == 1
    assert sleeps.calls == []


def test_list_backups_follows_pages_and_filters_client_side() -> None:
    ddb = boto3.client("dynamodb", region_name="eu-west-1")
    lower, upper = T0, T0 + timedelta(seconds=10)
    with Stubber(ddb) as stub:
        stub.add_response(
            "list_backups",
            {
                "BackupSummaries": [
                    summary(1, T0),
                    summary(2, T0 - timedelta(seconds=1)),  # before the window
                    summary(3, T0 + timedelta(seconds=3), type_="SYSTEM"),
                ],
                "LastEvaluatedBackupArn": PAGE_ARN,
            },
            {
                "BackupType": "USER",
                "Limit": 100,
                "TimeRangeLowerBound": lower,
                "TimeRangeUpperBound": upper,
            },
        )
        stub.add_response(
            "list_backups",
            {
                "BackupSummaries": [
                    summary(4, T0 + timedelta(seconds=9, microseconds=999999)),
                    summary(5, upper),  # upper bound is exclusive
                ]
            },
            {
                "BackupType": "USER",
                "Limit": 100,
                "TimeRangeLowerBound": lower,
                "TimeRangeUpperBound": upper,
                "ExclusiveStartBackupArn": PAGE_ARN,
            },
        )
        found = list(
            aws.list_backups(ddb, lower=lower, upper=upper, sleep=Sleeps(), rand=lambda: 0.0)
        )
        stub.assert_no_pending_responses()
    assert [s.table for s in found] == ["tbl1", "tbl4"]
    assert found[0].created == T0
    assert found[0].status == "AVAILABLE"


def test_list_backups_retries_throttling_then_succeeds() -> None:
    ddb = boto3.client("dynamodb", region_name="eu-west-1")
    sleeps = Sleeps()
    with Stubber(ddb) as stub:
        stub.add_client_error("list_backups", "ThrottlingException", "Rate exceeded")
        stub.add_response("list_backups", {"BackupSummaries": [summary(1, T0)]})
        found = list(aws.list_backups(ddb, sleep=sleeps, rand=lambda: 1.0))
    assert [s.table for s in found] == ["tbl1"]
    assert sleeps.calls == [0.25]


def test_list_backups_paces_every_request_retries_included() -> None:
    ddb = boto3.client("dynamodb", region_name="eu-west-1")
    paced: list[int] = []
    with Stubber(ddb) as stub:
        stub.add_response(
            "list_backups",
            {"BackupSummaries": [summary(1, T0)], "LastEvaluatedBackupArn": PAGE_ARN},
        )
        stub.add_client_error("list_backups", "ThrottlingException", "Rate exceeded")
        stub.add_response("list_backups", {"BackupSummaries": [summary(2, T0)]})
        found = list(
            aws.list_backups(
                ddb, sleep=Sleeps(), rand=lambda: 1.0, pace=lambda: paced.append(len(paced))
            )
        )
        stub.assert_no_pending_responses()
    assert [s.table for s in found] == ["tbl1", "tbl2"]
    assert len(paced) == 3  # two pages, one retry


def test_list_backups_stops_on_a_repeated_page_marker_and_skips_broken_entries() -> None:
    ddb = boto3.client("dynamodb", region_name="eu-west-1")
    with Stubber(ddb) as stub:
        page = {"BackupSummaries": [summary(1, T0)], "LastEvaluatedBackupArn": PAGE_ARN}
        stub.add_response("list_backups", page)
        stub.add_response("list_backups", page)
        found = list(aws.list_backups(ddb, sleep=Sleeps(), rand=lambda: 0.0))
        stub.assert_no_pending_responses()
    assert len(found) == 2
    assert aws.summary_from({"TableName": "tbl"}) is None


def test_describe_backup_status_and_not_found() -> None:
    ddb = boto3.client("dynamodb", region_name="eu-west-1")
    arn = "arn:aws:dynamodb:eu-west-1:1:table/t/backup/1"
    with Stubber(ddb) as stub:
        stub.add_response(
            "describe_backup",
            {
                "BackupDescription": {
                    "BackupDetails": {
                        "BackupArn": arn,
                        "BackupName": "name",
                        "BackupStatus": "CREATING",
                        "BackupType": "USER",
                        "BackupCreationDateTime": T0,
                    }
                }
            },
            {"BackupArn": arn},
        )
        stub.add_client_error("describe_backup", "BackupNotFoundException", "gone")
        stub.add_client_error("describe_backup", "AccessDeniedException", "no")
        assert describe_backup(ddb, arn, sleep=Sleeps(), rand=lambda: 0.0) == "CREATING"
        assert describe_backup(ddb, arn, sleep=Sleeps(), rand=lambda: 0.0) is None
        with pytest.raises(ClientError, match="AccessDenied"):
            describe_backup(ddb, arn, sleep=Sleeps(), rand=lambda: 0.0)


def test_clients_are_lazy_and_use_adaptive_retries() -> None:
    clients = Clients()
    assert clients._clients == {}
    ddb = clients.dynamodb
    assert clients.dynamodb is ddb
    assert set(clients._clients) == {"dynamodb"}
    config: Any = ddb.meta.config
    assert config.retries == {"mode": "adaptive", "total_max_attempts": 6}
    assert (config.connect_timeout, config.read_timeout) == (5, 30)
    assert clients.sqs.meta.service_model.service_name == "sqs"
    assert clients.sns.meta.service_model.service_name == "sns"
    assert clients.tagging.meta.service_model.service_name == "resourcegroupstaggingapi"


def test_error_code_of_other_exceptions() -> None:
    assert aws.error_code(ValueError("x")) == "ValueError"
    assert aws.error_message(ValueError("boom")) == "boom"


# --- queue ------------------------------------------------------------------------------


def out(index: int, size: int = 10) -> Outgoing:
    return Outgoing(body="x" * size, group_id=f"g{index}", dedup_id=f"d{index}")


def test_batches_respect_entries_and_bytes() -> None:
    assert [len(b) for b in queue.batches([out(i) for i in range(23)])] == [10, 10, 3]
    big = [out(i, 90_000) for i in range(5)]
    assert [len(b) for b in queue.batches(big)] == [2, 2, 1]
    with pytest.raises(queue.QueueSendError, match="exceeds"):
        queue.batches([out(0, 200_001)])


def _entry(message: Outgoing, index: int) -> dict[str, str]:
    return {
        "Id": str(index),
        "MessageBody": message.body,
        "MessageGroupId": message.group_id,
        "MessageDeduplicationId": message.dedup_id,
    }


def test_send_retries_only_the_failed_entries() -> None:
    sqs = boto3.client("sqs", region_name="eu-west-1")
    messages = [out(i) for i in range(3)]
    sleeps = Sleeps()
    with Stubber(sqs) as stub:
        stub.add_response(
            "send_message_batch",
            {
                "Successful": [
                    {"Id": "0", "MessageId": "m0", "MD5OfMessageBody": "x"},
                    {"Id": "2", "MessageId": "m2", "MD5OfMessageBody": "x"},
                ],
                "Failed": [{"Id": "1", "SenderFault": False, "Code": "InternalError"}],
            },
            {"QueueUrl": QUEUE, "Entries": [_entry(m, i) for i, m in enumerate(messages)]},
        )
        stub.add_response(
            "send_message_batch",
            {"Successful": [{"Id": "0", "MessageId": "m1", "MD5OfMessageBody": "x"}], "Failed": []},
            {"QueueUrl": QUEUE, "Entries": [_entry(messages[1], 0)]},
        )
        assert queue.send(sqs, QUEUE, messages, sleep=sleeps, rand=lambda: 1.0) == 3
        stub.assert_no_pending_responses()
    assert sleeps.calls == [0.25]


def test_send_raises_when_entries_keep_failing() -> None:
    sqs = boto3.client("sqs", region_name="eu-west-1")
    failed = {"Successful": [], "Failed": [{"Id": "0", "SenderFault": False, "Code": "Internal"}]}
    with Stubber(sqs) as stub:
        for _ in range(queue.SEND_ATTEMPTS):
            stub.add_response("send_message_batch", failed, {"QueueUrl": QUEUE, "Entries": ANY})
        with pytest.raises(queue.QueueSendError, match="1 message"):
            queue.send(sqs, QUEUE, [out(0)], sleep=Sleeps(), rand=lambda: 0.0)
        stub.assert_no_pending_responses()


def test_send_raises_at_once_on_sender_fault() -> None:
    sqs = boto3.client("sqs", region_name="eu-west-1")
    failed = {
        "Successful": [],
        "Failed": [{"Id": "0", "SenderFault": True, "Code": "InvalidParameterValue"}],
    }
    with Stubber(sqs) as stub:
        stub.add_response("send_message_batch", failed)
        with pytest.raises(queue.QueueSendError, match="InvalidParameterValue"):
            queue.send(sqs, QUEUE, [out(0)], sleep=Sleeps(), rand=lambda: 0.0)


# --- rate limiter -----------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_rate_limiter_spaces_calls() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=48.0, burst=1, clock=clock, sleep=clock.sleep)
    for _ in range(97):
        limiter.acquire()
    assert clock.now - 100.0 == pytest.approx(96 / 48)


def test_rate_limiter_allows_a_burst_then_refills() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=10.0, burst=5, clock=clock, sleep=clock.sleep)
    assert [limiter.acquire() for _ in range(5)] == [0.0] * 5
    assert limiter.acquire() == pytest.approx(0.1)
    clock.now += 10
    assert limiter.acquire() == 0.0


def test_rate_limiter_terminates_with_a_frozen_clock() -> None:
    sleeps = Sleeps()
    limiter = RateLimiter(rate=4.0, burst=1, clock=lambda: 5.0, sleep=sleeps)
    for _ in range(5):
        limiter.acquire()
    assert sleeps.calls == pytest.approx([0.25, 0.5, 0.75, 1.0])


def test_rate_limiter_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="rate"):
        RateLimiter(rate=0, burst=1, clock=lambda: 0.0, sleep=lambda _: None)
