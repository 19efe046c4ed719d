"""A Lambda-like execution environment in a child process: one per function, kept warm.

The parent starts `Worker(spec, env, factor)`; the child warps its clock by `factor`
(`bench.clock.warp_process_time`) before importing anything heavy, imports the handler
once (cold start), then runs invocations sent over a pipe. Each answer carries the
handler's result or error, the invocation's duration in simulated seconds, the EMF metric
lines it printed, and the process's peak RSS so far (`getrusage`), so the parent learns
the memory a Lambda of this function would need.

This module imports nothing heavy at import time: the child must warp time before boto3
or a handler is imported.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import logging
import multiprocessing
import os
import resource
import sys
import time
import traceback
import uuid
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from bench.clock import warp_process_time

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclass(frozen=True)
class Invocation:
    """What one invocation of a function reported back."""

    ok: bool
    result: Any
    error: str | None
    sim_seconds: float
    timeout_seconds: float
    cpu_seconds: float = 0.0
    emf: list[dict[str, Any]] = field(default_factory=list)
    peak_rss_mb: float = 0.0


class LambdaContext:
    """The parts of Lambda's context object the handlers use; the deadline runs on the
    (warped) monotonic clock of the worker process."""

    def __init__(self, function_name: str, timeout_seconds: float, memory_mb: int) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = memory_mb
        self.invoked_function_arn = (
            f"arn:aws:lambda:eu-west-1:123456789012:function:{function_name}"
        )
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "bench"
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _peak_rss_mb() -> float:
    """This process's peak resident set size. Linux's `VmHWM` belongs to the process's own
    address space; `getrusage`'s `ru_maxrss` would also count the image of the parent that
    the child was forked from before it exec'd (the parent here holds moto's whole state)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _emf_lines(text: str) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line.startswith("{") or '"_aws"' not in line:
            continue
        with contextlib.suppress(ValueError):
            data = json.loads(line)
            if isinstance(data, dict):
                lines.append(data)
    return lines


def _child(
    conn: Connection, spec: str, env: dict[str, str], factor: float, memory_mb: int
) -> None:  # pragma: no cover - runs in the child process
    warp_process_time(factor)
    os.environ.update(env)
    for path in (os.path.join(_REPO, "lambda"), _REPO):
        if path not in sys.path:
            sys.path.insert(0, path)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    module_name, _, attr = spec.partition(":")
    rss_before_import = _peak_rss_mb()
    started = time.monotonic()
    handler = getattr(importlib.import_module(module_name), attr)
    conn.send(
        {
            "import_sim_seconds": time.monotonic() - started,
            "rss_before_import_mb": rss_before_import,
            "rss_after_import_mb": _peak_rss_mb(),
        }
    )
    while True:
        message = conn.recv()
        if message is None:
            return
        event, timeout_seconds = message
        context = LambdaContext(spec, timeout_seconds, memory_mb)
        out = io.StringIO()
        t0 = time.monotonic()
        cpu0 = time.process_time()  # not warped: real CPU seconds of all the threads
        try:
            with contextlib.redirect_stdout(out):
                result = handler(event, context)
            ok, error = True, None
        except Exception as exc:  # the parent reports it, like Lambda's Errors metric
            result = None
            ok = False
            error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}"
        elapsed = time.monotonic() - t0
        cpu = time.process_time() - cpu0
        conn.send(
            Invocation(
                ok=ok,
                result=result,
                error=error,
                sim_seconds=elapsed,
                timeout_seconds=timeout_seconds,
                cpu_seconds=cpu,
                emf=_emf_lines(out.getvalue()),
                peak_rss_mb=_peak_rss_mb(),
            )
        )


class Worker:
    """The parent's handle on one warm function process."""

    def __init__(
        self, spec: str, env: dict[str, str], factor: float = 1.0, memory_mb: int = 256
    ) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child_conn = ctx.Pipe()
        self._process = ctx.Process(
            target=_child, args=(child_conn, spec, env, factor, memory_mb), daemon=True
        )
        self._process.start()
        child_conn.close()
        self.cold_start: dict[str, float] = self._conn.recv()
        self.invocations: list[Invocation] = []

    def invoke(self, event: dict[str, Any], timeout_seconds: float) -> Invocation:
        self._conn.send((event, timeout_seconds))
        answer: Invocation = self._conn.recv()
        self.invocations.append(answer)
        return answer

    def close(self) -> None:
        with contextlib.suppress(OSError, BrokenPipeError):
            self._conn.send(None)
        self._process.join(timeout=30)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
