"""BENCHMARKS.md and docs/benchmark.png from the scenario results (pure formatting)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.scenario import MONITOR_TIMEOUT, SCHEDULER_TIMEOUT, ScenarioResult
from bench.static import HANDLER_MODULES, StaticFigures

FLOOR_CALLS_PER_TABLE = 2.0
CALLS_TARGET = 2.1
SCHEDULER_TARGET = 1.1  # x N/50 s
TIMEOUT_FRACTION = 0.8
ZIP_LIMIT = 64 * 1024
IMPORT_LIMIT_S = 0.050
MEMORY_MB = 256


@dataclass(frozen=True)
class Row:
    """One (variant, N) line of the results; `extrapolated` rows are scaled from a smaller
    measured N (the baseline at 10,000 unless `--baseline-max 10000`)."""

    variant: str
    tables: int
    calls: float
    calls_per_table: float
    handler_calls_per_table: float
    throttles: float
    scheduler_s: float
    create_span_s: float
    monitor_span_s: float
    monitor_invocations: float
    scheduler_fraction: float
    monitor_fraction: float
    scheduler_rss_mb: float | None
    monitor_rss_mb: float | None
    correct: bool | None
    extrapolated: bool = False

    @property
    def cycle_s(self) -> float:
        return self.scheduler_s + self.monitor_span_s


def row_of(result: ScenarioResult) -> Row:
    return Row(
        variant=result.config.variant,
        tables=result.config.tables,
        calls=result.total_calls,
        calls_per_table=result.calls_per_table,
        handler_calls_per_table=result.handler_calls_per_table,
        throttles=result.throttles,
        scheduler_s=result.scheduler.max_invocation_seconds,
        create_span_s=result.create_span_seconds,
        monitor_span_s=result.monitor.span_seconds,
        monitor_invocations=result.monitor.invocations,
        scheduler_fraction=result.scheduler.max_timeout_fraction,
        monitor_fraction=result.monitor.max_timeout_fraction,
        scheduler_rss_mb=result.scheduler.peak_rss_mb,
        monitor_rss_mb=result.monitor.peak_rss_mb,
        correct=result.correct,
    )


def extrapolate(row: Row, tables: int) -> Row:
    """Scale a measured row linearly to `tables` (counts and times per table constant)."""
    f = tables / row.tables
    return Row(
        variant=row.variant,
        tables=tables,
        calls=row.calls * f,
        calls_per_table=row.calls_per_table,
        handler_calls_per_table=row.handler_calls_per_table,
        throttles=row.throttles * f,
        scheduler_s=row.scheduler_s * f,
        create_span_s=row.create_span_s * f,
        monitor_span_s=row.monitor_span_s * f,
        monitor_invocations=row.monitor_invocations * f,
        scheduler_fraction=row.scheduler_fraction * f,
        monitor_fraction=row.monitor_fraction,
        scheduler_rss_mb=None,
        monitor_rss_mb=None,
        correct=None,
        extrapolated=True,
    )


def build_rows(results: Sequence[ScenarioResult], sizes: Sequence[int]) -> list[Row]:
    """Measured rows, plus extrapolated baseline rows for sizes it was not run at."""
    rows = [row_of(r) for r in results]
    baseline = sorted((r for r in rows if r.variant == "baseline"), key=lambda r: r.tables)
    if baseline:
        measured = {r.tables for r in baseline}
        rows += [extrapolate(baseline[-1], n) for n in sizes if n not in measured]
    return sorted(rows, key=lambda r: (r.tables, r.variant != "ours"))


def find(rows: Sequence[Row], variant: str, tables: int) -> Row | None:
    return next((r for r in rows if r.variant == variant and r.tables == tables), None)


def _n(value: float) -> str:
    return f"{value:,.0f}"


def _s(value: float) -> str:
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def _mb(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f}"


def _ok(value: bool | None) -> str:
    return "n/a" if value is None else ("yes" if value else "**NO**")


def _pass(ok: bool) -> str:
    return "pass" if ok else "**FAIL**"


def results_table(rows: Sequence[Row]) -> list[str]:
    lines = [
        "| N | variant | calls | calls/table | x floor | x baseline | handler calls/table "
        "| throttled | scheduler s | x N/50 | monitor span s | cycle s | x baseline "
        "| monitor invocations | max % timeout sch/mon | peak RSS sch/mon MB | all done |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        base = find(rows, "baseline", r.tables)
        vs_calls = f"{r.calls_per_table / base.calls_per_table:.2f}" if base else "-"
        vs_cycle = f"{r.cycle_s / base.cycle_s:.2f}" if base and base.cycle_s else "-"
        mark = " (extrapolated)" if r.extrapolated else ""
        lines.append(
            f"| {_n(r.tables)} | {r.variant}{mark} | {_n(r.calls)} | {r.calls_per_table:.3f} "
            f"| {r.calls_per_table / FLOOR_CALLS_PER_TABLE:.2f} | {vs_calls} "
            f"| {r.handler_calls_per_table:.3f} | {_n(r.throttles)} | {_s(r.scheduler_s)} "
            f"| {r.scheduler_s / (r.tables / 50):.2f} | {_s(r.monitor_span_s)} | {_s(r.cycle_s)} "
            f"| {vs_cycle} | {_n(r.monitor_invocations)} "
            f"| {100 * r.scheduler_fraction:.0f} / {100 * r.monitor_fraction:.0f} "
            f"| {_mb(r.scheduler_rss_mb)} / {_mb(r.monitor_rss_mb)} | {_ok(r.correct)} |"
        )
    return lines


def operations_table(results: Sequence[ScenarioResult], tables: int) -> list[str]:
    by_variant = {r.config.variant: r for r in results if r.config.tables == tables}
    if not by_variant:
        return []
    variants = [v for v in ("ours", "baseline") if v in by_variant]
    keys: set[str] = set()
    for r in by_variant.values():
        keys |= set(r.calls_by_principal_operation)
    lines = [
        f"Calls by caller and operation at N = {tables:,} (throttled calls included):",
        "",
        "| caller | operation | " + " | ".join(variants) + " |",
        "|---|---|" + "---:|" * len(variants),
    ]
    for key in sorted(keys, key=lambda k: (k.split("/")[0] == "esm", k)):
        principal, service, operation = key.split("/")
        caller = "event source mapping (Lambda)" if principal == "esm" else f"{principal} handler"
        counts = [_n(by_variant[v].calls_by_principal_operation.get(key, 0)) for v in variants]
        lines.append(f"| {caller} | {service}:{operation} | " + " | ".join(counts) + " |")
    throttled = [
        ", ".join(f"{k} {v:,}" for k, v in by_variant[v].throttles_by_operation.items()) or "none"
        for v in variants
    ]
    listings = [
        ", ".join(f"{k} {v:,}" for k, v in by_variant[v].list_backups_by_kind.items()) or "none"
        for v in variants
    ]
    lines += [
        "| | of which throttled | " + " | ".join(throttled) + " |",
        "| | ListBackups by kind | " + " | ".join(listings) + " |",
    ]
    return lines


def targets_table(
    rows: Sequence[Row], results: Sequence[ScenarioResult], static: StaticFigures
) -> list[str]:
    lines = ["| target | figure | verdict |", "|---|---|---|"]
    r1k = find(rows, "ours", 1000)
    if r1k:
        lines.append(
            f"| calls per table at N = 1,000 <= {CALLS_TARGET} (every call, SQS and SNS "
            f"included) | {r1k.calls_per_table:.3f} (handlers alone "
            f"{r1k.handler_calls_per_table:.3f}) | {_pass(r1k.calls_per_table <= CALLS_TARGET)} |"
        )
    for r in rows:
        if r.variant != "ours" or r.tables < 1000:
            continue
        limit = SCHEDULER_TARGET * r.tables / 50
        lines.append(
            f"| scheduler wall time at N = {r.tables:,} <= {limit:,.1f} s | {_s(r.scheduler_s)} s "
            f"(CreateBackup calls span {_s(r.create_span_s)} s) | {_pass(r.scheduler_s <= limit)} |"
        )
    for res in results:
        if res.config.variant != "ours" or res.config.tables < 1000:
            continue
        n = res.config.tables
        lines.append(
            f"| N = {n:,}: unhandled throttling errors, failed invocations | "
            f"{int(res.scheduler.metrics.get('BackupsFailed', 0))} backups failed, "
            f"{res.scheduler.errors + res.monitor.errors} invocation errors, "
            f"{_n(res.throttles)} throttled calls retried | "
            f"{_pass(res.scheduler.errors + res.monitor.errors == 0 and res.correct)} |"
        )
        c = res.checks
        lines.append(
            f"| N = {n:,}: every backup started, monitored, retained | started "
            f"{c['backups_started']:,}, confirmed {c['backups_confirmed']:,}, stale left "
            f"{c['stale_backups_left']:,}, own left {c['own_backups_left']:,} of "
            f"{c['own_backups_expected']:,} expected | {_pass(res.correct)} |"
        )
        worst = max(res.scheduler.max_timeout_fraction, res.monitor.max_timeout_fraction)
        lines.append(
            f"| N = {n:,}: no invocation above {TIMEOUT_FRACTION:.0%} of its timeout | scheduler "
            f"{res.scheduler.max_timeout_fraction:.0%} of {res.scheduler.timeout_seconds:.0f} s, "
            f"monitor {res.monitor.max_timeout_fraction:.0%} of "
            f"{res.monitor.timeout_seconds:.0f} s ({res.monitor.invocations} invocations) "
            f"| {_pass(worst <= TIMEOUT_FRACTION)} |"
        )
        peak = max(res.scheduler.peak_rss_mb, res.monitor.peak_rss_mb)
        lines.append(
            f"| N = {n:,}: peak memory within {MEMORY_MB} MB | scheduler "
            f"{res.scheduler.peak_rss_mb:.0f} MB, monitor {res.monitor.peak_rss_mb:.0f} MB "
            f"(process RSS, interpreter and boto3 included) | {_pass(peak <= MEMORY_MB)} |"
        )
    lines.append(
        f"| zip size <= 64 KB | {static.zip_bytes:,} bytes | "
        f"{_pass(static.zip_bytes <= ZIP_LIMIT)} |"
    )
    for module in HANDLER_MODULES:
        over = static.cpu_over_boto3(module)
        lines.append(
            f"| import of `{module}` <= boto3's + 50 ms | +{1000 * over:.0f} ms CPU "
            f"({1000 * static.handler_cpu_s[module]:.0f} vs {1000 * static.boto3_cpu_s:.0f} ms, "
            f"least of {static.runs} runs); `-X importtime`, fastest wall: "
            f"{1000 * static.handler_import_s[module]:.0f}"
            f" vs {1000 * static.boto3_import_s:.0f} ms, +{1000 * static.over_boto3(module):.0f}"
            f" ms | {_pass(over <= IMPORT_LIMIT_S)} |"
        )
    return lines


def ratios(rows: Sequence[Row]) -> list[str]:
    lines = []
    for n in (1000, 10000):
        ours, base = find(rows, "ours", n), find(rows, "baseline", n)
        if ours is None:
            continue
        text = (
            f"- N = {n:,}: {ours.calls_per_table:.3f} calls per table = "
            f"{ours.calls_per_table / FLOOR_CALLS_PER_TABLE:.3f} x the floor"
        )
        if base is not None:
            approx = " (baseline extrapolated)" if base.extrapolated else ""
            text += (
                f", {ours.calls_per_table / base.calls_per_table:.2f} x the baseline's "
                f"{base.calls_per_table:.2f}; scheduler {_s(ours.scheduler_s)} s = "
                f"{ours.scheduler_s / base.scheduler_s:.2f} x the baseline's "
                f"{_s(base.scheduler_s)} s; whole cycle {_s(ours.cycle_s)} s = "
                f"{ours.cycle_s / base.cycle_s:.2f} x the baseline's {_s(base.cycle_s)} s{approx}"
            )
        lines.append(text + ".")
    return lines


LAMBDA_VCPU_MB = 1769  # a Lambda gets one vCPU at 1,769 MB, proportionally less below


def observations(results: Sequence[ScenarioResult]) -> list[str]:
    """What the figures of our handlers say beyond the verdicts (facts of this run)."""
    lines: list[str] = []
    share = MEMORY_MB / LAMBDA_VCPU_MB
    for r in sorted(results, key=lambda x: (x.config.tables, x.config.variant)):
        if not r.correct:
            c = r.checks
            throttled = ", ".join(f"{k} {v:,}" for k, v in r.throttles_by_operation.items())
            lines.append(
                f"- N = {r.config.tables:,}, {r.config.variant}: **not all done**: started "
                f"{c['backups_started']:,}, confirmed {c['backups_confirmed']:,}, stale left "
                f"{c['stale_backups_left']:,}, own left {c['own_backups_left']:,} of "
                f"{c['own_backups_expected']:,} expected, failed records "
                f"{c['failed_records']:,}, invocation errors {r.monitor.errors:,}; throttled "
                f"calls: {throttled or 'none'}."
            )
    for r in sorted(results, key=lambda x: x.config.tables):
        if r.config.variant != "ours" or r.config.tables < 1000:
            continue
        n = r.config.tables
        rate = n / r.create_span_seconds if r.create_span_seconds else 0.0
        cpu_ms = 1000 * r.scheduler.cpu_seconds / n
        lists = sum(r.list_backups_by_kind.values())
        listed = ", ".join(f"{v:,} {k}" for k, v in r.list_backups_by_kind.items())
        throttled = ", ".join(f"{k} {v:,}" for k, v in r.throttles_by_operation.items())
        lines += [
            f"- N = {n:,}: CreateBackup ran at {rate:.1f}/s over {_s(r.create_span_seconds)} s "
            f"(the scheduler's limiter allows 48/s); the scheduler's invocation took "
            f"{_s(r.scheduler.max_invocation_seconds)} s. Its process used {cpu_ms:.1f} ms of "
            f"CPU per table on this machine: 48/s needs {48 * cpu_ms / 10:.0f}% of a core "
            f"here, while a {MEMORY_MB} MB Lambda gets about {100 * share:.0f}% of a vCPU.",
            f"- N = {n:,}: ListBackups {lists:,} calls ({listed}); throttled calls: "
            f"{throttled or 'none'}. The monitor needed {r.monitor.invocations} invocations, "
            f"the longest {_s(r.monitor.max_invocation_seconds)} s, "
            f"{1000 * r.monitor.cpu_seconds / n:.1f} ms CPU per table; peak RSS "
            f"{r.monitor.peak_rss_mb:.0f} MB, of which {r.monitor.rss_after_import_mb:.0f} MB "
            f"were held after the imports (scheduler {r.scheduler.peak_rss_mb:.0f} MB).",
        ]
    return lines


def write_chart(rows: Sequence[Row], path: Path) -> None:
    # matplotlib is installed by `make bench` only (requirements-bench.txt), not for make test
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415 - the backend is chosen first

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for variant, color in (("ours", "tab:blue"), ("baseline", "tab:red")):
        pts = sorted((r for r in rows if r.variant == variant), key=lambda r: r.tables)
        if not pts:
            continue
        xs = [r.tables for r in pts]
        left.plot(xs, [r.calls_per_table for r in pts], "o-", color=color, label=variant)
        right.plot(xs, [r.cycle_s for r in pts], "o-", color=color, label=f"{variant}: cycle")
        right.plot(
            xs, [r.scheduler_s for r in pts], "s--", color=color, label=f"{variant}: scheduler"
        )
        for r in pts:
            if r.extrapolated:
                left.plot([r.tables], [r.calls_per_table], "o", mfc="white", color=color)
                right.plot([r.tables], [r.cycle_s], "o", mfc="white", color=color)
                right.plot([r.tables], [r.scheduler_s], "s", mfc="white", color=color)
    sizes = sorted({r.tables for r in rows})
    left.axhline(FLOOR_CALLS_PER_TABLE, color="gray", ls=":", label="floor (2)")
    left.axhline(CALLS_TARGET, color="green", ls="--", lw=0.8, label="target (2.1)")
    left.set_xscale("log")
    left.set_ylim(bottom=0)
    left.set_xlabel("tables (N)")
    left.set_ylabel("AWS calls per table per cycle")
    left.set_title("Calls per table")
    left.legend()
    right.plot(sizes, [n / 50 + n / 10 for n in sizes], ":", color="gray", label="floor: cycle")
    right.plot(sizes, [n / 50 for n in sizes], "-.", color="gray", label="floor: N/50")
    right.set_xscale("log")
    right.set_yscale("log")
    right.set_xlabel("tables (N)")
    right.set_ylabel("simulated seconds")
    right.set_title("Wall time (open markers: extrapolated)")
    right.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown(
    rows: Sequence[Row],
    results: Sequence[ScenarioResult],
    static: StaticFigures,
    run: dict[str, Any],
    model: str,
    *,
    chart_ref: str = "docs/benchmark.png",
) -> str:
    lines = [
        "# Benchmarks",
        "",
        "<!-- generated by `make bench` (bench/report.py); edit the generator, not this file -->",
        "",
        f"Run {run['date']} with `{run['command']}` on {run['machine']} (commit {run['commit']}; "
        f"the benchmark itself took {run['real_seconds']:.0f} s of real time).",
        "",
        f"![calls per table and wall time against N]({chart_ref})",
        "",
        "## Targets (issue 5)",
        "",
        *targets_table(rows, results, static),
        "",
        "## Ratios",
        "",
        *ratios(rows),
        "",
        "## Observations",
        "",
        *observations(results),
        "",
        "## Results",
        "",
        "Times are simulated seconds (see the model below). *calls* counts every API call "
        "that reached AWS, throttled ones included, SQS and SNS included, and the event source "
        "mapping's ReceiveMessage/DeleteMessageBatch; *handler calls* leaves the mapping's out. "
        "*floor* is 2 calls per table (one CreateBackup, one DeleteBackup). *cycle* is the "
        "scheduler's invocation plus the monitor's span (first receive to last invocation "
        "end), without the queue's 300 s delay. *max % timeout* is the longest invocation "
        f"over its configured timeout (scheduler {SCHEDULER_TIMEOUT:.0f} s, "
        f"monitor {MONITOR_TIMEOUT:.0f} s, the module's defaults).",
        "",
        *results_table(rows),
        "",
    ]
    for n in sorted({r.config.tables for r in results}):
        if n >= 1000:
            lines += [*operations_table(results, n), ""]
    lines += [model.strip(), ""]
    return "\n".join(lines)


def model_text(results: Sequence[ScenarioResult]) -> str:
    """The model and its limits, with the factors and overheads of this run."""
    factor_rows = [
        f"| {r.config.variant} | {r.config.tables:,} | {r.config.scale_scheduler:g} "
        f"| {r.config.scale_monitor:g} | {r.call_overhead_ms:.1f} "
        f"| {r.call_overhead_ms * r.config.scale_scheduler:.0f} / "
        f"{r.call_overhead_ms * r.config.scale_monitor:.0f} | {r.real_seconds:.0f} |"
        for r in results
    ]
    latency_ms = 1000 * results[0].config.latency if results else 30.0
    return "\n".join(
        [
            "## The model",
            "",
            "- **What runs.** The real handlers (`dynamodb_backup.scheduler.handler`, "
            "`dynamodb_backup.monitor.handler`) and, for comparison, `bench/baseline.py` "
            "(the seed's design literally: sequential CreateBackup and one SendMessage per "
            "backup; per message one DescribeBackup, then ListBackups of that table and its "
            "DeleteBackups; one SNS message per failure; boto3's default legacy retries: a "
            "ListBackups still throttled after them is alerted and that table's old backups "
            "stay, which its *all done* column shows). Each "
            "function runs in its own warm child process (`bench/worker.py`), imported once "
            "(cold start not counted in the invocation time), invoked with a Lambda-like "
            "context whose deadline is the function's configured timeout.",
            "- **AWS.** moto's server (`localrun.server.LocalAws`) with one interceptor "
            "(`bench/simaws.py`) in front: token buckets per account at AWS's published "
            "rates, CreateBackup 50/s, DescribeBackup 10/s, DeleteBackup 10/s, ListBackups "
            "5/s, each holding one second of burst, answering `ThrottlingException` (HTTP "
            "400) when empty; a fixed latency of "
            f"{latency_ms:.0f} ms on every call (SQS and SNS too, throttled ones too); "
            "ListBackups served from moto's backend state as AWS pages it (filters by "
            "table, type (default USER), creation time [lower, upper); at most 100 per page; "
            "`LastEvaluatedBackupArn`), since moto ignores all of these. SQS, SNS, "
            "DescribeBackup, CreateBackup and DeleteBackup answers come from moto.",
            "- **Steady state.** Before the run every table already has the own backups of "
            "the previous 3 daily runs (RETENTION_DAYS 3, MIN_BACKUPS_TO_KEEP 1), so the "
            "run deletes exactly one old backup per table. Tables come from "
            "`TABLE_NAMES_FILE` (no tagging calls). moto's backups are AVAILABLE at once, so "
            "no backup is re-polled: the best case for the baseline's DescribeBackup per ARN.",
            "- **Event source mapping.** `bench/scenario.py` plays Lambda's SQS mapping: "
            "2 concurrent pollers (the module's `monitor_maximum_concurrency` default), "
            "batches of 10 (`monitor_batch_size`), DeleteMessageBatch of what the partial "
            "batch response did not return. Its ReceiveMessage/DeleteMessageBatch calls "
            "are counted apart from the handlers' (principal `esm`); a real mapping also "
            "long-polls while the queue is empty, which is not counted. The queue's 300 s "
            "delay is left out (DelaySeconds 0): it is waiting, not work, and the backups "
            "are AVAILABLE when the monitor looks.",
            "- **Time.** A scenario phase runs k times faster than real time (the factors "
            "below): the simulated AWS's latency and token buckets run on a clock k times "
            "faster than the real one, and the handler's process is warped the same way "
            "(`time.monotonic`, `time.time`, `time.perf_counter`, `time.sleep` and timed "
            "`threading.Condition` waits, so the handlers' own rate limiters, retries and "
            "time budget, and botocore's adaptive retry bucket, all run k times faster). "
            "Every duration reported is simulated seconds.",
            "",
            "### Limits of the model",
            "",
            "- Real CPU work is not scaled: each real millisecond the local stack spends on "
            "a call (boto3 in the function, HTTP, moto, the interceptor) appears as k "
            "simulated milliseconds. The table gives the calibrated cost per call (median of "
            "30 sequential DescribeLimits before the run) and what it adds, simulated, per "
            "call at each phase's k. Figures are therefore pessimistic by about that much "
            "per sequential call, and more on a loaded machine. (A 256 MB Lambda has about "
            "0.15 of a vCPU, so its own CPU work is slower than this machine's too.)",
            "- moto's CreateBackup is AVAILABLE at once and its DeleteBackup instant; AWS "
            "takes seconds to minutes. Neither changes the number of calls in steady state; "
            "the re-poll cost of CREATING backups is not measured here (see `localrun`'s "
            "`BackupLifecycle` and the e2e tests for that behaviour).",
            "- One account, one region, nothing else calling the same APIs; the token "
            "buckets start full. AWS's real buckets and burst sizes are not published.",
            "- Peak memory is the worker process's peak RSS (`getrusage`), which includes "
            "the interpreter, boto3 and the benchmark's worker loop: an upper bound of what "
            "the handler needs in Lambda.",
            "- moto's SQS re-reads the clock through naive datetimes for every queued "
            "message on each send and receive (3.5 s per send with 10,000 messages queued); "
            "the scenario process swaps in an equivalent, cheaper clock read "
            "(`speed_up_moto`). Sends and receives still cost time proportional to the "
            "queue's length, which penalises the baseline's one message per table.",
            "- Import times: `-X importtime` wall times swing by 100 ms on a busy machine, so "
            "the verdict uses the least CPU time (`time.process_time`) of the same imports, "
            "over runs in which the modules take turns; the fastest wall times are shown "
            "beside it. On a quiet machine the two agree within a few ms. The handler "
            "modules are imported from the unpacked zip, without `.pyc`, as Lambda imports "
            "them; boto3 from its installation, compiled, as the runtime ships it.",
            "- Baseline rows marked *extrapolated* are scaled linearly from the largest N "
            "the baseline ran at (its per-table work is constant and its phases are "
            "sequential); `python -m bench --baseline-max 10000` measures it (about 15 more "
            "minutes).",
            "",
            "| variant | N | k scheduler | k monitor | call cost, real ms | adds, simulated "
            "ms (sch / mon) | scenario real s |",
            "|---|---:|---:|---:|---:|---:|---:|",
            *factor_rows,
            "",
            "Run to run, the call counts repeat except for the throttled retries (which depend "
            "on how the two monitors' listings interleave); the times move with the "
            "machine's load through the per-call CPU cost above.",
            "",
            "Reproduce: `make bench` (all N, about 10-15 minutes; rewrites this file, the chart "
            "and `bench/results.json`, where the raw figures are) or `make bench ARGS=--quick` "
            "(N <= 1,000, about 3 minutes; writes the same three files to `build/bench/`).",
        ]
    )
