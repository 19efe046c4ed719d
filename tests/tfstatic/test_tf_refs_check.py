"""Check 5: every variable, local, resource, data, module and output reference resolves."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tfstatic.helpers import FIXTURES, REPO, marked_lines
from tools.schema.check import reference_checker
from tools.schema.check_refs import ReferenceChecker
from tools.schema.hcl import Module, Problem, module_dirs, parse_text


def checker() -> ReferenceChecker:
    return reference_checker(REPO)


def check(directory: Path) -> list[Problem]:
    refs = checker()
    return refs.check(refs.module(directory))


def check_text(text: str) -> list[str]:
    module = Module(path=FIXTURES, blocks=parse_text(text, Path("x.tf")))
    return [p.message for p in checker().check(module)]


def test_good_fixture_resolves() -> None:
    assert check(FIXTURES / "good") == []
    assert check(FIXTURES / "good" / "child") == []


def test_every_broken_reference_is_reported_and_nothing_else() -> None:
    tf = FIXTURES / "bad_refs" / "main.tf"
    problems = check(tf.parent)
    assert {p.line for p in problems} == marked_lines(tf, "bad")
    assert len(problems) == len(marked_lines(tf, "bad"))


def test_messages_name_the_reference() -> None:
    messages = [p.message for p in check(FIXTURES / "bad_refs")]
    for needle in (
        "`var.unknwon`: no variable `unknwon` in this module (in locals)",
        "`local.nope`: no local `nope`",
        "`aws_sqs_queue.missing.url`: no resource `aws_sqs_queue` `missing`",
        "`data.aws_region.nope.name`: no data block `aws_region` `nope`",
        "`vra.known`: unknown name `vra`",
        "`module.child.no_such_output`: module `child` has no output `no_such_output` "
        '(in output "out")',
        'module "child": `unknown` is not a variable of child',
        'module "child": required variable `required` is not set',
        "`var.known`: a validation may refer only to var.other",
        "`count.index`: only `count.index` where `count` is set",
        "`each.value`: only `each.key/value` where `for_each` is set",
        "`module.nobody.url`: no module block `nobody`",
        "`aws_sqs_queue.single.urll`: aws_sqs_queue has no attribute `urll` (did you mean `url`?)",
        "`aws_sqs_queue.single[].arn`: aws_sqs_queue.single has no count or for_each to index",
        "`aws_sqs_queue.this.arn`: aws_sqs_queue.this has count or for_each: index it",
        "`data.aws_region.current.nmae`: aws_region has no attribute `nmae`",
    ):
        assert any(needle in m for m in messages), needle


def test_names_bound_by_for_expressions_and_dynamic_blocks_are_in_scope() -> None:
    text = """
variable "m" {
  type = map(string)
}
locals {
  a = [for k, v in var.m : "${k}=${v}"]
  b = "%{for x in var.m}${x}%{endfor}"
  c = { Name = "literal key", (var.m["k"]) = 1 }
}
data "aws_iam_policy_document" "d" {
  dynamic "statement" {
    for_each = var.m
    iterator = s
    content {
      actions = [s.key]
    }
  }
  dynamic "statement" {
    for_each = var.m
    content {
      actions = [statement.value, x]
    }
  }
}
"""
    assert check_text(text) == ['`x`: unknown name `x` (in data "aws_iam_policy_document" "d")']


def test_heredoc_interpolations_are_checked() -> None:
    text = (
        "locals {\n  p = <<-EOT\n    ok ${local.q}\n"
        "    %{ if var.z }z%{ endif }\n  EOT\n  q = 1\n}\n"
    )
    assert check_text(text) == ["`var.z`: no variable `z` in this module (in locals)"]


def test_module_outputs_through_count_and_remote_sources() -> None:
    text = """
module "counted" {
  count  = 1
  source = "./good/child"
  name   = "x"
}
module "remote" {
  source  = "terraform-aws-modules/sqs/aws"
  version = "~> 4.0"
}
output "a" {
  value = module.counted[0].queue_url
}
output "b" {
  value = module.counted[0].nope
}
output "c" {
  value = module.remote.anything
}
output "d" {
  value = module.counted.queue_url
}
module "missing" {
  source = "./no/such/dir"
}
"""
    assert check_text(text) == [
        '`module.counted[].nope`: module `counted` has no output `nope` (in output "b")',
        "`module.counted.queue_url`: module `counted` has count or for_each: index it "
        '(in output "d")',
        'module "missing": no module (.tf files) at source "./no/such/dir"',
    ]


@pytest.mark.parametrize(
    "directory", module_dirs(REPO), ids=lambda d: str(d.relative_to(REPO)) or "root"
)
def test_module_and_examples_references_resolve(directory: Path) -> None:
    problems = check(directory)
    assert not problems, "\n" + "\n".join(map(str, problems))
