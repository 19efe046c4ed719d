"""The repository explains itself: `make help` lists every public target, the pre-commit
hooks call what exists, and the formatter-only Terraform is not on an activated venv's PATH."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MAKEFILES = [REPO / "Makefile", *sorted((REPO / "mk").glob("*.mk"))]


def phony_targets() -> set[str]:
    targets: set[str] = set()
    for path in MAKEFILES:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith(".PHONY:"):
                targets.update(line.removeprefix(".PHONY:").split())
    return targets


def make_help() -> list[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    done = subprocess.run(
        ["make", "--no-print-directory", "-s", "help"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.splitlines()


def test_make_help_lists_every_public_target_once_with_a_description() -> None:
    listed: dict[str, str] = {}
    for line in make_help()[1:]:
        match = re.fullmatch(r"  make (\S+)\s+(\S.*)", line)
        assert match, f"not a 'make <target>  <description>' line: {line!r}"
        assert match[1] not in listed, f"{match[1]} listed twice"
        listed[match[1]] = match[2]
    missing = phony_targets() - set(listed)
    assert not missing, f"add a '## <description>' to the rule line of: {sorted(missing)}"
    for name in ("demo", "test", "bench", "clean", "readme", "checkov", "tf-check", "test-clock"):
        assert name in listed


def test_make_help_is_the_default_goal() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    done = subprocess.run(
        ["make", "--no-print-directory", "-s"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.splitlines() == make_help()


def test_pre_commit_hooks_call_what_exists() -> None:
    config = (REPO / ".pre-commit-config.yaml").read_text(encoding="utf-8")
    assert re.search(r"^\s*- repo: local\s*$", config, re.MULTILINE)
    assert not re.search(r"^\s*- repo: (?!local)", config, re.MULTILINE), "hooks must be local"
    targets = {line.split()[1] for line in make_help()[1:]}
    entries = re.findall(r"^\s*entry:\s*(.+?)\s*$", config, re.MULTILINE)
    assert len(entries) >= 5
    for entry in entries:
        words = entry.split()
        if words[0] == "make":
            assert {w for w in words[1:] if not w.startswith("-")} <= targets, entry
        else:
            assert words[0].startswith(".venv"), f"{entry}: a tool of the repository's venv"
            scripts = [w for w in words[1:] if w.endswith(".py")]
            assert all((REPO / w).is_file() for w in scripts), entry
    hooks = set(re.findall(r"^\s*- id:\s*(\S+)", config, re.MULTILINE))
    assert {"ruff-check", "ruff-format", "terraform-fmt", "readme", "checkov"} <= hooks


def test_formatter_only_terraform_is_not_on_the_venv_path() -> None:
    bin_dir = REPO / ".venv" / "bin"
    assert bin_dir.is_dir()
    assert not (bin_dir / "terraform").exists(), (
        ".venv/bin/terraform would shadow the user's Terraform in an activated venv"
    )
    fmt = REPO / ".venv" / "libexec" / "terraform-fmt"
    done = subprocess.run([fmt, "version"], capture_output=True, text=True, check=True)
    assert done.stdout.startswith("Terraform v1.0.3")
