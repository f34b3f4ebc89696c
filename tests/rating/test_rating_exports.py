"""The rating and scoring packages export sorted, complete, documented names."""

from __future__ import annotations

import importlib
import inspect

import pytest


@pytest.mark.parametrize("name", ["custmgmt.rating", "custmgmt.scoring"])
def test_all_is_sorted_complete_and_documented(name: str) -> None:
    module = importlib.import_module(name)
    exported = module.__all__
    # isort style, as in every package: CONSTANTS, then Classes, then functions.
    assert exported == sorted(exported, key=lambda n: (not n.isupper(), not n[0].isupper(), n))
    for item in exported:
        obj = getattr(module, item)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert inspect.getdoc(obj), f"{name}.{item} has no docstring"


def test_the_pure_rating_records_do_not_import_numpy() -> None:
    import ast
    from pathlib import Path

    import custmgmt.rating

    root = Path(custmgmt.rating.__file__).parent
    for module in ("overrides.py", "records.py"):
        tree = ast.parse((root / module).read_text(encoding="utf-8"))
        imported = {
            alias.name.split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        } | {
            (node.module or "").split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
        }
        assert "numpy" not in imported, module
