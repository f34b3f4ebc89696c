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
    extras += ("dask", "distributed", "pyarrow")  # the dask extra (issue 21)
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


# -- the capability seam ---------------------------------------------------------------


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {module_name(path): path for path in library_files()}


def _owning_module(name: str) -> str:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def import_graph() -> dict[str, set[str]]:
    """Every module of src -> the modules of src it imports (anywhere in the file).

    ``from package import name`` counts as importing ``package.name`` when that is a
    module, else ``package``; imports under ``TYPE_CHECKING`` and inside functions
    count too, since they are arrows all the same.
    """
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        targets: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets.update(_owning_module(a.name) for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    targets.add(full if full in MODULES else _owning_module(node.module))
        targets.discard("")
        targets.discard(name)
        graph[name] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_there_is_no_import_cycle_between_modules_of_the_library() -> None:
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_cycle_of_three() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


ADAPTERS = ("memory", "sqlite", "postgres")


def test_no_adapter_imports_another_adapter() -> None:
    offences = []
    for name, targets in import_graph().items():
        parts = name.split(".")
        if parts[:2] != ["custmgmt", "adapters"] or len(parts) < 3 or parts[2] not in ADAPTERS:
            continue
        for target in targets:
            other = target.split(".")
            crosses = other[:2] == ["custmgmt", "adapters"] and len(other) > 2
            if crosses and other[2] in ADAPTERS and other[2] != parts[2]:
                offences.append(f"{name} imports {target}")
    assert offences == []


CAPABILITIES = (
    "rating",
    "tickets",
    "segmentation",
    "churn",
    "calendars",
    "loyalty",
    "campaigns",
    "engagement",
    "recommendations",
    "recommend",
    "risk",
    "kpi",
    "privacy",
    "prospects",
    "team",
)


def _is_capability_or_adapter(module: str) -> bool:
    parts = module.split(".")
    return len(parts) > 1 and parts[1] in (*CAPABILITIES, "adapters", "cli", "services")


def test_the_core_ports_import_no_capability_and_no_adapter() -> None:
    offences = sorted(t for t in import_graph()["custmgmt.ports"] if _is_capability_or_adapter(t))
    assert offences == []


def test_analytics_imports_no_capability_and_no_adapter() -> None:
    offences = [
        f"{name} imports {target}"
        for name, targets in import_graph().items()
        if name.startswith("custmgmt.analytics")
        for target in targets
        if _is_capability_or_adapter(target)
    ]
    assert offences == []


#: The only modules that may import by name: the root's lazy exports (PEP 562) and the
#: places that look for an optional extra.
IMPORTLIB_ALLOWED = {
    "custmgmt",
    "custmgmt._extras",
    "custmgmt.analytics.clv._common",
    "custmgmt.cli.demo_clv",
}


def test_no_module_imports_by_name_except_for_optional_extras() -> None:
    users = {
        name
        for name, path in MODULES.items()
        if any(m.split(".")[0] == "importlib" for m in imported_modules(path))
    }
    assert users <= IMPORTLIB_ALLOWED, sorted(users - IMPORTLIB_ALLOWED)


def test_the_commands_and_demo_sections_are_listed_not_looked_up() -> None:
    from custmgmt.cli import COMMANDS
    from custmgmt.cli.demo import SECTIONS

    assert list(COMMANDS)[:5] == ["demo", "rate", "segment", "clv", "tickets"]
    assert all(m.__name__ == f"custmgmt.cli.{n}" for n, m in COMMANDS.items())
    assert all(callable(section) for section in SECTIONS)
