"""The planning package's rules: no dagster/SQLAlchemy, no clock, typed and documented functions."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import supplybrain_pipelines.logic.planning as planning

MODULES = sorted(Path(planning.__file__).parent.glob("*.py"))
#: numpy is allowed: the maths runs on whole catalogues as arrays, and arrays are values, not
#: frameworks or databases.
FORBIDDEN_IMPORTS = ("dagster", "sqlalchemy", "psycopg")
FORBIDDEN_CALLS = ("now", "today", "utcnow", "time", "random")


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def test_the_package_has_its_modules() -> None:
    names = {path.stem for path in MODULES}
    assert {"inventory", "demand", "bundles", "risk", "minimums"} <= names


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.stem)
def test_no_framework_or_database_imports(path: Path) -> None:
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            continue
        for name in names:
            assert not name.split(".")[0].startswith(FORBIDDEN_IMPORTS), f"{path.name}: {name}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.stem)
def test_functions_are_typed_documented_and_clock_free(path: Path) -> None:
    tree = _tree(path)
    assert ast.get_docstring(tree), f"{path.name} has no module docstring"
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            assert ast.get_docstring(node), f"{path.name}:{node.name} has no docstring"
            assert node.returns is not None, f"{path.name}:{node.name} has no return type"
            arguments = node.args.args + node.args.kwonlyargs
            untyped = [a.arg for a in arguments if a.annotation is None and a.arg != "self"]
            assert not untyped, f"{path.name}:{node.name} has untyped {untyped}"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            assert node.func.attr not in FORBIDDEN_CALLS, f"{path.name}: .{node.func.attr}()"
