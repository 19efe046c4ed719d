"""`python -m bench [--quick]`: run the scale benchmark, write BENCHMARKS.md and the chart."""

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

from bench.report import build_rows, markdown, model_text, write_chart
from bench.scenario import ScenarioConfig, ScenarioResult, run_isolated
from bench.static import REPO, measure

FULL_SIZES = (10, 100, 1000, 10000)
QUICK_SIZES = (10, 100, 1000)


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
        default=1000,
        help="largest N the baseline runs at; larger ones are extrapolated (default 1000)",
    )
    parser.add_argument("--latency", type=float, default=0.030, help="per-call latency, s")
    parser.add_argument("--out", type=Path, default=REPO / "BENCHMARKS.md")
    parser.add_argument("--chart", type=Path, default=REPO / "docs" / "benchmark.png")
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "results.json")
    args = parser.parse_args(argv)

    if args.sizes:
        sizes = tuple(int(s) for s in args.sizes.split(","))
    else:
        sizes = QUICK_SIZES if args.quick else FULL_SIZES
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
    args.out.write_text(
        markdown(rows, results, static, run_info, model_text(results)), encoding="utf-8"
    )
    write_chart(rows, args.chart)
    args.json.write_text(
        json.dumps(
            {"run": run_info, "results": [r.to_json() for r in results]}, indent=1, sort_keys=True
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"wrote {args.out}, {args.chart}, {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
