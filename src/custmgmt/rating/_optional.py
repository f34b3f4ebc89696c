"""Lazy imports of optional extras with a clear error when they are missing."""

from __future__ import annotations

from typing import Any

from custmgmt.errors import CustMgmtError


def import_pandas() -> Any:
    """Import pandas or raise a :class:`CustMgmtError` saying how to install it."""
    try:
        import pandas
    except ImportError:  # pragma: no cover - pandas is installed in the test env
        raise CustMgmtError(
            "pandas is needed for this: pip install 'custmgmt[pandas]'"
        ) from None
    return pandas
