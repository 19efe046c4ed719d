"""checkov finds nothing on the module and the examples; every skip says why.

checkov lives in its own virtual environment (``.venv-checkov``, built by
``mk/terraform.mk``); ``CHECKOV`` names its executable.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tools import tfeval

CHECKOV = Path(os.environ.get("CHECKOV", tfeval.REPO / ".venv-checkov" / "bin" / "checkov"))

# Checks the module skips inline, each with its reason next to the resource.
EXPECTED_SKIPS = {
    "CKV_AWS_115",  # monitor: concurrency bounded by the event source mapping
    "CKV_AWS_116",  # monitor: invoked synchronously, the queue has the DLQ
    "CKV_AWS_117",  # no VPC: only AWS APIs
    "CKV_AWS_158",  # log groups: CloudWatch Logs encryption unless kms_key_arn
    "CKV_AWS_173",  # environment holds no secrets
    "CKV_AWS_272",  # code signing: zip built from source at plan time
    "CKV_AWS_297",  # Scheduler schedule: no secret in it, AWS-owned key
}


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    if not CHECKOV.exists():
        pytest.fail(f"{CHECKOV} is missing: run `make test-terraform` to build .venv-checkov")
    result = subprocess.run(
        [
            str(CHECKOV),
            "--directory",
            str(tfeval.REPO),
            "--framework",
            "terraform",
            "--skip-download",
            "--skip-path",
            "tests",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=tfeval.REPO,
        timeout=600,
    )
    assert result.returncode in (0, 1), result.stderr[-2000:]
    parsed = json.loads(result.stdout)
    reports = parsed if isinstance(parsed, list) else [parsed]
    (terraform,) = [r for r in reports if r.get("check_type") == "terraform"]
    return dict(terraform)


def test_no_failed_check(report: dict[str, Any]) -> None:
    failed = [
        (c["check_id"], c["resource"], c["file_path"]) for c in report["results"]["failed_checks"]
    ]
    assert failed == []
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["passed"] > 0


def test_every_example_was_scanned(report: dict[str, Any]) -> None:
    checks = report["results"]["passed_checks"] + report["results"]["skipped_checks"]
    scanned = {c["resource"] for c in checks}
    for resource in (
        "module.dynamodb_backup.aws_lambda_function.this",
        "module.dynamodb_backup.aws_sqs_queue.monitor",
        "module.dynamodb_backup.aws_sns_topic.this",
    ):
        assert any(r.startswith(resource) for r in scanned), resource
    files = {c["file_path"] for c in checks}
    assert {"/examples/complete/main.tf", "/main.tf", "/queue.tf", "/sns.tf"} <= files


def test_every_skip_is_inline_with_a_reason(report: dict[str, Any]) -> None:
    skipped = report["results"]["skipped_checks"]
    assert {c["check_id"] for c in skipped} == EXPECTED_SKIPS
    for c in skipped:
        reason = c["check_result"].get("suppress_comment", "")
        assert len(reason.split()) >= 10, (c["check_id"], reason)
