"""Check resource, data and provider blocks against a provider schema snapshot.

Every block type must exist in the provider, every argument and nested block (recursively,
through ``dynamic`` blocks) must exist in its schema, every required argument and required
nested block must be set, and a block the provider allows once must not appear twice.
Meta-arguments (``count``, ``for_each``, ``depends_on``, ``provider``, ``lifecycle``, ...)
are Terraform's, not the provider's, and are checked against Terraform's own lists.
"""

from __future__ import annotations

import difflib
import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lark import Token, Tree

from tools.schema.hcl import Block, Module, Problem, object_keys, parse_text, string_literal

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "tests" / "tfstatic" / "schema"

META_ARGUMENTS = {
    "resource": frozenset({"count", "for_each", "depends_on", "provider"}),
    "data": frozenset({"count", "for_each", "depends_on", "provider"}),
}
META_BLOCKS = {
    "resource": frozenset({"lifecycle", "provisioner", "connection"}),
    "data": frozenset({"lifecycle"}),
}
LIFECYCLE_ARGUMENTS = {
    "resource": frozenset(
        {"create_before_destroy", "prevent_destroy", "ignore_changes", "replace_triggered_by"}
    ),
    "data": frozenset(),
}
LIFECYCLE_BLOCKS = frozenset({"precondition", "postcondition"})
CONDITION_ARGUMENTS = frozenset({"condition", "error_message"})
DYNAMIC_ARGUMENTS = frozenset({"for_each", "iterator", "labels"})

# Terraform's built-in provider has no PyPI package; its one resource is small enough to state.
BUILTIN: dict[str, Any] = {
    "provider": "terraform",
    "provider_version": "builtin",
    "all_types": {"resource": ["terraform_data"], "data": []},
    "provider_config": {"arguments": {}, "blocks": {}},
    "resource": {
        "terraform_data": {
            "arguments": {"input": {"required": False}, "triggers_replace": {"required": False}},
            "blocks": {},
        }
    },
    "data": {},
}

Schema = dict[str, Any]


@dataclass(frozen=True)
class ProviderSchemas:
    """One snapshot per provider name (``aws``, ``archive``, ``terraform``)."""

    by_provider: dict[str, Schema]

    @classmethod
    def load(cls, *names: str, directory: Path = SCHEMA_DIR) -> ProviderSchemas:
        by_provider: dict[str, Schema] = {"terraform": BUILTIN}
        for name in names:
            snapshot: Schema = json.loads((directory / f"{name}.json").read_text("utf-8"))
            by_provider[snapshot["provider"]] = snapshot
        return cls(by_provider)

    def label(self) -> str:
        return ", ".join(
            f"{name} {s['provider_version']}"
            for name, s in sorted(self.by_provider.items())
            if name != "terraform"
        )

    def all_resource_types(self) -> set[str]:
        return {t for s in self.by_provider.values() for t in s["all_types"]["resource"]}


def provider_of(type_name: str) -> str:
    """``aws_lambda_function`` -> ``aws`` (Terraform's implied provider: the first word)."""
    return type_name.split("_", 1)[0]


def _suggest(name: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(name, candidates, n=1)
    return f" (did you mean `{close[0]}`?)" if close else ""


class _Checker:
    def __init__(self, schemas: ProviderSchemas) -> None:
        self.schemas = schemas
        self.problems: list[Problem] = []

    def problem(self, block: Block, line: int, message: str) -> None:
        self.problems.append(Problem(str(block.file), line, f"{message} [{self.schemas.label()}]"))

    def top_level(self, block: Block) -> None:
        if block.type == "provider" and block.labels:
            schema = self.schemas.by_provider.get(block.labels[0])
            if schema is None:
                self.problem(
                    block, block.line, f"no schema snapshot for provider {block.labels[0]}"
                )
                return
            body = {
                "arguments": {
                    "alias": {"required": False},
                    **schema["provider_config"]["arguments"],
                },
                "blocks": schema["provider_config"]["blocks"],
            }
            self.body(block, body, f'provider "{block.labels[0]}"', kind=None)
            return
        if block.type not in ("resource", "data"):
            return
        kind = block.type
        if len(block.labels) != 2:
            self.problem(block, block.line, f"{kind} block needs a type and a name label")
            return
        type_name, name = block.labels
        where = f"{'data.' if kind == 'data' else ''}{type_name}.{name}"
        schema = self.schemas.by_provider.get(provider_of(type_name))
        if schema is None:
            self.problem(
                block,
                block.line,
                f"{where}: no schema snapshot for provider `{provider_of(type_name)}` "
                "(add it to tools/schema/snapshot.py)",
            )
            return
        if type_name not in schema[kind]:
            if type_name in schema["all_types"][kind]:
                message = "is not in the schema snapshot: run tools/schema/snapshot.py"
            else:
                word = "resource type" if kind == "resource" else "data source"
                hint = _suggest(type_name, schema["all_types"][kind])
                message = f"is not a {word} of provider {provider_of(type_name)}{hint}"
            self.problem(block, block.line, f"{where}: `{type_name}` {message}")
            return
        self.body(block, schema[kind][type_name], where, kind=kind)

    def lifecycle(self, block: Block, where: str, kind: str) -> None:
        for attr in block.attributes.values():
            if attr.name not in LIFECYCLE_ARGUMENTS[kind]:
                self.problem(
                    block, attr.line, f"{where}: `{attr.name}` is not a lifecycle argument"
                )
        for child in block.blocks:
            if child.type not in LIFECYCLE_BLOCKS:
                self.problem(block, child.line, f"{where}: `{child.type}` is not a lifecycle block")
                continue
            for attr in child.attributes.values():
                if attr.name not in CONDITION_ARGUMENTS:
                    self.problem(
                        child, attr.line, f"{where}: unknown `{attr.name}` in {child.type}"
                    )
            missing = CONDITION_ARGUMENTS - set(child.attributes)
            for name in sorted(missing):
                self.problem(child, child.line, f"{where}: {child.type} needs `{name}`")

    def dynamic(self, block: Block, schema: Schema, where: str) -> str | None:
        """Check one ``dynamic "x"`` block; returns the block type it generates."""
        if len(block.labels) != 1:
            self.problem(block, block.line, f"{where}: a dynamic block needs one label")
            return None
        name = block.labels[0]
        nested = schema["blocks"].get(name)
        if nested is None:
            if name in schema["arguments"]:
                message = f"`{name}` is an argument; a dynamic block can only generate blocks"
            else:
                message = f"dynamic `{name}`: no such block" + _suggest(
                    name, list(schema["blocks"])
                )
            self.problem(block, block.line, f"{where}: {message}")
            return None
        for attr in block.attributes.values():
            if attr.name not in DYNAMIC_ARGUMENTS:
                self.problem(
                    block, attr.line, f"{where}.{name}: `{attr.name}` not allowed in dynamic"
                )
        if "for_each" not in block.attributes:
            self.problem(block, block.line, f"{where}: dynamic `{name}` needs `for_each`")
        contents = block.children("content")
        for other in block.blocks:
            if other.type != "content":
                self.problem(other, other.line, f"{where}.{name}: `{other.type}` not allowed here")
        if len(contents) != 1:
            self.problem(block, block.line, f"{where}: dynamic `{name}` needs one `content` block")
        for content in contents:
            self.body(content, nested, f"{where}.{name}", kind=None)
        return name

    def body(self, block: Block, schema: Schema, where: str, kind: str | None) -> None:
        self.arguments(block, schema, where, kind)
        seen, generated = self.nested(block, schema, where, kind)
        for name, spec in schema["arguments"].items():
            if spec["required"] and name not in block.attributes:
                self.problem(block, block.line, f"{where}: missing required argument `{name}`")
        for name, spec in schema["blocks"].items():
            if spec["required"] and not seen[name] and name not in generated:
                self.problem(block, block.line, f"{where}: missing required block `{name}`")
            if spec.get("max_items") == 1 and seen[name] > 1:
                self.problem(block, block.line, f"{where}: at most one `{name}` block allowed")

    def arguments(self, block: Block, schema: Schema, where: str, kind: str | None) -> None:
        arguments: dict[str, Any] = schema["arguments"]
        blocks: dict[str, Any] = schema["blocks"]
        meta = META_ARGUMENTS[kind] if kind else frozenset()
        for attr in block.attributes.values():
            if attr.name in arguments or attr.name in meta:
                continue
            if attr.name in blocks:
                message = f"`{attr.name}` is a block: write `{attr.name} {{ ... }}`"
            else:
                hint = _suggest(attr.name, [*arguments, *blocks])
                message = f"unknown argument `{attr.name}`{hint}"
            self.problem(block, attr.line, f"{where}: {message}")

    def nested(
        self, block: Block, schema: Schema, where: str, kind: str | None
    ) -> tuple[Counter[str], set[str]]:
        """Check the nested blocks; returns how often each static one appears and the types
        that ``dynamic`` blocks generate."""
        arguments: dict[str, Any] = schema["arguments"]
        blocks: dict[str, Schema] = schema["blocks"]
        meta = META_BLOCKS[kind] if kind else frozenset()
        seen: Counter[str] = Counter()
        generated: set[str] = set()
        for child in block.blocks:
            if kind and child.type in meta:
                if child.type == "lifecycle":
                    self.lifecycle(child, where, kind)
            elif child.type == "dynamic":
                made = self.dynamic(child, schema, where)
                generated.update([made] if made else [])
            elif child.type in blocks:
                seen[child.type] += 1
                self.body(child, blocks[child.type], f"{where}.{child.type}", kind=None)
            elif child.type in arguments:
                message = f"`{child.type}` is an argument: write `{child.type} = ...`"
                self.problem(child, child.line, f"{where}: {message}")
            else:
                hint = _suggest(child.type, [*blocks, *arguments])
                self.problem(child, child.line, f"{where}: unknown block `{child.type}`{hint}")
        return seen, generated


def _expr_text(expr: Tree[Token]) -> str:
    return "".join(str(t) for t in expr.scan_values(lambda v: isinstance(v, Token))).strip()


_VAR_REF = re.compile(r"^var\.(\w+)$")
_LOCAL_REF = re.compile(r"^local\.(\w+)(\[.*\])?$", re.S)
_CONTAINS = re.compile(r"contains\(\s*\[(?P<items>[^\]]*)\]\s*,\s*var\.(?P<var>\w+)\s*\)")
_QUOTED = re.compile(r'"([^"$%]*)"')


def _values(expr: Tree[Token], module: Module, depth: int = 0) -> set[str] | None:
    """The string values an expression can take, when this module states them: a literal
    (or a list of them), a variable (its default and the list its `contains(...)`
    validation allows), a local (recursively) or an element of a local object literal (all
    its values). None when the values are not known statically."""
    if depth > 4:
        return None
    text = _expr_text(expr)
    if text.startswith('"') and text.endswith('"'):
        literal = string_literal(expr)
        return None if literal is None else {literal}
    if text.startswith("[") and text.endswith("]"):
        items = [i.strip() for i in text[1:-1].split(",") if i.strip()]
        return _union([_values(parse_expression(i), module, depth + 1) for i in items])
    var = _VAR_REF.match(text)
    if var:
        return _variable_values(module, var.group(1))
    return _local_values(text, module, depth)


def _local_values(text: str, module: Module, depth: int) -> set[str] | None:
    local = _LOCAL_REF.match(text)
    attr = module.locals().get(local.group(1)) if local else None
    if local is None or attr is None:
        return None
    if not local.group(2):
        return _values(attr.expr, module, depth + 1)
    keys = object_keys(attr.expr)  # an element: every value of the object literal
    if keys is None:
        return None
    return _union([_values(v, module, depth + 1) for v in keys.values()])


def _union(parts: list[set[str] | None]) -> set[str] | None:
    out: set[str] = set()
    for part in parts:
        if part is None:
            return None
        out |= part
    return out


def _variable_values(module: Module, name: str) -> set[str] | None:
    block = module.variables().get(name)
    if block is None:
        return None
    values: set[str] = set()
    default = block.attributes.get("default")
    text_default = string_literal(default.expr) if default is not None else None
    if text_default is not None:
        values.add(text_default)
    for validation in block.children("validation"):
        condition = validation.attributes.get("condition")
        found = _CONTAINS.search(_expr_text(condition.expr)) if condition else None
        if found and found.group("var") == name:
            values |= set(_QUOTED.findall(found.group("items")))
    return values or None


def parse_expression(text: str) -> Tree[Token]:
    """The expression tree of ``text`` (parsed as the value of an attribute)."""
    (block,) = parse_text(f"x {{\n  v = {text}\n}}\n", Path("<expr>"))
    return block.attributes["v"].expr


def _enum_problems(module: Module, schemas: ProviderSchemas) -> list[Problem]:
    """Values outside the enumerations a snapshot carries (``enums``: argument paths such
    as ``runtime`` or ``logging_config.log_format`` -> accepted values)."""
    problems: list[Problem] = []
    for block in module.blocks:
        if block.type not in ("resource", "data") or len(block.labels) != 2:
            continue
        schema = schemas.by_provider.get(provider_of(block.labels[0]))
        enums = (schema or {}).get("enums", {}).get(block.type, {}).get(block.labels[0], {})
        for path, allowed in enums.items():
            *nested, name = path.split(".")
            holders = [block]
            for step in nested:
                holders = [child for h in holders for child in h.children(step)]
            for holder in holders:
                attr = holder.attributes.get(name)
                values = _values(attr.expr, module) if attr else None
                for value in sorted((values or set()) - set(allowed)):
                    where = f"{block.labels[0]}.{block.labels[1]}"
                    problems.append(
                        Problem(
                            str(block.file),
                            attr.line if attr else block.line,
                            f"{where}: {path} = {value!r} is not accepted by provider "
                            f"{schema['provider']} {schema['provider_version']} "  # type: ignore[index]
                            f"(it accepts {', '.join(allowed)}); raise the provider floor "
                            "or choose an accepted value",
                        )
                    )
    return problems


def check_module(module: Module, schemas: ProviderSchemas) -> list[Problem]:
    checker = _Checker(schemas)
    for block in module.blocks:
        checker.top_level(block)
    return sorted(checker.problems + _enum_problems(module, schemas))


def _spec(required: tuple[str, ...], optional: tuple[str, ...], **blocks: Schema) -> Schema:
    arguments = {name: {"required": True} for name in required}
    arguments |= {name: {"required": False} for name in optional}
    return {"arguments": arguments, "blocks": blocks}


_CONDITION = _spec(("condition", "error_message"), ())
# The Terraform language's own blocks (Terraform 1.5 - 1.x, OpenTofu 1.6 - 1.x).
LANGUAGE: dict[str, Schema] = {
    "variable": _spec(
        (),
        ("type", "default", "description", "sensitive", "nullable", "ephemeral"),
        validation=_CONDITION,
    ),
    "output": _spec(
        ("value",),
        ("description", "sensitive", "depends_on", "ephemeral"),
        precondition=_CONDITION,
    ),
}
TERRAFORM_BLOCK = _spec(
    (),
    ("required_version", "experiments"),
    required_providers={"arguments": {}, "blocks": {}},
    backend={"arguments": {}, "blocks": {}},
    cloud={"arguments": {}, "blocks": {}},
    provider_meta={"arguments": {}, "blocks": {}},
)


def _language_block(block: Block, schema: Schema, where: str) -> list[Problem]:
    problems: list[Problem] = []

    def report(at: Block, line: int, message: str) -> None:
        problems.append(Problem(str(at.file), line, f"{where}: {message}"))

    for attr in block.attributes.values():
        if attr.name not in schema["arguments"]:
            hint = _suggest(attr.name, list(schema["arguments"]))
            report(block, attr.line, f"unknown argument `{attr.name}`{hint}")
    for name, spec in schema["arguments"].items():
        if spec["required"] and name not in block.attributes:
            report(block, block.line, f"missing required argument `{name}`")
    for child in block.blocks:
        nested = schema["blocks"].get(child.type)
        if nested is None:
            hint = _suggest(child.type, list(schema["blocks"]))
            report(child, child.line, f"unknown block `{child.type}`{hint}")
        elif block.type != "terraform":  # provider requirements, backend settings: free-form
            for attr in child.attributes.values():
                if attr.name not in nested["arguments"]:
                    report(child, attr.line, f"unknown argument `{attr.name}` in {child.type}")
            for name in sorted(set(nested["arguments"]) - set(child.attributes)):
                report(child, child.line, f"{child.type} needs `{name}`")
            for inner in child.blocks:
                report(inner, inner.line, f"unknown block `{inner.type}` in {child.type}")
    return problems


REQUIREMENT_KEYS = frozenset({"source", "version", "configuration_aliases"})


def _required_providers(module: Module) -> tuple[dict[str, Block], list[Problem]]:
    """Providers named in ``required_providers`` (and what is wrong in their entries)."""
    declared: dict[str, Block] = {}
    problems: list[Problem] = []
    for terraform in module.of_type("terraform"):
        for block in terraform.children("required_providers"):
            for attr in block.attributes.values():
                declared[attr.name] = block
                keys = object_keys(attr.expr)
                where = f"required_providers.{attr.name}"
                if keys is None:
                    message = f"{where}: write `{{ source = ..., version = ... }}`"
                    problems.append(Problem(str(block.file), attr.line, message))
                    continue
                for key in sorted(set(keys) - REQUIREMENT_KEYS):
                    message = f"{where}: unknown key `{key}`" + _suggest(key, [*REQUIREMENT_KEYS])
                    value = keys[key]
                    line = attr.line if value.meta.empty else value.meta.line
                    problems.append(Problem(str(block.file), line, message))
                source = string_literal(keys["source"]) if "source" in keys else None
                if source is None or source.split("/")[-1] != attr.name:
                    message = f'{where}: needs `source = "<namespace>/{attr.name}"`'
                    problems.append(Problem(str(block.file), attr.line, message))
    return declared, problems


def _provider_requirements(module: Module) -> list[Problem]:
    declared, problems = _required_providers(module)
    for block in module.blocks:
        if block.type in ("resource", "data") and block.labels:
            used = provider_of(block.labels[0])
        elif block.type == "provider" and block.labels:
            used = block.labels[0]
        else:
            continue
        if used != "terraform" and used not in declared:
            message = f"provider `{used}` is used but not in terraform.required_providers"
            problems.append(Problem(str(block.file), block.line, message))
    return problems


def check_language(module: Module) -> list[Problem]:
    """``variable``, ``output``, ``module``, ``locals`` and ``terraform`` blocks: the language's
    own arguments. Module arguments beyond ``source`` are the called module's variables
    (check_refs)."""
    problems: list[Problem] = []
    for block in module.blocks:
        where = " ".join([block.type, *(f'"{label}"' for label in block.labels)])
        if block.type in LANGUAGE:
            problems += _language_block(block, LANGUAGE[block.type], where)
        elif block.type == "terraform":
            problems += _language_block(block, TERRAFORM_BLOCK, where)
        elif block.type == "module" and "source" not in block.attributes:
            message = f"{where}: missing required argument `source`"
            problems.append(Problem(str(block.file), block.line, message))
        elif block.type == "locals" and block.blocks:
            first = block.blocks[0]
            message = "locals: a local is `name = value`, not a block"
            problems.append(Problem(str(first.file), first.line, message))
    problems += _provider_requirements(module)
    return sorted(problems)
