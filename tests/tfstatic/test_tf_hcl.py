"""The HCL model the checks stand on: blocks, lines, references, and which files are walked."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.schema.hcl import HclError, load_module, module_dirs, parse_text, references


def refs(expression: str) -> list[str]:
    (block,) = parse_text(f"locals {{\n  x = {expression}\n}}\n", Path("x.tf"))
    attr = block.attributes["x"]
    return [r.text() for r in references(attr.expr, attr.line)[0]]


def test_blocks_labels_and_lines() -> None:
    text = (
        'resource "aws_sqs_queue" "q" {\n  name = "a"\n\n'
        '  dynamic "x" {\n    for_each = []\n    content {}\n  }\n}\n'
    )
    (block,) = parse_text(text, Path("m.tf"))
    assert (block.type, block.labels, block.line) == ("resource", ["aws_sqs_queue", "q"], 1)
    assert block.attributes["name"].line == 2
    (dynamic,) = block.blocks
    assert (dynamic.type, dynamic.labels, dynamic.line) == ("dynamic", ["x"], 4)
    assert [c.type for c in dynamic.blocks] == ["content"]
    assert block.where() == "m.tf:1"


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("aws_iam_role.this[0].arn", ["aws_iam_role.this[].arn"]),
        ('"${var.a}-${local.b}"', ["var.a", "local.b"]),
        ('"arn:aws:iam::aws_fake.name:x"', []),  # inside a literal: not a reference
        ("upper(var.a)", ["var.a"]),
        ("aws_sqs_queue.q[*].arn", ["aws_sqs_queue.q[*].arn"]),
        ("{ Name = var.a }", ["var.a"]),
        ("module.m.out", ["module.m.out"]),
        ("data.aws_region.r.id", ["data.aws_region.r.id"]),
        ("var.m[var.k]", ["var.m[]", "var.k"]),
    ],
)
def test_references(expression: str, expected: list[str]) -> None:
    assert refs(expression) == expected


def test_unparseable_file_names_the_file() -> None:
    with pytest.raises(HclError, match=r"broken\.tf"):
        parse_text('resource "x" {\n', Path("broken.tf"))


def test_module_dirs_skip_virtualenvs_and_terraform_caches(tmp_path: Path) -> None:
    for rel in (
        "main.tf",
        "modules/a/main.tf",
        "examples/basic/main.tf",
        "examples/basic/.terraform/modules/x/main.tf",
        ".venv/lib/x/main.tf",
        ".venv-checkov/main.tf",
        "tests/fixtures/main.tf",
    ):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("", encoding="utf-8")
    found = [str(d.relative_to(tmp_path)) for d in module_dirs(tmp_path)]
    assert found == [".", "examples/basic", "modules/a"]
    assert load_module(tmp_path / "modules" / "a").blocks == []
