"""tools/clockshift: the interpreter-wide clock shift test-clock's end-to-end run uses.

Each case starts a fresh interpreter, as test-clock does, and compares what Python's
clocks say with the real time (`time.clock_gettime(CLOCK_REALTIME)`, left unshifted).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHIFT_DIR = REPO / "tools" / "clockshift"
DAY = 86_400

PROBE = """
import datetime, json, subprocess, sys, threading, time
import freezegun

def real():
    return time.clock_gettime(time.CLOCK_REALTIME)


REAL_DAY = datetime.datetime.fromtimestamp(real(), datetime.UTC).date()
seen = {
    "time": time.time() - real(),
    "time_ns": time.time_ns() / 1e9 - real(),
    "now_utc": datetime.datetime.now(datetime.UTC).timestamp() - real(),
    "utcnow": datetime.datetime.utcnow().replace(tzinfo=datetime.UTC).timestamp() - real(),
    "today_days": (datetime.date.today() - REAL_DAY).days,
    "gmtime_year": time.gmtime().tm_year - time.gmtime(real()).tm_year,
}
CHILD = "import time; print(time.time() - time.clock_gettime(time.CLOCK_REALTIME))"
box = {}
worker = threading.Thread(target=lambda: box.update(thread=time.time() - real()))
worker.start()
worker.join()
seen["thread"] = box["thread"]
with freezegun.freeze_time("2020-02-29T12:00:00Z"):
    seen["inner_freeze"] = datetime.datetime.now(datetime.UTC).isoformat()
seen["after_freeze"] = time.time() - real()
before = time.time()
time.sleep(0.05)
seen["ticks"] = time.time() - before
child = subprocess.run(
    [sys.executable, "-c", CHILD],
    capture_output=True, text=True, check=True,
)
seen["child"] = float(child.stdout)
print(json.dumps(seen))
"""


def _run(shift: str | None, code: str = PROBE) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"SITE_CLOCK_SHIFT", "PYTHONPATH"}}
    env["PYTHONPATH"] = str(SHIFT_DIR)
    if shift is not None:
        env["SITE_CLOCK_SHIFT"] = shift
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )


def _probe(shift: str | None) -> dict[str, float | str]:
    done = _run(shift)
    assert done.returncode == 0, done.stderr
    seen: dict[str, float | str] = json.loads(done.stdout)
    return seen


@pytest.mark.parametrize(
    ("shift", "seconds"), [("+400d", 400 * DAY), ("-30d", -30 * DAY), ("+6h", 6 * 3600)]
)
def test_every_wall_clock_moves_by_the_shift_in_every_thread_and_child(
    shift: str, seconds: int
) -> None:
    seen = _probe(shift)
    for clock in ("time", "time_ns", "now_utc", "utcnow", "thread", "after_freeze", "child"):
        assert abs(float(seen[clock]) - seconds) < 5, (clock, seen[clock])
    assert seen["today_days"] in {seconds // DAY, seconds // DAY + 1}


def test_a_400_day_shift_reaches_another_year() -> None:
    assert _probe("+400d")["gmtime_year"] in {1, 2}


def test_the_tests_own_freezers_stack_on_top_and_the_clock_keeps_ticking() -> None:
    seen = _probe("+400d")
    assert seen["inner_freeze"] == "2020-02-29T12:00:00+00:00"
    assert 0.04 < float(seen["ticks"]) < 5


def test_without_a_shift_nothing_moves() -> None:
    seen = _probe(None)
    assert abs(float(seen["time"])) < 5
    assert abs(float(seen["child"])) < 5


@pytest.mark.parametrize("shift", ["400", "+400 days", "+4w", "tomorrow", "+-3d"])
def test_a_shift_it_cannot_read_stops_the_interpreter(shift: str) -> None:
    if shift == "400":  # plain seconds are a valid shift
        assert abs(float(_probe(shift)["time"]) - 400) < 5
        return
    done = _run(shift, "print('ran')")
    assert done.returncode != 0
    assert "ran" not in done.stdout
    assert "SITE_CLOCK_SHIFT must look like" in done.stderr
