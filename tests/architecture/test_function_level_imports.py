"""Function-level imports in the command line and churn guard optional extras only
(issue 10 item 6): every other dependency is at the top of the module, where readers
and the import-graph test see it."""

from __future__ import annotations

import ast
from pathlib import Path

import custmgmt

PACKAGE = Path(custmgmt.__file__).parent
OPTIONAL = (
    "scipy",
    "pandas",
    "polars",
    "holidays",
    "sklearn",
    "lifetimes",
    "importlib",
    # The PostgreSQL store needs psycopg (the ``postgres`` extra), checked first.
    "custmgmt._extras",
    "custmgmt.adapters.postgres",
    # The dask extra: Parquet input and --scheduler / --workers (issue 21).
    "custmgmt.distributed",
)


def function_level_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for inner in ast.walk(node):
            if isinstance(inner, ast.Import):
                found += [a.name for a in inner.names]
            elif isinstance(inner, ast.ImportFrom) and inner.module:
                found.append(inner.module)
    return found


def test_cli_and_churn_import_inside_functions_only_optional_extras() -> None:
    offences = [
        f"{path.relative_to(PACKAGE)} imports {module} inside a function"
        for folder in ("cli", "churn")
        for path in sorted((PACKAGE / folder).glob("*.py"))
        for module in function_level_imports(path)
        if not module.startswith(OPTIONAL)
    ]
    assert offences == []


def test_the_check_sees_an_import_inside_a_method(tmp_path: Path) -> None:
    sample = tmp_path / "m.py"
    sample.write_text("class A:\n    def f(self):\n        from custmgmt import x\n")
    assert function_level_imports(sample) == ["custmgmt"]
