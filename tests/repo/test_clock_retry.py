"""test-clock reruns a run that libfaketime crashed (SIGSEGV), and only such a run.

A CI run failed on one crash of the preload library because the retry loop sat behind the
recipe shell's `set -e`. These tests run the real recipe with a stand-in for Python that
crashes or fails on purpose, and the retry tool on its own. (The end-to-end suite runs
with Python's clock moved instead: tests/repo/test_clockshift.py.)
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RETRY = REPO / "tools" / "retry-on-segv"


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}


def _stand_in(tmp_path: Path, behaviour: str) -> Path:
    """A fake interpreter: logs its test path, then runs `behaviour` (bash) with $target set."""
    script = tmp_path / "python"
    script.write_text(
        "#!/usr/bin/env bash\n"
        'target=""\n'
        'for a in "$@"; do case $a in tests/*) target=$a;; esac; done\n'
        '[ -n "$target" ] || exit 0\n'  # the recipe's own `python -c` that prints the date
        f'echo "$target" >> "{tmp_path}/runs"\n'
        f'count=$(grep -cx -- "$target" "{tmp_path}/runs")\n'
        f"{behaviour}\n"
        "exit 0\n",
        encoding="utf-8",
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def _segfault() -> str:
    return "kill -SEGV $$"


def _make_test_clock(tmp_path: Path, python: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    # No preload and no venv build: the recipe's own control flow is what is tested.
    stamp_name = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "-s",
            "--eval",
            "print-stamp: ; @echo $(STAMP)",
            "print-stamp",
        ],
        cwd=REPO,
        env=_clean_env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    faketime = fake_bin / "faketime"
    faketime.write_text('#!/usr/bin/env bash\nshift 2\nexec "$@"\n', encoding="utf-8")
    faketime.chmod(0o755)
    env = _clean_env()
    env["PATH"] = f"{fake_bin}{os.pathsep}{env['PATH']}"
    return subprocess.run(
        [
            "make",
            "--no-print-directory",
            "-o",
            stamp_name,
            "test-clock",
            f"PY={python}",
            "FAKETIME_RUN=",
            *extra,
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def _runs(tmp_path: Path) -> list[str]:
    return (tmp_path / "runs").read_text(encoding="utf-8").splitlines()


def test_a_crashed_handler_suite_runs_again_and_the_target_passes(tmp_path: Path) -> None:
    python = _stand_in(
        tmp_path, f'[ "$target" = tests/lambda ] && [ "$count" -le 2 ] && {_segfault()}'
    )
    done = _make_test_clock(tmp_path, python)
    assert done.returncode == 0, done.stdout + done.stderr
    assert _runs(tmp_path) == ["tests/lambda"] * 3 + ["tests/e2e"]
    assert "crashed with SIGSEGV (attempt 2 of 5)" in done.stderr


def test_a_failing_handler_test_fails_at_once_and_stops_the_target(tmp_path: Path) -> None:
    python = _stand_in(tmp_path, '[ "$target" = tests/lambda ] && exit 1')
    done = _make_test_clock(tmp_path, python)
    assert done.returncode != 0
    assert _runs(tmp_path) == ["tests/lambda"]


def test_a_crash_on_every_attempt_fails_the_target(tmp_path: Path) -> None:
    python = _stand_in(tmp_path, f'[ "$target" = tests/lambda ] && {_segfault()}')
    done = _make_test_clock(tmp_path, python, "CLOCK_ATTEMPTS=3")
    assert done.returncode != 0
    assert _runs(tmp_path) == ["tests/lambda"] * 3


def test_the_e2e_suite_runs_once_with_pythons_clock_moved(tmp_path: Path) -> None:
    python = _stand_in(
        tmp_path,
        f'[ "$target" = tests/e2e ] && echo "$SITE_CLOCK_SHIFT $PYTHONPATH" > {tmp_path}/e2e-env\n'
        f'[ "$target" = tests/e2e ] && exit 1',
    )
    done = _make_test_clock(tmp_path, python, "CLOCK_SHIFT=-30d")
    assert done.returncode != 0  # a failing e2e test fails the target, no second run
    assert _runs(tmp_path) == ["tests/lambda", "tests/e2e"]
    shift, path = (tmp_path / "e2e-env").read_text(encoding="utf-8").split()
    assert shift == "-30d"
    assert path.split(os.pathsep)[0] == str(REPO / "tools" / "clockshift")


def test_the_retry_tool_passes_any_other_status_through_unchanged(tmp_path: Path) -> None:
    for status in (0, 1, 2, 134):
        done = subprocess.run(
            [str(RETRY), "4", "t", "bash", "-c", f"echo x >> {tmp_path}/n; exit {status}"],
            check=False,
        )
        assert done.returncode == status
    assert (tmp_path / "n").read_text(encoding="utf-8").count("x") == 4


def test_the_retry_tool_refuses_a_bad_attempt_count() -> None:
    for args in (["0", "t", "true"], ["x", "t", "true"], ["3", "t"]):
        done = subprocess.run([str(RETRY), *args], capture_output=True, text=True, check=False)
        assert done.returncode == 2
        assert "usage:" in done.stderr
