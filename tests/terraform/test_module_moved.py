"""Refactors keep existing deployments' resources: no destroy and create on upgrade.

``fixtures/before_function_map.json`` was rendered (tfparse, every example) from the
module as it was before its per-function blocks became one block per kind over a map of
functions (``aws_lambda_function.this["scheduler"]`` ...). Every address of that record
must still exist or be the ``from`` of a ``moved`` block whose ``to`` exists, and the
functions, roles, policies and log groups must render exactly as before (references are
compared by the address they point at, carried through the moved blocks).

Record again only from a commit that has no such refactor in flight:
``python -m tests.terraform.test_module_moved --record``.
"""

from __future__ import annotations

import functools
import json
import re
import sys
from pathlib import Path
from typing import Any

import hcl2
import pytest

from tools import tfeval

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "before_function_map.json"
EXAMPLES = sorted(p.name for p in tfeval.EXAMPLES.iterdir() if (p / "main.tf").is_file())
# The kinds whose rendered arguments must not change.
RENDERED = (
    "aws_lambda_function",
    "aws_iam_role",
    "aws_iam_role_policy",
    "aws_cloudwatch_log_group",
)
# Meta-arguments are not the resource's arguments (a for_each key replaces per-function
# depends_on and preconditions); a null argument is an unset one.
META = {"id", "for_each", "count", "depends_on", "lifecycle"}
NOT_RESOURCES = {"locals", "variable", "output", "module", "moved", "terraform", "provider"}
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# A role name past IAM's 64 characters is cut inside the region (a tfparse UUID here) and
# ends in a hash of the full name: both differ from one evaluation to the next.
CUT_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f-]{0,27}-[0-9a-f]{8}$")
MODULE = re.compile(r"^(module\.[^.]+\.)")


def _resources(parsed: tfeval.Parsed) -> list[tfeval.Block]:
    """Managed resources of the module's instances (not data sources, not the example's)."""
    return [
        b
        for kind, found in parsed.items()
        if kind not in NOT_RESOURCES
        for b in found
        if b.get("__tfmeta", {}).get("type") == "resource"
        and MODULE.match(tfeval.block_path(b))
        and ".module." not in tfeval.block_path(b)
    ]


@functools.cache
def moved_blocks() -> dict[str, str]:
    """``to`` -> ``from`` of every moved block of the root module (module-relative)."""
    moves: dict[str, str] = {}
    for tf in sorted(tfeval.REPO.glob("*.tf")):
        parsed = hcl2.loads(tf.read_text(encoding="utf-8"))
        for block in parsed.get("moved", []):
            source = block["from"].removeprefix("${").removesuffix("}")
            target = block["to"].removeprefix("${").removesuffix("}")
            moves[target] = source
    return moves


def _old_address(address: str) -> str:
    """The address a block had before the moves (``module.x.`` kept)."""
    match = MODULE.match(address)
    assert match, address
    relative = address[match.end() :]
    return match.group(1) + moved_blocks().get(relative, relative)


def _normalise(value: Any, ids: dict[str, str]) -> Any:
    """Drop tfparse's metadata; a reference (a UUID) becomes the address it points at."""
    if isinstance(value, dict):
        return {
            k: _normalise(v, ids) for k, v in value.items() if k != "__tfmeta" and v is not None
        }
    if isinstance(value, list):
        return [_normalise(v, ids) for v in value]
    if isinstance(value, str):
        value = UUID.sub(lambda m: f"<{ids.get(m.group(0), 'nested')}>", value)
        return CUT_UUID.sub("<cut region>-<hash>", value)
    return value


def render(example: str, *, translate: bool) -> dict[str, Any]:
    """Addresses and rendered arguments of one example (old addresses when translating)."""
    parsed = tfeval.load(tfeval.EXAMPLES / example)
    resources = _resources(parsed)
    name = _old_address if translate else (lambda a: a)
    ids = {b["id"]: name(tfeval.block_path(b)) for b in resources if "id" in b}
    ids.update(
        {
            b["id"]: tfeval.block_path(b)
            for kind, found in parsed.items()
            for b in found
            if isinstance(b, dict) and "id" in b and b["id"] not in ids and "__tfmeta" in b
        }
    )
    rendered = {
        name(tfeval.block_path(b)): _normalise({k: v for k, v in b.items() if k not in META}, ids)
        for b in resources
        if b["__tfmeta"]["label"] in RENDERED
    }
    return {
        "addresses": sorted(tfeval.block_path(b) for b in resources),
        "rendered": rendered,
    }


@functools.cache
def before() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return data


def test_the_record_covers_every_example() -> None:
    assert sorted(before()) == EXAMPLES
    for example in EXAMPLES:
        assert before()[example]["rendered"], example


@pytest.mark.parametrize("example", EXAMPLES)
def test_every_old_address_exists_or_is_moved_to_one_that_does(example: str) -> None:
    now = set(render(example, translate=False)["addresses"])
    moves = moved_blocks()
    for old in before()[example]["addresses"]:
        if old in now:
            continue
        match = MODULE.match(old)
        assert match, old
        relative = old[match.end() :]
        targets = [to for to, source in moves.items() if source == relative]
        assert targets, f"{old} is gone and no moved block starts from it: a destroy and create"
        assert any(match.group(1) + t in now for t in targets), (
            f"{old} moves to {targets}, none exists"
        )


# What an example's own later inputs add (not the refactor): examples/complete enables the
# restore drill, which hands the monitor its wait limit and statements on the drill tables.
ADDED_BY_INPUTS = {"complete": {"monitor": {"DRILL_MAX_WAIT_MINUTES"}}}
DRILL_TABLES = re.compile(r":table/[a-zA-Z0-9_.-]+-drill-\*$")


def _without_drill_statements(policy: str) -> str:
    """The policy JSON without statements on drill tables only (tfparse's rendering)."""
    document = json.loads(policy)
    document["Statement"] = [
        s for s in document["Statement"] if not all(DRILL_TABLES.search(r) for r in s["Resource"])
    ]
    return json.dumps(document, separators=(",", ":"))


@pytest.mark.parametrize("example", EXAMPLES)
def test_functions_roles_policies_and_log_groups_render_as_before(example: str) -> None:
    now = render(example, translate=True)["rendered"]
    was = before()[example]["rendered"]
    for address, recorded in was.items():
        assert address in now, f"{address} no longer rendered"
        rendered, arguments = now[address], recorded
        function = address.rsplit(".", 1)[-1]
        added = ADDED_BY_INPUTS.get(example, {}).get(function, set())
        if added and address.split(".")[-2] == "aws_iam_role_policy":
            rendered = {**rendered, "policy": _without_drill_statements(rendered["policy"])}
            arguments = {**arguments, "policy": _without_drill_statements(arguments["policy"])}
        if added and address.split(".")[-2] == "aws_lambda_function":
            variables = rendered["environment"]["variables"]
            assert added <= set(variables), (address, added)
            rendered = {
                **rendered,
                "environment": {
                    **rendered["environment"],
                    "variables": {k: v for k, v in variables.items() if k not in added},
                },
            }
        assert rendered == arguments, address


def test_moved_blocks_point_at_declared_kinds() -> None:
    for target, source in moved_blocks().items():
        assert target.split(".")[0] == source.split(".")[0], (source, target)


def record() -> None:
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    data = {example: render(example, translate=False) for example in EXAMPLES}
    FIXTURE.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__" and sys.argv[1:] == ["--record"]:
    record()
