"""The demo's report: per day and per table, as text and as JSON (plain data)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from localrun.clock import iso_z
from localrun.cycle import BackupState, DayReport, RetentionRules, reference_tier_keeps

RULES = (
    "retention_days",
    "min_backups_to_keep",
    "keep_daily",
    "keep_weekly",
    "keep_monthly",
    "keep_yearly",
)


def day_data(number: int, day: DayReport, note: str = "") -> dict[str, Any]:
    return {
        "day": number,
        "slot": iso_z(day.slot),
        "note": note,
        "selected": day.selected,
        "created": [
            {"table": t, "name": b.name, "status": b.status, "created": iso_z(b.created)}
            for t, b in sorted(day.created.items())
        ],
        "deleted_by_retention": [
            {"table": b.table, "name": b.name, "created": iso_z(b.created)} for b in day.deleted
        ],
        "alerts": [{"subject": a.subject, "message": a.message} for a in day.alerts],
        "scheduler_invocations": len(day.scheduler),
        "scheduler_errors": sum(1 for i in day.scheduler if i.failed),
        "monitor_invocations": len(day.monitor),
        "monitor_errors": day.monitor_errors,
        "dead_letters": len(day.dead_letters),
        "queue_drained_at": iso_z(day.finished),
        "problems": day.problems,
    }


def kept_by(own: Sequence[BackupState], rules: RetentionRules, as_of: datetime) -> dict[str, int]:
    """How many of a table's own AVAILABLE backups each rule keeps at `as_of` (the
    table's last retention decision), by the oracle's reference; a backup kept by several
    rules counts for each."""
    available = sorted(
        (b for b in own if b.status == "AVAILABLE"), key=lambda b: (b.created, b.arn), reverse=True
    )
    limit = as_of - timedelta(days=rules.retention_days)
    counts = {
        "retention_days": sum(1 for b in available if b.created > limit),
        "min_backups_to_keep": min(rules.min_backups_to_keep, len(available)),
    }
    tiers = reference_tier_keeps({b.arn: b.created for b in available}, rules)
    counts |= {tier: len(arns) for tier, arns in tiers.items()}
    return counts


def table_summary(
    backups: Mapping[str, BackupState],
    prefix: str,
    now: datetime,
    rules_for: Callable[[str], RetentionRules] | None = None,
    decided: Mapping[str, datetime] | None = None,
) -> list[dict[str, Any]]:
    """Per table: its own backups, and (with `rules_for`) its rules and how many backups
    each keeps as of `decided[table]` (its last retention decision; default `now`)."""
    rows: list[dict[str, Any]] = []
    for table in sorted({b.table for b in backups.values()}):
        own = sorted(
            (b for b in backups.values() if b.table == table and b.own(prefix)),
            key=lambda b: b.created,
        )
        other = [b for b in backups.values() if b.table == table and not b.own(prefix)]
        newest = own[-1] if own else None
        row: dict[str, Any] = {
            "table": table,
            "newest": newest.name if newest else None,
            "newest_status": newest.status if newest else None,
            "age_hours": round((now - newest.created).total_seconds() / 3600, 1)
            if newest
            else None,
            "kept": len(own),
            "kept_created": [iso_z(b.created) for b in own],
            "other_backups": len(other),
        }
        if rules_for is not None:
            rules = rules_for(table)
            row["rules"] = {name: getattr(rules, name) for name in RULES}
            row["kept_by"] = kept_by(own, rules, (decided or {}).get(table, now))
        rows.append(row)
    return rows


def format_day(data: Mapping[str, Any]) -> str:
    lines = [
        f"Day {data['day']}  run {data['slot']}" + (f"  ({data['note']})" if data["note"] else "")
    ]
    created = data["created"]
    lines.append(f"  backups created ({len(created)} of {len(data['selected'])} selected tables):")
    lines += [f"    {c['table']:<28} {c['status']:<10} {c['name']}" for c in created]
    missing = sorted(set(data["selected"]) - {c["table"] for c in created})
    lines += [f"    {t:<28} {'NONE':<10} -" for t in missing]
    deleted = data["deleted_by_retention"]
    lines.append(f"  deleted by retention ({len(deleted)}):" + ("" if deleted else " none"))
    lines += [f"    {d['table']:<28} {d['name']} (created {d['created']})" for d in deleted]
    alerts: Sequence[Mapping[str, str]] = data["alerts"]
    lines.append(f"  alerts published ({len(alerts)}):" + ("" if alerts else " none"))
    for alert in alerts:
        lines.append(f"    Subject: {alert['subject']}")
        lines += [f"    | {line}" for line in alert["message"].splitlines()]
    lines.append(
        f"  functions: scheduler {data['scheduler_invocations']} invocation(s), "
        f"{data['scheduler_errors']} error(s); monitor {data['monitor_invocations']} "
        f"invocation(s), {data['monitor_errors']} error(s); dead letters {data['dead_letters']}; "
        f"queue drained at {data['queue_drained_at']}"
    )
    if data["problems"]:
        lines.append("  PROBLEMS:")
        lines += [f"    - {p}" for p in data["problems"]]
    else:
        lines.append("  checks: ok")
    return "\n".join(lines)


SHORT = {
    "retention_days": "days",
    "min_backups_to_keep": "min",
    "keep_daily": "daily",
    "keep_weekly": "weekly",
    "keep_monthly": "monthly",
    "keep_yearly": "yearly",
}


def format_summary(rows: Sequence[Mapping[str, Any]], now: str) -> str:
    lines = [f"Per-table summary at {now}:"]
    lines.append(f"  {'table':<14} {'kept':>4} {'age (h)':>8}  newest backup")
    for row in rows:
        age = "-" if row["age_hours"] is None else f"{row['age_hours']:.1f}"
        lines.append(
            f"  {row['table']:<14} {row['kept']:>4} {age:>8}  {row['newest'] or '-'}"
            + (f"  (+{row['other_backups']} not ours, untouched)" if row["other_backups"] else "")
        )
    ruled = [row for row in rows if "kept_by" in row]
    if ruled:
        lines.append("Kept by each rule (rule's setting in brackets; a backup kept by several")
        lines.append("rules counts for each; as of the table's last retention decision):")
        header = "".join(f"{SHORT[r]:>12}" for r in RULES)
        lines.append(f"  {'table':<14}{header}")
        for row in ruled:
            cells = "".join(
                f" {row['kept_by'][r]:>4} [{row['rules'][r]:>4}]"
                if row["rules"][r] or not r.startswith("keep_")
                else f" {'-':>4} [{'off':>4}]"
                for r in RULES
            )
            lines.append(f"  {row['table']:<14}{cells}")
    return "\n".join(lines)
