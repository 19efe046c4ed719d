"""What the zip may rely on: the standard library and boto3/botocore, nothing at import time."""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path

import boto3
import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "lambda" / "dynamodb_backup"
ALLOWED = set(sys.stdlib_module_names) | {"boto3", "botocore", "dynamodb_backup"}


def _runtime_imports(tree: ast.Module) -> set[str]:
    """Top-level module names imported outside `if TYPE_CHECKING:` blocks."""
    names: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for statement in node.orelse:
                visit(statement)
            return
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return names


def test_runtime_imports_are_stdlib_and_boto_only() -> None:
    sources = sorted(PACKAGE.glob("*.py"))
    assert len(sources) > 10
    for source in sources:
        imported = _runtime_imports(ast.parse(source.read_text(), filename=str(source)))
        assert imported <= ALLOWED, f"{source.name} imports {sorted(imported - ALLOWED)}"


def test_importing_the_handlers_creates_no_client(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a boto3 client was created at import time")

    monkeypatch.setattr(boto3.session.Session, "client", refuse)
    monkeypatch.setattr(boto3, "client", refuse)
    for name in sorted(m for m in sys.modules if m.startswith("dynamodb_backup")):
        monkeypatch.delitem(sys.modules, name)
    scheduler = importlib.import_module("dynamodb_backup.scheduler")
    monitor = importlib.import_module("dynamodb_backup.monitor")
    drill = importlib.import_module("dynamodb_backup.drill")
    assert callable(scheduler.handler)
    assert callable(monitor.handler)
    assert callable(drill.handler)
