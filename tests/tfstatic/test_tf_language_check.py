"""The Terraform language's own blocks: variable, output, module, locals, terraform."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tfstatic.helpers import FIXTURES, REPO, marked_lines
from tools.schema.check_schema import check_language
from tools.schema.hcl import load_module, module_dirs


def test_good_fixture_passes() -> None:
    assert check_language(load_module(FIXTURES / "good")) == []
    assert check_language(load_module(FIXTURES / "good" / "child")) == []


def test_every_mistake_is_reported_and_nothing_else() -> None:
    tf = FIXTURES / "bad_language" / "main.tf"
    problems = check_language(load_module(tf.parent))
    assert {p.line for p in problems} == marked_lines(tf, "bad")
    messages = [p.message for p in problems]
    for needle in (
        "terraform: unknown argument `required_versoin` (did you mean `required_version`?)",
        "required_providers.aws: unknown key `versoin`",
        "required_providers.archive: write `{ source = ..., version = ... }`",
        'variable "a": unknown argument `descripton` (did you mean `description`?)',
        'variable "a": validation needs `error_message`',
        'output "no_value": missing required argument `value`',
        'module "no_source": missing required argument `source`',
        "provider `random` is used but not in terraform.required_providers",
    ):
        assert any(needle in m for m in messages), needle


@pytest.mark.parametrize(
    "directory", module_dirs(REPO), ids=lambda d: str(d.relative_to(REPO)) or "root"
)
def test_module_and_examples_use_the_language_correctly(directory: Path) -> None:
    problems = check_language(load_module(directory, REPO))
    assert not problems, "\n" + "\n".join(map(str, problems))
