"""Tiny handlers for the worker tests (imported by spec in the worker's child process)."""

from __future__ import annotations

import json
import time
from typing import Any


def sleepy(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Sleeps `event["sleep"]` seconds, prints one EMF line, reports the remaining time."""
    before = context.get_remaining_time_in_millis()
    time.sleep(float(event["sleep"]))
    print(json.dumps({"_aws": {"CloudWatchMetrics": []}, "Things": event["things"]}))
    print("a log line that is not EMF")
    return {"before": before, "after": context.get_remaining_time_in_millis()}


def broken(event: dict[str, Any], context: Any) -> None:
    raise RuntimeError("the handler failed on purpose")


def hog(event: dict[str, Any], context: Any) -> int:
    """Holds `event["mb"]` MB for a moment."""
    block = bytearray(int(event["mb"]) * 1024 * 1024)
    for i in range(0, len(block), 4096):
        block[i] = 1
    return len(block)
