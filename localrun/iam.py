"""The IAM proof's two halves: render the module's policies, and evaluate calls on them.

`render_policies` evaluates the pure submodule `modules/iam-policies` with concrete
inputs through tfparse (a copy of the module plus a `.tfvars.json`, offline).

`evaluate` is a small IAM policy evaluator for identity policies, after the documented
rules: an explicit Deny wins, else an Allow whose Action/NotAction, Resource/NotResource
and Condition all match, else the implicit deny. Actions match case-insensitively, with
`*` and `?` wildcards; resources case-sensitively, with the same wildcards (`*` spans
`:` and `/`). Conditions: every operator block must hold (AND), every key in a block must
hold (AND), any value of a key may match (OR); operators StringEquals, StringNotEquals,
StringEqualsIgnoreCase, StringLike, StringNotLike, ArnEquals, ArnLike, Bool, each also with
`IfExists`. A key missing from the request fails the positive operators and passes the
negated ones (and any `...IfExists`). An operator it does not know raises: the proof must
never allow by ignorance.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import tfparse

# API operations authorised by another action's name
ACTION_OF_OPERATION = {
    "sqs:SendMessageBatch": "sqs:SendMessage",
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
}


def action_of(operation: str) -> str:
    """The IAM action that authorises an API operation (`service:Operation`)."""
    return ACTION_OF_OPERATION.get(operation, operation)


@cache
def _wildcard(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def wildcard_match(pattern: str, value: str, ignore_case: bool = False) -> bool:
    return _wildcard(pattern, ignore_case).fullmatch(value) is not None


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]


@dataclass(frozen=True)
class Statement:
    sid: str
    effect: str
    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    not_resources: tuple[str, ...] = ()
    conditions: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)

    @classmethod
    def parse(cls, data: Mapping[str, Any], index: int) -> Statement:
        effect = str(data.get("Effect", ""))
        if effect not in ("Allow", "Deny"):
            raise ValueError(f"statement {index}: Effect must be Allow or Deny, not {effect!r}")
        if ("Action" in data) == ("NotAction" in data):
            raise ValueError(f"statement {index}: exactly one of Action and NotAction")
        if ("Resource" in data) == ("NotResource" in data):
            raise ValueError(f"statement {index}: exactly one of Resource and NotResource")
        if "Principal" in data or "NotPrincipal" in data:
            raise ValueError(f"statement {index}: an identity policy has no Principal")
        conditions = {
            str(op): {str(k): tuple(_as_list(v)) for k, v in block.items()}
            for op, block in dict(data.get("Condition", {})).items()
        }
        return cls(
            sid=str(data.get("Sid", f"#{index}")),
            effect=effect,
            actions=tuple(_as_list(data.get("Action"))),
            not_actions=tuple(_as_list(data.get("NotAction"))),
            resources=tuple(_as_list(data.get("Resource"))),
            not_resources=tuple(_as_list(data.get("NotResource"))),
            conditions=conditions,
        )

    def matches_action(self, action: str) -> bool:
        if self.actions:
            return any(wildcard_match(p, action, ignore_case=True) for p in self.actions)
        return not any(wildcard_match(p, action, ignore_case=True) for p in self.not_actions)

    def matches_resource(self, resource: str) -> bool:
        if self.resources:
            return any(wildcard_match(p, resource) for p in self.resources)
        return not any(wildcard_match(p, resource) for p in self.not_resources)

    def matches_conditions(self, context: Mapping[str, str]) -> bool:
        return all(
            _condition(op, key, values, context)
            for op, block in self.conditions.items()
            for key, values in block.items()
        )

    def applies(self, request: Request) -> bool:
        return (
            self.matches_action(request.action)
            and self.matches_resource(request.resource)
            and self.matches_conditions(request.context)
        )


def _lower(values: Sequence[str]) -> set[str]:
    return {v.lower() for v in values}


_OPERATORS: dict[str, Callable[[str, Sequence[str]], bool]] = {
    "StringEquals": lambda actual, values: actual in values,
    "StringNotEquals": lambda actual, values: actual not in values,
    "StringEqualsIgnoreCase": lambda actual, values: actual.lower() in _lower(values),
    "StringNotEqualsIgnoreCase": lambda actual, values: actual.lower() not in _lower(values),
    "StringLike": lambda actual, values: any(wildcard_match(v, actual) for v in values),
    "StringNotLike": lambda actual, values: not any(wildcard_match(v, actual) for v in values),
    "ArnEquals": lambda actual, values: actual in values,
    "ArnLike": lambda actual, values: any(wildcard_match(v, actual) for v in values),
    "Bool": lambda actual, values: actual.lower() in _lower(values),
}
_NEGATED = {"StringNotEquals", "StringNotLike", "StringNotEqualsIgnoreCase"}


def _condition(operator: str, key: str, values: Sequence[str], context: Mapping[str, str]) -> bool:
    base = operator.removesuffix("IfExists")
    test = _OPERATORS.get(base)
    if test is None:
        raise ValueError(f"condition operator {operator!r} is not supported by this evaluator")
    actual = {k.lower(): v for k, v in context.items()}.get(key.lower())
    if actual is None:
        return operator.endswith("IfExists") or base in _NEGATED
    return test(actual, values)


@dataclass(frozen=True)
class Request:
    action: str
    resource: str  # "*" for actions without resource-level permissions
    context: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    allowed_by: tuple[str, ...]  # Sids of the matching Allow statements
    denied_by: tuple[str, ...]  # Sids of the matching Deny statements


@dataclass(frozen=True)
class Policy:
    statements: tuple[Statement, ...]

    @classmethod
    def parse(cls, document: str | Mapping[str, Any]) -> Policy:
        data = json.loads(document) if isinstance(document, str) else document
        if data.get("Version") != "2012-10-17":
            raise ValueError("policy Version must be 2012-10-17")
        raw = data.get("Statement", [])
        statements = raw if isinstance(raw, list) else [raw]
        return cls(tuple(Statement.parse(s, i) for i, s in enumerate(statements)))

    def evaluate(self, request: Request) -> Decision:
        matching = [s for s in self.statements if s.applies(request)]
        deny = tuple(s.sid for s in matching if s.effect == "Deny")
        allow = tuple(s.sid for s in matching if s.effect == "Allow")
        return Decision(allowed=bool(allow) and not deny, allowed_by=allow, denied_by=deny)

    def grants(self) -> set[tuple[str, str]]:
        """(Sid, action) of every Allow (actions as written)."""
        return {(s.sid, a) for s in self.statements if s.effect == "Allow" for a in s.actions}


@dataclass(frozen=True)
class PolicyInputs:
    partition: str
    region: str
    account_id: str
    table_names: tuple[str, ...]
    table_tags: Mapping[str, str]
    queue_arn: str
    topic_arn: str
    scheduler_log_group_arn: str
    monitor_log_group_arn: str
    scheduler_failure_destination_arn: str | None
    kms_key_arns: tuple[str, ...] = ()
    backup_name_prefix: str | None = None
    drill_enabled: bool = False
    drill_log_group_arn: str | None = None
    drill_failure_destination_arn: str | None = None

    def tfvars(self) -> dict[str, Any]:
        return {
            "partition": self.partition,
            "region": self.region,
            "account_id": self.account_id,
            "table_names": list(self.table_names),
            "table_tags": dict(self.table_tags),
            "queue_arn": self.queue_arn,
            "topic_arn": self.topic_arn,
            "kms_key_arns": list(self.kms_key_arns),
            "scheduler_log_group_arn": self.scheduler_log_group_arn,
            "monitor_log_group_arn": self.monitor_log_group_arn,
            "scheduler_failure_destination_arn": self.scheduler_failure_destination_arn,
            "backup_name_prefix": self.backup_name_prefix,
            "drill_enabled": self.drill_enabled,
            "drill_log_group_arn": self.drill_log_group_arn,
            "drill_failure_destination_arn": self.drill_failure_destination_arn,
        }


MODULE_DIR = Path(__file__).resolve().parent.parent / "modules" / "iam-policies"


def render_policies(inputs: PolicyInputs, module_dir: Path = MODULE_DIR) -> dict[str, Policy]:
    """{"scheduler": ..., "monitor": ...} from the module's outputs, via tfparse, plus
    "drill" when `drill_policy_json` is not null (the drill is enabled)."""
    with tempfile.TemporaryDirectory(prefix="iam-policies-") as tmp:
        work = Path(tmp)
        for source in module_dir.glob("*.tf"):
            shutil.copy(source, work / source.name)
        (work / "inputs.tfvars.json").write_text(json.dumps(inputs.tfvars()))
        parsed = tfparse.load_from_path(str(work), vars_paths=["inputs.tfvars.json"])
    outputs = {
        o["__tfmeta"]["label"]: o.get("value") for o in parsed.get("output", []) if "__tfmeta" in o
    }
    rendered: dict[str, Policy] = {}
    for function in ("scheduler", "monitor"):
        value = outputs.get(f"{function}_policy_json")
        if not isinstance(value, str):
            raise TypeError(f"{function}_policy_json did not evaluate to a string: {value!r}")
        rendered[function] = Policy.parse(value)
    drill = outputs.get("drill_policy_json")
    if inputs.drill_enabled:
        if not isinstance(drill, str):
            raise TypeError(f"drill_policy_json did not evaluate to a string: {drill!r}")
        rendered["drill"] = Policy.parse(drill)
    elif drill is not None:
        raise TypeError(f"drill_policy_json must be null with the drill off, got {drill!r}")
    return rendered


# What AWS authorises besides the operation's own action on its own resource. Restoring a
# table needs RestoreTableFromBackup on the backup and on the target table, and the item
# reads and writes on the target ("DynamoDB RestoreTableFromBackup permissions are
# necessary on the source backup, and DynamoDB read and write permissions on the target
# table are necessary for restore functionality", the DynamoDB developer guide, "Using
# IAM with DynamoDB backup and restore", whose example grants exactly these).
RESTORE_TARGET_ACTIONS = (
    "dynamodb:RestoreTableFromBackup",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:BatchWriteItem",
)


def authorised_requests(
    action: str, resource: str | None, params: Mapping[str, Any], region: str, account: str
) -> list[tuple[str, str | None]]:
    """Every (action, resource) AWS checks for one recorded call."""
    requests: list[tuple[str, str | None]] = [(action, resource)]
    if action == "dynamodb:RestoreTableFromBackup":
        target = f"arn:aws:dynamodb:{region}:{account}:table/{params.get('TargetTableName', '')}"
        requests += [(implied, target) for implied in RESTORE_TARGET_ACTIONS]
    return requests


@dataclass
class ProofResult:
    """One deployment's recorded calls checked against its rendered policies."""

    denials: list[str] = field(default_factory=list)
    grants: set[tuple[str, str, str]] = field(default_factory=set)  # (function, Sid, action)
    used: set[tuple[str, str, str]] = field(default_factory=set)
    calls: int = 0


def check_calls(
    policies: Mapping[str, Policy],
    calls: Sequence[tuple[str, str, str | None]],
    resource_tags: Mapping[str, Mapping[str, str]],
) -> ProofResult:
    """Evaluate (principal, `service:Operation`, resource ARN) calls of the functions.

    `resource_tags` gives the tags of the resources the runner created (table ARN ->
    tags); they become the request's `aws:ResourceTag/<key>` context.
    """
    result = ProofResult()
    for function, rendered in policies.items():
        result.grants |= {(function, sid, action) for sid, action in rendered.grants()}
    for principal, operation, resource in calls:
        if principal not in policies:
            continue  # the runtime's own calls (set-up, inspection) need no policy
        policy = policies[principal]
        result.calls += 1
        action = action_of(operation)
        target = resource or "*"
        context = {f"aws:ResourceTag/{k}": v for k, v in resource_tags.get(target, {}).items()}
        decision = policy.evaluate(Request(action, target, context))
        if not decision.allowed:
            result.denials.append(f"{principal}: {action} on {target} is denied")
            continue
        for statement in policy.statements:
            if statement.sid in decision.allowed_by:
                result.used |= {
                    (principal, statement.sid, pattern)
                    for pattern in statement.actions
                    if wildcard_match(pattern, action, ignore_case=True)
                }
    return result
