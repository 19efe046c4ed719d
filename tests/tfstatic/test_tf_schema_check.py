"""Check 1: resource, data and provider blocks against the provider schema snapshots."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tfstatic.helpers import FIXTURES, REPO, marked_lines
from tools.schema.check import AWS_SNAPSHOTS, OTHER_SNAPSHOTS
from tools.schema.check_schema import ProviderSchemas, check_module
from tools.schema.hcl import Problem, load_module, module_dirs, parse_text
from tools.schema.snapshot import enums_for


def schemas(aws: str) -> ProviderSchemas:
    return ProviderSchemas.load(aws, *OTHER_SNAPSHOTS)


def check(directory: Path, aws: str) -> list[Problem]:
    return check_module(load_module(directory), schemas(aws))


def check_text(text: str, aws: str = "aws-6") -> list[str]:
    module = load_module(Path("."))
    module.blocks = parse_text(text, Path("x.tf"))
    return [p.message for p in check_module(module, schemas(aws))]


@pytest.mark.parametrize("aws", AWS_SNAPSHOTS)
def test_good_fixture_passes(aws: str) -> None:
    assert check(FIXTURES / "good", aws) == []
    assert check(FIXTURES / "good" / "child", aws) == []


@pytest.mark.parametrize("aws", AWS_SNAPSHOTS)
def test_every_mistake_of_the_bad_fixture_is_reported_and_nothing_else(aws: str) -> None:
    tf = FIXTURES / "bad_schema" / "main.tf"
    expected = marked_lines(tf, "bad")
    if aws.startswith("aws-5"):
        expected |= marked_lines(tf, "bad-5")
    assert {p.line for p in check(tf.parent, aws)} == expected


def test_messages_name_the_mistake() -> None:
    messages = [p.message for p in check(FIXTURES / "bad_schema", "aws-6")]
    for needle in (
        "aws_sqs_queue.unknown_argument: unknown argument `delay_secondz` "
        "(did you mean `delay_seconds`?)",
        "aws_lambda_function.missing_required: missing required argument `role`",
        "aws_lambda_function.bad_nested.logging_config: missing required argument `log_format`",
        "aws_lambda_function.bad_nested: at most one `environment` block allowed",
        "`logging_config` is a block: write `logging_config { ... }`",
        "dynamic `scaling_configs`: no such block (did you mean `scaling_config`?)",
        "dynamic_unknown.scaling_config: unknown argument `maximum_concurrenzy`",
        "`aws_lambda_funtion` is not a resource type of provider aws",
        "statement.condition: missing required argument `values`",
        "`ignore_change` is not a lifecycle argument",
    ):
        assert any(needle in m for m in messages), needle
    assert all(m.endswith("[archive 2.8.1, aws 6.62.0]") for m in messages)


def test_required_block_may_come_from_a_dynamic_block() -> None:
    body = """
resource "aws_cloudwatch_event_target" "t" {
  rule = "r"
  arn  = "a"
  %s
}
"""
    static = 'dead_letter_config {\n arn = "q"\n }'
    dynamic = 'dynamic "dead_letter_config" {\n for_each = [1]\n content {\n arn = "q"\n }\n }'
    assert check_text(body % static) == []
    assert check_text(body % dynamic) == []
    # a required nested argument is still required inside `content`
    broken = 'dynamic "dead_letter_config" {\n for_each = [1]\n content {}\n }'
    assert check_text(body % broken) == []  # `arn` of dead_letter_config is optional
    no_for_each = 'dynamic "dead_letter_config" {\n content {}\n }'
    assert any("needs `for_each`" in m for m in check_text(body % no_for_each))


def test_required_nested_block_missing_is_reported() -> None:
    text = 'resource "aws_scheduler_schedule" "s" {\n schedule_expression = "rate(1 day)"\n}\n'
    messages = check_text(text)
    assert any("missing required block `flexible_time_window`" in m for m in messages)
    assert any("missing required block `target`" in m for m in messages)


def test_meta_arguments_are_terraforms_not_the_providers() -> None:
    text = """
resource "aws_sqs_queue" "q" {
  count      = 1
  provider   = aws.other
  depends_on = []
  lifecycle {
    replace_triggered_by = []
    postcondition {
      condition     = true
      error_message = "x"
    }
  }
}
data "aws_region" "r" {
  for_each = {}
  lifecycle {
    create_before_destroy = true
  }
}
"""
    assert check_text(text) == [
        "data.aws_region.r: `create_before_destroy` is not a lifecycle argument "
        "[archive 2.8.1, aws 6.62.0]"
    ]


def test_provider_blocks_are_checked_too() -> None:
    good = (
        'provider "aws" {\n region = "eu-west-1"\n alias = "x"\n'
        " default_tags {\n tags = {}\n }\n}\n"
    )
    assert check_text(good) == []
    bad = 'provider "aws" {\n regoin = "eu-west-1"\n}\n'
    assert any("unknown argument `regoin`" in m for m in check_text(bad))


def test_unknown_provider_and_type_outside_the_snapshot() -> None:
    assert any(
        "no schema snapshot for provider `random`" in m
        for m in check_text('resource "random_id" "x" {\n byte_length = 4\n}\n')
    )
    # a real AWS type that the snapshot does not carry: regenerate, not "no such type"
    assert any(
        "is not in the schema snapshot" in m
        for m in check_text('resource "aws_instance" "x" {\n ami = "a"\n}\n')
    )


def test_the_repository_has_a_module_to_check() -> None:
    dirs = module_dirs(REPO)
    assert REPO in dirs
    blocks = [b for d in dirs for b in load_module(d).blocks if b.type == "resource"]
    assert blocks, "no resource block in the module: the schema check would pass vacuously"


@pytest.mark.parametrize("aws", AWS_SNAPSHOTS)
@pytest.mark.parametrize(
    "directory", module_dirs(REPO), ids=lambda d: str(d.relative_to(REPO)) or "root"
)
def test_module_and_examples_match_the_provider_schema(directory: Path, aws: str) -> None:
    problems = check_module(load_module(directory, REPO), schemas(aws))
    assert not problems, "\n" + "\n".join(map(str, problems))


# -- enumerated values (runtimes, architectures, log formats and levels) ----------------


def floor_with_enums_of(version: str) -> ProviderSchemas:
    """The floor's snapshot, its enumerations replaced by those of provider ``version``."""
    loaded = schemas("aws-5-floor")
    aws = dict(loaded.by_provider["aws"])
    aws["enums"] = enums_for(version)
    aws["provider_version"] = version
    return ProviderSchemas({**loaded.by_provider, "aws": aws})


def test_the_floor_snapshot_carries_the_lambda_enumerations() -> None:
    aws = schemas("aws-5-floor").by_provider["aws"]
    function = aws["enums"]["resource"]["aws_lambda_function"]
    assert "python3.13" in function["runtime"]
    assert function["architectures"] == ["arm64", "x86_64"]
    assert function["logging_config.log_format"] == ["JSON", "Text"]
    assert function["logging_config.system_log_level"] == ["DEBUG", "INFO", "WARN"]


def test_runtime_python313_is_refused_at_a_floor_that_lacks_it() -> None:
    """5.75.1 rejects python3.13 at validate (hashicorp/terraform-provider-aws issue 40107):
    the root module with its default runtime must fail the check at that floor."""
    problems = check_module(load_module(REPO), floor_with_enums_of("5.75.1"))
    runtime = [p.message for p in problems if "runtime = 'python3.13'" in p.message]
    assert len(runtime) == 1, problems  # aws_lambda_function.this: every function
    assert all("not accepted by provider aws 5.75.1" in m for m in runtime)
    assert check_module(load_module(REPO), floor_with_enums_of("5.76.0")) == []


def test_enumerations_follow_literals_variables_and_locals() -> None:
    module = load_module(Path("."))
    module.blocks = parse_text(
        """
variable "arch" {
  type    = string
  default = "arm64"
  validation {
    condition     = contains(["arm64", "armv7"], var.arch)
    error_message = "x"
  }
}
locals {
  levels = { DEBUG = "DEBUG", WARNING = "WARNING" }
}
resource "aws_lambda_function" "f" {
  function_name = "f"
  role          = "r"
  runtime       = "python3.99"
  architectures = [var.arch]
  logging_config {
    log_format            = "JSON"
    application_log_level = local.levels["x"]
    system_log_level      = "WARN"
  }
}
""",
        Path("x.tf"),
    )
    messages = [p.message for p in check_module(module, schemas("aws-5-floor"))]
    assert len(messages) == 3, messages
    assert any("runtime = 'python3.99'" in m for m in messages)
    assert any("architectures = 'armv7'" in m for m in messages)
    assert any("application_log_level = 'WARNING'" in m for m in messages)
