"""What segmentation reads: a table of per-customer feature columns.

Rules, schemes, RFM and clustering read columns by name from a :class:`FeatureTable`:
anything with ``customer_ids`` and ``table["name"] -> numpy array``, which is what
:class:`custmgmt.analytics.features.CustomerFeatures` provides. :class:`Columns` is a
plain implementation for hosts that compute their own features (or tests), and
:func:`column` is the one place that turns a missing feature into a
:class:`~custmgmt.errors.ValidationError` naming the feature and what is available.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from custmgmt.analytics.tables import FeatureTable
from custmgmt.domain._validate import _ID_REFUSED, ID_CHARACTERS
from custmgmt.errors import ValidationError

__all__ = ["Columns", "FeatureTable", "available_features", "column"]


class Columns:
    """A minimal :class:`FeatureTable` over plain arrays.

    Args:
        customer_ids: one id per row. Text ids may not hold control characters (tab
            and line breaks included), as a domain id may not: a numpy text array
            drops a trailing NUL, which would make ``"a\\x00"`` and ``"a"`` one
            customer.
        columns: named columns, each as long as ``customer_ids``.

    Raises:
        ValidationError: a column's length differs from the ids', or an id holds a
            control character (naming ``Columns.customer_ids[row]``).

    >>> t = Columns(["a", "b"], {"spend": [10.0, 20.0]})
    >>> t["spend"].tolist(), list(t.names)
    ([10.0, 20.0], ['spend'])
    """

    def __init__(self, customer_ids: ArrayLike, columns: Mapping[str, ArrayLike]) -> None:
        self._ids = _checked_ids(customer_ids)
        self._columns: dict[str, NDArray[Any]] = {}
        self._add(columns)

    def _add(self, columns: Mapping[str, ArrayLike]) -> None:
        for name, values in columns.items():
            array = np.asarray(values)
            if array.shape != self._ids.shape:
                raise ValidationError(
                    f"Columns.columns[{name!r}]",
                    array.shape,
                    f"one value per customer ({self._ids.shape[0]})",
                )
            self._columns[name] = array

    @property
    def customer_ids(self) -> NDArray[Any]:
        """The customers, one per row."""
        return self._ids

    @property
    def names(self) -> tuple[str, ...]:
        """The column names, in insertion order."""
        return tuple(self._columns)

    def __getitem__(self, name: str, /) -> NDArray[Any]:
        return self._columns[name]

    def __contains__(self, name: object) -> bool:
        return name in self._columns

    def __len__(self) -> int:
        return int(self._ids.shape[0])

    def with_columns(self, columns: Mapping[str, ArrayLike]) -> Columns:
        """A copy with ``columns`` added (or replaced)."""
        copy = Columns.__new__(Columns)  # the ids are checked already
        copy._ids = self._ids
        copy._columns = dict(self._columns)
        copy._add(columns)
        return copy


def _checked_ids(customer_ids: ArrayLike) -> NDArray[Any]:
    """``customer_ids`` as a 1-d array (as ``np.asarray`` makes it), refusing a text id
    with a control character, looked for in the ids as given: a list's ``"a\\x00"``
    is ``"a"`` once in a numpy text array."""
    given = customer_ids if isinstance(customer_ids, np.ndarray) else None
    if given is None:
        # Exact Python strings first: np.asarray(["a\x00"]) is already array(["a"]).
        try:
            given = np.asarray(customer_ids, dtype=object)
        except (TypeError, ValueError):
            given = None  # ragged or odd input: np.asarray below says what is wrong
    ids = np.asarray(customer_ids)
    if ids.ndim != 1:
        raise ValidationError("Columns.customer_ids", ids.shape, "a 1-d sequence")
    if given is not None and given.shape == ids.shape:
        row = _first_refused(given)
        if row is not None:
            raise ValidationError(
                f"Columns.customer_ids[{row}]", given[row].item() if given.dtype.kind == "U"
                else given[row], ID_CHARACTERS,
            )  # fmt: skip
    return ids


def _first_refused(ids: NDArray[Any]) -> int | None:
    """The first row whose text id holds a character an id may not hold, if any."""
    if ids.dtype.kind == "U" and ids.size and ids.dtype.itemsize:
        points = np.ascontiguousarray(ids).view(np.uint32).reshape(len(ids), -1)
        bad = (
            ((points >= 0x01) & (points <= 0x1F))
            | ((points >= 0x7F) & (points <= 0x9F))
            | ((points >= 0xD800) & (points <= 0xDFFF))
        )
        # A NUL followed by another character is inside the id (trailing NULs are
        # numpy's padding, and already lost).
        bad[:, :-1] |= (points[:, :-1] == 0) & (points[:, 1:] != 0)
        rows = np.flatnonzero(bad.any(axis=1))
        return int(rows[0]) if len(rows) else None
    if ids.dtype.kind != "O":
        return None  # numbers (row numbers as ids), bytes
    items = ids.tolist()
    texts = [x for x in items if isinstance(x, str)]
    if not texts or not _ID_REFUSED.search(" ".join(texts)):
        return None
    return next(k for k, x in enumerate(items) if isinstance(x, str) and _ID_REFUSED.search(x))


def available_features(table: Any) -> tuple[str, ...]:
    """The column names a table advertises (``names``, ``columns`` or mapping keys)."""
    for attribute in ("names", "columns", "feature_names"):
        names = getattr(table, attribute, None)
        if names is not None and not callable(names):
            try:
                return tuple(str(n) for n in names)
            except TypeError:  # an attribute that is not a collection of names
                continue
    if isinstance(table, Mapping):
        return tuple(str(k) for k in table)
    return ()


def column(table: Any, name: str, *, field: str = "feature") -> NDArray[Any]:
    """Read one column, turning an unknown name into a clear error.

    Args:
        table: a :class:`FeatureTable` (or a mapping of names to arrays).
        name: the column.
        field: how the error names the place that asked for it (``"rule.feature"``).

    Raises:
        ValidationError: the table has no such column, or is not a table.
    """
    try:
        values = table[name]
    except (LookupError, ValidationError) as exc:
        known = available_features(table)
        expected = f"one of {', '.join(known)}" if known else "a feature the table has"
        raise ValidationError(field, name, expected) from exc
    except TypeError as exc:  # not a table at all: a string, a list, a number ...
        raise ValidationError(
            "table", type(table).__name__, "a feature table (or a mapping of names to arrays)"
        ) from exc
    return np.asarray(values)


def _customer_ids_of(table: Any, n: int) -> NDArray[Any]:
    """The table's ids, or row numbers for a bare mapping of columns."""
    ids = getattr(table, "customer_ids", None)
    return np.arange(n) if ids is None else np.asarray(ids)


def _as_columns(table: Any, names: Iterable[str]) -> dict[str, NDArray[np.float64]]:
    """Several columns as float64 arrays (money in minor units stays exact below 2**53)."""
    return {name: column(table, name).astype(np.float64, copy=False) for name in names}
