"""The finalizer's retention listing resumes across invocations (issue 10 "At scale", issue
14.6): against moto behind an AWS-like ListBackups (time bounds, 100 per page,
ExclusiveStartBackupArn, USER by default), with a time budget that runs low after a few
ListBackups calls, a listing ends in exactly the survivors of a decision over the whole
history, whatever the cuts, crashes and redeliveries."""

from __future__ import annotations

import base64
import json
import os
import random
import zlib
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from freezegun import freeze_time
from moto import mock_aws
from moto.dynamodb.models import dynamodb_backends
from moto.sns.models import sns_backends

from dynamodb_backup import finalize, monitor
from dynamodb_backup.aws import Clients
from dynamodb_backup.budget import Budget
from dynamodb_backup.config import MonitorConfig
from dynamodb_backup.fold import Candidate, Position, TableFold, TierState
from dynamodb_backup.messages import FinalizeMessage, Window, decode, encode
from dynamodb_backup.model import BackupSummary
from dynamodb_backup.naming import backup_name
from dynamodb_backup.policy import Policy, kept
from dynamodb_backup.retention import is_own
from dynamodb_backup.tiers import Dated, Tiers

REGION = "eu-west-1"
ACCOUNT = "123456789012"
PREFIX = "scheduled"
SLOT = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)
NOW = SLOT + timedelta(minutes=10)
SESSION = boto3.session.Session()
MOTO_SIZE = 123  # moto reports every backup's BackupSizeBytes as 123


def no_sleep(_seconds: float) -> None:
    """Tests never wait for real."""


@dataclass
class Account:
    ddb: Any  # ListBackupsLikeAws around moto's client
    sqs: Any
    queue_url: str
    topic_arn: str
    calls_per_invocation: int | None = 5
    invocations: int = 0
    emf: list[dict[str, Any]] = field(default_factory=list)

    def backups(self) -> dict[str, Any]:
        store: dict[str, Any] = dynamodb_backends[ACCOUNT][REGION].backups
        return store

    def backup(self, table: str, created: datetime, name: str | None = None) -> str:
        response = self.ddb.create_backup(
            TableName=table, BackupName=name or backup_name(PREFIX, table, created)
        )
        arn: str = response["BackupDetails"]["BackupArn"]
        self.backups()[arn].creation_date_time = created.replace(tzinfo=None)
        return arn

    def budget(self) -> Budget:
        """Low (below 25% of the start) after `calls_per_invocation` ListBackups calls."""
        if self.calls_per_invocation is None:
            return Budget(None)
        start, step = self.ddb.calls, 60_000 // (self.calls_per_invocation + 1)
        return Budget(lambda: 60_000 - step * (self.ddb.calls - start) - 1)

    def receive(self) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        while True:
            response = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
            )
            messages = response.get("Messages", [])
            if not messages:
                return records
            for message in messages:
                records.append(
                    {
                        "messageId": message["MessageId"],
                        "body": message["Body"],
                        "attributes": dict(message.get("Attributes", {})),
                    }
                )
                self.sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )

    def invoke(
        self, records: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
    ) -> dict[str, Any]:
        self.invocations += 1
        response = monitor.run(
            {"Records": records},
            config=MonitorConfig.from_env(os.environ),
            clients=Clients.of(dynamodb=self.ddb, sqs=self.sqs, sns=SESSION.client("sns")),
            now=lambda: NOW,
            sleep=no_sleep,
            monotonic=lambda: 0.0,
            budget=self.budget(),
        )
        for line in capsys.readouterr().out.splitlines():
            if line.startswith("{") and '"_aws"' in line:
                self.emf.append(json.loads(line))
        return response

    def drain(self, capsys: pytest.CaptureFixture[str], limit: int = 200) -> None:
        """Invoke the monitor on whatever is queued until the queue is empty."""
        for _ in range(limit):
            records = self.receive()
            if not records:
                return
            assert self.invoke(records, capsys) == {"batchItemFailures": []}
        pytest.fail(f"the queue did not drain in {limit} invocations")

    def storage(self) -> list[int]:
        return [doc["BackupStorageBytes"] for doc in self.emf if "BackupStorageBytes" in doc]

    def alerts(self) -> list[tuple[str, str]]:
        topic = sns_backends[ACCOUNT][REGION].topics[self.topic_arn]
        return [(subject or "", message) for _, message, subject, _, _ in topic.sent_notifications]

    def survivors(self) -> set[str]:
        return {arn for arn, b in self.backups().items() if b.status == "AVAILABLE"}


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch, aws_like: Any) -> Iterator[Account]:
    with freeze_time(NOW, tick=True), mock_aws():
        sqs = SESSION.client("sqs", region_name=REGION)
        queue_url = sqs.create_queue(
            QueueName="backup-monitor.fifo",
            Attributes={"FifoQueue": "true", "VisibilityTimeout": "900"},
        )["QueueUrl"]
        topic_arn = SESSION.client("sns", region_name=REGION).create_topic(Name="alerts")[
            "TopicArn"
        ]
        monkeypatch.setenv("MONITOR_QUEUE_URL", queue_url)
        monkeypatch.setenv("ALERT_TOPIC_ARN", topic_arn)
        monkeypatch.setenv("BACKUP_NAME_PREFIX", PREFIX)
        yield Account(
            ddb=aws_like(SESSION.client("dynamodb", region_name=REGION)),
            sqs=sqs,
            queue_url=queue_url,
            topic_arn=topic_arn,
        )


def make_tables(account: Account, names: list[str]) -> None:
    for name in names:
        account.ddb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )


def history(account: Account, tables: list[str], days: int, seed: int) -> None:
    """Daily backups for `days` days with gaps and extra ones, plus foreign ones."""
    rng = random.Random(seed)
    for table in tables:
        for day in range(1, days + 1):
            if rng.random() < 0.1:
                continue  # a day without a backup
            moment = SLOT - timedelta(days=day)
            account.backup(table, moment)
            if rng.random() < 0.1:  # a second run the same day
                account.backup(table, moment + timedelta(hours=7, seconds=rng.randrange(60)))
        account.backup(table, SLOT - timedelta(days=400), name=f"manual-{table}")


def run(account: Account, tables: list[str], fail: frozenset[str] = frozenset()) -> None:
    """This run's backups (those in `fail` are DELETED: the run failed for them) and its
    finalizer, queued."""
    created = SLOT + timedelta(seconds=1)
    for table in tables:
        arn = account.backup(table, created, name=backup_name(PREFIX, table, SLOT))
        if table in fail:
            account.backups()[arn].status = "DELETED"
    window = Window.around([created])
    message = FinalizeMessage(
        prefix=PREFIX, slot=SLOT, attempt=0, window=window, tables=len(tables), started=window.start
    )
    account.sqs.send_message(
        QueueUrl=account.queue_url,
        MessageBody=encode(message),
        MessageGroupId="final",
        MessageDeduplicationId="first",
    )


def expected(account: Account, fail: frozenset[str] = frozenset()) -> tuple[set[str], int]:
    """The reference: `policy.kept` over each table's whole history at NOW; and the bytes
    of the own AVAILABLE backups that stay."""
    config = MonitorConfig.from_env(os.environ)
    by_table: dict[str, list[Dated]] = defaultdict(list)
    survivors: set[str] = set()
    own = 0
    for arn, b in account.backups().items():
        if b.status != "AVAILABLE":
            continue
        created = b.creation_date_time.replace(tzinfo=UTC)
        if not is_own(BackupSummary(b.table.name, b.name, arn, created, b.status, b.type), PREFIX):
            survivors.add(arn)
        elif b.table.name in fail:  # its run failed: everything of it stays
            survivors.add(arn)
            own += 1
        else:
            by_table[b.table.name].append(Dated(arn, created))
    for table, dated in by_table.items():
        keep = kept(dated, config.policies.for_table(table), NOW)
        survivors |= set(keep)
        own += len(keep)
    return survivors, own * MOTO_SIZE


def continuations(records: list[dict[str, Any]]) -> list[FinalizeMessage]:
    found = []
    for item in records:
        message = decode(item["body"])
        if isinstance(message, FinalizeMessage) and message.listing is not None:
            found.append(message)
    return found


TIERS = {
    "RETENTION_DAYS": "3",
    "KEEP_DAILY": "7",
    "KEEP_WEEKLY": "4",
    "KEEP_MONTHLY": "12",
    "KEEP_YEARLY": "1",
    "RETENTION_OVERRIDES": json.dumps({"users": {"keep_monthly": 2, "min_backups_to_keep": 9}}),
}
TABLES = ["orders", "users", "carts"]


def tiered(account: Account, monkeypatch: pytest.MonkeyPatch) -> tuple[set[str], int]:
    for key, value in TIERS.items():
        monkeypatch.setenv(key, value)
    make_tables(account, TABLES)
    history(account, TABLES, days=420, seed=7)
    run(account, TABLES, fail=frozenset({"carts"}))
    return expected(account, fail=frozenset({"carts"}))


def test_a_listing_over_several_invocations_ends_in_the_reference_survivors(
    account: Account, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    survivors, storage = tiered(account, monkeypatch)
    assert len(account.backups()) - len(survivors) > 500  # a lot to delete

    account.drain(capsys)

    assert account.survivors() == survivors
    assert account.storage() == [storage]  # once: by the invocation that listed the last window
    assert account.invocations >= 4
    assert account.alerts() == []


def test_the_continuation_carries_the_position_and_decodes(
    account: Account, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    survivors, storage = tiered(account, monkeypatch)
    first = account.receive()
    assert account.invoke(first, capsys) == {"batchItemFailures": []}
    queued = account.receive()
    [follow] = continuations(queued)
    body = next(r["body"] for r in queued if "listing" in json.loads(r["body"]))
    assert encode(follow) == body
    assert follow.listing is not None
    assert follow.listing.now == NOW
    assert sorted(follow.listing.tables) == ["orders", "users"]  # carts failed: no state
    assert follow.listing.upper < SLOT
    assert account.storage() == []  # not yet: only the one that finishes emits it
    for item in queued:  # back in the queue, as they were
        account.sqs.send_message(
            QueueUrl=account.queue_url,
            MessageBody=item["body"],
            MessageGroupId=item["attributes"]["MessageGroupId"],
            MessageDeduplicationId=item["attributes"]["MessageDeduplicationId"],
        )
    account.drain(capsys)
    assert account.survivors() == survivors
    assert account.storage() == [storage]


@pytest.mark.parametrize("crash_at", [3, 8, 12])
def test_a_crash_mid_listing_and_redelivery_give_the_same_survivors(
    account: Account,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    crash_at: int,
) -> None:
    survivors, storage = tiered(account, monkeypatch)
    account.ddb.fail_on = crash_at
    failed = 0
    for _ in range(100):
        records = account.receive()
        if not records:
            break
        response = account.invoke(records, capsys)
        returned = {f["itemIdentifier"] for f in response["batchItemFailures"]}
        failed += len(returned)
        for item in records:  # SQS redelivers a returned record after its visibility timeout
            if item["messageId"] in returned:
                assert isinstance(decode(item["body"]), FinalizeMessage)
                account.sqs.send_message(
                    QueueUrl=account.queue_url,
                    MessageBody=item["body"],
                    MessageGroupId=item["attributes"]["MessageGroupId"],
                    MessageDeduplicationId="redelivered",
                )
    assert failed == 1
    assert account.ddb.calls > crash_at
    assert account.survivors() == survivors
    assert account.storage() == [storage]


def test_a_redelivered_continuation_deletes_nothing_more(
    account: Account, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A continuation handled twice (its invocation died after sending what it decided):
    both copies go on from the same position; the deletions are the same ones."""
    survivors, _ = tiered(account, monkeypatch)
    account.invoke(account.receive(), capsys)
    queued = account.receive()
    [follow] = continuations(queued)
    again = [item for item in queued if "listing" in json.loads(item["body"])]
    account.invoke(queued, capsys)
    account.invoke([again[0] | {"messageId": "again"}], capsys)
    account.drain(capsys)
    assert follow.listing is not None
    assert account.survivors() == survivors


def test_a_retention_backlog_drains_across_invocations(
    account: Account, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Retention lowered from 45 to 3 days: far more past the cutoff than one invocation
    lists. The window that does not fit is halved until it does; everything drains."""
    monkeypatch.setenv("RETENTION_DAYS", "3")
    tables = [f"table-{n}" for n in range(8)]
    make_tables(account, tables)
    history(account, tables, days=45, seed=3)
    run(account, tables)
    survivors, _ = expected(account)
    assert len(account.backups()) - len(survivors) > 300  # more than three pages
    account.calls_per_invocation = 2

    account.drain(capsys)

    assert account.survivors() == survivors
    assert account.invocations > 3
    assert account.storage() == []  # not every backup was listed: no storage figure


def test_without_a_budget_one_invocation_lists_everything(
    account: Account, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    survivors, storage = tiered(account, monkeypatch)
    account.calls_per_invocation = None
    account.drain(capsys)
    assert account.invocations == 2  # the finalizer, then its deletions
    assert account.survivors() == survivors
    assert account.storage() == [storage]


def _corrupt(listing: str) -> str:
    window = Window.around([SLOT])
    doc = json.loads(
        encode(
            FinalizeMessage(
                prefix=PREFIX, slot=SLOT, attempt=0, window=window, tables=1, started=window.start
            )
        )
    )
    doc["listing"] = listing
    return json.dumps(doc)


@pytest.mark.parametrize(
    "listing",
    [
        "not base64!",
        base64.b64encode(b"not zlib").decode(),
        base64.b64encode(zlib.compress(b"[]")).decode(),
        base64.b64encode(zlib.compress(b'{"now": 1}')).decode(),
        base64.b64encode(zlib.compress(b"{" * 100_000)).decode(),
        base64.b64encode(zlib.compress(b" " * (20 * 1024 * 1024))).decode(),  # a zip bomb
        base64.b64encode(zlib.compress(b"{}")[:-2]).decode(),  # truncated
    ],
)
def test_a_corrupt_continuation_is_alerted_and_returned(
    account: Account, capsys: pytest.CaptureFixture[str], listing: str
) -> None:
    record = {"messageId": "m1", "body": _corrupt(listing), "attributes": {"MessageGroupId": "f"}}
    response = account.invoke([record], capsys)
    assert response == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    [(subject, body)] = account.alerts()
    assert "unreadable queue message m1" in subject
    assert "listing" in body
    assert [doc["MessagesUnreadable"] for doc in account.emf] == [1]


def test_a_large_continuation_is_split_by_table_and_each_part_fits() -> None:
    """10,000 tables mid-listing with 7/4/12/1, each with a pending candidate: the
    position is split into parts of at most 200,000 bytes, together holding every table
    once; no part claims a storage figure (none sees every table)."""
    rng = random.Random(1)
    policy = Policy(retention_days=3, min_keep=1, tiers=Tiers(7, 4, 12, 1))
    tables: dict[str, TableFold] = {}
    for n in range(10_000):
        state = TableFold.start(policy)
        state.min_left = 0
        state.tiers["monthly"] = TierState(rng.randrange(1, 12), (2026, rng.randrange(1, 13)))
        state.tiers["yearly"] = TierState(0, (2026,))
        ident = f"{rng.randrange(10**13):014d}-{rng.randrange(16**8):08x}"
        state.pending = Candidate(
            f"arn:aws:dynamodb:eu-west-1:123456789012:table/table-{n:05d}/backup/{ident}",
            NOW,
            rng.randrange(10**9),
        )
        tables[f"table-{n:05d}"] = state
    window = Window.around([SLOT])
    message = FinalizeMessage(
        prefix=PREFIX, slot=SLOT, attempt=0, window=window, tables=10_000, started=window.start
    )
    position = Position(NOW, SLOT - timedelta(days=30), 86_400, 12345, tables)

    parts = finalize.continuations(message, position)

    assert len(parts) > 1
    sizes = [len(encode(p)) for p in parts]
    assert max(sizes) <= finalize.SPLIT_BYTES
    seen = [t for p in parts if p.listing is not None for t in p.listing.tables]
    assert sorted(seen) == sorted(tables)
    assert all(p.listing is not None and p.listing.storage is None for p in parts)
    back = decode(encode(parts[0]))
    assert isinstance(back, FinalizeMessage)
    assert back.listing is not None
    assert back.listing.upper == SLOT - timedelta(days=30)


def test_a_small_continuation_stays_whole() -> None:
    window = Window.around([SLOT])
    message = FinalizeMessage(
        prefix=PREFIX, slot=SLOT, attempt=0, window=window, tables=2, started=window.start
    )
    tables = {"orders": TableFold(min_left=1), "users": TableFold(min_left=0)}
    [whole] = finalize.continuations(message, Position(NOW, SLOT, 60, 7, tables))
    assert whole.listing is not None
    assert whole.listing.storage == 7
