"""``__all__`` is sorted and complete in every public module, and names resolve."""

from __future__ import annotations

import importlib
import pkgutil
import types

import pytest

import custmgmt


def public_modules() -> list[str]:
    names = ["custmgmt"]
    for info in pkgutil.walk_packages(custmgmt.__path__, prefix="custmgmt."):
        if any(part.startswith("_") for part in info.name.split(".")) or info.name.endswith(
            "__main__"
        ):
            continue
        names.append(info.name)
    return sorted(names)


def isort_style(name: str) -> tuple[int, str]:
    # ruff's RUF022 order: CONSTANTS, then Classes, then functions; so the linter's
    # autofix and this test never disagree.
    kind = 0 if name.isupper() else 1 if name[:1].isupper() else 2
    return (kind, name)


def load(name: str) -> types.ModuleType:
    try:
        return importlib.import_module(name)
    except ImportError as exc:  # an optional extra missing: nothing to check here
        pytest.skip(f"{name}: {exc}")


@pytest.mark.parametrize("name", public_modules())
def test_all_is_sorted(name: str) -> None:
    module = load(name)
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{name} has no __all__"
    assert list(exported) == sorted(exported, key=isort_style), f"{name}.__all__ is not sorted"


@pytest.mark.parametrize("name", public_modules())
def test_every_exported_name_exists(name: str) -> None:
    module = load(name)
    missing = [n for n in getattr(module, "__all__", ()) if not hasattr(module, n)]
    assert missing == []


@pytest.mark.parametrize("name", public_modules())
def test_all_is_complete(name: str) -> None:
    # Every public class or function defined in the module itself is exported.
    module = load(name)
    exported = set(getattr(module, "__all__", ()))
    defined = {
        attr
        for attr, value in vars(module).items()
        if not attr.startswith("_")
        and isinstance(value, type | types.FunctionType)
        and getattr(value, "__module__", None) == module.__name__
    }
    assert defined - exported == set()


def test_the_main_types_are_reachable_from_the_top_level() -> None:
    for name in ("Customer", "Order", "OrderLine", "Interaction", "Money", "CustMgmtError"):
        assert hasattr(custmgmt, name)


def test_every_public_name_has_a_docstring() -> None:
    undocumented = []
    for name in public_modules():
        module = load(name)
        for attr in getattr(module, "__all__", ()):
            value = getattr(module, attr)
            if isinstance(value, type | types.FunctionType) and not (value.__doc__ or "").strip():
                undocumented.append(f"{name}.{attr}")
    assert undocumented == []


def test_no_public_signature_takes_a_store_as_any() -> None:
    # Issue 10: a store parameter is typed by the capability protocol it needs
    # (Store, ColumnarStore, RatingStore, TicketStore ...), never Any.
    import inspect
    from typing import Any

    untyped = []
    for name in public_modules():
        module = load(name)
        for attr in getattr(module, "__all__", ()):
            value = getattr(module, attr)
            functions = [value] if inspect.isfunction(value) else []
            if inspect.isclass(value):
                functions = [
                    f for n, f in vars(value).items()
                    if inspect.isfunction(f) and not n.startswith("_")
                ]
            for function in functions:
                for parameter in inspect.signature(function).parameters.values():
                    if "store" in parameter.name and parameter.annotation in ("Any", Any):
                        untyped.append(f"{function.__module__}.{function.__qualname__}")
    assert untyped == []
