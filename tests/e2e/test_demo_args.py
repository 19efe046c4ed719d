"""`make demo ARGS=...` refuses values outside the allowed range before it starts anything."""

from __future__ import annotations

import argparse

import pytest

from localrun.__main__ import _parser, main


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--days", "-1"], "argument --days: must be a whole number from 1 to 30, got -1"),
        (["--days", "0"], "argument --days: must be a whole number from 1 to 30, got 0"),
        (["--days", "100000"], "argument --days: must be a whole number from 1 to 30, got 100000"),
        (["--days", "two"], "argument --days: must be a whole number from 1 to 30, got 'two'"),
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
        ([], {"days": 7, "retention_days": 3, "hour": 3, "json": False}),
        (
            ["--days", "30", "--retention-days", "365", "--hour", "0", "--json"],
            {"days": 30, "retention_days": 365, "hour": 0, "json": True},
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
    assert {a.dest for a in options} == {"json", "days", "retention_days", "hour"}
    for action in options:
        assert action.help, f"{action.option_strings[0]} has no help text"
