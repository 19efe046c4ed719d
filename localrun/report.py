"""The demo's report: per day and per table, as text and as JSON (plain data)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from localrun.clock import iso_z
from localrun.cycle import BackupState, DayReport


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


def table_summary(
    backups: Mapping[str, BackupState], prefix: str, now: datetime
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for table in sorted({b.table for b in backups.values()}):
        own = sorted(
            (b for b in backups.values() if b.table == table and b.own(prefix)),
            key=lambda b: b.created,
        )
        other = [b for b in backups.values() if b.table == table and not b.own(prefix)]
        newest = own[-1] if own else None
        rows.append(
            {
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
        )
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


def format_summary(rows: Sequence[Mapping[str, Any]], now: str) -> str:
    lines = [f"Per-table summary at {now}:"]
    lines.append(f"  {'table':<14} {'kept':>4} {'age (h)':>8}  newest backup")
    for row in rows:
        age = "-" if row["age_hours"] is None else f"{row['age_hours']:.1f}"
        lines.append(
            f"  {row['table']:<14} {row['kept']:>4} {age:>8}  {row['newest'] or '-'}"
            + (f"  (+{row['other_backups']} not ours, untouched)" if row["other_backups"] else "")
        )
    return "\n".join(lines)
