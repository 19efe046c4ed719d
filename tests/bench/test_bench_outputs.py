"""Only the full benchmark run may rewrite the committed figures; others go to build/bench/."""

from __future__ import annotations

from pathlib import Path

from bench.__main__ import (
    DEFAULT_BASELINE_MAX,
    DEFAULT_LATENCY,
    FULL_SIZES,
    QUICK_SIZES,
    is_full_run,
    output_paths,
)
from bench.static import REPO

COMMITTED = {
    "out": REPO / "BENCHMARKS.md",
    "chart": REPO / "docs" / "benchmark.png",
    "json": REPO / "bench" / "results.json",
}


def test_full_run_writes_the_committed_files() -> None:
    assert is_full_run(FULL_SIZES, DEFAULT_LATENCY, DEFAULT_BASELINE_MAX)
    assert output_paths(True, out=None, chart=None, json_path=None) == COMMITTED


def test_quick_and_partial_runs_never_touch_the_committed_files() -> None:
    for sizes, latency, baseline_max in [
        (QUICK_SIZES, DEFAULT_LATENCY, DEFAULT_BASELINE_MAX),  # make bench ARGS=--quick
        ((10, 100), DEFAULT_LATENCY, DEFAULT_BASELINE_MAX),  # ARGS=--sizes 10,100
        (FULL_SIZES, 0.0, DEFAULT_BASELINE_MAX),  # another latency model
        (FULL_SIZES, DEFAULT_LATENCY, 10000),  # baseline measured, not extrapolated
    ]:
        full = is_full_run(sizes, latency, baseline_max)
        assert not full
        paths = output_paths(full, out=None, chart=None, json_path=None)
        assert set(paths.values()).isdisjoint(COMMITTED.values())
        assert all(p.parent == REPO / "build" / "bench" for p in paths.values())


def test_explicit_paths_win(tmp_path: Path) -> None:
    paths = output_paths(False, out=tmp_path / "b.md", chart=None, json_path=tmp_path / "r.json")
    assert paths["out"] == tmp_path / "b.md"
    assert paths["json"] == tmp_path / "r.json"
    assert paths["chart"] == REPO / "build" / "bench" / "benchmark.png"
