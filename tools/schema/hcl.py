"""A small, typed model of Terraform configuration files, built on python-hcl2's parse tree.

python-hcl2 keeps the raw structure (blocks, nested blocks, ``dynamic`` blocks, heredocs)
and lark keeps line numbers, which the checks need to point at ``file:line``. Expressions
stay lark trees; :func:`references` walks them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import hcl2
from lark import Token, Tree

# Directories the checks walk (relative to the repository root) and names they never enter.
MODULE_ROOTS = (".", "modules", "examples")
SKIP_DIRS = frozenset({".terraform", ".git", "node_modules", "__pycache__"})


@dataclass(frozen=True)
class Ref:
    """A traversal such as ``aws_iam_role.this[0].arn``: root name and its steps.

    Steps are attribute names; ``[]`` stands for an index and ``*`` for a splat.
    """

    root: str
    steps: tuple[str, ...]
    line: int

    def text(self) -> str:
        out = self.root
        for step in self.steps:
            out += {"[]": "[]", "*": "[*]"}.get(step, "." + step)
        return out


@dataclass
class Attribute:
    name: str
    line: int
    expr: Tree[Token]


@dataclass
class Block:
    type: str
    labels: list[str]
    line: int
    file: Path
    attributes: dict[str, Attribute] = field(default_factory=dict)
    blocks: list[Block] = field(default_factory=list)

    def where(self) -> str:
        return f"{self.file}:{self.line}"

    def children(self, type_: str) -> list[Block]:
        return [b for b in self.blocks if b.type == type_]


@dataclass
class Module:
    """Every top-level block of the ``.tf`` files of one directory."""

    path: Path
    blocks: list[Block]

    def of_type(self, type_: str) -> list[Block]:
        return [b for b in self.blocks if b.type == type_]

    def variables(self) -> dict[str, Block]:
        return {b.labels[0]: b for b in self.of_type("variable") if b.labels}

    def outputs(self) -> dict[str, Block]:
        return {b.labels[0]: b for b in self.of_type("output") if b.labels}

    def locals(self) -> dict[str, Attribute]:
        out: dict[str, Attribute] = {}
        for block in self.of_type("locals"):
            out.update(block.attributes)
        return out

    def modules(self) -> dict[str, Block]:
        return {b.labels[0]: b for b in self.of_type("module") if b.labels}

    def resources(self, kind: str) -> dict[tuple[str, str], Block]:
        """Every ``resource`` or ``data`` block by (type, name)."""
        return {(b.labels[0], b.labels[1]): b for b in self.of_type(kind) if len(b.labels) == 2}


class HclError(Exception):
    """A file that python-hcl2 cannot parse."""


def _label(node: Tree[Token] | Token) -> str:
    if isinstance(node, Token):
        return str(node)
    if node.data == "string":
        return "".join(_token_text(part) for part in node.children if isinstance(part, Tree))
    return _token_text(node)


def _token_text(node: Tree[Token]) -> str:
    return "".join(str(t) for t in node.scan_values(lambda v: isinstance(v, Token)))


def _name(node: Tree[Token] | Token) -> str:
    """The name of an attribute or block type (identifier, keyword or literal)."""
    return _label(node).strip()


def _parse_body(body: Tree[Token], file: Path, into: Block) -> None:
    for child in body.children:
        if not isinstance(child, Tree):
            continue
        if child.data == "attribute":
            name_node, expr = child.children[0], child.children[-1]
            assert isinstance(expr, Tree)
            into.attributes[_name(name_node)] = Attribute(
                name=_name(name_node), line=child.meta.line, expr=expr
            )
        elif child.data == "block":
            into.blocks.append(_parse_block(child, file))


def _parse_block(node: Tree[Token], file: Path) -> Block:
    parts = [c for c in node.children if isinstance(c, Tree)]
    head = [p for p in parts if p.data not in ("body", "new_line_or_comment")]
    block = Block(
        type=_name(head[0]),
        labels=[_label(p) for p in head[1:]],
        line=node.meta.line,
        file=file,
    )
    for body in (p for p in parts if p.data == "body"):
        _parse_body(body, file, block)
    return block


def parse_text(text: str, file: Path) -> list[Block]:
    """The top-level blocks of one file's text."""
    try:
        tree = hcl2.parses_to_tree(text)
    except Exception as exc:  # lark raises several unrelated exception types
        raise HclError(f"{file}: cannot parse: {exc}") from exc
    root = Block(type="<file>", labels=[], line=1, file=file)
    for body in tree.children:
        if isinstance(body, Tree) and body.data == "body":
            _parse_body(body, file, root)
    return root.blocks


def load_module(path: Path, display_root: Path | None = None) -> Module:
    """All ``*.tf`` files directly in ``path`` (Terraform does not recurse)."""
    blocks: list[Block] = []
    for tf in sorted(path.glob("*.tf")):
        shown = tf.relative_to(display_root) if display_root else tf
        blocks.extend(parse_text(tf.read_text(encoding="utf-8"), shown))
    return Module(path=path, blocks=blocks)


def _skipped(path: Path) -> bool:
    return any(part in SKIP_DIRS or part.startswith(".venv") for part in path.parts)


def module_dirs(repo: Path) -> list[Path]:
    """Every directory with ``.tf`` files: the repository root, ``modules/**``, ``examples/**``."""
    found: set[Path] = set()
    for top in MODULE_ROOTS:
        base = repo / top
        if not base.is_dir():
            continue
        files = base.glob("*.tf") if top == "." else base.rglob("*.tf")
        for tf in files:
            if not _skipped(tf.relative_to(repo)):
                found.add(tf.parent)
    return sorted(found)


def tf_files(repo: Path) -> list[Path]:
    return sorted(tf for d in module_dirs(repo) for tf in d.glob("*.tf"))


# ---------------------------------------------------------------------------
# References inside expressions

_CHAIN = frozenset(
    {"get_attr_expr_term", "index_expr_term", "attr_splat_expr_term", "full_splat_expr_term"}
)
_INTERPOLATION = re.compile(r"(?<![$%])[$%]\{")


def _step(op: Tree[Token]) -> list[str]:
    """The traversal steps one ``get_attr`` / index / splat operation adds."""
    if op.data == "get_attr":
        return [_name(op.children[-1])]
    if op.data in ("braces_index", "short_index"):
        return ["[]"]
    rest = [c for c in op.children if isinstance(c, Tree)]  # splat: `[*].a.b`
    return ["*", *(step for c in rest for step in _step(c))]


def _chain(node: Tree[Token]) -> tuple[str, list[str]] | None:
    """(root, steps) when ``node`` is a traversal rooted at a bare identifier."""
    inner = [c for c in node.children if isinstance(c, Tree)]
    result: tuple[str, list[str]] | None = None
    if node.data == "expr_term" and len(node.children) == 1 and inner:
        if inner[0].data == "identifier":
            result = _name(inner[0]), []
        elif inner[0].data in _CHAIN:
            result = _chain(inner[0])
    elif node.data in _CHAIN and len(inner) == 2:
        head = _chain(inner[0])
        if head is not None:
            result = head[0], [*head[1], *_step(inner[1])]
    return result


def _heredoc_expressions(text: str, line: int) -> Iterator[tuple[Tree[Token], int]]:
    """Parse the ``${...}`` and ``%{...}`` parts of a heredoc (the grammar keeps it one token)."""
    for match in _INTERPOLATION.finditer(text):
        depth, i = 1, match.end()
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        inner = text[match.end() : i - 1].strip().strip("~").strip()
        if match.group().startswith("%"):
            inner = re.sub(r"^(if|for\s+[\w, ]+\s+in)\s+", "", inner)
            if inner in ("else", "endif", "endfor"):
                continue
        at = line + text.count("\n", 0, match.start())
        try:
            tree = hcl2.parses_to_tree(f"__x = {inner}\n")
        except Exception:  # noqa: S112  # not an expression we understand: skip, never guess
            continue
        for attr in tree.find_data("attribute"):
            expr = attr.children[-1]
            if isinstance(expr, Tree):
                yield expr, at
            break


@dataclass
class _Walk:
    """Accumulates the references of one expression (heredoc parts are parsed apart)."""

    found: dict[tuple[int, int, int], Ref] = field(default_factory=dict)
    bound: set[str] = field(default_factory=set)
    parts: int = 0

    def walk(self, node: Tree[Token], line: int, part: int = 0, offset: int = 0) -> None:
        here = offset + node.meta.line if not node.meta.empty else line
        if node.data in ("for_intro", "template_for_start"):
            for child in node.children:
                if isinstance(child, Tree) and child.data == "identifier":
                    self.bound.add(_name(child))
        if node.data == "object_elem_key":
            elem = node.children[0]
            bare = _chain(elem) if isinstance(elem, Tree) else None
            if bare is not None and not bare[1]:
                return  # a bare key such as `Name = ...` is a literal, not a reference
        if node.data in ("heredoc_template", "heredoc_template_trim"):
            for expr, at in _heredoc_expressions(_token_text(node), here):
                self.parts += 1
                self.walk(expr, at, part=self.parts, offset=at - 1)
            return
        chain = _chain(node) if node.data == "expr_term" or node.data in _CHAIN else None
        if chain is not None:
            root, steps = chain
            token = next(node.scan_values(lambda v: isinstance(v, Token) and v.type == "NAME"))
            at = offset + (token.line or 1) if token.line else here
            key = (part, at, token.column or 0)
            # keep only the longest traversal per root token: inner nodes repeat its prefix
            old = self.found.get(key)
            if old is None or len(old.steps) < len(steps):
                self.found[key] = Ref(root=root, steps=tuple(steps), line=at)
        for child in node.children:
            if isinstance(child, Tree):
                self.walk(child, here, part, offset)


def references(expr: Tree[Token], line: int) -> tuple[list[Ref], set[str]]:
    """Every traversal in ``expr`` and the names its ``for`` expressions bind."""
    state = _Walk()
    state.walk(expr, line)
    order = sorted(state.found, key=lambda k: (k[1], k[0], k[2]))
    return [state.found[k] for k in order], state.bound


@dataclass(frozen=True, order=True)
class Problem:
    """One finding of a check, printed as ``file:line: message``."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


def object_keys(expr: Tree[Token]) -> dict[str, Tree[Token]] | None:
    """Keys and value expressions of an object literal ``{ a = ..., b = ... }``, or None."""
    node = expr
    while node.data == "expr_term" and len(node.children) == 1:
        inner = node.children[0]
        if not isinstance(inner, Tree):
            return None
        node = inner
    if node.data != "object":
        return None
    out: dict[str, Tree[Token]] = {}
    for elem in node.children:
        if isinstance(elem, Tree) and elem.data == "object_elem":
            key, value = elem.children[0], elem.children[-1]
            if isinstance(key, Tree) and isinstance(value, Tree):
                out[_token_text(key).strip().strip('"')] = value
    return out


def string_literal(expr: Tree[Token]) -> str | None:
    """The text of a plain string literal without interpolation, or None."""
    strings = list(expr.find_data("string"))
    if len(strings) != 1 or list(expr.find_data("interpolation")):
        return None
    parts = [p for p in strings[0].children if isinstance(p, Tree)]
    if any(not all(isinstance(c, Token) for c in p.children) for p in parts):
        return None
    return "".join(_token_text(p) for p in parts)
