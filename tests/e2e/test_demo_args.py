"""`make demo ARGS=...` refuses values outside the allowed range before it starts anything;
the tier arguments reach the deployment and the summary says what each rule keeps."""

from __future__ import annotations

import argparse
import json

import pytest

from localrun.__main__ import _parser, main, run_demo
from localrun.clock import VirtualClock
from localrun.report import format_summary
from localrun.server import LocalAws


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--days", "-1"], "argument --days: must be a whole number from 1 to 400, got -1"),
        (["--days", "0"], "argument --days: must be a whole number from 1 to 400, got 0"),
        (["--days", "401"], "argument --days: must be a whole number from 1 to 400, got 401"),
        (["--days", "two"], "argument --days: must be a whole number from 1 to 400, got 'two'"),
        (
            ["--keep-daily", "-1"],
            "argument --keep-daily: must be a whole number from 0 to 10000, got -1",
        ),
        (
            ["--keep-weekly", "10001"],
            "argument --keep-weekly: must be a whole number from 0 to 10000, got 10001",
        ),
        (
            ["--keep-monthly", "1.5"],
            "argument --keep-monthly: must be a whole number from 0 to 10000, got '1.5'",
        ),
        (
            ["--keep-yearly", "all"],
            "argument --keep-yearly: must be a whole number from 0 to 10000, got 'all'",
        ),
        (["--hour", "25"], "argument --hour: must be a whole number from 0 to 23, got 25"),
        (["--hour", "-1"], "argument --hour: must be a whole number from 0 to 23, got -1"),
        (
            ["--retention-days", "0"],
            "argument --retention-days: must be a whole number from 1 to 365, got 0",
        ),
        (
            ["--retention-days", "1.5"],
            "argument --retention-days: must be a whole number from 1 to 365, got '1.5'",
        ),
        (["--weeks", "2"], "unrecognized arguments: --weeks 2"),
    ],
)
def test_demo_refuses_bad_arguments(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", *argv])
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert message in captured.err
    assert "make demo" not in captured.out  # refused before any cycle ran


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            [],
            {
                "days": 7,
                "retention_days": 3,
                "hour": 3,
                "json": False,
                "keep_daily": 0,
                "keep_weekly": 0,
                "keep_monthly": 0,
                "keep_yearly": 0,
            },
        ),
        (
            ["--days", "400", "--retention-days", "365", "--hour", "0", "--json"],
            {"days": 400, "retention_days": 365, "hour": 0, "json": True},
        ),
        (
            ["--keep-daily", "0", "--keep-weekly", "10000", "--keep-monthly", "12"],
            {"keep_daily": 0, "keep_weekly": 10000, "keep_monthly": 12, "keep_yearly": 0},
        ),
        (["--days", "1", "--retention-days", "1", "--hour", "23"], {"days": 1, "hour": 23}),
    ],
)
def test_demo_accepts_the_range_bounds(argv: list[str], expected: dict[str, object]) -> None:
    args = vars(_parser().parse_args(["demo", *argv]))
    assert {key: args[key] for key in expected} == expected


def test_every_demo_option_has_help_text() -> None:
    parser = _parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    demo = sub.choices["demo"]
    options = [a for a in demo._actions if a.option_strings and a.dest != "help"]
    assert {a.dest for a in options} == {
        "json",
        "days",
        "retention_days",
        "hour",
        "keep_daily",
        "keep_weekly",
        "keep_monthly",
        "keep_yearly",
    }
    for action in options:
        assert action.help, f"{action.option_strings[0]} has no help text"


def test_demo_with_tiers_keeps_and_reports_what_each_rule_keeps(
    aws: LocalAws, clock: VirtualClock
) -> None:
    # 2026-11-01 (a Sunday) to 11-14: 3 dailies (11-12..14) and the newest of 2 ISO weeks
    # (11-14 and Sunday 11-08); the deleted table's runs end on 11-13 (dailies 11-11..13)
    result = run_demo(
        clock, aws, days=13, retention_days=1, hour=3, tiers={"keep_daily": 3, "keep_weekly": 2}
    )
    assert result["ok"] is True, result["summary_problems"]
    rows = {row["table"]: row for row in result["summary"] if row["table"] != "scratch"}
    dates = {t: sorted(c[:10] for c in row["kept_created"]) for t, row in rows.items()}
    tiered = ["2026-11-08", "2026-11-12", "2026-11-13", "2026-11-14"]
    assert dates == {
        "audit-log": tiered,
        "inventory": tiered,
        "orders": tiered,
        "customers": ["2026-11-08", "2026-11-11", "2026-11-12", "2026-11-13"],
    }
    assert rows["orders"]["rules"] == {
        "retention_days": 1,
        "min_backups_to_keep": 1,
        "keep_daily": 3,
        "keep_weekly": 2,
        "keep_monthly": 0,
        "keep_yearly": 0,
    }
    assert rows["orders"]["kept_by"] == {
        "retention_days": 1,
        "min_backups_to_keep": 1,
        "keep_daily": 3,
        "keep_weekly": 2,
        "keep_monthly": 0,
        "keep_yearly": 0,
    }
    text = format_summary(result["summary"], result["finished"])
    assert "Kept by each rule" in text
    orders_line = next(line for line in text.splitlines()[6:] if line.startswith("  orders"))
    assert " ".join(orders_line.split()) == "orders 1 [ 1] 1 [ 1] 3 [ 3] 2 [ 2] - [ off] - [ off]"
    json.dumps(result)  # the --json report stays plain data


def test_tier_arguments_reach_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, object] = {}

    def fake_run_demo(*_args: object, **kwargs: object) -> dict[str, object]:
        seen.update(kwargs)
        return {"ok": True, "days": [], "summary": [], "summary_problems": [], "finished": "x"}

    monkeypatch.setattr("localrun.__main__.run_demo", fake_run_demo)
    assert main(["demo", "--json", "--keep-monthly", "12", "--keep-yearly", "2"]) == 0
    assert seen["tiers"] == {
        "keep_daily": 0,
        "keep_weekly": 0,
        "keep_monthly": 12,
        "keep_yearly": 2,
    }
