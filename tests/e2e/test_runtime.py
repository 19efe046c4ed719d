"""The local runtime's own pieces: clock, server and interceptors, AWS semantics, ESM."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from localrun.aws_like import install_aws_semantics
from localrun.clock import VirtualClock, iso_z, parse_utc
from localrun.server import ApiCall, AwsResponse, Forward, LocalAws, aws_error, json_response

from .conftest import START


def _table(aws: LocalAws, name: str = "orders") -> None:
    aws.client("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


# clock ------------------------------------------------------------------------------------
def test_clock_moves_only_when_told() -> None:
    clock = VirtualClock(START)
    assert clock.now() == START
    clock.advance(90)
    assert clock.now() == START + timedelta(seconds=90)
    clock.sleep(10)
    assert clock.now() == START + timedelta(seconds=100)
    with pytest.raises(ValueError, match="advances"):
        clock.advance(-1)
    with pytest.raises(ValueError, match="aware"):
        VirtualClock(datetime(2026, 1, 1))


def test_concurrent_sleeps_overlap_like_real_ones() -> None:
    clock = VirtualClock(START)
    barrier = threading.Barrier(4)

    def worker() -> None:
        target = clock.now() + timedelta(seconds=5)
        barrier.wait()
        clock.sleep_until(target)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert clock.now() == START + timedelta(seconds=5)


def test_installed_clock_is_the_process_time(clock: VirtualClock) -> None:
    clock.move_to(START)
    assert datetime.now(UTC) == START
    assert time.time() == START.timestamp()
    time.sleep(3600)  # returns at once, one virtual hour later
    assert datetime.now(UTC) == START + timedelta(hours=1)


def test_iso_helpers_round_trip() -> None:
    assert iso_z(parse_utc("2026-11-28T04:00:00Z")) == "2026-11-28T04:00:00Z"
    assert parse_utc("2026-11-28T05:00:00+01:00") == datetime(2026, 11, 28, 4, tzinfo=UTC)


# server and interceptors -------------------------------------------------------------------
def test_calls_are_recorded_with_principal_and_resource(aws: LocalAws) -> None:
    _table(aws)
    backup = aws.client("dynamodb", "scheduler").create_backup(
        TableName="orders", BackupName="scheduled-orders-1"
    )["BackupDetails"]
    sqs = aws.client("sqs", "monitor")
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="x")
    topic = aws.client("sns").create_topic(Name="alerts")["TopicArn"]
    aws.client("sns", "monitor").publish(TopicArn=topic, Message="m")
    seen = [(c.call.principal, c.call.action, c.call.resource_arn) for c in aws.calls]
    region, account = aws.region, aws.account
    assert (
        "scheduler",
        "dynamodb:CreateBackup",
        f"arn:aws:dynamodb:{region}:{account}:table/orders",
    ) in seen
    assert ("monitor", "sqs:SendMessage", f"arn:aws:sqs:{region}:{account}:q") in seen
    assert ("monitor", "sns:Publish", topic) in seen
    assert backup["BackupStatus"] == "AVAILABLE"  # moto's own answer: no lifecycle installed


def test_interceptor_answers_instead_of_moto(aws: LocalAws) -> None:
    _table(aws)

    def refuse(call: ApiCall, forward: Forward) -> AwsResponse:
        if call.operation == "CreateBackup":
            return aws_error(call, "LimitExceededException", "too many backups")
        return forward(call)

    client = aws.client("dynamodb")
    with aws.intercepting(refuse), pytest.raises(ClientError) as caught:
        client.create_backup(TableName="orders", BackupName="scheduled-x")
    assert caught.value.response["Error"]["Code"] == "LimitExceededException"
    assert client.list_backups()["BackupSummaries"] == []
    refused = [c for c in aws.calls if c.call.operation == "CreateBackup"]
    assert refused
    assert {c.error_code for c in refused} == {"LimitExceededException"}
    # removed again: the next call reaches moto
    client.create_backup(TableName="orders", BackupName="scheduled-x")
    assert len(client.list_backups()["BackupSummaries"]) == 1


def test_query_protocol_errors_reach_the_client(aws: LocalAws) -> None:
    sns = aws.client("sns")
    topic = sns.create_topic(Name="alerts")["TopicArn"]

    def deny(call: ApiCall, forward: Forward) -> AwsResponse:
        if call.operation == "Publish":
            return aws_error(call, "AuthorizationError", "not allowed", status=403)
        return forward(call)

    with aws.intercepting(deny), pytest.raises(ClientError) as caught:
        sns.publish(TopicArn=topic, Message="x")
    assert caught.value.response["Error"]["Code"] == "AuthorizationError"


def test_interceptor_can_rewrite_and_postprocess(aws: LocalAws) -> None:
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName="q")["QueueUrl"]

    def upper(call: ApiCall, forward: Forward) -> AwsResponse:
        if call.operation == "SendMessage":
            return forward(call.with_params({**call.params, "MessageBody": "REWRITTEN"}))
        if call.operation == "ReceiveMessage":
            data = forward(call).json()
            data["Messages"] = [{**m, "Body": m["Body"].lower()} for m in data["Messages"]]
            return json_response(data, service="sqs")
        return forward(call)

    with aws.intercepting(upper):
        sqs.send_message(QueueUrl=url, MessageBody="original")
        body = sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"]
    assert body == "rewritten"


def test_interceptors_run_outermost_first(aws: LocalAws) -> None:
    order: list[str] = []

    def named(name: str) -> Any:
        def interceptor(call: ApiCall, forward: Forward) -> AwsResponse:
            order.append(name)
            return forward(call)

        return interceptor

    aws.intercept(named("first"))
    aws.intercept(named("second"))
    aws.client("dynamodb").list_tables()
    assert order == ["first", "second"]


# AWS semantics in front of moto -------------------------------------------------------------
def test_list_backups_filters_time_and_pages(aws: LocalAws, clock: VirtualClock) -> None:
    install_aws_semantics(aws, clock, lambda _t: 0.0)
    _table(aws)
    client = aws.client("dynamodb")
    arns = []
    for i in range(250):
        arns.append(
            client.create_backup(TableName="orders", BackupName=f"scheduled-{i:03d}")[
                "BackupDetails"
            ]["BackupArn"]
        )
        clock.advance(60)
    pages = list(client.get_paginator("list_backups").paginate(TableName="orders"))
    assert [len(p["BackupSummaries"]) for p in pages] == [100, 100, 50]
    listed = [s["BackupArn"] for p in pages for s in p["BackupSummaries"]]
    assert listed == arns
    window = client.list_backups(
        TableName="orders",
        TimeRangeLowerBound=START + timedelta(minutes=10),
        TimeRangeUpperBound=START + timedelta(minutes=13),
    )["BackupSummaries"]
    assert [s["BackupName"] for s in window] == ["scheduled-010", "scheduled-011", "scheduled-012"]
    assert len(client.list_backups(Limit=7)["BackupSummaries"]) == 7


def test_backups_are_creating_for_a_while(aws: LocalAws, clock: VirtualClock) -> None:
    install_aws_semantics(aws, clock, lambda table: None if table == "stuck" else 120.0)
    _table(aws)
    _table(aws, "stuck")
    client = aws.client("dynamodb")
    created = client.create_backup(TableName="orders", BackupName="scheduled-a")["BackupDetails"]
    stuck = client.create_backup(TableName="stuck", BackupName="scheduled-b")["BackupDetails"]
    assert created["BackupStatus"] == "CREATING"

    def status(arn: str) -> str:
        described = client.describe_backup(BackupArn=arn)["BackupDescription"]
        return str(described["BackupDetails"]["BackupStatus"])

    with pytest.raises(ClientError) as caught:
        client.delete_backup(BackupArn=created["BackupArn"])
    assert caught.value.response["Error"]["Code"] == "BackupInUseException"
    clock.advance(119)
    assert status(created["BackupArn"]) == "CREATING"
    clock.advance(1)
    assert status(created["BackupArn"]) == "AVAILABLE"
    clock.advance(86400)
    assert status(stuck["BackupArn"]) == "CREATING"


def test_fifo_dedup_is_per_group_and_outlives_deletion(aws: LocalAws, clock: VirtualClock) -> None:
    semantics = install_aws_semantics(aws, clock, lambda _t: 0.0)
    sqs = aws.client("sqs")
    url = sqs.create_queue(
        QueueName="q.fifo",
        Attributes={
            "FifoQueue": "true",
            "ContentBasedDeduplication": "true",
            "DeduplicationScope": "messageGroup",
            "FifoThroughputLimit": "perMessageGroupId",
        },
    )["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="a")
    first = sqs.receive_message(QueueUrl=url)["Messages"][0]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"])
    clock.advance(60)
    sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="a")  # dropped: < 5 min
    batch = sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "1", "MessageBody": "same", "MessageGroupId": "a"},  # dropped
            {"Id": "2", "MessageBody": "other", "MessageGroupId": "a"},
        ],
    )
    assert sorted(e["Id"] for e in batch["Successful"]) == ["1", "2"]
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in received] == ["other"]
    assert len(semantics.dedup.dropped) == 2
    for message in received:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    clock.advance(300)
    sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="a")  # 6 min: accepted
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=url)["Messages"]] == ["same"]


def test_error_code_parsing() -> None:
    call = ApiCall("dynamodb", "CreateBackup", {}, "p", "r", "a", "json", None)
    assert aws_error(call, "TableInUseException", "busy").error_code == "TableInUseException"
    query = ApiCall("sns", "Publish", {}, "p", "r", "a", "query", None)
    assert aws_error(query, "Throttling", "slow", 400).error_code == "Throttling"
    assert json_response({"ok": 1}).error_code is None
    assert json.loads(json_response({"ok": 1}).body) == {"ok": 1}


def test_tiny_sleeps_still_move_the_clock() -> None:
    clock = VirtualClock(START)
    clock.sleep(1e-9)
    assert clock.now() > START
