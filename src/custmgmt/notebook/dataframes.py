"""Results out as pandas, polars or Arrow tables, numeric columns shared, not copied.

A result lists its per-row columns once, in ``_frame_columns()`` (numpy arrays,
:class:`Coded` columns for labels such as segment names, :class:`Times` for times and
:class:`MoneyColumn` for money), and mixes in :class:`FrameExport`, which gives it
``to_pandas()``, ``to_polars()`` and ``to_arrow()``. Numeric numpy columns are handed
over without a copy where the library allows it (pandas with ``copy=False``; polars
and Arrow for numeric dtypes without missing values); labels become categoricals
(pandas ``Categorical``, polars ``Enum``, Arrow dictionaries), times
timezone-aware UTC.

Money is exported as computed unless asked otherwise (``money=None``: exact money as
int64 minor units, estimates such as a lifetime value as floats), as int64 minor
units (``money="minor"``: estimates rounded half to even; missing values stay missing)
or as exact decimals with the currency's number of digits (``money="decimal"``:
Python :class:`~decimal.Decimal` in pandas, ``Decimal(38, digits)`` in polars and
``decimal128(38, digits)`` in Arrow).

>>> import numpy as np
>>> columns = {"score": np.array([0.5, 0.25]), "tier": Coded(np.array([1, 0]), ("low", "high"))}
>>> to_pandas(columns, purpose="example")["tier"].tolist()  # doctest: +SKIP
['high', 'low']
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal

import attrs
import numpy as np
from numpy.typing import NDArray

from custmgmt._extras import require
from custmgmt.domain.money import currency_digits
from custmgmt.errors import MissingDependency, ValidationError

__all__ = [
    "Coded",
    "FrameExport",
    "MoneyColumn",
    "MoneyUnit",
    "Times",
    "to_arrow",
    "to_pandas",
    "to_polars",
]

#: How money columns are exported: int64 minor units or exact decimals.
MoneyUnit = Literal["minor", "decimal"]

_MONEY_UNITS = ("minor", "decimal")
#: 2**63: int64 holds minor units strictly below it in magnitude.
_INT64_LIMIT = 2.0**63


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


@attrs.frozen
class MoneyColumn:
    """A money column: exact int64 minor units, or float estimates (NaN: missing).

    Attributes:
        values: one value per row.
        currency: the ISO 4217 currency (its digits set the minor unit).
        unit: what ``values`` counts: ``"minor"`` units (cents, fen) or ``"major"``
            units (yuan, dollars; only for float estimates).
    """

    values: NDArray[Any]
    currency: str
    unit: Literal["minor", "major"] = "minor"

    @property
    def digits(self) -> int:
        """The currency's minor-unit digits (2 for CNY, 0 for JPY)."""
        return currency_digits(self.currency)

    def minor(self) -> tuple[NDArray[np.int64], NDArray[np.bool_] | None]:
        """The values as int64 minor units and a mask of missing ones (None: none missing).

        Exact int64 minor units come back as they are (shared); floats are scaled
        and rounded half to even.

        Raises:
            ValidationError: a float whose minor units do not fit in int64.
        """
        values = np.asarray(self.values)
        if values.dtype.kind in "iu" and self.unit == "minor":
            return values.astype(np.int64, copy=False), None
        scaled = values.astype(np.float64)
        if self.unit == "major":
            scaled = scaled * 10.0 ** self.digits
        missing = ~np.isfinite(scaled)
        rounded = np.rint(np.where(missing, 0.0, scaled))
        # Casting a float beyond int64 gives int64's minimum (a huge negative amount).
        beyond = np.abs(rounded) >= _INT64_LIMIT
        if beyond.any():
            row = int(np.flatnonzero(beyond)[0])
            raise ValidationError(
                f"money[{row}]",
                float(values[row]),
                f"an amount that fits in int64 minor units of {self.currency}",
            )
        return rounded.astype(np.int64), (missing if missing.any() else None)

    def decimals(self) -> list[Decimal | None]:
        """The values as exact :class:`~decimal.Decimal` with the currency's digits."""
        minor, missing = self.minor()
        digits = -self.digits
        found = [Decimal(int(v)).scaleb(digits) for v in minor.tolist()]
        if missing is not None:
            return [None if gone else d for d, gone in zip(found, missing.tolist(), strict=True)]
        return list(found)


class FrameExport:
    """Mixin giving a result ``to_pandas``, ``to_polars`` and ``to_arrow``.

    A result declares its columns once, in ``_frame_columns()`` (name -> numpy array,
    :class:`Coded`, :class:`Times` or :class:`MoneyColumn`, in display order); the
    three exports share that declaration, so they always have the same columns.
    """

    __slots__ = ()

    def _frame_columns(self) -> Mapping[str, Any]:
        raise NotImplementedError  # each result declares its columns

    def to_pandas(self, *, money: MoneyUnit | None = None) -> Any:
        """A pandas DataFrame, one row per customer (or ticket), with this result's
        columns: numeric columns share memory with the result, labels are categorical,
        times are UTC. ``money`` picks how money columns come out (module docstring).

        Raises:
            MissingDependency: pandas is not installed.
            ValidationError: ``money`` is not ``None``, ``"minor"`` or ``"decimal"``,
            or a float money value whose minor units do not fit in int64.
        """
        return to_pandas(self._frame_columns(), money=money,
                         purpose=f"{type(self).__name__}.to_pandas")

    def to_polars(self, *, money: MoneyUnit | None = None) -> Any:
        """A polars DataFrame with the columns of :meth:`to_pandas` (numeric columns
        without missing values shared; labels as ``Enum``).

        Raises:
            MissingDependency: polars is not installed.
            ValidationError: ``money`` is not ``None``, ``"minor"`` or ``"decimal"``,
            or a float money value whose minor units do not fit in int64.
        """
        return to_polars(self._frame_columns(), money=money,
                         purpose=f"{type(self).__name__}.to_polars")

    def to_arrow(self, *, money: MoneyUnit | None = None) -> Any:
        """A ``pyarrow.Table`` with the columns of :meth:`to_pandas` (numeric columns
        without missing values shared; labels dictionary-encoded; booleans, which
        Arrow packs into bits, and strings are copied).

        Raises:
            MissingDependency: pyarrow is not installed (the ``arrow`` extra).
            ValidationError: ``money`` is not ``None``, ``"minor"`` or ``"decimal"``,
            or a float money value whose minor units do not fit in int64.
        """
        return to_arrow(self._frame_columns(), money=money,
                        purpose=f"{type(self).__name__}.to_arrow")


def _check_money(money: Any) -> None:
    if money is not None and money not in _MONEY_UNITS:
        raise ValidationError("money", money, "None, 'minor' or 'decimal'")


def _utc_datetimes(micros: NDArray[np.int64]) -> NDArray[Any]:
    return np.asarray(micros, dtype=np.int64).view("datetime64[us]")


def to_pandas(
    columns: Mapping[str, Any], *, purpose: str, money: MoneyUnit | None = None
) -> Any:
    """A pandas DataFrame of ``columns`` (numeric arrays shared, labels categorical).

    Raises:
        MissingDependency: pandas is not installed.
        ValidationError: ``money`` is not ``None``, ``"minor"`` or ``"decimal"``,
            or a float money value whose minor units do not fit in int64.
    """
    _check_money(money)
    pd = require("pandas", extra="pandas", purpose=purpose)
    data: dict[str, Any] = {}
    for name, column in columns.items():
        if isinstance(column, Coded):
            data[name] = pd.Categorical.from_codes(column.codes, categories=list(column.names))
        elif isinstance(column, Times):
            data[name] = pd.DatetimeIndex(_utc_datetimes(column.micros)).tz_localize("UTC")
        elif isinstance(column, MoneyColumn) and money == "minor":
            minor, missing = column.minor()
            # A masked array keeps the int64 buffer: missing values stay missing.
            data[name] = minor if missing is None else pd.arrays.IntegerArray(minor, missing)
        elif isinstance(column, MoneyColumn) and money == "decimal":
            data[name] = np.array(column.decimals(), dtype=object)
        elif isinstance(column, MoneyColumn):
            data[name] = column.values
        else:
            data[name] = column
    return pd.DataFrame(data, copy=False)


def to_polars(
    columns: Mapping[str, Any], *, purpose: str, money: MoneyUnit | None = None
) -> Any:
    """A polars DataFrame of ``columns`` (numeric arrays shared, labels as ``Enum``).

    Raises:
        MissingDependency: polars is not installed.
        ValidationError: ``money`` is not ``None``, ``"minor"`` or ``"decimal"``,
            or a float money value whose minor units do not fit in int64.
    """
    _check_money(money)
    pl = require("polars", extra="polars", purpose=purpose)
    pa: Any = None
    with contextlib.suppress(MissingDependency):  # without it: Python Decimal objects
        pa = require("pyarrow", extra="arrow", purpose=purpose)
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
            times = pl.Series(name, _utc_datetimes(column.micros))
            series.append(times.dt.replace_time_zone("UTC"))
            continue
        if isinstance(column, MoneyColumn) and money == "decimal":
            if pa is not None:  # ~10x faster at 1M rows: no Python Decimal per row
                minor, missing = column.minor()
                decimals = pl.from_arrow(_decimal128(pa, minor, missing, column.digits))
                series.append(decimals.alias(name))
            else:
                series.append(pl.Series(name, column.decimals(),
                                        dtype=pl.Decimal(38, column.digits)))
            continue
        if isinstance(column, MoneyColumn) and money == "minor":
            minor, missing = column.minor()
            values = pl.Series(name, minor)
            series.append(values if missing is None
                          else values.scatter(np.flatnonzero(missing), None))
            continue
        array = np.asarray(column.values if isinstance(column, MoneyColumn) else column)
        if array.dtype.kind in "OUS":
            series.append(pl.Series(name, array.tolist(), dtype=pl.String))
        else:
            series.append(pl.Series(name, array))
    return pl.DataFrame(series)


def to_arrow(
    columns: Mapping[str, Any], *, purpose: str, money: MoneyUnit | None = None
) -> Any:
    """A ``pyarrow.Table`` of ``columns`` (numeric arrays without missing values
    shared, labels dictionary-encoded, times ``timestamp[us, UTC]``).

    Raises:
        MissingDependency: pyarrow is not installed (the ``arrow`` extra).
        ValidationError: ``money`` is not ``None``, ``"minor"`` or ``"decimal"``,
            or a float money value whose minor units do not fit in int64.
    """
    _check_money(money)
    pa = require("pyarrow", extra="arrow", purpose=purpose)
    arrays: dict[str, Any] = {}
    for name, column in columns.items():
        if isinstance(column, Coded):
            codes = np.asarray(column.codes)
            missing = codes < 0
            indices = pa.array(codes, mask=missing if missing.any() else None)
            arrays[name] = pa.DictionaryArray.from_arrays(
                indices, pa.array(list(column.names), type=pa.string())
            )
        elif isinstance(column, Times):
            micros = np.asarray(column.micros, dtype=np.int64)
            missing = micros == np.iinfo(np.int64).min
            arrays[name] = pa.array(
                micros, type=pa.timestamp("us", tz="UTC"),
                mask=missing if missing.any() else None,
            )
        elif isinstance(column, MoneyColumn) and money is not None:
            minor, missing_money = column.minor()
            if money == "minor":
                arrays[name] = pa.array(minor, mask=missing_money)
            else:
                arrays[name] = _decimal128(pa, minor, missing_money, column.digits)
        else:
            array = np.asarray(column.values if isinstance(column, MoneyColumn) else column)
            if array.dtype.kind == "O":
                arrays[name] = pa.array(array.tolist())
            else:
                arrays[name] = pa.array(array)
    return pa.table(arrays)


def _decimal128(
    pa: Any, minor: NDArray[np.int64], missing: NDArray[np.bool_] | None, digits: int
) -> Any:
    # decimal128 stores each value as a 16-byte little-endian two's-complement integer
    # of the unscaled value: the int64 minor units, sign-extended, are exactly that,
    # so the column is built without a Python object per row.
    words = np.empty((minor.size, 2), dtype=np.int64)
    words[:, 0] = minor
    words[:, 1] = minor >> 63
    validity = None
    if missing is not None:
        validity = pa.array(~missing).buffers()[1]
    return pa.Array.from_buffers(
        pa.decimal128(38, digits), minor.size, [validity, pa.py_buffer(words)],
        null_count=-1 if missing is None else int(missing.sum()),
    )
