"""The committed provider schema snapshots: known facts, and in step with versions.tf."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.tfstatic.helpers import REPO
from tools.schema.check_schema import SCHEMA_DIR
from tools.schema.hcl import load_module, module_dirs
from tools.schema.snapshot import SNAPSHOTS

AWS = ("aws-5-floor", "aws-5", "aws-6")


def snapshot(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SCHEMA_DIR / f"{name}.json").read_text("utf-8"))
    return data


def required(schema: dict[str, Any]) -> set[str]:
    return {name for name, spec in schema["arguments"].items() if spec["required"]}


def test_every_snapshot_is_committed_with_its_source() -> None:
    for source in SNAPSHOTS:
        data = snapshot(source.name)
        assert data["provider"] == source.provider
        assert data["package"].startswith(source.package)


@pytest.mark.parametrize("name", AWS)
def test_lambda_function_facts(name: str) -> None:
    function = snapshot(name)["resource"]["aws_lambda_function"]
    assert required(function) == {"function_name", "role"}
    assert {"runtime", "handler", "architectures", "filename", "source_code_hash"} <= set(
        function["arguments"]
    )
    logging = function["blocks"]["logging_config"]
    assert logging["max_items"] == 1
    assert not logging["required"]
    assert required(logging) == {"log_format"}
    assert function["blocks"]["environment"]["arguments"] == {"variables": {"required": False}}


@pytest.mark.parametrize("name", AWS)
def test_queue_and_event_source_mapping_facts(name: str) -> None:
    data = snapshot(name)["resource"]
    queue = data["aws_sqs_queue"]["arguments"]
    for argument in (
        "fifo_queue",
        "deduplication_scope",
        "fifo_throughput_limit",
        "content_based_deduplication",
        "kms_master_key_id",
        "sqs_managed_sse_enabled",
        "delay_seconds",
        "message_retention_seconds",
        "visibility_timeout_seconds",
        "redrive_policy",
    ):
        assert argument in queue, argument
    mapping = data["aws_lambda_event_source_mapping"]
    assert required(mapping) == {"function_name"}
    assert "function_response_types" in mapping["arguments"]
    assert required(mapping["blocks"]["scaling_config"]) == set()
    assert "maximum_concurrency" in mapping["blocks"]["scaling_config"]["arguments"]


@pytest.mark.parametrize("name", AWS)
def test_policy_document_nested_blocks(name: str) -> None:
    document = snapshot(name)["data"]["aws_iam_policy_document"]
    statement = document["blocks"]["statement"]
    assert "max_items" not in statement  # a list of statements
    assert required(statement["blocks"]["condition"]) == {"test", "variable", "values"}
    assert required(statement["blocks"]["principals"]) == {"type", "identifiers"}


def test_major_versions_differ_where_the_provider_changed() -> None:
    """6.x made the alarm's comparison operator optional and added `region` everywhere."""
    five, six = snapshot("aws-5")["resource"], snapshot("aws-6")["resource"]
    alarm = "aws_cloudwatch_metric_alarm"
    assert {"comparison_operator", "evaluation_periods"} <= required(five[alarm])
    assert "comparison_operator" not in required(six[alarm])
    assert "region" not in five["aws_sqs_queue"]["arguments"]
    assert "region" in six["aws_sqs_queue"]["arguments"]


@pytest.mark.parametrize("name", AWS)
def test_readable_attributes(name: str) -> None:
    data = snapshot(name)
    function = set(data["resource"]["aws_lambda_function"]["attributes"])
    assert {"arn", "invoke_arn", "qualified_arn", "function_name", "version"} <= function
    assert not any(a.endswith("_input") for a in function)
    assert {"arn", "url", "name", "id"} <= set(data["resource"]["aws_sqs_queue"]["attributes"])
    assert "json" in data["data"]["aws_iam_policy_document"]["attributes"]
    assert "account_id" in data["data"]["aws_caller_identity"]["attributes"]
    assert "uuid" in data["resource"]["aws_lambda_event_source_mapping"]["attributes"]


def test_archive_file_facts() -> None:
    data = snapshot("archive")
    assert data["provider_version"].startswith("2.")
    archive = data["data"]["archive_file"]
    assert required(archive) == {"type", "output_path"}
    assert {"source_dir", "excludes", "output_file_mode"} <= set(archive["arguments"])
    assert required(archive["blocks"]["source"]) == {"content", "filename"}
    assert {"output_base64sha256", "output_path", "output_size"} <= set(archive["attributes"])


def _declared_floor() -> str:
    text = (REPO / "versions.tf").read_text(encoding="utf-8")
    match = re.search(r'aws\s*=\s*\{[^}]*?version\s*=\s*"([^"]+)"', text, re.S)
    assert match, "versions.tf declares no AWS provider version constraint"
    floor = re.search(r">=\s*([0-9.]+)", match.group(1))
    assert floor, f"no `>=` floor in {match.group(1)!r}"
    return floor.group(1)


def _release(version: str) -> tuple[int, ...]:
    parts = [int(p) for p in version.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def test_floor_snapshot_matches_versions_tf() -> None:
    """The oldest AWS provider versions.tf allows is the one the floor snapshot holds."""
    assert _release(snapshot("aws-5-floor")["provider_version"]) == _release(_declared_floor())


def test_snapshots_hold_every_type_the_repository_uses() -> None:
    used: set[tuple[str, str]] = set()
    for directory in module_dirs(REPO):
        for block in load_module(directory).blocks:
            if block.type in ("resource", "data") and block.labels:
                used.add((block.type, block.labels[0]))
    assert used, "the repository declares no resource or data block"
    for name in (*AWS, "archive"):
        data = snapshot(name)
        provider = data["provider"]
        for kind, type_name in used:
            if type_name.split("_", 1)[0] == provider and type_name in data["all_types"][kind]:
                assert type_name in data[kind], f"{name}: run tools/schema/snapshot.py"
