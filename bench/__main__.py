"""`python -m bench [--quick]`: run the scale benchmark, write BENCHMARKS.md and the chart.

Only the full run (all N, default latency and baseline range) writes the committed
BENCHMARKS.md, docs/benchmark.png and bench/results.json; any other run writes the same
three files to build/bench/ unless --out/--chart/--json say otherwise.

`python -m bench --retention [--scenarios KEYS] [--tables N]`: the retention scenarios
(`bench/retention.py`). The full set at its own N replaces only the retention section of
BENCHMARKS.md and bench/retention-results.json; anything else writes build/bench/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import retention_run
from bench.report import build_rows, markdown, model_text, write_chart
from bench.retention import SCENARIOS, by_key
from bench.scenario import ScenarioConfig, ScenarioResult, run_isolated
from bench.static import REPO, measure

FULL_SIZES = (10, 100, 1000, 10000)
QUICK_SIZES = (10, 100, 1000)
DEFAULT_LATENCY = 0.030
DEFAULT_BASELINE_MAX = 1000
COMMITTED = {
    "out": REPO / "BENCHMARKS.md",
    "chart": REPO / "docs" / "benchmark.png",
    "json": REPO / "bench" / "results.json",
}
SCRATCH_DIR = REPO / "build" / "bench"
SCRATCH = {
    "out": SCRATCH_DIR / "BENCHMARKS.md",
    "chart": SCRATCH_DIR / "benchmark.png",
    "json": SCRATCH_DIR / "results.json",
}


def scales(variant: str, tables: int) -> tuple[float, float]:
    """Time-scale factors (scheduler, monitor) of a scenario: as small as the run time
    allows, since every real millisecond of client and moto work counts k times (see the
    model in BENCHMARKS.md)."""
    if variant == "ours":
        return (1.0 if tables <= 1000 else 2.0, 4.0 if tables <= 1000 else 5.0)
    return (2.0, 8.0)


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{model}, {os.cpu_count()} CPUs (load average at start {load}), "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    )


def commit() -> str:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607 - git from PATH
            capture_output=True,
            text=True,
            cwd=REPO,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return done.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="skip N = 10,000")
    parser.add_argument("--sizes", help="comma-separated table counts (overrides --quick)")
    parser.add_argument(
        "--baseline-max",
        type=int,
        default=DEFAULT_BASELINE_MAX,
        help="largest N the baseline runs at; larger ones are extrapolated (default 1000)",
    )
    parser.add_argument(
        "--latency", type=float, default=DEFAULT_LATENCY, help="per-call latency, s"
    )
    parser.add_argument(
        "--out", type=Path, help="report (default: BENCHMARKS.md, build/bench/ unless full)"
    )
    parser.add_argument(
        "--chart", type=Path, help="chart (default: docs/benchmark.png, build/bench/ unless full)"
    )
    parser.add_argument(
        "--json",
        type=Path,
        help="raw figures (default: bench/results.json, build/bench/ unless full)",
    )
    parser.add_argument(
        "--retention",
        action="store_true",
        help="run the retention scenarios (issue 10) instead of the scale benchmark",
    )
    parser.add_argument(
        "--scenarios",
        help="with --retention: comma-separated keys ("
        + ", ".join(s.key for s in SCENARIOS)
        + "; default all)",
    )
    parser.add_argument(
        "--tables", type=int, help="with --retention: N for every scenario (a quick try)"
    )
    args = parser.parse_args(argv)
    if args.retention:
        return retention_main(args)

    if args.sizes:
        sizes = tuple(int(s) for s in args.sizes.split(","))
    else:
        sizes = QUICK_SIZES if args.quick else FULL_SIZES
    full = is_full_run(sizes, args.latency, args.baseline_max)
    targets = output_paths(full, out=args.out, chart=args.chart, json_path=args.json)
    args.out, args.chart, args.json = targets["out"], targets["chart"], targets["json"]
    for path in targets.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    if not full:
        print(f"not the full run: writing to {args.out.parent}/", file=sys.stderr)
    started = time.monotonic()
    run_info: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "commit": commit(),
        "command": "make bench" + (" ARGS=--quick" if args.quick else ""),
    }
    print("measuring zip size and import times ...", file=sys.stderr)
    static = measure(runs=5 if args.quick else 15)
    results: list[ScenarioResult] = []
    for n in sizes:
        for variant in ("ours", "baseline"):
            if variant == "baseline" and n > args.baseline_max:
                continue
            k_sched, k_mon = scales(variant, n)
            config = ScenarioConfig(
                variant=variant,
                tables=n,
                latency=args.latency,
                scale_scheduler=k_sched,
                scale_monitor=k_mon,
            )
            t0 = time.monotonic()
            print(f"{variant} N={n} (k={k_sched:g}/{k_mon:g}) ...", file=sys.stderr, end="")
            result = run_isolated(config)
            results.append(result)
            print(
                f" {time.monotonic() - t0:.0f} s real: {result.calls_per_table:.3f} calls/table,"
                f" scheduler {result.scheduler.max_invocation_seconds:.1f} s,"
                f" ok={result.correct}",
                file=sys.stderr,
            )
    run_info["real_seconds"] = time.monotonic() - started
    rows = build_rows(results, sizes)
    chart_ref = os.path.relpath(args.chart, args.out.parent)
    text = markdown(rows, results, static, run_info, model_text(results), chart_ref=chart_ref)
    kept = retention_run.existing_section(
        args.out.read_text(encoding="utf-8") if args.out.exists() else ""
    )
    if kept is not None:  # the retention run's section stays as it was
        text = retention_run.splice(text, kept)
    args.out.write_text(text, encoding="utf-8")
    write_chart(rows, args.chart)
    args.json.write_text(
        json.dumps(
            {"run": run_info, "results": [r.to_json() for r in results]}, indent=1, sort_keys=True
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"wrote {args.out}, {args.chart}, {args.json}", file=sys.stderr)
    if not full:
        print(
            "not the full run: the committed BENCHMARKS.md, docs/benchmark.png and"
            " bench/results.json are unchanged (only `make bench` with no ARGS rewrites them)",
            file=sys.stderr,
        )
    return 0


def retention_main(args: argparse.Namespace) -> int:
    """`--retention`: run the scenarios, then write their section and raw figures."""
    keys = args.scenarios.split(",") if args.scenarios else [s.key for s in SCENARIOS]
    scenarios = [by_key(k.strip()) for k in keys]
    full = retention_run.is_full_retention_run(args.tables, keys, args.latency)
    out = args.out or (COMMITTED["out"] if full else SCRATCH_DIR / "BENCHMARKS.md")
    json_path = args.json or (
        REPO / "bench" / "retention-results.json"
        if full
        else SCRATCH_DIR / "retention-results.json"
    )
    for path in (out, json_path):
        path.parent.mkdir(parents=True, exist_ok=True)
    if not full:
        print(f"not the full retention run: writing to {out}", file=sys.stderr)
    started = time.monotonic()
    run_info: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "commit": commit(),
        "command": "make bench ARGS=--retention"
        + ("" if full else f" (partial: {' '.join(sys.argv[1:])})"),
    }
    rows: list[retention_run.RetentionRow] = []
    for scenario in scenarios:
        config = retention_run.config_for(scenario, args.latency, args.tables)
        t0 = time.monotonic()
        print(f"retention {scenario.key} N={config.tables} ...", file=sys.stderr, end="")
        result = run_isolated(config)
        rows.append(retention_run.RetentionRow(scenario, result))
        print(
            f" {time.monotonic() - t0:.0f} s real: {result.calls_per_table:.3f} calls/table,"
            f" longest monitor {result.monitor.max_timeout_fraction * 100:.0f}% of timeout,"
            f" last deletion at {result.last_delete_seconds:.0f} s, ok={result.correct}",
            file=sys.stderr,
        )
    run_info["real_seconds"] = time.monotonic() - started
    block = retention_run.section(rows, run_info)
    existing = out.read_text(encoding="utf-8") if out.exists() else "# Benchmarks\n"
    out.write_text(retention_run.splice(existing, block), encoding="utf-8")
    json_path.write_text(
        json.dumps(
            {
                "run": run_info,
                "results": [{"scenario": r.scenario.key, **r.result.to_json()} for r in rows],
            },
            indent=1,
            sort_keys=True,
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"wrote {out}, {json_path}", file=sys.stderr)
    return 0


def is_full_run(sizes: tuple[int, ...], latency: float, baseline_max: int) -> bool:
    """Whether a run may replace the committed figures: every N, the published model."""
    return (
        sizes == FULL_SIZES and latency == DEFAULT_LATENCY and baseline_max == DEFAULT_BASELINE_MAX
    )


def output_paths(
    full: bool, *, out: Path | None, chart: Path | None, json_path: Path | None
) -> dict[str, Path]:
    """Where a run writes: the committed files for the full run, build/bench/ otherwise;
    an explicit path always wins."""
    defaults = COMMITTED if full else SCRATCH
    return {
        "out": out or defaults["out"],
        "chart": chart or defaults["chart"],
        "json": json_path or defaults["json"],
    }


if __name__ == "__main__":
    sys.exit(main())
