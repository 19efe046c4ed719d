"""Mutation tests: every small mistake injected into the good fixture is reported.

Each mutation appends `zz` to one argument/block name, one referenced name or one
attribute read of `fixtures/good`; at least one of the checks must then report a problem.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.tfstatic.helpers import FIXTURES
from tools.schema.check import reference_checker, schema_sets
from tools.schema.check_schema import check_language, check_module
from tools.schema.hcl import Problem, load_module

GOOD = FIXTURES / "good"
ARGUMENT = re.compile(r"^(\s+)([a-z_0-9]+)(\s+=|\s*\{)")
REFERENCE = re.compile(
    r"\b(?:var|local|each|count)\.([a-z_0-9]+)|\bmodule\.[a-z_0-9]+\.([a-z_0-9]+)"
    r"|\bdata\.[a-z_0-9]+\.([a-z_0-9]+)|\b(aws_[a-z_0-9]+)\.[a-z_0-9]+"
)
ATTRIBUTE = re.compile(r"\b(?:data\.)?aws_[a-z_0-9]+\.[a-z_0-9]+(?:\[[^\]]*\])?\.([a-z_0-9]+)")
FREE_FORM_KEYS = frozenset({"Table", "Upper", "FunctionName"})  # keys of literal maps


def mutations() -> Iterator[tuple[str, int, int]]:
    """(file, line index, character index where `zz` goes) of every mutation."""
    for tf in sorted(GOOD.rglob("*.tf")):
        lines = tf.read_text(encoding="utf-8").splitlines()
        top = ""
        for index, line in enumerate(lines):
            if re.match(r"^\w", line):
                top = line.split()[0]
            match = ARGUMENT.match(line)
            if match and top not in ("locals",) and match.group(2) not in FREE_FORM_KEYS:
                yield str(tf.relative_to(GOOD)), index, match.end(2)
            for ref in REFERENCE.finditer(line):
                group = next(g for g in range(1, 5) if ref.group(g))
                yield str(tf.relative_to(GOOD)), index, ref.end(group)
            for ref in ATTRIBUTE.finditer(line):
                yield str(tf.relative_to(GOOD)), index, ref.end(1)


def all_problems(root: Path) -> list[Problem]:
    refs = reference_checker(root)
    found: list[Problem] = []
    for directory in (root, root / "child"):
        module = load_module(directory)
        found += check_language(module) + refs.check(refs.module(directory))
        for schemas in schema_sets().values():
            found += check_module(module, schemas)
    return found


def test_the_fixture_offers_enough_mutations() -> None:
    assert len(list(mutations())) > 80


@pytest.mark.parametrize(("file", "index", "at"), list(mutations()))
def test_mutation_is_reported(tmp_path: Path, file: str, index: int, at: int) -> None:
    root = tmp_path / "good"
    shutil.copytree(GOOD, root)
    target = root / file
    lines = target.read_text(encoding="utf-8").splitlines()
    original = lines[index]
    lines[index] = original[:at] + "zz" + original[at:]
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert all_problems(root), f"not reported: {file}:{index + 1}: {lines[index].strip()}"
