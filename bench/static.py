"""Figures that need no AWS: the Lambda zip's size and each handler module's import time."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "lambda" / "dynamodb_backup"
HANDLER_MODULES = ("dynamodb_backup.scheduler", "dynamodb_backup.monitor")
# `time` and `sys` are built in: importing them adds nothing to the importtime log
_PROBE = (
    "import sys, time; c = time.process_time(); import {module}; print(time.process_time() - c)"
)


def lambda_zip(package: Path = PACKAGE) -> bytes:
    """The zip the module builds: `dynamodb_backup/*.py`, deflated."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(package.glob("*.py")):
            archive.write(path, f"{package.name}/{path.name}")
    return buffer.getvalue()


def zip_size(package: Path = PACKAGE) -> int:
    return len(lambda_zip(package))


def parse_importtime(stderr: str, module: str, part: str = "boto3") -> tuple[float, float]:
    """From `python -X importtime -c "import <module>"`: (seconds to import `module` with
    everything it pulls in, seconds of that spent importing `part`). The first is the sum
    of the cumulative times of the top-level entries from `module`'s own (or its parent
    package's) on, i.e. after the interpreter's start-up imports; the second is the
    cumulative time of `part`'s entry at whatever depth it appears (0 if absent)."""
    total_us = part_us = 0
    seen = found = False
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        fields = line[len("import time:") :].split("|")
        if len(fields) != 3 or not fields[1].strip().isdigit():
            continue
        name = fields[2].rstrip()
        depth = len(name) - len(name.lstrip(" "))
        if depth == 1 and (name.strip() == module or module.startswith(name.strip() + ".")):
            seen = True
            found = found or name.strip() == module
        if seen and depth == 1:
            total_us += int(fields[1])
        if name.strip() == part:  # the log is post-order: children come before parents
            part_us = int(fields[1])
    if not found:
        raise ValueError(f"{module} not found in the importtime log")
    return total_us / 1e6, part_us / 1e6


def import_once(module: str, root: Path, python: str = sys.executable) -> tuple[float, float]:
    """One fresh interpreter importing `module` from `root`: (wall seconds by
    `-X importtime`, CPU seconds of the same import by `time.process_time`)."""
    env = {**os.environ, "PYTHONPATH": str(root), "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [python, "-X", "importtime", "-c", _PROBE.format(module=module)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    cpu = float(done.stdout.strip().splitlines()[-1])
    return parse_importtime(done.stderr, module)[0], cpu


@dataclass(frozen=True)
class StaticFigures:
    """Import times of `runs` fresh interpreters per module, the modules taking turns so they
    share the machine's load: `*_import_s` the fastest `-X importtime` wall time, `*_cpu_s`
    the least CPU time of the same imports (`process_time`). Import work is deterministic;
    other processes on a busy machine only ever add to it, so the least is the figure."""

    zip_bytes: int
    boto3_import_s: float
    handler_import_s: dict[str, float]
    boto3_cpu_s: float
    handler_cpu_s: dict[str, float]
    runs: int

    def over_boto3(self, module: str) -> float:
        return self.handler_import_s[module] - self.boto3_import_s

    def cpu_over_boto3(self, module: str) -> float:
        return self.handler_cpu_s[module] - self.boto3_cpu_s


def measure(runs: int = 15) -> StaticFigures:
    """Zip size, and import times of the handlers as Lambda imports them: from the unpacked
    zip, which holds no `.pyc` (boto3 is imported from its installation, compiled)."""
    wall: dict[str, list[float]] = {m: [] for m in ("boto3", *HANDLER_MODULES)}
    cpu: dict[str, list[float]] = {m: [] for m in wall}
    data = lambda_zip()
    with tempfile.TemporaryDirectory() as tmp:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            archive.extractall(tmp)
        for _ in range(runs):
            for module, walls in wall.items():
                w, c = import_once(module, Path(tmp))
                walls.append(w)
                cpu[module].append(c)
    return StaticFigures(
        zip_bytes=len(data),
        boto3_import_s=min(wall["boto3"]),
        handler_import_s={m: min(wall[m]) for m in HANDLER_MODULES},
        boto3_cpu_s=min(cpu["boto3"]),
        handler_cpu_s={m: min(cpu[m]) for m in HANDLER_MODULES},
        runs=runs,
    )
