"""moto's server on 127.0.0.1, with every AWS request recorded and interceptable.

`LocalAws` starts moto's `ThreadedMotoServer` on a free port and wraps its WSGI app in a
middleware that decodes each AWS request into an `ApiCall` (service, operation, decoded
parameters, calling principal, resource ARN), records it, and passes it through a chain
of interceptors before (or instead of) moto.

Principals: the caller's access key id is its principal. The runtime runs the scheduler
with `AWS_ACCESS_KEY_ID=scheduler`, the monitor (and the event source mapping, which
acts with the monitor's role) with `monitor`, and its own set-up calls with `runtime`.

The interceptor API (shared with the benchmark)::

    def interceptor(call: ApiCall, forward: Forward) -> AwsResponse:
        ...

An interceptor may
- inspect `call` and return `forward(call)` (pass on to the next interceptor, finally moto);
- sleep first (`time.sleep`: under the virtual clock this moves the clock) for latency;
- answer itself: `aws_error(call, "ThrottlingException", "Rate exceeded")` or
  `json_response({...})`, without reaching moto;
- rewrite the request: `forward(call.with_params({...}))` (the body is re-encoded);
- post-process moto's answer: `resp = forward(call); return json_response(...)`.

`LocalAws.intercept(fn)` appends an interceptor (the first added is the outermost) and
returns a function that removes it; `LocalAws.intercepting(fn)` is the same as a context
manager. Interceptors run on the server's request threads, concurrently: keep their state
behind a lock. JSON-protocol services (DynamoDB, SQS as boto3 >= 1.34 speaks it, the
tagging API) carry `params` as the decoded JSON object; query-protocol ones (SNS) carry
the flat form fields (`{"Action": "Publish", "TopicArn": ...}`).

`LocalAws.calls` lists every `RecordedCall` (the call as the client sent it and the status
and error code it got), in arrival order; the IAM proof evaluates them.
"""

from __future__ import annotations

import io
import json
import logging
import re
import socket
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, Protocol
from urllib.parse import parse_qsl, unquote, urlencode
from xml.sax.saxutils import escape

import boto3
from botocore.config import Config
from moto.moto_api._internal.models import moto_api_backend
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server

DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "eu-west-1"

# X-Amz-Target prefixes of the JSON-protocol services we speak
_TARGET_SERVICES = {
    "DynamoDB_20120810": "dynamodb",
    "AmazonSQS": "sqs",
    "ResourceGroupsTaggingAPI_20170126": "tagging",
    "Logs_20140328": "logs",
}
_ERROR_SHAPE_PREFIX = {
    "dynamodb": "com.amazonaws.dynamodb.v20120810#",
    "sqs": "com.amazonaws.sqs#",
}
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/[^/]+/([^/]+)/([^/]+)/aws4_request")


@dataclass(frozen=True)
class ApiCall:
    """One decoded AWS API request."""

    service: str  # signing name: "dynamodb", "sqs", "sns", "tagging", ...
    operation: str  # "CreateBackup"
    params: Mapping[str, Any]
    principal: str  # the caller's access key id
    region: str
    account: str
    protocol: str  # "json" or "query"
    resource_arn: str | None  # what the call acts on; None: no resource (`*`)

    @property
    def action(self) -> str:
        """The IAM action: `dynamodb:CreateBackup`, `tag:GetResources`, ..."""
        prefix = "tag" if self.service == "tagging" else self.service
        return f"{prefix}:{self.operation}"

    def with_params(self, params: Mapping[str, Any]) -> ApiCall:
        return replace(self, params=params)


@dataclass(frozen=True)
class AwsResponse:
    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()

    def json(self) -> Any:
        return json.loads(self.body or b"{}")

    @property
    def error_code(self) -> str | None:
        """The AWS error code of an error response (JSON or XML), else None."""
        if self.status < 300:
            return None
        for name, value in self.headers:
            if name.lower() == "x-amzn-query-error":
                return value.split(";", 1)[0]
        text = self.body.decode("utf-8", "replace")
        match = re.search(r"<Code>([^<]+)</Code>", text)
        if match:
            return match.group(1)
        try:
            data = json.loads(text)
        except ValueError:
            return f"HTTP{self.status}"
        code = str(data.get("__type") or data.get("code") or f"HTTP{self.status}")
        return code.rsplit("#", 1)[-1]


Forward = Callable[[ApiCall], AwsResponse]


class Interceptor(Protocol):
    def __call__(self, call: ApiCall, forward: Forward, /) -> AwsResponse: ...


@dataclass(frozen=True)
class RecordedCall:
    call: ApiCall
    status: int
    error_code: str | None


def json_response(data: Any, status: int = 200, service: str = "dynamodb") -> AwsResponse:
    content_type = "application/x-amz-json-1.0"
    if service != "dynamodb":
        content_type = "application/x-amz-json-1.1"
    return AwsResponse(status, json.dumps(data).encode(), (("Content-Type", content_type),))


def aws_error(call: ApiCall, code: str, message: str, status: int = 400) -> AwsResponse:
    """An error answer in the protocol of `call`, as AWS would send it."""
    fault = "Receiver" if status >= 500 else "Sender"
    if call.protocol == "query":
        xml = (
            "<ErrorResponse><Error>"
            f"<Type>{fault}</Type><Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
            "</Error><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
        )
        return AwsResponse(status, xml.encode(), (("Content-Type", "text/xml"),))
    body = {"__type": _ERROR_SHAPE_PREFIX.get(call.service, "") + code, "message": message}
    headers: list[tuple[str, str]] = [("Content-Type", "application/x-amz-json-1.0")]
    if call.service == "sqs":
        headers.append(("x-amzn-query-error", f"{code};{fault}"))
    return AwsResponse(status, json.dumps(body).encode(), tuple(headers))


def queue_arn_from_url(url: str, region: str, account: str) -> str:
    parts = url.rstrip("/").split("/")
    name = parts[-1]
    owner = parts[-2] if len(parts) >= 2 and parts[-2].isdigit() else account
    return f"arn:aws:sqs:{region}:{owner}:{name}"


def table_arn(name_or_arn: str, region: str, account: str) -> str:
    if name_or_arn.startswith("arn:"):
        return name_or_arn
    return f"arn:aws:dynamodb:{region}:{account}:table/{name_or_arn}"


def resource_of(  # noqa: PLR0911
    service: str, operation: str, params: Mapping[str, Any], region: str, account: str
) -> str | None:
    """The ARN an API call acts on, for the calls this project makes (None: `*`)."""
    if service == "dynamodb":
        if "BackupArn" in params:
            return str(params["BackupArn"])
        if "TableName" in params and operation != "ListBackups":
            return table_arn(str(params["TableName"]), region, account)
        if "ResourceArn" in params:
            return str(params["ResourceArn"])
        return None
    if service == "sqs":
        if "QueueUrl" in params:
            return queue_arn_from_url(str(params["QueueUrl"]), region, account)
        if "QueueName" in params:
            return f"arn:aws:sqs:{region}:{account}:{params['QueueName']}"
        return None
    if service == "sns":
        for key in ("TopicArn", "TargetArn", "ResourceArn"):
            if key in params:
                return str(params[key])
        if operation == "CreateTopic" and "Name" in params:
            return f"arn:aws:sns:{region}:{account}:{params['Name']}"
        return None
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _Middleware:
    def __init__(self, inner: WsgiApp, owner: LocalAws) -> None:
        self.inner = inner
        self.owner = owner

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        call = self._decode(environ, body)
        if call is None:
            response = self._moto(environ, body)
        else:
            response = self.owner._dispatch(call, lambda c: self._forward(environ, body, call, c))
        start_response(
            f"{response.status} {'OK' if response.status < 300 else 'ERROR'}",
            [(k, v) for k, v in response.headers if k.lower() != "content-length"]
            + [("Content-Length", str(len(response.body)))],
        )
        return [response.body]

    def _decode(self, environ: Mapping[str, Any], body: bytes) -> ApiCall | None:
        auth = str(environ.get("HTTP_AUTHORIZATION", ""))
        match = _CREDENTIAL.search(auth)
        if not match:
            return None
        principal, region, service = match.group(1), match.group(2), match.group(3)
        target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
        params: Mapping[str, Any]
        if target:
            prefix, _, operation = target.partition(".")
            service = _TARGET_SERVICES.get(prefix, service)
            try:
                decoded = json.loads(body or b"{}")
            except ValueError:
                decoded = {}
            params = decoded if isinstance(decoded, dict) else {}
            protocol = "json"
        else:
            params = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
            query = str(environ.get("QUERY_STRING", ""))
            if "Action" not in params and query:
                params = dict(parse_qsl(unquote(query), keep_blank_values=True))
            operation = str(params.get("Action", ""))
            protocol = "query"
            if not operation:
                return None
        account = self.owner.account
        return ApiCall(
            service=service,
            operation=operation,
            params=params,
            principal=principal,
            region=region,
            account=account,
            protocol=protocol,
            resource_arn=resource_of(service, operation, params, region, account),
        )

    def _forward(
        self, environ: dict[str, Any], body: bytes, original: ApiCall, call: ApiCall
    ) -> AwsResponse:
        if call.params is not original.params and call.params != original.params:
            if call.protocol == "json":
                body = json.dumps(call.params).encode()
            else:
                body = urlencode(dict(call.params)).encode()
        return self._moto(environ, body)

    def _moto(self, environ: dict[str, Any], body: bytes) -> AwsResponse:
        env = dict(environ)
        env["wsgi.input"] = io.BytesIO(body)
        env["CONTENT_LENGTH"] = str(len(body))
        captured: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], *_: Any) -> None:
            captured["status"] = int(status.split(maxsplit=1)[0])
            captured["headers"] = tuple(headers)

        chunks = self.inner(env, start_response)
        try:
            data = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        return AwsResponse(captured["status"], data, captured["headers"])


class LocalAws:
    """moto's server on 127.0.0.1 with recording and interceptors (see module doc)."""

    def __init__(self, region: str = DEFAULT_REGION, account: str = DEFAULT_ACCOUNT) -> None:
        self.region = region
        self.account = account
        self.port = 0
        self._server: Any = None
        self._interceptors: list[Interceptor] = []
        self._calls: list[RecordedCall] = []
        self._lock = threading.Lock()

    @property
    def endpoint(self) -> str:
        if not self.port:
            raise RuntimeError("the server is not started")
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LocalAws:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        owner = self
        port = _free_port()

        class _Server(ThreadedMotoServer):  # type: ignore[misc,unused-ignore]
            def _server_entry(self) -> None:
                app = _Middleware(DomainDispatcherApplication(create_backend_app), owner)
                self._server = make_server(
                    self._ip_address, self._port, app, True, request_handler=MotoRequestHandler
                )
                self._server_ready_event.set()
                self._server.serve_forever()

        self._server = _Server(ip_address="127.0.0.1", port=port, verbose=False)
        self._server.start()
        self.port = port
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
            self.port = 0

    def __enter__(self) -> LocalAws:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget every resource (moto's reset), interceptor and recorded call."""
        moto_api_backend.reset()
        with self._lock:
            self._interceptors.clear()
            self._calls.clear()

    # interceptors -------------------------------------------------------------------
    def intercept(self, interceptor: Interceptor) -> Callable[[], None]:
        with self._lock:
            self._interceptors.append(interceptor)

        def remove() -> None:
            with self._lock:
                if interceptor in self._interceptors:
                    self._interceptors.remove(interceptor)

        return remove

    @contextmanager
    def intercepting(self, interceptor: Interceptor) -> Iterator[Interceptor]:
        remove = self.intercept(interceptor)
        try:
            yield interceptor
        finally:
            remove()

    def _dispatch(self, call: ApiCall, moto: Forward) -> AwsResponse:
        with self._lock:
            chain = list(self._interceptors)

        def run(index: int, current: ApiCall) -> AwsResponse:
            if index == len(chain):
                return moto(current)
            return chain[index](current, lambda nxt: run(index + 1, nxt))

        response = run(0, call)
        with self._lock:
            self._calls.append(RecordedCall(call, response.status, response.error_code))
        return response

    # recorded calls -----------------------------------------------------------------
    @property
    def calls(self) -> list[RecordedCall]:
        with self._lock:
            return list(self._calls)

    def record(self, call: ApiCall) -> None:
        """Record a call that AWS makes on a function's behalf (Lambda's own logging)."""
        with self._lock:
            self._calls.append(RecordedCall(call, 200, None))

    def clear_calls(self) -> None:
        with self._lock:
            self._calls.clear()

    # clients ------------------------------------------------------------------------
    def client(self, service: str, principal: str = "runtime") -> Any:
        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id=principal,
            aws_secret_access_key="local",  # noqa: S106 - moto accepts any secret
            config=Config(retries={"mode": "standard", "max_attempts": 3}),
        )

    def env(self, principal: str) -> dict[str, str]:
        """The AWS part of a function's environment, for `principal`."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "AWS_ACCESS_KEY_ID": principal,
            "AWS_SECRET_ACCESS_KEY": "local",
        }


__all__ = [
    "DEFAULT_ACCOUNT",
    "DEFAULT_REGION",
    "ApiCall",
    "AwsResponse",
    "Forward",
    "Interceptor",
    "LocalAws",
    "RecordedCall",
    "aws_error",
    "json_response",
    "queue_arn_from_url",
    "resource_of",
    "table_arn",
]
