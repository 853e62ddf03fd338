"""Checks on the test suite itself."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).parent


def _imports(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_no_hypothesis_test_module_uses_the_global_random_module() -> None:
    # pyproject.toml ignores Hypothesis's "Do not use the `random` module inside strategies"
    # because background threads of other libraries move the global state; that is sound only
    # while no module with strategies imports `random` itself.
    offenders = []
    with_hypothesis = 0
    for path in sorted(TESTS.rglob("*.py")):
        imports = _imports(ast.parse(path.read_text(encoding="utf-8")))
        if "hypothesis" in imports:
            with_hypothesis += 1
            if "random" in imports:
                offenders.append(str(path.relative_to(TESTS)))
    assert with_hypothesis > 0
    assert offenders == []
