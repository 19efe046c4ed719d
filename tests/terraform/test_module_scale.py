"""2,500 tables still fit Lambda's 4 KB environment and IAM's policy size limits.

The table list moves from ``TABLE_NAMES`` into ``dynamodb_backup_tables.json`` inside the
zip once its JSON passes 2,000 characters, and the policies switch from one ARN per
table to name-prefix patterns once they would pass their budget.
"""

from __future__ import annotations

import json
import random
import string
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest

from tools import tfeval

ENV_LIMIT = 4096  # Lambda: all keys and values together
INLINE_POLICY_LIMIT = 10240  # IAM: a role's inline policies, whitespace not counted
MANAGED_POLICY_LIMIT = 6144
TABLES_FILE = "dynamodb_backup_tables.json"

# Longest values the placeholders can take in AWS: a queue URL with an 80-character
# name in a long region, and a topic ARN with a 256-character name in a long partition.
LONGEST_QUEUE_URL = "https://sqs.ap-southeast-4.amazonaws.com/123456789012/" + "q" * 80
LONGEST_TOPIC_ARN = "arn:aws-iso-b:sns:us-isob-east-1:123456789012:" + "t" * 256
LONG_PARTITION, LONG_REGION, ACCOUNT = "aws-iso-b", "us-isob-east-1", "123456789012"


def realistic_names(count: int) -> list[str]:
    """Team/service/purpose names, the way large accounts name tables."""
    rng = random.Random(2500)
    teams = ["payments", "orders", "catalog", "identity", "search", "billing", "ledger"]
    envs = ["prod", "staging", "dev"]
    purposes = ["events", "state", "index", "audit", "sessions", "outbox", "snapshots"]
    names: set[str] = set()
    while len(names) < count:
        names.add(
            f"{rng.choice(envs)}-{rng.choice(teams)}-{rng.choice(purposes)}"
            f"-{rng.randrange(10_000):04d}"
        )
    return sorted(names)


def adversarial_names(count: int) -> list[str]:
    """255-character names spread over every allowed first character."""
    rng = random.Random(255)
    alphabet = string.ascii_letters + string.digits + "_.-"
    return [
        alphabet[i % len(alphabet)] + "".join(rng.choice(alphabet) for _ in range(254))
        for i in range(count)
    ]


def exact_json_length(length: int) -> list[str]:
    """Distinct valid names whose JSON list is exactly ``length`` characters."""
    names: list[str] = []
    while len(json.dumps(names, separators=(",", ":"))) + 25 <= length:
        names.append(f"table-{len(names):05d}-padding")
    missing = length - len(json.dumps([*names, "abc"], separators=(",", ":")))
    names.append("abc" + "x" * missing)
    assert len(json.dumps(names, separators=(",", ":"))) == length
    return names


BIG = realistic_names(2500)
# a monthly tier for every table of a team: far more than the environment holds
BIG_OVERRIDES = {n: {"keep_monthly": 12, "retention_days": 30} for n in BIG if "payments" in n}
OVERRIDES_FILE = "dynamodb_backup_retention_overrides.json"
AT_LIMIT = exact_json_length(2000)
OVER_LIMIT = exact_json_length(2001)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> tfeval.Parsed:
    return tfeval.evaluate_many(
        tfeval.REPO,
        {
            "big": {"table_names": BIG},
            "small": {"table_names": ["orders", "customers"]},
            "at_limit": {"table_names": AT_LIMIT},
            "over_limit": {"table_names": OVER_LIMIT},
            "big_overrides": {"table_names": BIG, "retention_overrides": BIG_OVERRIDES},
            "small_overrides": {
                "table_names": ["orders"],
                "retention_overrides": {"orders": {"keep_monthly": 12}},
            },
        },
        tmp_path_factory.mktemp("scale"),
    )


def monitor_env(parsed: tfeval.Parsed, instance: str) -> dict[str, str]:
    f = tfeval.find(parsed, f'module.{instance}.aws_lambda_function.this["monitor"]')
    env: dict[str, str] = f["environment"]["variables"]
    return env


def scheduler_env(parsed: tfeval.Parsed, instance: str) -> dict[str, str]:
    f = tfeval.find(parsed, f'module.{instance}.aws_lambda_function.this["scheduler"]')
    env: dict[str, str] = f["environment"]["variables"]
    return env


def zip_files(parsed: tfeval.Parsed, instance: str) -> dict[str, str]:
    archive = tfeval.find(parsed, f"module.{instance}.data.archive_file.lambda")
    return {s["filename"]: s["content"] for s in tfeval.as_list(archive["source"])}


def environment_size(env: dict[str, str]) -> int:
    worst = dict(env, MONITOR_QUEUE_URL=LONGEST_QUEUE_URL, ALERT_TOPIC_ARN=LONGEST_TOPIC_ARN)
    return sum(len(k) + len(v) for k, v in worst.items())


def test_2500_tables_ship_as_a_file_in_the_zip(root: tfeval.Parsed) -> None:
    env = scheduler_env(root, "big")
    assert "TABLE_NAMES" not in env
    assert env["TABLE_NAMES_FILE"] == TABLES_FILE
    assert json.loads(zip_files(root, "big")[TABLES_FILE]) == BIG
    assert environment_size(env) < ENV_LIMIT
    assert tfeval.find(root, "module.big.output.table_names_in_file")["value"] is True


def test_short_lists_stay_in_the_environment(root: tfeval.Parsed) -> None:
    env = scheduler_env(root, "small")
    assert json.loads(env["TABLE_NAMES"]) == ["orders", "customers"]
    assert "TABLE_NAMES_FILE" not in env
    assert TABLES_FILE not in zip_files(root, "small")


def test_switch_happens_just_past_2000_characters(root: tfeval.Parsed) -> None:
    at_limit = scheduler_env(root, "at_limit")
    assert json.loads(at_limit["TABLE_NAMES"]) == AT_LIMIT
    assert TABLES_FILE not in zip_files(root, "at_limit")
    # The largest list still in the environment leaves it under Lambda's limit.
    assert environment_size(at_limit) < ENV_LIMIT

    over = scheduler_env(root, "over_limit")
    assert "TABLE_NAMES" not in over
    assert json.loads(zip_files(root, "over_limit")[TABLES_FILE]) == OVER_LIMIT


def test_table_tags_cannot_push_the_environment_over_its_limit(root: tfeval.Parsed) -> None:
    """table_tags is capped at 1,000 characters of JSON by its validation."""
    env = dict(scheduler_env(root, "at_limit"), TABLE_TAGS="x" * 1000)
    assert environment_size(env) < ENV_LIMIT


def test_exclusion_patterns_cannot_push_the_environment_over_its_limit(
    root: tfeval.Parsed,
) -> None:
    """unprotected_tables_exclude is capped at 400 characters of JSON, beside 1,000 of tags."""
    env = dict(
        scheduler_env(root, "at_limit"),
        TABLE_TAGS="x" * 1000,
        UNPROTECTED_TABLES_EXCLUDE="x" * 400,
        ALERT_UNPROTECTED_TABLES="false",
    )
    assert environment_size(env) < ENV_LIMIT


def policies(
    names: list[str], tmp_path: Path, tags: dict[str, str] | None = None
) -> dict[str, Any]:
    inputs = {
        "partition": LONG_PARTITION,
        "region": LONG_REGION,
        "account_id": ACCOUNT,
        "table_names": names,
        "table_tags": tags or {},
        "queue_arn": f"arn:{LONG_PARTITION}:sqs:{LONG_REGION}:{ACCOUNT}:" + "q" * 80,
        "topic_arn": LONGEST_TOPIC_ARN,
        "kms_key_arns": [
            f"arn:{LONG_PARTITION}:kms:{LONG_REGION}:{ACCOUNT}:key/{i:036d}" for i in range(2)
        ],
        "scheduler_log_group_arn": f"arn:{LONG_PARTITION}:logs:{LONG_REGION}:{ACCOUNT}:"
        "log-group:/aws/lambda/" + "s" * 50,
        "monitor_log_group_arn": f"arn:{LONG_PARTITION}:logs:{LONG_REGION}:{ACCOUNT}:"
        "log-group:/aws/lambda/" + "m" * 50,
        "scheduler_failure_destination_arn": f"arn:{LONG_PARTITION}:sqs:{LONG_REGION}:{ACCOUNT}:"
        + "d" * 80,
    }
    parsed = tfeval.evaluate_module(tfeval.IAM_POLICIES, {"p": inputs}, tmp_path)
    return {
        role: tfeval.find(parsed, f"module.p.output.{role}_policy_json")["value"]
        for role in ("scheduler", "monitor")
    }


def resources_of(policy: str, sid: str) -> list[str]:
    (s,) = [s for s in json.loads(policy)["Statement"] if s["Sid"] == sid]
    resources: list[str] = s["Resource"]
    return resources


def allowed(resources: list[str], arn: str) -> bool:
    """IAM's ARN matching for these patterns: '*' matches any run of characters."""
    return any(fnmatchcase(arn, pattern) for pattern in resources)


@pytest.mark.parametrize(
    "names",
    [pytest.param(BIG, id="realistic"), pytest.param(adversarial_names(2500), id="adversarial")],
)
def test_2500_tables_fit_the_policy_size_limits_and_stay_covered(
    names: list[str], tmp_path: Path
) -> None:
    docs = policies(names, tmp_path)
    prefix = f"arn:{LONG_PARTITION}:dynamodb:{LONG_REGION}:{ACCOUNT}:table/"
    tables = resources_of(docs["scheduler"], "CreateBackupOfSelectedTables")
    backups = resources_of(docs["monitor"], "CheckAndDeleteBackupsOfSelectedTables")
    for role, text in docs.items():
        size = len("".join(text.split()))
        assert size <= MANAGED_POLICY_LIMIT < INLINE_POLICY_LIMIT, (role, size)

    # Every selected table can still be backed up and its backups checked and deleted.
    for n in names:
        assert allowed(tables, prefix + n), n
        assert allowed(backups, f"{prefix}{n}/backup/01234567890123-abcdef12"), n
    # Patterns, yes, but never "every table".
    assert 1 < len(tables) < len(names)
    assert all(not r.startswith(prefix + "*") for r in tables + backups)
    assert [r + "/backup/*" for r in tables] == backups


def test_a_short_list_gets_one_exact_arn_per_table(tmp_path: Path) -> None:
    docs = policies(["orders", "customers"], tmp_path)
    prefix = f"arn:{LONG_PARTITION}:dynamodb:{LONG_REGION}:{ACCOUNT}:table/"
    assert resources_of(docs["scheduler"], "CreateBackupOfSelectedTables") == [
        prefix + "orders",
        prefix + "customers",
    ]
    assert resources_of(docs["monitor"], "CheckAndDeleteBackupsOfSelectedTables") == [
        prefix + "orders/backup/*",
        prefix + "customers/backup/*",
    ]


def test_large_retention_overrides_ship_as_a_file_in_the_zip(root: tfeval.Parsed) -> None:
    env = monitor_env(root, "big_overrides")
    assert "RETENTION_OVERRIDES" not in env
    assert env["RETENTION_OVERRIDES_FILE"] == OVERRIDES_FILE
    assert json.loads(zip_files(root, "big_overrides")[OVERRIDES_FILE]) == BIG_OVERRIDES
    assert environment_size(env) < ENV_LIMIT


def test_small_retention_overrides_stay_in_the_environment(root: tfeval.Parsed) -> None:
    env = monitor_env(root, "small_overrides")
    assert json.loads(env["RETENTION_OVERRIDES"]) == {"orders": {"keep_monthly": 12}}
    assert "RETENTION_OVERRIDES_FILE" not in env
    assert OVERRIDES_FILE not in zip_files(root, "small_overrides")
    # the largest map still in the environment leaves it under Lambda's limit
    assert environment_size(dict(env, RETENTION_OVERRIDES="x" * 2000)) < ENV_LIMIT
