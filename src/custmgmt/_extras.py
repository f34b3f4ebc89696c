"""Importing optional extras (scipy, pandas, polars, holidays) when a feature needs them.

The core install is attrs, numpy and python-dateutil; everything else is imported
lazily, inside the function that needs it, through :func:`require`, so a missing
extra is one clear :class:`~custmgmt.errors.MissingDependency` naming the pip extra.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from custmgmt.errors import MissingDependency

__all__ = ["require"]


def require(module: str, *, extra: str, purpose: str) -> ModuleType:
    """Import ``module`` (e.g. ``"scipy.optimize"``) or raise ``MissingDependency``.

    Args:
        module: the dotted module to import.
        extra: the custmgmt extra that installs it.
        purpose: what needs it, for the message (``"fitting BG/NBD"``).
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependency(module.split(".")[0], extra, purpose) from exc
