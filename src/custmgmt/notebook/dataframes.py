"""Results out as pandas or polars DataFrames, numeric columns shared, not copied.

A result lists its per-customer columns once (numpy arrays, and :class:`Coded`
columns for labels such as segment names); :func:`to_pandas` and :func:`to_polars`
turn them into a DataFrame. Numeric numpy columns are handed over without a copy
where the library allows it (pandas with ``copy=False``; polars for numeric dtypes),
labels become categoricals (pandas ``Categorical``, polars ``Enum``).

>>> import numpy as np
>>> columns = {"score": np.array([0.5, 0.25]), "tier": Coded(np.array([1, 0]), ("low", "high"))}
>>> to_pandas(columns, purpose="example")["tier"].tolist()  # doctest: +SKIP
['high', 'low']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray

from custmgmt._extras import require

__all__ = ["Coded", "Times", "to_pandas", "to_polars"]


@attrs.frozen
class Coded:
    """A label column stored as integer codes into ``names`` (-1: missing).

    Attributes:
        codes: one code per row.
        names: the labels, distinct.
    """

    codes: NDArray[np.integer[Any]]
    names: tuple[str, ...]


@attrs.frozen
class Times:
    """A time column as int64 microseconds since the epoch, UTC; the int64 minimum
    (numpy's ``NaT``) marks a missing time. Shown as timezone-aware UTC times.

    Attributes:
        micros: one value per row.
    """

    micros: NDArray[np.int64]


def to_pandas(columns: Mapping[str, Any], *, purpose: str) -> Any:
    """A pandas DataFrame of ``columns`` (numeric arrays shared, labels categorical).

    Raises:
        MissingDependency: pandas is not installed.
    """
    pd = require("pandas", extra="pandas", purpose=purpose)
    data: dict[str, Any] = {}
    for name, column in columns.items():
        if isinstance(column, Coded):
            data[name] = pd.Categorical.from_codes(column.codes, categories=list(column.names))
        elif isinstance(column, Times):
            times = np.asarray(column.micros, dtype=np.int64).view("datetime64[us]")
            data[name] = pd.DatetimeIndex(times).tz_localize("UTC")
        else:
            data[name] = column
    return pd.DataFrame(data, copy=False)


def to_polars(columns: Mapping[str, Any], *, purpose: str) -> Any:
    """A polars DataFrame of ``columns`` (numeric arrays shared, labels as ``Enum``).

    Raises:
        MissingDependency: polars is not installed.
    """
    pl = require("polars", extra="polars", purpose=purpose)
    series = []
    for name, column in columns.items():
        if isinstance(column, Coded):
            names = list(column.names)
            codes = np.asarray(column.codes, dtype=np.int64)
            labels = pl.Series(name, names, dtype=pl.Enum(names))
            picked = labels.gather(np.where(codes < 0, 0, codes))
            if (codes < 0).any():
                picked = picked.scatter(np.flatnonzero(codes < 0), None)
            series.append(picked)
            continue
        if isinstance(column, Times):
            times = np.asarray(column.micros, dtype=np.int64).view("datetime64[us]")
            series.append(pl.Series(name, times).dt.replace_time_zone("UTC"))
            continue
        array = np.asarray(column)
        if array.dtype.kind in "OUS":
            series.append(pl.Series(name, array.tolist(), dtype=pl.String))
        else:
            series.append(pl.Series(name, array))
    return pl.DataFrame(series)
