"""AWS access: lazy clients, our retry policy and the ListBackups helper."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from dynamodb_backup.model import BackupSummary
from dynamodb_backup.naming import to_utc

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import ListBackupsOutputTypeDef
    from mypy_boto3_resourcegroupstaggingapi import ResourceGroupsTaggingAPIClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient

T = TypeVar("T")

# What AWS documents as retryable (throttles, KMS throttles, server faults) for every call
# we make, on top of botocore's own retries (which skip modeled errors such as
# KMSThrottling). Sources:
# - all services, common errors: ThrottlingException, Throttling, ServiceUnavailable,
#   InternalFailure (https://docs.aws.amazon.com/dynamodb/latest/APIReference/CommonErrors.html)
# - DynamoDB (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html):
#   ProvisionedThroughputExceededException, RequestLimitExceeded, InternalServerError,
#   LimitExceededException (CreateBackup/DeleteBackup: too many concurrent control plane
#   operations), BackupInUseException, TableInUseException
# - SNS Publish (https://docs.aws.amazon.com/sns/latest/api/API_Publish.html): Throttled,
#   KMSThrottling (encrypted topic), InternalError
# - SQS SendMessageBatch (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html):
#   RequestThrottled, KmsThrottled (query-compatible code KMS.ThrottlingException)
# - Resource Groups Tagging API GetResources
#   (https://docs.aws.amazon.com/resourcegroupstagging/latest/APIReference/API_GetResources.html):
#   ThrottledException, InternalServiceException
RETRYABLE_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ServiceUnavailable",
        "InternalFailure",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "InternalServerError",
        "LimitExceededException",
        "BackupInUseException",
        "TableInUseException",
        "Throttled",
        "KMSThrottling",
        "KMSThrottlingException",
        "InternalError",
        "RequestThrottled",
        "KmsThrottled",
        "KMS.ThrottlingException",
        "ThrottledException",
        "InternalServiceException",
    }
)
RETRY_BASE = 0.25
RETRY_CAP = 8.0
RETRY_ATTEMPTS = 6

CLIENT_CONFIG = Config(
    retries={"mode": "adaptive", "max_attempts": 5},
    connect_timeout=5,
    read_timeout=30,
    max_pool_connections=16,
)


class Clients:
    """The invocation's boto3 clients, each created on first use (thread-safe)."""

    def __init__(self, session: boto3.session.Session | None = None) -> None:
        self._session = session
        self._lock = threading.Lock()
        self._clients: dict[str, Any] = {}

    @classmethod
    def of(cls, **clients: Any) -> Clients:
        """Clients with some services given (stubbed in tests); the rest still lazy."""
        made = cls()
        made._clients.update(clients)
        return made

    def _client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                if self._session is None:
                    self._session = boto3.session.Session()
                self._clients[service] = self._session.client(  # type: ignore[call-overload]
                    service, config=CLIENT_CONFIG
                )
            return self._clients[service]

    @property
    def dynamodb(self) -> DynamoDBClient:
        client: DynamoDBClient = self._client("dynamodb")
        return client

    @property
    def sqs(self) -> SQSClient:
        client: SQSClient = self._client("sqs")
        return client

    @property
    def sns(self) -> SNSClient:
        client: SNSClient = self._client("sns")
        return client

    @property
    def tagging(self) -> ResourceGroupsTaggingAPIClient:
        client: ResourceGroupsTaggingAPIClient = self._client("resourcegroupstaggingapi")
        return client


def error_code(exc: BaseException) -> str:
    """The AWS error code of a ClientError, else the exception's class name."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "") or type(exc).__name__)
    return type(exc).__name__


def error_message(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Message", "") or exc)
    return str(exc)


def backoff_delay(attempt: int, rand: Callable[[], float]) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2**attempt))."""
    return float(rand() * min(RETRY_CAP, RETRY_BASE * 2.0**attempt))


def call_with_retries(
    call: Callable[[], T],
    *,
    sleep: Callable[[float], None],
    rand: Callable[[], float],
    attempts: int = RETRY_ATTEMPTS,
    retryable: frozenset[str] = RETRYABLE_CODES,
) -> T:
    """Run `call`, retrying retryable AWS errors with capped exponential backoff."""
    for attempt in range(attempts):
        try:
            return call()
        except ClientError as exc:
            if error_code(exc) not in retryable or attempt == attempts - 1:
                raise
            sleep(backoff_delay(attempt, rand))
    raise AssertionError("unreachable")  # pragma: no cover


def _size(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def summary_from(item: Any) -> BackupSummary | None:
    """A BackupSummary from a ListBackups entry; None when fields are missing."""
    try:
        return BackupSummary(
            table=str(item["TableName"]),
            name=str(item["BackupName"]),
            arn=str(item["BackupArn"]),
            created=to_utc(item["BackupCreationDateTime"]),
            status=str(item["BackupStatus"]),
            type=str(item.get("BackupType", "USER")),
            size_bytes=_size(item.get("BackupSizeBytes")),
        )
    except (KeyError, TypeError, AttributeError):
        return None


def list_backups(
    dynamodb: DynamoDBClient,
    *,
    sleep: Callable[[float], None],
    rand: Callable[[], float],
    lower: datetime | None = None,
    upper: datetime | None = None,
    backup_type: str = "USER",
    page_size: int = 100,
    pace: Callable[[], object] | None = None,
    table_name: str | None = None,
) -> Iterator[BackupSummary]:
    """Every backup of the account with `lower <= created < upper` and the given type.

    Paginated with ExclusiveStartBackupArn. The time range and type are sent to the API
    and applied client side as well (moto, and any lax endpoint, ignores them). `pace`
    (a rate limiter's `acquire`) is called before every request, retries included, to
    stay under ListBackups' 5 calls/s instead of running into throttling. `table_name`
    lists only that table's backups (sent as `TableName`, checked client side too).
    """
    params: dict[str, Any] = {"BackupType": backup_type, "Limit": page_size}
    if table_name is not None:
        params["TableName"] = table_name
    if lower is not None:
        params["TimeRangeLowerBound"] = lower
    if upper is not None:
        params["TimeRangeUpperBound"] = upper
    seen_pages: set[str] = set()

    def request() -> ListBackupsOutputTypeDef:
        if pace is not None:
            pace()
        return dynamodb.list_backups(**params)

    while True:
        page = call_with_retries(request, sleep=sleep, rand=rand)
        for item in page.get("BackupSummaries", []):
            summary = summary_from(item)
            if summary is None or summary.type != backup_type:
                continue
            if table_name is not None and summary.table != table_name:
                continue
            if lower is not None and summary.created < to_utc(lower):
                continue
            if upper is not None and summary.created >= to_utc(upper):
                continue
            yield summary
        last = page.get("LastEvaluatedBackupArn")
        if not last or last in seen_pages:
            return
        seen_pages.add(last)
        params["ExclusiveStartBackupArn"] = last


def describe_backup(
    dynamodb: DynamoDBClient,
    arn: str,
    *,
    sleep: Callable[[float], None],
    rand: Callable[[], float],
) -> str | None:
    """The status of one backup; None when it does not exist."""
    try:
        response = call_with_retries(
            lambda: dynamodb.describe_backup(BackupArn=arn), sleep=sleep, rand=rand
        )
    except ClientError as exc:
        if error_code(exc) == "BackupNotFoundException":
            return None
        raise
    status = response.get("BackupDescription", {}).get("BackupDetails", {}).get("BackupStatus")
    return str(status) if status else None


def list_tables(
    dynamodb: DynamoDBClient,
    *,
    sleep: Callable[[float], None],
    rand: Callable[[], float],
    page_size: int = 100,
) -> list[str]:
    """Every table name of the account in the client's region (ListTables, paginated with
    ExclusiveStartTableName: one call per 100 tables)."""
    names: list[str] = []
    params: dict[str, Any] = {"Limit": page_size}
    seen: set[str] = set()
    while True:
        page = call_with_retries(partial(dynamodb.list_tables, **params), sleep=sleep, rand=rand)
        names.extend(str(n) for n in page.get("TableNames", []))
        last = page.get("LastEvaluatedTableName")
        if not last or last in seen:
            return names
        seen.add(last)
        params["ExclusiveStartTableName"] = last
