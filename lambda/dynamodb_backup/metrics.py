"""CloudWatch Embedded Metric Format lines (pure builder + print)."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from datetime import datetime

DIMENSION = "BackupNamePrefix"


UNITS = {"BackupStorageBytes": "Bytes", "RestoreDrillSeconds": "Seconds"}


def emf_line(namespace: str, prefix: str, metrics: Mapping[str, int], timestamp: datetime) -> str:
    """One EMF JSON document with every metric in `metrics`: a Count unless `UNITS` says."""
    document: dict[str, object] = {
        "_aws": {
            "Timestamp": int(timestamp.timestamp() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": namespace,
                    "Dimensions": [[DIMENSION]],
                    "Metrics": [
                        {"Name": name, "Unit": UNITS.get(name, "Count")} for name in metrics
                    ],
                }
            ],
        },
        DIMENSION: prefix,
    }
    document.update(metrics)
    return json.dumps(document, separators=(",", ":"))


def emit(line: str) -> None:
    """Print the line to stdout, where Lambda's log agent picks EMF up."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
