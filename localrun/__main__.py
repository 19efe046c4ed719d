"""`python -m localrun demo [--json] [--days 7] [--retention-days 3] [--keep-daily N] ...`.

A week of daily backup cycles against moto's server on 127.0.0.1 (no AWS account), then
one bad day on which a listed table has been deleted. Prints per day what was backed up,
what retention deleted and what was alerted, then a per-table summary; exits 1 when the
cycle misbehaved (a missing backup, a wrong retention decision, a missing alert).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from localrun.clock import VirtualClock, install, iso_z
from localrun.cycle import LocalDeployment, RetentionRules, Settings, reference_tier_keeps
from localrun.drill import LocalDrill, drill_data, format_drill
from localrun.report import day_data, format_day, format_summary, table_summary
from localrun.server import LocalAws

START = datetime(2026, 11, 1, tzinfo=UTC)
NAMED_TABLES = ("orders", "customers", "inventory")
TAGGED_TABLE = "audit-log"
SLOW_TABLE = "inventory"  # its backups take 7 minutes: the monitor re-enqueues them once
BAD_DAY_TABLE = "customers"
DRILL_DAY = 3  # the week's restore drill runs DRILL_HOURS after this day's backups
DRILL_HOURS = 3


MAX_DAYS = 400  # each simulated day takes about a second of real time: a year fits
MAX_RETENTION_DAYS = 365
MAX_TIER = 10000  # the module's keep_* validation
TIERS = ("daily", "weekly", "monthly", "yearly")


def bounded_int(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number from `low` to `high`; the error gives the range."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"must be a whole number from {low} to {high}, got {text!r}"
            ) from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"must be a whole number from {low} to {high}, got {value}"
            )
        return value

    return parse


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m localrun", description="The module's backup cycle, run locally."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser(
        "demo",
        help="a week of daily cycles, then one bad day",
        description=(
            "Daily backup cycles of four tables against moto's server (no AWS account), then"
            " a bad day on which a listed table has been deleted. Exits 1 when the cycle"
            " misbehaved."
        ),
    )
    demo.add_argument(
        "--json", action="store_true", help="print the report as JSON instead of text"
    )
    demo.add_argument(
        "--days",
        type=bounded_int(1, MAX_DAYS),
        default=7,
        metavar="N",
        help=f"good days before the bad one, 1 to {MAX_DAYS} (default: %(default)s)",
    )
    demo.add_argument(
        "--retention-days",
        type=bounded_int(1, MAX_RETENTION_DAYS),
        default=3,
        metavar="N",
        help=(
            "the module's retention_days: backups older than this are deleted,"
            f" 1 to {MAX_RETENTION_DAYS} (default: %(default)s)"
        ),
    )
    for tier in TIERS:
        period = {"daily": "calendar day", "weekly": "ISO week"}.get(tier, tier[:-2])
        demo.add_argument(
            f"--keep-{tier}",
            type=bounded_int(0, MAX_TIER),
            default=0,
            metavar="N",
            help=(
                f"the module's keep_{tier}: also keep the newest backup of each of the last"
                f" N {period}s (UTC) with one, 0 (off, the default) to {MAX_TIER}"
            ),
        )
    demo.add_argument(
        "--hour",
        type=bounded_int(0, 23),
        default=3,
        metavar="H",
        help="schedule slot, hour of day UTC, 0 to 23 (default: %(default)s)",
    )
    return parser


def run_demo(
    clock: VirtualClock,
    aws: LocalAws,
    *,
    days: int,
    retention_days: int,
    hour: int,
    tiers: Mapping[str, int] | None = None,
    emit: Callable[[dict[str, Any]], None] = lambda _day: None,
    emit_drill: Callable[[dict[str, Any]], None] = lambda _drill: None,
) -> dict[str, Any]:
    """The demo's cycles on `clock` (installed) and `aws` (started); returns the report.
    `tiers`: any of keep_daily, keep_weekly, keep_monthly, keep_yearly (default 0)."""
    keep = dict(tiers or {})
    settings = Settings(
        table_names=NAMED_TABLES,
        table_tags={"backup": "daily"},
        retention_days=retention_days,
        keep_daily=keep.get("keep_daily", 0),
        keep_weekly=keep.get("keep_weekly", 0),
        keep_monthly=keep.get("keep_monthly", 0),
        keep_yearly=keep.get("keep_yearly", 0),
        log_level="WARNING",
    )
    deployment = LocalDeployment(
        aws, clock, settings, backup_duration=lambda t: 420.0 if t == SLOW_TABLE else 90.0
    )
    deployment.create_tables(NAMED_TABLES, items=5)
    deployment.create_tables([TAGGED_TABLE], items=5, tags={"backup": "daily"})
    deployment.create_tables(["scratch"], items=1, tags={"backup": "never"})
    deployment.add_backup("orders", "before-migration", START - timedelta(days=30))
    drill = LocalDrill(deployment, restore_duration=lambda _table: 14 * 60.0)
    drill_result: dict[str, Any] | None = None
    reports: list[dict[str, Any]] = []
    for number in range(1, days + 2):
        slot = START + timedelta(days=number - 1, hours=hour)
        note = ""
        if number == days + 1:
            clock.move_to(slot - timedelta(hours=1))
            deployment.delete_table(BAD_DAY_TABLE)
            note = f"bad day: table {BAD_DAY_TABLE} was deleted"
        day = deployment.run_day(slot)
        data = day_data(number, day, note)
        if number == days + 1 and not any(BAD_DAY_TABLE in a.message for a in day.alerts):
            data["problems"].append(f"no alert names the deleted table {BAD_DAY_TABLE}")
        reports.append(data)
        emit(data)
        if number == min(DRILL_DAY, days):  # one restore drill in the week
            drill_result = drill_data(
                drill.run(slot + timedelta(hours=DRILL_HOURS)), settings.prefix
            )
            emit_drill(drill_result)
    now = clock.now()
    decided = {
        c["table"]: datetime.fromisoformat(d["queue_drained_at"])
        for d in reports
        for c in d["created"]
        if c["status"] == "AVAILABLE"
    }
    summary = table_summary(deployment.backups(), settings.prefix, now, settings.rules_for, decided)
    problems = _summary_problems(summary, days, settings.rules_for)
    drill_problems = ["no drill ran"] if drill_result is None else drill_result["problems"]
    return {
        "ok": not problems and not any(d["problems"] for d in reports) and not drill_problems,
        "days": reports,
        "drill": drill_result,
        "summary": summary,
        "summary_problems": problems,
        "finished": iso_z(now),
    }


def expected_kept(runs: int, rules: RetentionRules) -> int:
    """How many of `runs` daily backups (one a day, the newest last) a table keeps, by
    the oracle's reference: the last `retention_days` runs, the newest
    `min_backups_to_keep`, and what each tier keeps of them."""
    slots = {str(day): START + timedelta(days=day) for day in range(runs)}
    kept = {str(day) for day in range(max(0, runs - rules.retention_days), runs)}
    kept |= {str(day) for day in range(max(0, runs - rules.min_backups_to_keep), runs)}
    for arns in reference_tier_keeps(slots, rules).values():
        kept |= arns
    return len(kept)


def _summary_problems(
    summary: list[dict[str, Any]], days: int, rules_for: Callable[[str], RetentionRules]
) -> list[str]:
    """What the summary must show: each table keeps what its rules keep of its runs."""
    problems = []
    for row in summary:
        if row["table"] == "scratch":
            if row["kept"]:
                problems.append("scratch (not selected) has backups")
            continue
        runs = days if row["table"] == BAD_DAY_TABLE else days + 1
        expected = expected_kept(runs, rules_for(row["table"]))
        if row["kept"] != expected:
            problems.append(f"{row['table']}: {row['kept']} backups kept, expected {expected}")
    orders = next((r for r in summary if r["table"] == "orders"), None)
    if orders is None or orders["other_backups"] != 1:
        problems.append("orders: the manual backup 'before-migration' was not kept")
    return problems


def _print_day(data: dict[str, Any]) -> None:
    print(format_day(data), end="\n\n", flush=True)


def _print_drill(data: dict[str, Any]) -> None:
    print(format_drill(data), end="\n\n", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    clock = VirtualClock(START)
    with install(clock), LocalAws() as aws:
        result = run_demo(
            clock,
            aws,
            days=args.days,
            retention_days=args.retention_days,
            hour=args.hour,
            tiers={f"keep_{tier}": getattr(args, f"keep_{tier}") for tier in TIERS},
            emit=(lambda _day: None) if args.json else _print_day,
            emit_drill=(lambda _drill: None) if args.json else _print_drill,
        )
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(format_summary(result["summary"], result["finished"]))
        for problem in result["summary_problems"]:
            print(f"  PROBLEM: {problem}")
        verdict = "ok" if result["ok"] else "FAILED: the cycle misbehaved (see PROBLEMS above)"
        print(f"\nmake demo: {verdict}")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
