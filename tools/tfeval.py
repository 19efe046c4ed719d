"""Evaluate the Terraform module offline with tfparse (no providers, no AWS account).

tfparse evaluates variables, locals, expressions, ``count``/``for_each``, dynamic blocks,
validation conditions and preconditions, and expands local modules. What it cannot know
(attributes that exist only after apply) comes back as follows, which the checks rely on:

- a reference to a resource's ``arn`` or ``id`` evaluates to that block's tfparse ``id``
  (a UUID), so "X points at Y" is ``X[attr] == Y["id"]``;
- data-source attributes stay unresolved (a dict, or an empty string in templates).

Module sources must be relative paths for tfparse to expand them; ``evaluate_module``
writes a throwaway root module that calls a module of this repository that way.
"""

from __future__ import annotations

import functools
import json
import os
import re
from pathlib import Path
from typing import Any

import tfparse

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
IAM_POLICIES = REPO / "modules" / "iam-policies"

Block = dict[str, Any]
Parsed = dict[str, list[Block]]

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def load(path: Path) -> Parsed:
    """Evaluate the root module at ``path``."""
    parsed: Parsed = tfparse.load_from_path(str(path))
    return parsed


@functools.cache
def load_example(name: str) -> Parsed:
    """Evaluate ``examples/<name>`` once per test session."""
    return load(EXAMPLES / name)


def block_path(block: Block) -> str:
    path: str = block["__tfmeta"]["path"]
    return path


def blocks(parsed: Parsed, block_type: str) -> list[Block]:
    return list(parsed.get(block_type, []))


def find(parsed: Parsed, path: str) -> Block:
    """The block whose address is ``path`` (e.g. ``module.x.aws_sqs_queue.monitor``)."""
    for typed in parsed.values():
        for b in typed:
            if b.get("__tfmeta", {}).get("path") == path:
                return b
    known = sorted(block_path(b) for typed in parsed.values() for b in typed if "__tfmeta" in b)
    raise KeyError(f"no block {path!r}; known: {known}")


def find_all(parsed: Parsed, prefix: str) -> list[Block]:
    """Blocks whose address starts with ``prefix`` (instances of count/for_each)."""
    return [
        b
        for typed in parsed.values()
        for b in typed
        if b.get("__tfmeta", {}).get("path", "").startswith(prefix)
    ]


def as_list(value: Any) -> list[Any]:
    """Nested blocks come back as a dict when there is one, a list when there are more."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def is_placeholder(value: Any) -> bool:
    """True for values tfparse cannot know before apply (resource ids, data refs)."""
    if isinstance(value, dict):
        return "__attribute__" in value
    return isinstance(value, str) and bool(_UUID.match(value))


def hcl(value: Any) -> str:
    """An HCL expression for a JSON-like Python value (HCL accepts JSON syntax)."""
    text = json.dumps(value)
    return text.replace("${", "$${").replace("%{", "%%{")


def evaluate_module(source: Path, instances: dict[str, dict[str, Any]], workdir: Path) -> Parsed:
    """Evaluate ``module "<name>" { source = <source>, ...inputs }`` for each instance."""
    workdir.mkdir(parents=True, exist_ok=True)
    rel = os.path.relpath(source, workdir)
    lines: list[str] = []
    for name, inputs in instances.items():
        lines.append(f'module "{name}" {{')
        lines.append(f"  source = {hcl(rel)}")
        lines.extend(f"  {key} = {hcl(value)}" for key, value in inputs.items())
        lines.append("}")
    (workdir / "main.tf").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return load(workdir)


# tfparse expands at most 32 module calls of one root module; stay well below.
MODULES_PER_ROOT = 16


def evaluate_many(source: Path, instances: dict[str, dict[str, Any]], workdir: Path) -> Parsed:
    """``evaluate_module`` for any number of instances (several roots, results merged)."""
    names = list(instances)
    merged: Parsed = {}
    for start in range(0, len(names), MODULES_PER_ROOT):
        chunk = {n: instances[n] for n in names[start : start + MODULES_PER_ROOT]}
        parsed = evaluate_module(source, chunk, workdir / f"chunk{start // MODULES_PER_ROOT}")
        for block_type, found in parsed.items():
            merged.setdefault(block_type, []).extend(found)
    return merged


def conditions(block: Block, kind: str) -> list[tuple[bool | None, str]]:
    """(evaluated condition, error message) of a block's validations or preconditions."""
    if kind == "validation":
        found = as_list(block.get("validation"))
    else:
        found = as_list((block.get("lifecycle") or {}).get(kind))
    return [(c.get("condition"), str(c.get("error_message"))) for c in found]
