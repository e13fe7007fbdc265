"""Every top-level class and public constant of youlab_core has one home, and no module hides a name it imports.

Two `RunReport`s (or two `AGENT_MODEL_PREFIX`es) make an import pick one silently and let the copies drift apart; a
module that defines a function with the name of something it imported calls itself where it meant the import (how
the manual run once broke). Private names (a leading underscore) are the module's own business and not checked."""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "youlab_core"
CONSTANT = re.compile(r"^[A-Z][A-Z0-9_]*$")


def top_level(tree: ast.Module) -> list[ast.stmt]:
    """The module's top-level statements, including those inside top-level if/try blocks."""
    out: list[ast.stmt] = []
    todo = list(tree.body)
    while todo:
        node = todo.pop(0)
        out.append(node)
        if isinstance(node, ast.If | ast.Try):
            todo += node.body + node.orelse + getattr(node, "finalbody", [])
            todo += [s for h in getattr(node, "handlers", []) for s in h.body]
    return out


def defined(tree: ast.Module) -> list[tuple[str, int]]:
    """(name, line) of the top-level classes and UPPER_CASE constants the module defines."""
    names: list[tuple[str, int]] = []
    for node in top_level(tree):
        if isinstance(node, ast.ClassDef):
            names.append((node.name, node.lineno))
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names += [(t.id, node.lineno) for t in targets if isinstance(t, ast.Name) and CONSTANT.match(t.id)]
    return names


def imported_then_redefined(tree: ast.Module) -> list[tuple[str, int]]:
    """(name, line) of top-level functions, classes and assignments that rebind a name the module imported."""
    imported = {alias.asname or alias.name.split(".")[0] for node in top_level(tree)
                if isinstance(node, ast.Import | ast.ImportFrom) for alias in node.names}
    clashes: list[tuple[str, int]] = []
    for node in top_level(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and node.name in imported:
            clashes.append((node.name, node.lineno))
        elif isinstance(node, ast.Assign):
            clashes += [(t.id, node.lineno) for t in node.targets if isinstance(t, ast.Name) and t.id in imported]
    return clashes


def modules() -> list[tuple[str, ast.Module]]:
    return [(str(p.relative_to(ROOT)), ast.parse(p.read_text(encoding="utf-8"))) for p in sorted(PACKAGE.rglob("*.py"))]


def test_each_class_and_constant_name_is_defined_once() -> None:
    homes: dict[str, list[str]] = defaultdict(list)
    for path, tree in modules():
        for name, line in defined(tree):
            homes[name].append(f"{path}:{line}")
    duplicated = {name: places for name, places in homes.items() if len(places) > 1}
    assert duplicated == {}, "define each once and import it (or give the different things different names)"


def test_no_module_rebinds_a_name_it_imported() -> None:
    clashes = [f"{path}:{line} {name}" for path, tree in modules() for name, line in imported_then_redefined(tree)]
    assert clashes == []


def test_the_checks_see_what_they_look_for() -> None:
    code = ("from .x import run\nimport json\nLIMIT = 3\n_PRIVATE = 1\nclass Thing: ...\n"
            "if True:\n    OTHER: int = 2\nasync def run(): ...\njson = None\n")
    tree = ast.parse(code)
    assert defined(tree) == [("LIMIT", 3), ("Thing", 5), ("OTHER", 7)]
    assert imported_then_redefined(tree) == [("run", 8), ("json", 9)]
