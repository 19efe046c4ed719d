"""Check that every reference in a module resolves.

- ``var.x`` has a ``variable "x"``, ``local.x`` a local, ``data.t.n`` and ``t.n`` a block,
  ``module.m`` a module block and ``module.m.o`` an output of the called module (local
  sources: ``./modules/...``, ``../../``).
- A module call passes only variables the called module declares and every variable that
  has no default.
- ``count.index`` only where ``count`` is set, ``each.*`` only where ``for_each`` is set.
- A variable's ``validation`` refers to no other object (Terraform < 1.9 rejects it, and the
  module promises Terraform >= 1.5).
- Any other name is an error, unless a ``for`` expression or a ``dynamic`` block binds it.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

from tools.schema.hcl import (
    Attribute,
    Block,
    Module,
    Problem,
    Ref,
    load_module,
    references,
    string_literal,
)

MODULE_META = frozenset({"source", "version", "count", "for_each", "providers", "depends_on"})
ALWAYS_IN_SCOPE = frozenset({"path", "terraform"})
# Blocks whose contents are not expressions over the module's objects.
SKIPPED_BLOCKS = frozenset({"terraform", "moved", "import", "removed", "check"})


def _attributes(block: Block) -> list[tuple[Attribute, Block, list[Block]]]:
    """Every attribute of ``block`` and its nested blocks, with the block that holds it and
    the chain of enclosing nested blocks (for ``dynamic`` iterator scope)."""
    out: list[tuple[Attribute, Block, list[Block]]] = []

    def walk(node: Block, path: list[Block]) -> None:
        for attr in node.attributes.values():
            out.append((attr, node, path))
        for child in node.blocks:
            walk(child, [*path, child])

    walk(block, [])
    return out


def _dynamic_names(path: list[Block]) -> set[str]:
    names: set[str] = set()
    for block in path:
        if block.type == "dynamic" and block.labels:
            names.add(block.labels[0])
            iterator = block.attributes.get("iterator")
            if iterator is not None:
                refs, _ = references(iterator.expr, iterator.line)
                names.update(r.root for r in refs)
    return names


@dataclass
class ReferenceChecker:
    """Checks modules; ``resource_types`` tells a resource reference from an unknown name."""

    resource_types: set[str]
    repo: Path | None = None
    # kind ("resource"/"data") -> type -> attributes an expression may read; types not
    # listed are not checked past their name
    attributes: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    _modules: dict[Path, Module] = field(default_factory=dict)

    def module(self, path: Path) -> Module:
        key = path.resolve()
        if key not in self._modules:
            self._modules[key] = load_module(key, self.repo.resolve() if self.repo else None)
        return self._modules[key]

    def called_module(self, caller: Module, call: Block) -> Module | None:
        """The module a ``module`` block calls, when its source is a local path."""
        source_attr = call.attributes.get("source")
        if source_attr is None:
            return None
        text = string_literal(source_attr.expr)
        if text is None or not text.startswith(("./", "../")):
            return None
        target = (caller.path / text).resolve()
        if not target.is_dir() or not any(target.glob("*.tf")):
            return None
        return self.module(target)

    def check(self, module: Module) -> list[Problem]:
        problems: list[Problem] = []
        variables = module.variables()
        locals_ = module.locals()
        calls = module.modules()
        resources = module.resources("resource")
        datas = module.resources("data")
        declared_types = {t for t, _ in resources}

        def report(block: Block, line: int, message: str) -> None:
            problems.append(Problem(str(block.file), line, message))

        for call_name, call in calls.items():
            problems.extend(self._check_call(module, call_name, call))

        for top in module.blocks:
            if top.type in SKIPPED_BLOCKS:
                continue
            for attr, holder, path in _attributes(top):
                if top.type == "variable" and holder is top and attr.name == "type":
                    continue  # a type constraint, not an expression
                if holder.type == "lifecycle" and attr.name == "ignore_changes":
                    continue  # attribute names of the resource itself
                if attr.name in ("provider", "providers") and holder is top:
                    continue  # provider configurations, not objects
                refs, bound = references(attr.expr, attr.line)
                in_scope = bound | _dynamic_names(path) | ALWAYS_IN_SCOPE
                for ref in refs:
                    message = self._resolve(
                        ref,
                        top=top,
                        in_scope=in_scope,
                        variables=set(variables),
                        locals_=set(locals_),
                        calls=calls,
                        caller=module,
                        resources=resources,
                        datas=datas,
                        resource_types=declared_types | self.resource_types,
                    )
                    if message:
                        report(holder, ref.line, f"{message} (in {_where(top)})")
        return sorted(problems)

    def _check_call(self, module: Module, call_name: str, call: Block) -> list[Problem]:
        problems: list[Problem] = []
        called = self.called_module(module, call)
        source = call.attributes.get("source")
        text = string_literal(source.expr) if source else None
        if called is None and source and text and text.startswith(("./", "../")):
            message = f'module "{call_name}": no module (.tf files) at source "{text}"'
            problems.append(Problem(str(call.file), source.line, message))
        if called is None:
            return problems
        declared = called.variables()
        for attr in call.attributes.values():
            if attr.name in MODULE_META or attr.name in declared:
                continue
            problems.append(
                Problem(
                    str(call.file),
                    attr.line,
                    f'module "{call_name}": `{attr.name}` is not a variable of {called.path.name}'
                    f" ({_shown(called, self.repo)})",
                )
            )
        for name, variable in sorted(declared.items()):
            if "default" not in variable.attributes and name not in call.attributes:
                problems.append(
                    Problem(
                        str(call.file),
                        call.line,
                        f'module "{call_name}": required variable `{name}` is not set',
                    )
                )
        return problems

    def _resolve(  # noqa: PLR0911, PLR0912  # one branch per kind of name reads best
        self,
        ref: Ref,
        *,
        top: Block,
        in_scope: set[str],
        variables: set[str],
        locals_: set[str],
        calls: dict[str, Block],
        caller: Module,
        resources: dict[tuple[str, str], Block],
        datas: dict[tuple[str, str], Block],
        resource_types: set[str],
    ) -> str | None:
        root, steps = ref.root, ref.steps
        first = steps[0] if steps else None
        if top.type == "variable" and root != "var" and root not in in_scope:
            return f"`{ref.text()}`: a validation may refer only to its own variable"
        if root in in_scope:
            return None
        if root == "var":
            if first not in variables:
                return f"`{ref.text()}`: no variable `{first}` in this module"
            if top.type == "variable" and top.labels and first != top.labels[0]:
                return f"`{ref.text()}`: a validation may refer only to var.{top.labels[0]}"
            return None
        if root == "local":
            return None if first in locals_ else f"`{ref.text()}`: no local `{first}`"
        if root == "count":
            ok = "count" in top.attributes and first == "index"
            return None if ok else f"`{ref.text()}`: only `count.index` where `count` is set"
        if root == "each":
            ok = "for_each" in top.attributes and first in ("key", "value")
            return None if ok else f"`{ref.text()}`: only `each.key/value` where `for_each` is set"
        if root == "self":
            ok = top.type in ("resource", "data")
            return None if ok else f"`{ref.text()}`: `self` outside a resource or data block"
        if root == "data":
            name = steps[1] if len(steps) > 1 else ""
            if (first, name) not in datas:
                return f"`{ref.text()}`: no data block `{first}` `{name}`"
            return self._instance(ref, "data", datas[(first or "", name)], steps[2:])
        if root == "module":
            return self._module_ref(ref, calls, caller)
        if root in resource_types:
            if (root, first) not in resources:
                return f"`{ref.text()}`: no resource `{root}` `{first}` in this module"
            return self._instance(ref, "resource", resources[(root, first or "")], steps[1:])
        return f"`{ref.text()}`: unknown name `{root}`"

    def _instance(self, ref: Ref, kind: str, block: Block, rest: tuple[str, ...]) -> str | None:
        """Indexing as ``count``/``for_each`` require, and an attribute the type has."""
        type_name, name = block.labels
        repeated = "count" in block.attributes or "for_each" in block.attributes
        if rest and rest[0] == "[]":
            if not repeated:
                return f"`{ref.text()}`: {type_name}.{name} has no count or for_each to index"
            rest = rest[1:]
        elif rest and rest[0] == "*":
            rest = rest[1:]
        elif rest and repeated:
            return f"`{ref.text()}`: {type_name}.{name} has count or for_each: index it"
        known = self.attributes.get(kind, {}).get(type_name)
        if not rest or known is None or rest[0] in known:
            return None
        close = difflib.get_close_matches(rest[0], sorted(known), n=1)
        hint = f" (did you mean `{close[0]}`?)" if close else ""
        return f"`{ref.text()}`: {type_name} has no attribute `{rest[0]}`{hint}"

    def _module_ref(self, ref: Ref, calls: dict[str, Block], caller: Module) -> str | None:
        steps = list(ref.steps)
        if not steps or steps[0] not in calls:
            return f"`{ref.text()}`: no module block `{steps[0] if steps else ''}`"
        call = calls[steps[0]]
        rest = steps[1:]
        repeated = "count" in call.attributes or "for_each" in call.attributes
        if rest and rest[0] in ("[]", "*"):
            rest = rest[1:]
        elif rest and repeated:
            return f"`{ref.text()}`: module `{steps[0]}` has count or for_each: index it"
        if not rest:
            return None
        called = self.called_module(caller, call)
        if called is None:
            return None  # registry or remote module: outputs unknown offline
        if rest[0] not in called.outputs():
            return f"`{ref.text()}`: module `{steps[0]}` has no output `{rest[0]}`"
        return None


def _where(block: Block) -> str:
    return " ".join([block.type, *(f'"{label}"' for label in block.labels)])


def _shown(module: Module, repo: Path | None) -> str:
    try:
        return str(module.path.relative_to(repo.resolve())) if repo else str(module.path)
    except ValueError:
        return str(module.path)
