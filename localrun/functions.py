"""Lambda, played locally: a function's environment, context, logs and invocation.

`LocalFunction.invoke(event)` runs the real handler in this process, the way the Lambda
service would: with the function's environment variables (and AWS credentials naming
its principal, see `localrun.server`), a context whose `get_remaining_time_in_millis()`
counts down on the virtual clock, stdout captured (the EMF metric lines), and the
CloudWatch Logs calls Lambda makes with the function's role recorded for the IAM proof.
An invocation that outlives its timeout on the virtual clock counts as timed out (Lambda
would have killed it) even though the handler returned.

Invocations of the same function may run at once in several threads, as Lambda runs them
in several sandboxes: they share the function's environment (os.environ is the process's,
so functions with different environments take turns) and each captures its own stdout and
log records. `reserved_concurrency` plays Lambda's reserved concurrency: an invocation
beyond it is throttled, and `invoke_async` retries a throttled event as Lambda's
asynchronous invocation does.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import logging
import os
import sys
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import botocore.loaders
import botocore.session
from botocore.client import BaseClient

from localrun.clock import VirtualClock
from localrun.server import ApiCall, LocalAws


class _SharedEnviron:
    """os.environ and sys.stdout for the invocations running now.

    Invocations with the same environment run together; one with another environment
    waits until they have all returned. While any runs, sys.stdout is a proxy that
    writes each thread's output into that thread's buffer.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._key: tuple[tuple[str, str], ...] | None = None
        self._count = 0
        self._saved: dict[str, str] = {}
        self._stdout: Any = None
        self._buffers = threading.local()

    def write(self, text: str) -> int:
        buffer: io.StringIO | None = getattr(self._buffers, "out", None)
        if buffer is None:
            return int(self._stdout.write(text))
        return buffer.write(text)

    def flush(self) -> None:
        if getattr(self._buffers, "out", None) is None:
            self._stdout.flush()

    @contextlib.contextmanager
    def use(self, environment: Mapping[str, str], out: io.StringIO) -> Iterator[None]:
        key = tuple(sorted(environment.items()))
        with self._cond:
            while self._count and self._key != key:
                self._cond.wait()
            if self._count == 0:
                self._key = key
                self._saved = dict(os.environ)
                os.environ.update(environment)
                self._stdout = sys.stdout
                sys.stdout = self
            self._count += 1
        self._buffers.out = out
        try:
            yield
        finally:
            self._buffers.out = None
            with self._cond:
                self._count -= 1
                if self._count == 0:
                    os.environ.clear()
                    os.environ.update(self._saved)
                    sys.stdout = self._stdout
                    self._key = None
                    self._cond.notify_all()


_environ = _SharedEnviron()


class ThrottledError(Exception):
    """Lambda's TooManyRequestsException: the function's reserved concurrency is in use."""


class _ThisThread(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self.thread = threading.get_ident()

    def filter(self, record: logging.LogRecord) -> bool:
        return record.thread == self.thread


class SimulatedCrash(BaseException):
    """Raised into a handler to play a crash (out of memory, a killed sandbox)."""


@dataclass
class LambdaContext:
    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    deadline: datetime
    clock: VirtualClock
    function_version: str = "$LATEST"

    def get_remaining_time_in_millis(self) -> int:
        left = (self.deadline - self.clock.now()).total_seconds()
        return max(0, int(left * 1000))


@dataclass
class Invocation:
    function: str
    event: Mapping[str, Any]
    started: datetime
    ended: datetime
    result: Any = None
    error: BaseException | None = None
    timed_out: bool = False
    metrics: list[dict[str, Any]] = field(default_factory=list)
    log: str = ""

    @property
    def failed(self) -> bool:
        return self.error is not None or self.timed_out


CrashRule = Callable[[str, Mapping[str, Any]], bool]

_loaders: dict[str | None, Any] = {}


def _shared_loader(search_path_string: str | None = None) -> Any:
    """One botocore data loader per search path for the whole process.

    The handlers build a new boto3 session per invocation, which parses botocore's
    service models again (about 10 ms of JSON per client). Sharing the loader, as one
    long-lived session would, keeps a week of cycles fast; the clients are unchanged.
    """
    if search_path_string not in _loaders:
        _loaders[search_path_string] = botocore.loaders.create_loader(search_path_string)
    return _loaders[search_path_string]


def share_botocore_loader() -> None:
    setattr(botocore.session, "create_loader", _shared_loader)  # noqa: B010


@contextlib.contextmanager
def _crash_after(rule: CrashRule | None) -> Iterator[None]:
    """Raise `SimulatedCrash` right after an API call for which `rule` says so."""
    if rule is None:
        yield
        return
    original = getattr(BaseClient, "_make_api_call")  # noqa: B009

    def wrapped(self: Any, operation_name: str, api_params: Mapping[str, Any]) -> Any:
        result = original(self, operation_name, api_params)
        if rule(operation_name, api_params):
            raise SimulatedCrash(f"simulated crash after {operation_name}")
        return result

    setattr(BaseClient, "_make_api_call", wrapped)  # noqa: B010
    try:
        yield
    finally:
        setattr(BaseClient, "_make_api_call", original)  # noqa: B010


@dataclass
class LocalFunction:
    name: str
    handler: str  # "dynamodb_backup.monitor.handler"
    principal: str
    environment: dict[str, str]
    timeout_seconds: int
    aws: LocalAws
    clock: VirtualClock
    memory_mb: int = 256
    # None: unreserved (as many at once as are invoked); n: at most n at once
    reserved_concurrency: int | None = None
    invocations: list[Invocation] = field(default_factory=list)
    throttles: int = 0
    _streams: int = 0
    _running: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # notified whenever an invocation is throttled or returns (what a waiter may wait for)
    changed: threading.Condition = field(default_factory=threading.Condition)

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{self.aws.region}:{self.aws.account}:function:{self.name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.name}"

    @property
    def log_group_arn(self) -> str:
        return f"arn:aws:logs:{self.aws.region}:{self.aws.account}:log-group:{self.log_group_name}"

    def _log_call(self, operation: str, stream: str) -> None:
        self.aws.record(
            ApiCall(
                service="logs",
                operation=operation,
                params={"logGroupName": self.log_group_name, "logStreamName": stream},
                principal=self.principal,
                region=self.aws.region,
                account=self.aws.account,
                protocol="json",
                resource_arn=f"{self.log_group_arn}:log-stream:{stream}",
            )
        )

    def _resolve(self) -> Callable[[Any, Any], Any]:
        module_name, _, attr = self.handler.rpartition(".")
        fn: Callable[[Any, Any], Any] = getattr(importlib.import_module(module_name), attr)
        return fn

    def invoke_async(self, event: Mapping[str, Any], *, throttle_retries: int = 100) -> Invocation:
        """Lambda's asynchronous invocation: an event throttled by the reserved concurrency
        waits in Lambda's queue and is tried again (for up to six hours), not dropped.
        Played as: try again whenever a running invocation of this function returns."""
        for _ in range(throttle_retries):
            try:
                return self.invoke(event)
            except ThrottledError:
                with self.changed:
                    self.changed.wait_for(
                        lambda: self._running < (self.reserved_concurrency or 1), timeout=60
                    )
        return self.invoke(event)

    def invoke(self, event: Mapping[str, Any], crash_after: CrashRule | None = None) -> Invocation:
        """Run the handler once; raises `ThrottledError` when the reserved concurrency is in use."""
        with self._lock:
            limit = self.reserved_concurrency
            if limit is not None and self._running >= limit:
                self.throttles += 1
                with self.changed:
                    self.changed.notify_all()
                raise ThrottledError(f"{self.name}: reserved concurrency {limit} in use")
            self._running += 1
        try:
            return self._run(event, crash_after)
        finally:
            with self._lock:
                self._running -= 1
            with self.changed:
                self.changed.notify_all()

    def _run(self, event: Mapping[str, Any], crash_after: CrashRule | None) -> Invocation:
        share_botocore_loader()
        started = self.clock.now()
        stream = f"{started:%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"
        if self._streams == 0:
            self._log_call("CreateLogStream", stream)
        self._streams += 1
        context = LambdaContext(
            function_name=self.name,
            invoked_function_arn=self.arn,
            memory_limit_in_mb=self.memory_mb,
            aws_request_id=str(uuid.uuid4()),
            log_group_name=self.log_group_name,
            log_stream_name=stream,
            deadline=started + timedelta(seconds=self.timeout_seconds),
            clock=self.clock,
        )
        out = io.StringIO()
        log_buffer = io.StringIO()
        log_handler = logging.StreamHandler(log_buffer)
        log_handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        log_handler.addFilter(_ThisThread())
        root = logging.getLogger()
        invocation = Invocation(self.name, event, started, started)
        environment = {**self.environment, **self.aws.env(self.principal)}
        with _environ.use(environment, out):
            root.addHandler(log_handler)
            try:
                with _crash_after(crash_after):
                    invocation.result = self._resolve()(dict(event), context)
            except BaseException as exc:
                if isinstance(exc, KeyboardInterrupt):
                    raise
                invocation.error = exc
            finally:
                root.removeHandler(log_handler)
        invocation.ended = self.clock.now()
        invocation.timed_out = invocation.ended > context.deadline
        invocation.log = log_buffer.getvalue()
        for line in out.getvalue().splitlines():
            with contextlib.suppress(ValueError):
                data = json.loads(line)
                if isinstance(data, dict) and "_aws" in data:
                    invocation.metrics.append(data)
        self._log_call("PutLogEvents", stream)
        with self._lock:
            self.invocations.append(invocation)
        return invocation
