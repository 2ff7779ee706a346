"""The shape of the code, checked: packages point one way (import-linter, in `make test`),
and no module of ours imports another inside a function (that is how import cycles used
to be hidden: import-linter sees such an import as an ordinary one, so it would not say
where it sits)."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OURS = ("playground", "models", "components")
# An exported model's evaluate.py finds the library only once --repo is on sys.path.
ALLOWED = {"playground/results/export/evaluate.py"}


def function_level_imports() -> list[str]:
    found = []
    for package in OURS:
        for path in sorted((ROOT / package).rglob("*.py")):
            if str(path.relative_to(ROOT)) in ALLOWED:
                continue
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    continue
                for sub in ast.walk(node):
                    if isinstance(sub, ast.ImportFrom) and sub.module:
                        names = [sub.module]
                    elif isinstance(sub, ast.Import):
                        names = [a.name for a in sub.names]
                    else:
                        continue
                    if any(n.split(".")[0] in OURS for n in names):
                        found.append(f"{path.relative_to(ROOT)}:{sub.lineno}: {names}")
    return found


def test_no_module_of_ours_is_imported_inside_a_function():
    assert function_level_imports() == []


def test_at_most_ten_modules_directly_in_the_core():
    direct = [p.name for p in (ROOT / "playground").glob("*.py")]
    assert len(direct) <= 10, direct


def test_the_import_contracts_are_declared():
    """`make test` runs lint-imports; its contracts live in pyproject.toml."""
    text = (ROOT / "pyproject.toml").read_text()
    for contract in ("ui-free-core", "layers", "acyclic", "component-layers"):
        assert f'id = "{contract}"' in text
