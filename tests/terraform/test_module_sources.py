"""What the offline evaluation cannot show: version constraints, providers, key policy."""

from __future__ import annotations

import re
from pathlib import Path

import hcl2
import pytest

from tools import tfeval

ROOT_FILES = sorted(tfeval.REPO.glob("*.tf"))


def test_version_constraints() -> None:
    with (tfeval.REPO / "versions.tf").open(encoding="utf-8") as handle:
        terraform = hcl2.load(handle)["terraform"][0]
    assert terraform["required_version"] == '">= 1.5.0"'
    providers = terraform["required_providers"][0]
    assert providers["aws"]["source"] == '"hashicorp/aws"'
    assert providers["aws"]["version"] == '">= 5.76.0, < 7.0.0"'
    assert providers["archive"]["version"] == '">= 2.4.0"'


@pytest.mark.parametrize("path", ROOT_FILES, ids=lambda p: p.name)
def test_module_declares_no_provider(path: Path) -> None:
    with path.open(encoding="utf-8") as handle:
        assert "provider" not in hcl2.load(handle)


def test_iam_policies_module_is_pure() -> None:
    for path in (tfeval.IAM_POLICIES).glob("*.tf"):
        with path.open(encoding="utf-8") as handle:
            parsed = hcl2.load(handle)
        assert not {"resource", "data", "provider", "module"} & set(parsed), path.name


@pytest.mark.parametrize("name", ["basic", "tag-selection", "complete"])
def test_examples_are_root_modules_with_a_provider(name: str) -> None:
    parsed = tfeval.load_example(name)
    assert tfeval.blocks(parsed, "provider")
    (call,) = [
        b for b in tfeval.blocks(parsed, "module") if "source" in b and b["source"] == "../../"
    ]
    assert call["__tfmeta"]["path"] == "module.dynamodb_backup"


def test_topic_key_lets_cloudwatch_alarms_publish() -> None:
    """Alarms cannot use the AWS-managed SNS key; the module's key must allow them with the
    statement AWS documents, which has no condition (a condition on a key CloudWatch does
    not send would silently drop every alarm notification)."""
    text = (tfeval.REPO / "sns.tf").read_text(encoding="utf-8")
    statement = re.search(r'Sid\s*=\s*"CloudWatchAlarmsPublish"(.*?)\n\s*\}', text, re.S)
    assert statement is not None
    lines = {
        tuple(part.strip() for part in line.split("=", 1))
        for line in statement.group(1).splitlines()
        if "=" in line
    }
    assert lines == {
        ("Effect", '"Allow"'),
        ("Principal", '{ Service = "cloudwatch.amazonaws.com" }'),
        ("Action", '["kms:Decrypt", "kms:GenerateDataKey*"]'),
        ("Resource", '"*"'),
    }
