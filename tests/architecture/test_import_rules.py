"""The direction of dependencies, checked by reading the source with ``ast``.

``custmgmt.domain`` stays pure (no numpy, no sqlite3, no adapters) so the model can be
used anywhere; nothing in the library imports ``custmgmt.testing``, which exists for
host projects' tests only.
"""

from __future__ import annotations

import ast
from pathlib import Path

import custmgmt

PACKAGE = Path(custmgmt.__file__).parent


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def library_files(under: Path = PACKAGE) -> list[Path]:
    return sorted(under.rglob("*.py"))


def test_the_domain_imports_only_the_standard_library_attrs_and_dateutil() -> None:
    forbidden = (
        "numpy",
        "sqlite3",
        "pandas",
        "polars",
        "scipy",
        "custmgmt.adapters",
        "custmgmt.analytics",
        "custmgmt.testing",
    )
    offences = [
        f"{path.relative_to(PACKAGE)} imports {module}"
        for path in library_files(PACKAGE / "domain")
        for module in imported_modules(path)
        if module.startswith(forbidden)
    ]
    assert offences == []


def test_the_domain_names_no_third_party_package_beyond_attrs_and_dateutil() -> None:
    import sys

    allowed_third_party = {"attrs", "dateutil"}
    offences = []
    for path in library_files(PACKAGE / "domain"):
        for module in imported_modules(path):
            top = module.split(".")[0]
            if top in sys.stdlib_module_names or top in allowed_third_party or top == "custmgmt":
                continue
            offences.append(f"{path.relative_to(PACKAGE)} imports {module}")
    assert offences == []


def test_nothing_in_the_library_imports_the_testing_package() -> None:
    offences = [
        f"{path.relative_to(PACKAGE)} imports {module}"
        for path in library_files()
        if "testing" not in path.relative_to(PACKAGE).parts
        for module in imported_modules(path)
        if module.startswith("custmgmt.testing")
    ]
    assert offences == []


def test_the_checker_sees_imports_inside_functions_too(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    import numpy\n    from sqlite3 import connect\n")
    assert imported_modules(sample) == {"numpy", "sqlite3"}


def test_core_modules_import_no_optional_extra_at_module_level() -> None:
    # scipy, pandas, polars and holidays are extras: importing custmgmt must not need them.
    extras = ("scipy", "pandas", "polars", "holidays", "sklearn", "lifetimes")
    offences = []
    for path in library_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:  # module level only; lazy imports inside functions are fine
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offences += [f"{path.relative_to(PACKAGE)}: {n}" for n in names if n.startswith(extras)]
    assert offences == []
