"""What the architecture document promises about the code, checked on the code itself (the
layers are import-linter's, in CI): where row locks are taken, how services are called, and
which imports hide inside functions."""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "tapgo"


def _modules():
    for path in sorted(SRC.rglob("*.py")):
        parts = path.relative_to(SRC).parts
        if "tests" in parts or "migrations" in parts:
            continue
        yield path, ast.parse(path.read_text(), str(path))


def _where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(SRC.parent)}:{node.lineno}"


def _is_service_module(path: Path) -> bool:
    parts = path.relative_to(SRC).parts
    return (
        parts[0] == "flows"
        or "services" in parts
        or path.name in ("services.py", "stored_value.py")
    )


WRITES = {"update", "create", "delete", "bulk_create", "get_or_create", "post", "atomic"}


def _writes(function: ast.FunctionDef) -> bool:
    """Whether a function writes to the database itself: an ORM write, a ledger posting or a
    transaction in its body, or @transaction.atomic on it."""
    for node in ast.walk(function):
        if isinstance(node, ast.Attribute) and node.attr in WRITES:
            return True
    return False


def test_functions_that_write_take_keyword_arguments_only():
    """A service is called with names (`order_place(customer=..., app=...)`), so a call reads
    the same in the console, the shell, a task and a test, and arguments cannot swap."""
    positional = []
    for path, tree in _modules():
        if not _is_service_module(path):
            continue
        for node in tree.body:
            if not isinstance(node, ast.FunctionDef) or node.name.startswith("_"):
                continue
            if (node.args.posonlyargs or node.args.args) and _writes(node):
                names = [a.arg for a in node.args.posonlyargs + node.args.args]
                positional.append(f"{_where(path, node)} {node.name}({', '.join(names)}, ...)")
    assert positional == []


def test_row_locks_are_taken_in_each_domains_locks_module():
    """select_for_update only in <domain>/locks.py, so the lock order is in one place per
    domain and the flows take locks through them (docs/architecture.md, "Lock order")."""
    elsewhere = [
        _where(path, node)
        for path, tree in _modules()
        if path.name != "locks.py"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr == "select_for_update"
    ]
    assert elsewhere == []


def test_an_import_inside_a_function_says_why():
    """Imports belong at the top of a module, where the dependency graph can be read; one
    inside a function (a real cycle, a slow import, Django not yet set up) has a comment on
    its line saying why."""
    silent = []
    for path, tree in _modules():
        lines = path.read_text().splitlines()
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    span = lines[node.lineno - 1 : node.end_lineno]
                    if not any("#" in line for line in span):
                        silent.append(f"{_where(path, node)} {span[0].strip()}")
    assert sorted(set(silent)) == []


@pytest.mark.parametrize("name", ["flows", "api", "analytics"])
def test_every_package_says_what_it_is(name):
    assert ast.get_docstring(ast.parse((SRC / name / "__init__.py").read_text()))
